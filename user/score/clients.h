/* clients.h — the client table: request records in, scored clients out.
 * A client is `key:<id>` when the request carried an API key, else
 * `ip:<address>`. Alongside: the addresses (which keys each carries), the
 * models (when each was first seen), and the host population that volume
 * is measured against. Every table is bounded; what is evicted is counted.
 * Time is the records' own: replaying the same records gives the same
 * table. */
#ifndef DG_CLIENTS_H
#define DG_CLIENTS_H

#include <stdio.h>
#include "record.h"
#include "score.h"

struct dg_clients;

#define DG_CLUSTER_ID_LEN 16
#define DG_VIEW_ADDRS 4

/* A client as of one snapshot: a copy, valid however the table changes. */
struct dg_client_view {
	char name[DG_CLIENT_LEN];
	struct dg_features f;
	struct dg_score s;
	enum dg_action action;        /* the decision in force: the score's action,
	                                 unless the caller puts a policy's here */
	double ips, keys;             /* distinct addresses / keys */
	double first_flag_ts;         /* first time action was not none, 0 never */
	uint64_t first_flag_requests; /* requests seen by then */
	double first_ts, last_ts;
	char cluster[DG_CLUSTER_ID_LEN]; /* cluster id, "" when in none */
	/* A key: its last addresses (an address: itself). */
	char addrs[DG_VIEW_ADDRS][DG_IP_LEN];
	int n_addrs;
	/* A key: how many of its addresses also carry keys that look legitimate
	 * (act on the key, not the address). An address: the keys behind it. */
	uint32_t shared_addrs;
	uint32_t legit_keys, flagged_keys;
};

struct dg_clients_stats {
	uint64_t records, clients_evicted, addrs_evicted, models_evicted;
	uint64_t out_of_order;         /* records older than the newest by > 60 s */
};

struct dg_clients *dg_clients_new(const struct dg_score_config *sc, size_t max_clients);
void dg_clients_free(struct dg_clients *t);
/* New scoring settings (a reloaded config); the table stays. */
void dg_clients_set_config(struct dg_clients *t, const struct dg_score_config *sc);
void dg_clients_ingest(struct dg_clients *t, const struct dg_record *r);

/* Score every client as of `now` (the newest record's time when 0); views
 * sorted by score, then requests, then name. The array is owned by t and
 * valid until the next call (ingesting does not touch it). */
size_t dg_clients_snapshot(struct dg_clients *t, double now, const struct dg_client_view **out);
/* The same, in no particular order (a scoring pass: sorting costs), and
 * sorting them later (in place, by score, as above) when someone reads. */
size_t dg_clients_snapshot_unsorted(struct dg_clients *t, double now,
				    const struct dg_client_view **out);
void dg_clients_sort_views(struct dg_clients *t);
/* Put the decision in force into view i of the last snapshot. */
void dg_clients_set_action(struct dg_clients *t, size_t i, enum dg_action a);
/* With full, every pass computes everything from the records' state, none
 * of what it keeps from the last pass (what a test compares the kept
 * with: both give the same views). */
void dg_clients_set_full(struct dg_clients *t, int full);

/* One view as the clients --json array's object, into an open generator. */
#include <yajl/yajl_gen.h>
void dg_clients_gen_view(yajl_gen g, const struct dg_client_view *v);
/* The clients --json array (DESIGN.md), n views. */
void dg_clients_write_json(const struct dg_client_view *v, size_t n, FILE *out);
/* A plain table for people. */
void dg_clients_write_table(const struct dg_client_view *v, size_t n, FILE *out);
/* The same, with what the daemon adds to each client (what is applied):
 * extra writes more keys into the open object; applied gives the table's
 * APPLIED column ("yes", "exempt", "-"). */
typedef void (*dg_view_extra_fn)(yajl_gen g, const struct dg_client_view *v, void *arg);
typedef const char *(*dg_view_applied_fn)(const struct dg_client_view *v, void *arg);
void dg_clients_gen_view_ex(yajl_gen g, const struct dg_client_view *v, dg_view_extra_fn extra,
			    void *arg);
void dg_clients_write_json_ex(const struct dg_client_view *v, size_t n, FILE *out,
			      dg_view_extra_fn extra, void *arg);
void dg_clients_write_table_ex(const struct dg_client_view *v, size_t n, FILE *out,
			       dg_view_applied_fn applied, void *arg);

const struct dg_clients_stats *dg_clients_stats(const struct dg_clients *t);
size_t dg_clients_count(const struct dg_clients *t);

#endif
