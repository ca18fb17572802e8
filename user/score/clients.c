/* clients.c — the client, address and model tables; population; output. */
#include "clients.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "clusters.h"
#include "hll.h"
#include "lockstep.h"
#include "lru.h"
#include "netaddr.h"
#include "tlsgroups.h"

#define MAX_ADDRS_FACTOR 2     /* address table: twice the client bound */
#define MAX_MODELS 4096
#define POP_EVERY 60.0         /* seconds of record time between population updates */

/* ---------- a bounded string-keyed table with LRU eviction ---------- */

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

static int table_init(struct table *t, size_t max, size_t node_size, uint64_t *evicted)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->size = node_size;
	t->evicted = evicted;
	t->nb = 64;
	while (t->nb < max)
		t->nb <<= 1;
	t->b = calloc(t->nb, sizeof(*t->b));
	return t->b ? 0 : -1;
}

/* The most recently used node first, NULL after the last. */
static struct node *lru_first(const struct table *t)
{
	return (struct node *)t->lru.head;
}

static struct node *lru_next(const struct node *n)
{
	return (struct node *)n->lru.next;
}

static void table_remove(struct table *t, struct node *n)
{
	struct node **pp = &t->b[n->h & (t->nb - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	dg_lru_unlink(&t->lru, &n->lru);
	t->n--;
	free(n);
}

/* Find name; with create, add it (evicting the least recently used entry
 * when full). NULL only when out of memory or not found. */
static struct node *table_get(struct table *t, const char *name, int create)
{
	size_t len = strnlen(name, DG_CLIENT_LEN - 1);
	uint64_t h = dg_hash64(name, len);
	struct node *n;

	for (n = t->b[h & (t->nb - 1)]; n; n = n->hnext) {
		if (n->h == h && !strncmp(n->name, name, DG_CLIENT_LEN - 1)) {
			dg_lru_touch(&t->lru, &n->lru);
			return n;
		}
	}
	if (!create)
		return NULL;
	if (t->n >= t->max && t->lru.tail) {
		(*t->evicted)++;
		table_remove(t, (struct node *)t->lru.tail);
	}
	n = calloc(1, t->size);
	if (!n)
		return NULL;
	n->h = h;
	memcpy(n->name, name, len);
	n->hnext = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = n;
	dg_lru_push(&t->lru, &n->lru);
	t->n++;
	return n;
}

static void table_free(struct table *t)
{
	while (t->lru.head)
		table_remove(t, lru_first(t));
	free(t->b);
}

/* ---------- entities ---------- */

#define RECENT_IPS 4                   /* addresses remembered per key, exactly */
/* A client's rows: its templates, lockstep and TLS groups, addresses. */
#define DG_MEMBER_ROWS (DG_FEAT_TMPL + 2 + RECENT_IPS)

struct client {
	struct node n;
	int is_key;
	struct dg_client_state st;
	double first_flag_ts;
	uint64_t first_flag_requests;
	/* Its clusters, one per template it sends enough of and one each for
	 * its lockstep and TLS groups (current when cluster_gen == t->gen):
	 * index in t->clusters and share. */
	int32_t cl[DG_MEMBER_ROWS];
	float cl_share[DG_MEMBER_ROWS];
	uint8_t ncl;
	uint64_t cluster_gen;
	char recent_ip[RECENT_IPS][DG_IP_LEN];  /* a key's last distinct addresses */
	uint32_t ip_hits[RECENT_IPS];  /* its requests through each since remembered */
	uint8_t next_ip;
	struct dg_tls_vote tls;        /* a key's TLS client (JA4 hash) */
};

struct addr {
	struct node n;
	struct dg_hll keys;
	uint64_t count_gen;            /* nkeys is the count of keys as of this refresh */
	double nkeys;
	uint64_t snap_gen;             /* counts below belong to this snapshot */
	uint32_t legit_keys, flagged_keys;
};

struct model {
	struct node n;
	double first_seen;
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
	size_t nviews;
	double *scratch;
	/* Refreshed every POP_EVERY of record time: active clients' features,
	 * the population and the clusters. */
	struct client **act;
	struct dg_features *feat;
	struct dg_cluster_member *members;
	int32_t *member_cluster;
	size_t *member_client;             /* member -> index in act/feat */
	uint32_t *lk_bits;                 /* lockstep: activity, id and group per act[] */
	uint64_t *lk_ids, *lk_group;
	uint64_t *tls_fp, *tls_group;      /* TLS client and its group per act[] */
	double *tls_share;
	struct dg_cluster *clusters;
	size_t nclusters;
	uint64_t gen;
};

struct dg_clients *dg_clients_new(const struct dg_score_config *sc, size_t max_clients)
{
	struct dg_clients *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->sc = *sc;
	if (table_init(&t->clients, max_clients, sizeof(struct client), &t->st.clients_evicted) ||
	    table_init(&t->addrs, max_clients * MAX_ADDRS_FACTOR, sizeof(struct addr),
		       &t->st.addrs_evicted) ||
	    table_init(&t->models, MAX_MODELS, sizeof(struct model), &t->st.models_evicted)) {
		dg_clients_free(t);
		return NULL;
	}
	return t;
}

void dg_clients_free(struct dg_clients *t)
{
	if (!t)
		return;
	if (t->clients.b)
		table_free(&t->clients);
	if (t->addrs.b)
		table_free(&t->addrs);
	if (t->models.b)
		table_free(&t->models);
	free(t->views);
	free(t->view_client);
	free(t->scratch);
	free(t->act);
	free(t->feat);
	free(t->members);
	free(t->member_cluster);
	free(t->member_client);
	free(t->lk_bits);
	free(t->lk_ids);
	free(t->lk_group);
	free(t->tls_fp);
	free(t->tls_group);
	free(t->tls_share);
	free(t->clusters);
	free(t);
}

/* ---------- population ---------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void median_mad(double *v, size_t n, double *median, double *mad)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - *median);
	qsort(v, n, sizeof(*v), cmp_double);
	*mad = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* How much of the cluster's request shape (one template, near-duplicates,
 * single-turn: what a member's requests show on their own, however few,
 * unlike the volume, timing or crowd that only pooled traffic has) the
 * member's own requests reproduce, in [0, 1]: each shape evidence counts
 * up to the cluster's strength, so a member cannot make up for missing
 * single-turn requests with a template of its own. */
static double shape_match(const struct dg_score_config *sc, const struct dg_score *cl,
			  const struct dg_score *own)
{
	static const int ev[] = { DG_EV_TEMPLATE, DG_EV_NEAR_DUP, DG_EV_SINGLE };
	double want = 0, got = 0;

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		double w = sc->weight[ev[i]];

		want += w * cl->evidence[ev[i]];
		got += w * fmin(own->evidence[ev[i]], cl->evidence[ev[i]]);
	}
	return want > 0 ? got / want : 1;
}

/* Does a group speak for a member's first request? Every conversation
 * opens with a single-turn request shaped like a campaign's, so one
 * request shows no shape, unless the group is a TLS client of which most
 * members have shown their shape (two requests or more; at least
 * tls_min_keys, and half of the members) and nearly all of those
 * (group_alike_share) have the group's: a scraper's own client, not a
 * proxy that carries customers too. An address never does: a proxy's
 * customers may simply not have come yet. */
static int group_alike(const struct dg_score_config *sc, const struct dg_cluster *cl)
{
	return cl->link == DG_LINK_TLS && cl->shown >= sc->tls_min_keys &&
	       2 * cl->shown >= cl->members && cl->alike >= sc->group_alike_share * cl->shown;
}

/* How much the client's own requests, however few, look like the
 * cluster's, as a factor in [0, 1]: its harvest against the cluster's, and
 * for a lockstep, TLS or address group (ties that chance, a popular client
 * or a shared proxy can make) its requests' shape too. A legitimate job
 * that happens to use a campaign's template, a person whose conversation
 * keeps the same minutes as a campaign's, or a customer on the campaign's
 * TLS client or proxy does not inherit its score. */
static double affinity(const struct dg_score_config *sc, const struct dg_cluster *cl,
		       const struct dg_features *f, const struct dg_score *own)
{
	double a = cl->s.harvest > 0 ? own->harvest / cl->s.harvest : 0;

	if (cl->link != DG_LINK_TEMPLATE) {
		if (f->req_1h < 2 && !group_alike(sc, cl))
			return 0;
		a = fmin(a, shape_match(sc, &cl->s, own));
	}
	return a <= 0.3 ? 0 : a >= 0.8 ? 1 : (a - 0.3) / 0.5;
}

/* Each TLS group's members that have shown their shape (two requests or
 * more) and how many of those have the group's in full (group_alike). */
static void count_alike(struct dg_clients *t, size_t n)
{
	struct dg_score_config raw = t->sc;

	raw.min_requests = 1;
	for (size_t i = 0; i < n; i++) {
		const struct client *c = t->act[i];
		struct dg_score own;
		int scored = 0;

		if (t->feat[i].req_1h < 2)
			continue;
		for (int k = 0; k < c->ncl; k++) {
			struct dg_cluster *cl = &t->clusters[c->cl[k]];

			if (cl->link != DG_LINK_TLS)
				continue;
			if (!scored++)
				dg_score_client(&raw, &t->pop, &t->feat[i], &own);
			cl->shown++;
			cl->alike += affinity(&t->sc, cl, &t->feat[i], &own) >= 1;
		}
	}
}

/* The client's score with its clusters' counted in. Template clusters
 * count by the client's share of requests on their templates: the mean of
 * their scores, in full once they carry at least half of its traffic (a
 * campaign key rotating through four templates of flagged clusters
 * inherits their score; a person whose app shares a popular system prompt
 * inherits that crowd's low one). A lockstep, TLS or address group
 * counts whole (a key's addresses are all it has). Each cluster's score is scaled by
 * the client's affinity with it; the highest of the two counts. */
static void effective(const struct dg_clients *t, const struct client *c,
		      const struct dg_features *f, struct dg_score *s)
{
	const struct dg_cluster *best = NULL;
	double eff, tsum = 0, tshare = 0, group = 0, best_part = 0;
	struct dg_score_config raw = t->sc;
	struct dg_score own;

	if (c->cluster_gen != t->gen || !c->ncl)
		return;
	raw.min_requests = 1;
	dg_score_client(&raw, &t->pop, f, &own);
	for (int i = 0; i < c->ncl; i++) {
		const struct dg_cluster *cl = &t->clusters[c->cl[i]];
		double part = cl->s.score * affinity(&t->sc, cl, f, &own), w = 1;

		if (cl->link == DG_LINK_TEMPLATE) {
			w = c->cl_share[i];
			tsum += part * w;
			tshare += w;
		} else {
			group = fmax(group, part);
		}
		if (part * w > best_part) {
			best_part = part * w;
			best = cl;
		}
	}
	eff = tshare > 0 ? tsum / tshare * fmin(1, tshare / 0.5) : 0;
	eff = round(fmin(fmax(eff, group), 100) * 10) / 10;
	if (!best || eff <= s->score)
		return;
	s->score = eff;
	s->action = eff >= t->sc.block_at ? DG_ACT_BLOCK :
		    eff >= t->sc.ratelimit_at ? DG_ACT_RATELIMIT : DG_ACT_NONE;
	s->n_reasons = best->s.n_reasons;
	memcpy(s->reasons, best->s.reasons, sizeof(s->reasons));
}

/* The cluster that explains most of the client's score: the highest score
 * times the client's share in it (a whole share for a lockstep, TLS or
 * address group). */
static const char *cluster_id(const struct dg_clients *t, const struct client *c)
{
	const struct dg_cluster *best = NULL;
	double best_part = -1;

	if (c->cluster_gen != t->gen)
		return NULL;
	for (int i = 0; i < c->ncl; i++) {
		const struct dg_cluster *cl = &t->clusters[c->cl[i]];
		double w = cl->link == DG_LINK_TEMPLATE ? c->cl_share[i] : 1;
		double part = (cl->s.score + 1) * w;

		if (part > best_part) {
			best_part = part;
			best = cl;
		}
	}
	return best ? best->id : NULL;
}

/* Member row nm: active client i (t->act[i]) on tmpl, with its share of
 * requests there and what ties it. Returns nm + 1. */
static size_t put_row(struct dg_clients *t, size_t nm, size_t i, uint64_t tmpl, double weight,
		      enum dg_link link)
{
	const struct client *c = t->act[i];
	struct dg_cluster_member *m = &t->members[nm];

	memset(m, 0, sizeof(*m));
	m->client = i;
	m->tmpl = tmpl;
	m->weight = weight;
	m->f = &t->feat[i];
	m->is_key = c->is_key;
	m->peers = c->is_key ? &c->st.peers : NULL;
	m->subnets = c->is_key ? &c->st.subnets : NULL;
	m->ip = c->is_key ? NULL : c->n.name + 3;
	m->link = link;
	t->member_client[nm] = i;
	return nm + 1;
}

/* Rows for the keys in a lockstep or TLS group (group[i] non-zero): the
 * group id as their template, weight 1. Returns the new row count. */
static size_t add_group_rows(struct dg_clients *t, size_t n, size_t nm, const uint64_t *group,
			     enum dg_link link)
{
	for (size_t i = 0; i < n; i++)
		if (group[i])
			nm = put_row(t, nm, i, group[i], 1, link);
	return nm;
}

/* Rows for a key's remembered addresses that have carried at least
 * addr_min_keys keys: the address as its template (a hash of its own
 * kind), weight the key's share of requests through it. Returns the new
 * row count. */
static size_t add_addr_rows(struct dg_clients *t, const struct client *c, size_t i, size_t nm)
{
	uint32_t total = 0;

	for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++)
		total += c->ip_hits[k];
	for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0] && total; k++) {
		const char *ip = c->recent_ip[k];
		struct addr *a = (struct addr *)table_get(&t->addrs, ip, 0);

		if (!a)
			continue;
		if (a->count_gen != t->gen + 1) {
			a->count_gen = t->gen + 1;
			a->nkeys = dg_hll_count(&a->keys);
		}
		if (a->nkeys + 0.5 < t->sc.addr_min_keys)
			continue;
		nm = put_row(t, nm, i, dg_hash64(ip, strlen(ip)) ^ 0x6164647265737321ULL, /* "address!" */
			     (double)c->ip_hits[k] / total, DG_LINK_ADDR);
	}
	return nm;
}

