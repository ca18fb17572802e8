/* clients.c — the client table (clients.h): the bounded client, address
 * and model tables, each record ingested into them, the host population
 * that volume is measured against, and the snapshot of scored views.
 * Clusters and what their members inherit are members.c's; writing the
 * views out is clients_out.c's. */
#include "clients_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "humans.h"
#include "netaddr.h"

#define MAX_ADDRS_FACTOR 2     /* address table: twice the client bound */
#define MAX_MODELS 4096
#define POP_EVERY 60.0         /* seconds of record time between population updates */
#define TAIL_SALT 0x7461696c2d66702eULL   /* "tail-fp.": tails never equal a head frame */

/* ---------- a bounded string-keyed table with LRU eviction ---------- */

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

uint64_t dg_tab_hash(const char *name)
{
	return dg_hash64(name, strnlen(name, DG_CLIENT_LEN - 1));
}

struct node *dg_tab_get(struct table *t, const char *name, int create)
{
	return dg_tab_get_h(t, name, dg_tab_hash(name), create);
}

struct node *dg_tab_get_h(struct table *t, const char *name, uint64_t h, int create)
{
	size_t len = strnlen(name, DG_CLIENT_LEN - 1);
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

/* The address an address client (`ip:<address>`) is. */
static struct addr *addr_of(struct dg_clients *t, const struct client *c)
{
	return (struct addr *)dg_tab_get(&t->addrs, c->n.name + 3, 0);
}

/* ---------- the table ---------- */

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
	free(t->view_addr);
	free(t->scratch);
	free(t->act);
	free(t->feat);
	dg_members_free(&t->m);
	free(t);
}

const struct dg_clients_stats *dg_clients_stats(const struct dg_clients *t)
{
	return &t->st;
}

size_t dg_clients_count(const struct dg_clients *t)
{
	return t->clients.n;
}

/* A client is first flagged when its action is first not none. */
static void note_flag(struct client *c, enum dg_action action, double ts)
{
	if (c->first_flag_ts || action == DG_ACT_NONE)
		return;
	c->first_flag_ts = ts;
	c->first_flag_requests = c->st.requests;
}

/* ---------- refresh: active clients, population, clusters ---------- */

/* Put the k-th smallest of v[0..n) at v[k], smaller ones before it and
 * larger ones after (Hoare's selection): a median in linear time, where
 * sorting the population's 100,000 rates took most of a pass's budget. */
static void select_kth(double *v, size_t n, size_t k)
{
	long lo = 0, hi = (long)n - 1, kk = (long)k;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		long i = lo, j = hi;

		/* Hoare's partition: v[lo..j] <= pivot <= v[i..hi], and what lies
		 * between j and i equals the pivot. */
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double x = v[i];
				v[i++] = v[j];
				v[j--] = x;
			}
		}
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return;
	}
}

/* The median of v[0..n) (n > 0), reordering v: the same values a sort
 * would put in the middle. */
static double sorted_median(double *v, size_t n)
{
	double below;

	select_kth(v, n, n / 2);
	if (n % 2)
		return v[n / 2];
	below = v[0];          /* the largest of v[0..n/2): the (n/2 - 1)-th */
	for (size_t i = 1; i < n / 2; i++)
		if (v[i] > below)
			below = v[i];
	return (below + v[n / 2]) / 2;
}

/* The median of v and its median absolute deviation (v is overwritten). */
static void median_mad(double *v, size_t n, double *median, double *mad)
{
	*median = sorted_median(v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - *median);
	*mad = sorted_median(v, n);
}

/* What a refresh works in, allocated at the first one: 0, or -1 with
 * nothing allocated (the next refresh tries again). */
static int refresh_alloc(struct dg_clients *t)
{
	size_t max = t->clients.max;
	struct client **act;
	struct dg_features *feat;
	double *scratch;

	if (t->act)
		return 0;
	act = calloc(max, sizeof(*act));
	feat = calloc(max, sizeof(*feat));
	scratch = calloc(2 * max, sizeof(*scratch));
	if (act && feat && scratch && !dg_members_alloc(&t->m, max)) {
		t->act = act;
		t->feat = feat;
		t->scratch = scratch;
		return 0;
	}
	free(act);
	free(feat);
	free(scratch);
	dg_members_free(&t->m);
	return -1;
}

