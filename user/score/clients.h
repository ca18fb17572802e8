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

struct dg_client_view {
	const char *name;
	struct dg_features f;
	struct dg_score s;
	double ips, keys;             /* distinct addresses / keys */
	double first_flag_ts;         /* first time action was not none, 0 never */
	uint64_t first_flag_requests; /* requests seen by then */
	double first_ts, last_ts;
	const char *cluster;          /* cluster id, NULL when in none */
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
void dg_clients_ingest(struct dg_clients *t, const struct dg_record *r);

/* Score every client as of `now` (the newest record's time when 0); views
 * sorted by score, then requests, then name. The array is owned by t and
 * valid until the next call. */
size_t dg_clients_snapshot(struct dg_clients *t, double now, const struct dg_client_view **out);

/* The clients --json array (DESIGN.md), n views. */
void dg_clients_write_json(const struct dg_client_view *v, size_t n, FILE *out);
/* A plain table for people. */
void dg_clients_write_table(const struct dg_client_view *v, size_t n, FILE *out);

const struct dg_clients_stats *dg_clients_stats(const struct dg_clients *t);
size_t dg_clients_count(const struct dg_clients *t);

#endif