/* Every POP_EVERY of record time: features of the clients active in the
 * last hour, the population's robust centre and spread of request and
 * token rates (clients with enough requests), and the template clusters. */
static void refresh(struct dg_clients *t, double now)
{
	size_t n = 0, np = 0, nm = 0, max = t->clients.max;
	double *tok, *req;

	if (!t->act) {
		t->act = calloc(max, sizeof(*t->act));
		t->feat = calloc(max, sizeof(*t->feat));
		t->members = calloc(max * DG_MEMBER_ROWS, sizeof(*t->members));
		t->member_cluster = calloc(max * DG_MEMBER_ROWS, sizeof(*t->member_cluster));
		t->member_client = calloc(max * DG_MEMBER_ROWS, sizeof(*t->member_client));
		t->scratch = calloc(2 * max, sizeof(double));
		t->lk_bits = calloc(max, sizeof(*t->lk_bits));
		t->lk_ids = calloc(max, sizeof(*t->lk_ids));
		t->lk_group = calloc(max, sizeof(*t->lk_group));
		t->tls_fp = calloc(max, sizeof(*t->tls_fp));
		t->tls_group = calloc(max, sizeof(*t->tls_group));
		t->tls_share = calloc(max, sizeof(*t->tls_share));
		if (!t->act || !t->feat || !t->members || !t->member_cluster || !t->member_client ||
		    !t->scratch || !t->lk_bits || !t->lk_ids || !t->lk_group || !t->tls_fp ||
		    !t->tls_group || !t->tls_share)
			return;
	}
	tok = t->scratch;
	req = t->scratch + max;
	for (struct node *nd = lru_first(&t->clients); nd && n < max; nd = lru_next(nd)) {
		struct client *c = (struct client *)nd;

		if (c->st.last_ts < now - 3600)
			break;         /* LRU order: the rest are older still */
		dg_client_features(&c->st, now, t->sc.template_half_life, &t->feat[n]);
		t->act[n] = c;
		c->ncl = 0;
		for (int k = 0; k < DG_FEAT_TMPL && c->st.tmpl_total > 0; k++) {
			double share = c->st.tmpl[k].w / c->st.tmpl_total;

			if (share > 0)
				nm = put_row(t, nm, n, c->st.tmpl[k].fp, share, DG_LINK_TEMPLATE);
		}
		if (c->is_key)
			nm = add_addr_rows(t, c, n, nm);
		/* Only keys move in lockstep: an address is shared by whoever. */
		t->lk_bits[n] = c->is_key ? dg_client_activity(&c->st, now) : 0;
		t->lk_ids[n] = c->n.h;
		t->tls_fp[n] = c->is_key ? c->tls.fp : 0;
		if (t->feat[n].req_1h >= t->sc.min_requests) {
			tok[np] = t->feat[n].tok_rate_1h;
			req[np] = t->feat[n].rate_1h;
			np++;
		}
		n++;
	}
	memset(&t->pop, 0, sizeof(t->pop));
	if (np) {
		median_mad(tok, np, &t->pop.tok_rate_median, &t->pop.tok_rate_mad);
		median_mad(req, np, &t->pop.req_rate_median, &t->pop.req_rate_mad);
		t->pop.clients = (uint32_t)np;
	}
	/* Lockstep and TLS groups are one more template each, carrying all of
	 * each member's traffic; every row knows its client's TLS group. */
	if (dg_lockstep_groups(t->lk_bits, t->lk_ids, n, (uint32_t)t->sc.lockstep_min_keys,
			       t->lk_group) != (size_t)-1)
		nm = add_group_rows(t, n, nm, t->lk_group, DG_LINK_LOCKSTEP);
	if (dg_tls_groups(t->tls_fp, n, (uint32_t)t->sc.tls_min_keys, t->sc.tls_max_share,
			  t->tls_group, t->tls_share) != (size_t)-1)
		nm = add_group_rows(t, n, nm, t->tls_group, DG_LINK_TLS);
	for (size_t j = 0; j < nm; j++) {
		t->members[j].tls_group = t->tls_group[t->member_client[j]];
		t->members[j].tls_share = t->tls_share[t->member_client[j]];
	}
	free(t->clusters);
	t->nclusters = dg_clusters_build(t->members, nm, 3, &t->sc, &t->pop, &t->clusters,
					 t->member_cluster);
	t->gen++;
	for (size_t i = 0; i < n; i++)
		t->act[i]->cluster_gen = t->gen;
	/* One entry per cluster: a client's rows on one component (several
	 * linked templates, several linked addresses) add up. */
	for (size_t j = 0; j < nm; j++) {
		struct client *c = t->act[t->member_client[j]];
		int k = 0;

		if (t->member_cluster[j] < 0)
			continue;
		while (k < c->ncl && c->cl[k] != t->member_cluster[j])
			k++;
		if (k == c->ncl) {
			if (c->ncl >= DG_MEMBER_ROWS)
				continue;
			c->cl[k] = t->member_cluster[j];
			c->cl_share[k] = 0;
			c->ncl++;
		}
		c->cl_share[k] = fminf(1, c->cl_share[k] + (float)t->members[j].weight);
	}
	count_alike(t, n);
	for (size_t i = 0; i < n; i++) {
		struct client *c = t->act[i];
		struct dg_score s;

		if (c->first_flag_ts || !c->ncl)
			continue;
		memset(&s, 0, sizeof(s));
		effective(t, c, &t->feat[i], &s);
		if (s.action != DG_ACT_NONE) {
			c->first_flag_ts = now;
			c->first_flag_requests = c->st.requests;
		}
	}
}

