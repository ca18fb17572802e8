/* clients_int.h — what the parts of the client table share; not an
 * interface for other modules (theirs is clients.h).
 *
 *   clients.c      the bounded tables (clients, addresses, models), ingest,
 *                  the host population, snapshot
 *   members.c      clients as cluster members: the rows they enter the
 *                  clustering with, the clusters each is in, and what it
 *                  inherits from them
 *   clients_out.c  the views written out (JSON, plain table); clients.h only */
#ifndef DG_CLIENTS_INT_H
#define DG_CLIENTS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "clients.h"
#include "client_features.h"
#include "clusters.h"
#include "lru.h"
#include "record.h"
#include "score.h"
#include "tlsgroups.h"

/* ---------- a bounded string-keyed table with LRU eviction (clients.c) */

struct node {
	struct dg_lru_link lru;        /* first: a link is its node */
	struct node *hnext;
	uint64_t h;
	char name[DG_CLIENT_LEN];
};

struct table {
	struct node **b;
	size_t nb, n, max, size;
	struct dg_lru lru;
	uint64_t *evicted;
};

/* Find name; with create, add it (evicting the least recently used entry
 * when full). A node found is marked just used. NULL only when out of
 * memory or not found. */
struct node *dg_tab_get(struct table *t, const char *name, int create);
/* The same with name's hash given: dg_tab_hash(name), kept by callers that
 * look the same name up at every pass. */
struct node *dg_tab_get_h(struct table *t, const char *name, uint64_t h, int create);
uint64_t dg_tab_hash(const char *name);

/* ---------- the entries */

#define RECENT_IPS 4                   /* addresses remembered per key, exactly */
/* A client's rows: its templates (head and tail), lockstep and TLS groups,
 * addresses. */
#define DG_MEMBER_ROWS (DG_FEAT_TMPL + DG_FEAT_TAILS + 2 + RECENT_IPS)

struct client {
	struct node n;
	int is_key;
	struct dg_client_state st;
	double first_flag_ts;
	uint64_t first_flag_requests;
	/* Its clusters, one per template it sends enough of and one each for
	 * its lockstep and TLS groups (current when cluster_gen == m.gen):
	 * index in m.clusters and share. */
	int32_t cl[DG_MEMBER_ROWS];
	float cl_share[DG_MEMBER_ROWS];
	uint8_t ncl;
	uint64_t cluster_gen;
	char recent_ip[RECENT_IPS][DG_IP_LEN];  /* a key's last distinct addresses */
	uint64_t recent_ip_h[RECENT_IPS];  /* ... their dg_tab_hash: a pass looks each up
					    * three times (rows, shared addresses) */
	uint32_t ip_hits[RECENT_IPS];  /* its requests through each since remembered */
	uint8_t next_ip;
	struct dg_tls_vote tls;        /* a key's TLS client (JA4 hash) */
	struct dg_features_cache fc;   /* its features as of the last pass */
};

struct addr {
	struct node n;
	struct dg_hll keys;
	double nkeys;                  /* dg_hll_count(&keys), recounted when it rises */
	uint64_t snap_gen;             /* counts below belong to this snapshot */
	uint32_t legit_keys, flagged_keys;
};

struct model {
	struct node n;
	double first_seen;
};

/* ---------- clients as cluster members (members.c) */

/* Rebuilt at every refresh: one row per client and template, address,
 * lockstep or TLS group it enters the clustering with, and the clusters
 * the rows form. Arrays of max_clients (per act[]) or max_clients *
 * DG_MEMBER_ROWS (per row) entries. */
struct dg_members {
	struct dg_cluster_member *rows;
	int32_t *row_cluster;              /* row -> index in clusters, -1 none */
	size_t *row_client;                /* row -> index in act/feat */
	uint32_t *lk_bits;                 /* lockstep: activity, id and group per act[] */
	uint64_t *lk_ids, *lk_group;
	uint64_t *tls_fp, *tls_group;      /* TLS client and its group per act[] */
	double *tls_share;
	struct dg_cluster *clusters;
	size_t nclusters;
	uint64_t gen;                      /* refreshes so far */
};

struct dg_clients {
	struct dg_score_config sc;
	struct table clients, addrs, models;
	struct dg_population pop;
	double pop_ts, newest_ts, start_ts;
	int started;
	struct dg_clients_stats st;
	struct dg_client_view *views;
	const struct client **view_client;  /* views[i] is of view_client[i] (before sorting) */
	struct addr **view_addr;       /* RECENT_IPS per view: its key's addresses found in
					* the table (NULL: not there), within one snapshot */
	size_t nviews;
	size_t n_snap;                 /* views in the last snapshot */
	int sorted;                    /* ... sorted by score since it was taken */
	double *scratch;
	/* Refreshed every POP_EVERY of record time: active clients' features,
	 * the population and the clusters. */
	struct client **act;
	struct dg_features *feat;
	size_t n_act;                  /* act[] and feat[] of the last refresh */
	int full;                      /* recompute everything at each pass (tests) */
	struct dg_members m;
};

/* 0, or -1 when out of memory (m may be partly allocated: free it). */
int dg_members_alloc(struct dg_members *m, size_t max_clients);
void dg_members_free(struct dg_members *m);

/* The n active clients t->act[] (features in t->feat[], the population
 * current) as cluster members: their rows, the clusters those form, each
 * client's clusters and shares in them, each TLS group's alike members. */
void dg_members_build(struct dg_clients *t, size_t n, double now);

/* How much a client's own requests, however few, look like cluster cl's,
 * in [0, 1] (own: its score with min_requests 1). */
double dg_members_affinity(const struct dg_score_config *sc, const struct dg_cluster *cl,
			   const struct dg_features *f, const struct dg_score *own);

/* s raised to what the client's clusters give it, with the reasons of the
 * cluster that gives most. own: the client's own score (dg_score_client
 * with t->sc on f; it may be s itself), or NULL when not at hand. */
void dg_members_effective(const struct dg_clients *t, const struct client *c,
			  const struct dg_features *f, const struct dg_score *own,
			  struct dg_score *s);

/* The id of the cluster that explains most of the client's score, NULL
 * when it is in none. */
const char *dg_members_cluster_id(const struct dg_clients *t, const struct client *c);

#endif