/* The clients active in the last hour, most recent first, into t->act and
 * their features into t->feat; the token and request rates of those with
 * enough requests into scratch (np of them). Returns their number. */
static size_t collect_active(struct dg_clients *t, double now, size_t *np)
{
	size_t n = 0, max = t->clients.max;

	*np = 0;
	for (struct node *nd = lru_first(&t->clients); nd && n < max; nd = lru_next(nd)) {
		struct client *c = (struct client *)nd;

		if (c->st.last_ts < now - 3600)
			break;         /* LRU order: the rest are older still */
		if (t->full)
			dg_client_features(&c->st, now, t->sc.template_half_life, &t->feat[n]);
		else
			dg_client_features_cached(&c->st, now, t->sc.template_half_life, &c->fc,
						  &t->feat[n]);
		t->act[n] = c;
		if (t->feat[n].req_1h >= t->sc.min_requests) {
			t->scratch[*np] = t->feat[n].tok_rate_1h;
			t->scratch[max + *np] = t->feat[n].rate_1h;
			(*np)++;
		}
		n++;
	}
	return n;
}

/* The population's robust centre and spread of token and request rates,
 * over the np clients collect_active sampled. */
static void population(struct dg_clients *t, size_t np)
{
	memset(&t->pop, 0, sizeof(t->pop));
	if (!np)
		return;
	median_mad(t->scratch, np, &t->pop.tok_rate_median, &t->pop.tok_rate_mad);
	median_mad(t->scratch + t->clients.max, np, &t->pop.req_rate_median,
		   &t->pop.req_rate_mad);
	t->pop.clients = (uint32_t)np;
}

/* Active clients that their clusters flag are flagged from now. */
static void flag_by_clusters(struct dg_clients *t, size_t n, double now)
{
	for (size_t i = 0; i < n; i++) {
		struct client *c = t->act[i];
		struct dg_score s;

		if (c->first_flag_ts || !c->ncl)
			continue;
		memset(&s, 0, sizeof(s));
		dg_members_effective(t, c, &t->feat[i], NULL, &s);
		note_flag(c, s.action, now);
	}
}

/* Every POP_EVERY of record time and at every snapshot: features of the
 * clients active in the last hour, the population's robust centre and
 * spread of request and token rates (clients with enough requests), and
 * the clusters. With flag, clients that their clusters flag are noted; a
 * snapshot does not ask, as it scores every client with its clusters
 * right after, at the same now, and notes the same flags (its score is
 * the higher of the client's own and what the clusters give). */
static void refresh(struct dg_clients *t, double now, int flag)
{
	size_t n, np;

	t->n_act = 0;
	if (refresh_alloc(t))
		return;
	n = collect_active(t, now, &np);
	t->n_act = n;
	population(t, np);
	dg_members_build(t, n, now);
	if (flag)
		flag_by_clusters(t, n, now);
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
	if (r->has_tail_fp)
		fl |= DG_OBS_HAS_TAIL;
	if (r->logit_bias_n > 0 && r->has_logit_bias_fp)
		fl |= DG_OBS_BIASED;
	/* One token asked for, or (not said) given: the answer is its logits. */
	if (r->max_tokens == 1 || (r->max_tokens < 0 && r->status == 200 && r->output_tokens == 1))
		fl |= DG_OBS_ONE_TOKEN;
	if (r->top_logprobs >= t->sc.top_logprobs_max)
		fl |= DG_OBS_TOP_MAX;
	if (r->has_parent_fp)
		fl |= DG_OBS_HAS_PARENT;
	if (r->ja4[0]) {
		fl |= DG_OBS_HAS_JA4;
		if (dg_ja4_browser(r->ja4))
			fl |= DG_OBS_BROWSER;
	}
	return fl;
}

/* Is the record's model newly released on this host? Models seen in the
 * warm-up after the first record are the host's established ones. */
static int model_is_new(struct dg_clients *t, const struct dg_record *r)
{
	struct model *m;

	if (!r->model[0])
		return 0;
	m = (struct model *)dg_tab_get(&t->models, r->model, 1);
	if (!m)
		return 0;
	if (m->first_seen == 0 || r->ts < m->first_seen)
		m->first_seen = r->ts;
	if (m->first_seen < t->start_ts + t->sc.new_model_warmup)
		return 0;
	return r->ts - m->first_seen < t->sc.new_model_window;
}