/* ---------- ingest ---------- */

static uint32_t obs_flags(const struct dg_clients *t, const struct dg_record *r, int new_model)
{
	uint32_t fl = 0;

	if (r->cot_prompt == 1)
		fl |= DG_OBS_COT;
	if (r->reasoning_param == 1)
		fl |= DG_OBS_REASONING;
	if (r->logprobs == 1 || r->top_logprobs > 0 || r->logit_bias == 1 || r->n > 1)
		fl |= DG_OBS_LOGPROBS;
	if (r->messages >= 0 && r->messages <= 2)
		fl |= DG_OBS_SINGLE;
	if (r->max_tokens > 0 && (r->max_tokens >= t->sc.at_cap_tokens ||
				  (r->output_tokens >= 0 && r->output_tokens * 100 >= r->max_tokens * 95)))
		fl |= DG_OBS_AT_CAP;
	if (new_model)
		fl |= DG_OBS_NEW_MODEL;
	if (r->has_system_fp)
		fl |= DG_OBS_HAS_TMPL;
	if (r->has_prompt_fp)
		fl |= DG_OBS_HAS_SIM;
	return fl;
}

/* Is the record's model newly released on this host? Models seen in the
 * warm-up after the first record are the host's established ones. */
static int model_is_new(struct dg_clients *t, const struct dg_record *r)
{
	struct model *m;

	if (!r->model[0])
		return 0;
	m = (struct model *)table_get(&t->models, r->model, 1);
	if (!m)
		return 0;
	if (m->first_seen == 0 || r->ts < m->first_seen)
		m->first_seen = r->ts;
	if (m->first_seen < t->start_ts + t->sc.new_model_warmup)
		return 0;
	return r->ts - m->first_seen < t->sc.new_model_window;
}

void dg_clients_ingest(struct dg_clients *t, const struct dg_record *r)
{
	struct client *c;
	struct dg_obs o;
	struct dg_features f;
	struct dg_score s;
	const char *name = r->client;
	char fallback[DG_CLIENT_LEN];

	t->st.records++;
	if (!t->started) {
		t->started = 1;
		t->start_ts = t->pop_ts = t->newest_ts = r->ts;
	}
	if (r->ts < t->newest_ts - 60)
		t->st.out_of_order++;
	if (r->ts > t->newest_ts)
		t->newest_ts = r->ts;
	if (!name[0]) {
		snprintf(fallback, sizeof(fallback), r->key[0] ? "key:%s" : "ip:%s",
			 r->key[0] ? r->key : (r->ip[0] ? r->ip : "unknown"));
		name = fallback;
	}
	if (t->newest_ts - t->pop_ts >= POP_EVERY) {
		refresh(t, t->newest_ts);
		t->pop_ts = t->newest_ts;
	}

	memset(&o, 0, sizeof(o));
	o.ts = r->ts;
	o.duration_s = r->duration_ms > 0 ? r->duration_ms / 1000 : 0;
	o.out_tokens = r->output_tokens > 0 ? (uint32_t)r->output_tokens : 0;
	o.in_tokens = r->prompt_bytes > 0 ? (uint32_t)((r->prompt_bytes + 3) / 4) : 0;
	o.tmpl = r->system_fp;
	o.simhash = r->prompt_simhash;
	o.flags = obs_flags(t, r, model_is_new(t, r));

	c = (struct client *)table_get(&t->clients, name, 1);
	if (!c)
		return;
	if (!c->st.requests) {
		dg_client_state_init(&c->st);
		c->is_key = !strncmp(name, "key:", 4);
	}
	dg_client_observe(&c->st, &o, t->sc.template_half_life);
	if (c->is_key && r->ja4[0])
		dg_tls_vote(&c->tls, dg_hash64(r->ja4, strnlen(r->ja4, sizeof(r->ja4))));
	if (c->is_key && r->ip[0]) {
		int seen = 0;
		dg_client_add_peer(&c->st, dg_hash64(r->ip, strlen(r->ip)), dg_subnet_hash(r->ip));
		for (int i = 0; i < RECENT_IPS && !seen; i++) {
			seen = !strcmp(c->recent_ip[i], r->ip);
			c->ip_hits[i] += (uint32_t)seen;
		}
		if (!seen) {
			snprintf(c->recent_ip[c->next_ip], DG_IP_LEN, "%s", r->ip);
			c->ip_hits[c->next_ip] = 1;
			c->next_ip = (uint8_t)((c->next_ip + 1) % RECENT_IPS);
		}
	}
	if (r->ip[0]) {
		struct addr *a = (struct addr *)table_get(&t->addrs, r->ip, 1);
		if (a && r->key[0])
			dg_hll_add(&a->keys, dg_hash64(r->key, strlen(r->key)));
	}

	/* Score this client now, to know when it is first flagged. */
	if (!c->first_flag_ts) {
		dg_client_features(&c->st, r->ts, t->sc.template_half_life, &f);
		dg_score_client(&t->sc, &t->pop, &f, &s);
		effective(t, c, &f, &s);
		if (s.action != DG_ACT_NONE) {
			c->first_flag_ts = r->ts;
			c->first_flag_requests = c->st.requests;
		}
	}
}