/* What the client's windows keep of a record. */
static void observation(struct dg_clients *t, const struct dg_record *r, struct dg_obs *o)
{
	memset(o, 0, sizeof(*o));
	o->ts = r->ts;
	o->duration_s = r->duration_ms > 0 ? r->duration_ms / 1000 : 0;
	o->out_tokens = r->output_tokens > 0 ? (uint32_t)r->output_tokens : 0;
	o->in_tokens = r->prompt_bytes > 0 ? (uint32_t)((r->prompt_bytes + 3) / 4) : 0;
	o->tmpl = r->system_fp;
	o->simhash = r->prompt_simhash;
	o->tail = r->tail_fp ^ TAIL_SALT;
	o->bias_fp = r->logit_bias_fp;
	o->prompt_fp = r->prompt_fp;
	o->parent_fp = r->parent_fp;
	o->flags = obs_flags(t, r, model_is_new(t, r));
}

/* The record's time: the table's start, its newest record, and whether
 * it came out of order. */
static void advance_clock(struct dg_clients *t, const struct dg_record *r)
{
	if (!t->started) {
		t->started = 1;
		t->start_ts = t->pop_ts = t->newest_ts = r->ts;
	}
	if (r->ts < t->newest_ts - 60)
		t->st.out_of_order++;
	if (r->ts > t->newest_ts)
		t->newest_ts = r->ts;
}

/* A key's addresses: all of them counted (distinct and by subnet), its
 * last RECENT_IPS distinct ones remembered with its requests through each.
 * h: dg_tab_hash(ip). */
static void key_address(struct client *c, const char *ip, uint64_t h)
{
	int seen = 0;

	dg_client_add_peer(&c->st, h, dg_subnet_hash(ip));
	for (int i = 0; i < RECENT_IPS && !seen; i++) {
		seen = c->recent_ip_h[i] == h && !strcmp(c->recent_ip[i], ip);
		c->ip_hits[i] += (uint32_t)seen;
	}
	if (!seen) {
		snprintf(c->recent_ip[c->next_ip], DG_IP_LEN, "%s", ip);
		c->recent_ip_h[c->next_ip] = dg_tab_hash(c->recent_ip[c->next_ip]);
		c->ip_hits[c->next_ip] = 1;
		c->next_ip = (uint8_t)((c->next_ip + 1) % RECENT_IPS);
	}
}

/* The record's client, created on its first request. */
static struct client *client_of(struct dg_clients *t, const struct dg_record *r)
{
	char fallback[DG_CLIENT_LEN];
	const char *name = r->client;
	struct client *c;

	if (!name[0]) {
		snprintf(fallback, sizeof(fallback), r->key[0] ? "key:%s" : "ip:%s",
			 r->key[0] ? r->key : (r->ip[0] ? r->ip : "unknown"));
		name = fallback;
	}
	c = (struct client *)dg_tab_get(&t->clients, name, 1);
	if (c && !c->st.requests) {
		dg_client_state_init(&c->st);
		c->is_key = !strncmp(name, "key:", 4);
	}
	return c;
}

void dg_clients_ingest(struct dg_clients *t, const struct dg_record *r)
{
	struct client *c;
	struct dg_obs o;

	t->st.records++;
	advance_clock(t, r);
	if (t->newest_ts - t->pop_ts >= POP_EVERY) {
		refresh(t, t->newest_ts, 1);
		t->pop_ts = t->newest_ts;
	}
	observation(t, r, &o);
	c = client_of(t, r);
	if (!c)
		return;
	dg_client_observe(&c->st, &o, t->sc.template_half_life);
	if (c->is_key && r->ja4[0])
		dg_tls_vote(&c->tls, dg_hash64(r->ja4, strnlen(r->ja4, sizeof(r->ja4))));
	if (r->ip[0]) {
		uint64_t h = dg_tab_hash(r->ip);
		struct addr *a;

		if (c->is_key)
			key_address(c, r->ip, h);
		a = (struct addr *)dg_tab_get_h(&t->addrs, r->ip, h, 1);
		if (a && r->key[0] && dg_hll_add(&a->keys, dg_hash64(r->key, strlen(r->key))))
			a->nkeys = dg_hll_count(&a->keys);
	}
	/* Score this client now, to know when it is first flagged. */
	if (!c->first_flag_ts) {
		struct dg_features f;
		struct dg_score s;

		dg_client_features(&c->st, r->ts, t->sc.template_half_life, &f);
		dg_score_client_bare(&t->sc, &t->pop, &f, &s);   /* only the action is read */
		dg_members_effective(t, c, &f, &s, &s);
		note_flag(c, s.action, r->ts);
	}
}