/* ---------- snapshot and output ---------- */

static int cmp_view(const void *a, const void *b)
{
	const struct dg_client_view *x = a, *y = b;

	if (x->s.score != y->s.score)
		return x->s.score < y->s.score ? 1 : -1;
	if (x->f.requests != y->f.requests)
		return x->f.requests < y->f.requests ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Which addresses carry keys that look legitimate as well as flagged ones:
 * a proxy shared by a campaign and ordinary customers is to be acted on by
 * key, never as an address. Uses each key's last few addresses. */
static void mark_shared_addresses(struct dg_clients *t, size_t n)
{
	static uint64_t snap;

	snap++;
	for (size_t i = 0; i < n; i++) {
		const struct client *c = t->view_client[i];

		if (!c->is_key)
			continue;
		for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++) {
			struct addr *a = (struct addr *)table_get(&t->addrs, c->recent_ip[k], 0);
			if (!a)
				continue;
			if (a->snap_gen != snap) {
				a->snap_gen = snap;
				a->legit_keys = a->flagged_keys = 0;
			}
			if (t->views[i].s.action == DG_ACT_NONE)
				a->legit_keys++;
			else
				a->flagged_keys++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct dg_client_view *v = &t->views[i];
		const struct client *c = t->view_client[i];

		if (c->is_key) {
			for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++) {
				struct addr *a = (struct addr *)table_get(&t->addrs, c->recent_ip[k], 0);
				/* Others than itself that look legitimate. */
				if (a && a->snap_gen == snap &&
				    a->legit_keys > (v->s.action == DG_ACT_NONE ? 1u : 0u))
					v->shared_addrs++;
			}
			continue;
		}
		{
			struct addr *a = (struct addr *)table_get(&t->addrs, c->n.name + 3, 0);
			if (!a || a->snap_gen != snap)
				continue;
			v->legit_keys = a->legit_keys;
			v->flagged_keys = a->flagged_keys;
			if (a->legit_keys && v->s.action == DG_ACT_BLOCK) {
				/* Its own traffic is suspect, but blocking the address would
				 * cut off the customers behind it. */
				int slot = v->s.n_reasons < DG_MAX_REASONS ? v->s.n_reasons : DG_MAX_REASONS - 1;

				v->s.action = DG_ACT_RATELIMIT;
				snprintf(v->s.reasons[slot], DG_REASON_LEN,
					 "address also carries %u keys that look legitimate", a->legit_keys);
				v->s.n_reasons = slot + 1;
			}
		}
	}
}