/* ---------- snapshot ---------- */

static int cmp_view(const void *a, const void *b)
{
	const struct dg_client_view *x = a, *y = b;

	if (x->s.score != y->s.score)
		return x->s.score < y->s.score ? 1 : -1;
	if (x->f.requests != y->f.requests)
		return x->f.requests < y->f.requests ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Each address a key of the snapshot used lately: how many of its keys
 * look legitimate and how many are flagged (counts of snapshot snap). The
 * addresses found are kept in view_addr for key_shared_addrs. */
static void count_addr_keys(struct dg_clients *t, size_t n, uint64_t snap)
{
	for (size_t i = 0; i < n; i++) {
		const struct client *c = t->view_client[i];

		if (!c->is_key)
			continue;
		for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++) {
			struct addr *a = (struct addr *)dg_tab_get_h(&t->addrs, c->recent_ip[k],
								     c->recent_ip_h[k], 0);

			t->view_addr[i * RECENT_IPS + k] = a;
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
}

/* How many of a key's addresses (view i's) keys that look legitimate,
 * other than itself, also use. The addresses are those count_addr_keys
 * found: nothing is added to or evicted from the table in between. Each
 * is marked used again, as looking it up again would. */
static void key_shared_addrs(struct dg_clients *t, const struct client *c, size_t i,
			     struct dg_client_view *v, uint64_t snap)
{
	for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++) {
		struct addr *a = t->view_addr[i * RECENT_IPS + k];

		if (a)
			dg_lru_touch(&t->addrs.lru, &a->n.lru);
		if (a && a->snap_gen == snap &&
		    a->legit_keys > (v->s.action == DG_ACT_NONE ? 1u : 0u))
			v->shared_addrs++;
	}
}

/* An address's keys; one whose own traffic would be blocked is rate-limited
 * instead when keys that look legitimate share it. */
static void addr_shared_keys(struct dg_clients *t, const struct client *c, struct dg_client_view *v,
		      uint64_t snap)
{
	struct addr *a = addr_of(t, c);
	int slot;

	if (!a || a->snap_gen != snap)
		return;
	v->legit_keys = a->legit_keys;
	v->flagged_keys = a->flagged_keys;
	if (!a->legit_keys || v->s.action != DG_ACT_BLOCK)
		return;
	/* Its own traffic is suspect, but blocking the address would cut off
	 * the customers behind it. */
	slot = v->s.n_reasons < DG_MAX_REASONS ? v->s.n_reasons : DG_MAX_REASONS - 1;
	v->s.action = DG_ACT_RATELIMIT;
	snprintf(v->s.reasons[slot], DG_REASON_LEN,
		 "address also carries %u keys that look legitimate", a->legit_keys);
	v->s.n_reasons = slot + 1;
}

/* Which addresses carry keys that look legitimate as well as flagged ones:
 * a proxy shared by a campaign and ordinary customers is to be acted on by
 * key, never as an address. Uses each key's last few addresses. */
static void mark_shared_addresses(struct dg_clients *t, size_t n)
{
	static uint64_t snap;

	snap++;
	count_addr_keys(t, n, snap);
	for (size_t i = 0; i < n; i++) {
		const struct client *c = t->view_client[i];

		if (c->is_key)
			key_shared_addrs(t, c, i, &t->views[i], snap);
		else
			addr_shared_keys(t, c, &t->views[i], snap);
	}
}

/* Room for a view of every client: 0, or -1. */
static int views_alloc(struct dg_clients *t)
{
	if (t->nviews >= t->clients.n)
		return 0;
	free(t->views);
	free(t->view_client);
	free(t->view_addr);
	t->views = calloc(t->clients.max, sizeof(*t->views));
	t->view_client = calloc(t->clients.max, sizeof(*t->view_client));
	t->view_addr = calloc(t->clients.max * RECENT_IPS, sizeof(*t->view_addr));
	t->nviews = t->views && t->view_client && t->view_addr ? t->clients.max : 0;
	return t->nviews ? 0 : -1;
}

/* src into dst of size bytes, cut short as snprintf "%s" would: the
 * views copy three strings per client at every pass, and snprintf's
 * parsing was a tenth of the pass. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Client c scored as of now, with its clusters counted in; f its features
 * when the refresh of this pass computed them, else NULL. */
static void fill_view(struct dg_clients *t, struct client *c, double now,
		      const struct dg_features *f, struct dg_client_view *v)
{
	const char *cl;

	/* A view is a kilobyte and a half, and a pass writes 100,000: the
	 * features and score below are written whole (their functions clear
	 * them), the name is copied whole (a node's name is zero-padded), and
	 * only the rest is cleared first. */
	_Static_assert(sizeof(v->name) == sizeof(c->n.name), "names of one size");
	_Static_assert(offsetof(struct dg_client_view, f) < offsetof(struct dg_client_view, action) &&
		       offsetof(struct dg_client_view, s) < offsetof(struct dg_client_view, action),
		       "what is written whole comes before what is cleared");
	memcpy(v->name, c->n.name, sizeof(v->name));
	memset(&v->action, 0, sizeof(*v) - offsetof(struct dg_client_view, action));
	if (f)
		v->f = *f;
	else
		dg_client_features(&c->st, now, t->sc.template_half_life, &v->f);
	dg_score_client(&t->sc, &t->pop, &v->f, &v->s);
	dg_members_effective(t, c, &v->f, &v->s, &v->s);
	if ((cl = dg_members_cluster_id(t, c)))
		copy_str(v->cluster, sizeof(v->cluster), cl);
	if (c->is_key) {
		v->ips = v->f.peers;
		v->keys = 1;
		for (int k = 0; k < RECENT_IPS && k < DG_VIEW_ADDRS && c->recent_ip[k][0]; k++)
			memcpy(v->addrs[v->n_addrs++], c->recent_ip[k], DG_IP_LEN);
	} else {
		struct addr *a = addr_of(t, c);
		v->ips = 1;
		v->keys = a ? a->nkeys : 0;
		copy_str(v->addrs[v->n_addrs++], DG_IP_LEN, c->n.name + 3);
	}
	note_flag(c, v->s.action, now);
	v->first_flag_ts = c->first_flag_ts;
	v->first_flag_requests = c->first_flag_requests;
	v->first_ts = c->st.first_ts;
	v->last_ts = c->st.last_ts;
}

size_t dg_clients_snapshot(struct dg_clients *t, double now, const struct dg_client_view **out)
{
	size_t n = dg_clients_snapshot_unsorted(t, now, out);

	dg_clients_sort_views(t);
	return n;
}

void dg_clients_sort_views(struct dg_clients *t)
{
	if (!t->sorted) {
		if (t->n_snap)
			qsort(t->views, t->n_snap, sizeof(*t->views), cmp_view);
		t->sorted = 1;
	}
}

size_t dg_clients_snapshot_unsorted(struct dg_clients *t, double now,
				    const struct dg_client_view **out)
{
	size_t n = 0;

	if (now <= 0)
		now = t->newest_ts;
	if (views_alloc(t)) {
		*out = NULL;
		return 0;
	}
	refresh(t, now, 0);
	/* The refresh just took the features of the active clients at the same
	 * now, in the same (LRU) order, which nothing in the pass changes: they
	 * are the first n_act clients here. */
	for (struct node *nd = lru_first(&t->clients); nd; nd = lru_next(nd)) {
		struct client *c = (struct client *)nd;
		const struct dg_features *f = n < t->n_act && t->act[n] == c ? &t->feat[n] : NULL;

		t->view_client[n] = c;
		fill_view(t, c, now, f, &t->views[n]);
		n++;
	}
	mark_shared_addresses(t, n);
	for (size_t i = 0; i < n; i++)
		t->views[i].action = t->views[i].s.action;
	t->n_snap = n;
	t->sorted = 0;
	*out = t->views;
	return n;
}

void dg_clients_set_config(struct dg_clients *t, const struct dg_score_config *sc)
{
	t->sc = *sc;
}

void dg_clients_set_action(struct dg_clients *t, size_t i, enum dg_action a)
{
	if (i < t->n_snap)
		t->views[i].action = a;
}

void dg_clients_set_full(struct dg_clients *t, int full)
{
	t->full = full;
}