size_t dg_clients_snapshot(struct dg_clients *t, double now, const struct dg_client_view **out)
{
	size_t n = 0;

	if (now <= 0)
		now = t->newest_ts;
	if (t->nviews < t->clients.n) {
		free(t->views);
		free(t->view_client);
		t->views = calloc(t->clients.max, sizeof(*t->views));
		t->view_client = calloc(t->clients.max, sizeof(*t->view_client));
		t->nviews = t->views && t->view_client ? t->clients.max : 0;
		if (!t->nviews) {
			*out = NULL;
			return 0;
		}
	}
	refresh(t, now);
	for (struct node *nd = lru_first(&t->clients); nd; nd = lru_next(nd)) {
		struct client *c = (struct client *)nd;
		struct dg_client_view *v = &t->views[n];

		memset(v, 0, sizeof(*v));
		t->view_client[n++] = c;
		v->name = c->n.name;
		dg_client_features(&c->st, now, t->sc.template_half_life, &v->f);
		dg_score_client(&t->sc, &t->pop, &v->f, &v->s);
		effective(t, c, &v->f, &v->s);
		v->cluster = cluster_id(t, c);
		if (c->is_key) {
			v->ips = v->f.peers;
			v->keys = 1;
		} else {
			struct addr *a = (struct addr *)table_get(&t->addrs, c->n.name + 3, 0);
			v->ips = 1;
			v->keys = a ? dg_hll_count(&a->keys) : 0;
		}
		if (!c->first_flag_ts && v->s.action != DG_ACT_NONE) {
			c->first_flag_ts = now;
			c->first_flag_requests = c->st.requests;
		}
		v->first_flag_ts = c->first_flag_ts;
		v->first_flag_requests = c->first_flag_requests;
		v->first_ts = c->st.first_ts;
		v->last_ts = c->st.last_ts;
	}
	mark_shared_addresses(t, n);
	qsort(t->views, n, sizeof(*t->views), cmp_view);
	*out = t->views;
	return n;
}

static void gk(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void gs(yajl_gen g, const char *k, const char *v)
{
	gk(g, k);
	yajl_gen_string(g, (const unsigned char *)v, strlen(v));
}

static void gd(yajl_gen g, const char *k, double v, const char *fmt)
{
	char b[32];
	int n = snprintf(b, sizeof(b), fmt, v);

	gk(g, k);
	yajl_gen_number(g, b, (size_t)n);
}

static void gi(yajl_gen g, const char *k, long long v)
{
	gk(g, k);
	yajl_gen_integer(g, v);
}

void dg_clients_write_json(const struct dg_client_view *v, size_t n, FILE *out)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (!g)
		return;
	yajl_gen_config(g, yajl_gen_beautify, 0);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct dg_client_view *c = &v[i];

		yajl_gen_map_open(g);
		gs(g, "client", c->name);
		gd(g, "score", c->s.score, "%.1f");
		gk(g, "reasons");
		yajl_gen_array_open(g);
		for (int r = 0; r < c->s.n_reasons; r++)
			yajl_gen_string(g, (const unsigned char *)c->s.reasons[r], strlen(c->s.reasons[r]));
		yajl_gen_array_close(g);
		gs(g, "action", dg_action_name(c->s.action));
		gi(g, "requests", (long long)c->f.requests);
		gi(g, "output_tokens", (long long)c->f.out_tokens);
		gi(g, "ips", llround(c->ips));
		gi(g, "keys", llround(c->keys));
		if (!strncmp(c->name, "key:", 4)) {
			gi(g, "addresses_shared_with_legit_keys", c->shared_addrs);
		} else {
			gi(g, "legit_keys", c->legit_keys);
			gi(g, "flagged_keys", c->flagged_keys);
		}
		gk(g, "cluster");
		if (c->cluster)
			yajl_gen_string(g, (const unsigned char *)c->cluster, strlen(c->cluster));
		else
			yajl_gen_null(g);
		gd(g, "first_seen", c->first_ts, "%.3f");
		gd(g, "last_seen", c->last_ts, "%.3f");
		gk(g, "first_flagged");
		if (c->first_flag_ts > 0) {
			char b[32];
			int k = snprintf(b, sizeof(b), "%.3f", c->first_flag_ts);
			yajl_gen_number(g, b, (size_t)k);
		} else {
			yajl_gen_null(g);
		}
		gk(g, "requests_to_flag");
		if (c->first_flag_ts > 0)
			yajl_gen_integer(g, (long long)c->first_flag_requests);
		else
			yajl_gen_null(g);
		gd(g, "automation", c->s.automation, "%.3f");
		gd(g, "harvest", c->s.harvest, "%.3f");
		gk(g, "evidence");
		yajl_gen_map_open(g);
		for (int e = 0; e < DG_EV__MAX; e++)
			gd(g, dg_evidence_name(e), c->s.evidence[e], "%.3f");
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, out);
		fputc('\n', out);
	}
	yajl_gen_free(g);
}

void dg_clients_write_table(const struct dg_client_view *v, size_t n, FILE *out)
{
	fprintf(out, "%5s  %-9s  %-40s %8s %10s %5s %5s  %s\n", "SCORE", "ACTION", "CLIENT", "REQS",
		"OUT_TOK", "IPS", "KEYS", "REASONS");
	for (size_t i = 0; i < n; i++) {
		const struct dg_client_view *c = &v[i];

		fprintf(out, "%5.1f  %-9s  %-40s %8" PRIu64 " %10" PRIu64 " %5lld %5lld  ", c->s.score,
			dg_action_name(c->s.action), c->name, c->f.requests, c->f.out_tokens,
			llround(c->ips), llround(c->keys));
		for (int r = 0; r < c->s.n_reasons; r++)
			fprintf(out, "%s%s", r ? "; " : "", c->s.reasons[r]);
		fputc('\n', out);
	}
}

const struct dg_clients_stats *dg_clients_stats(const struct dg_clients *t)
{
	return &t->st;
}

size_t dg_clients_count(const struct dg_clients *t)
{
	return t->clients.n;
}
