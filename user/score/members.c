/* members.c — the client table's clients as cluster members (README
 * "Clusters"): the rows each active client enters the clustering with (its
 * templates, its addresses, its lockstep and TLS groups), the clusters each
 * is in and its share in them, and what it inherits: a cluster's score,
 * scaled by how much the client's own requests look like the cluster's. */
#include "clients_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "humans.h"
#include "lockstep.h"

#define ADDR_SALT 0x6164647265737321ULL   /* "address!": an address row's own kind of hash */

int dg_members_alloc(struct dg_members *m, size_t max)
{
	m->rows = calloc(max * DG_MEMBER_ROWS, sizeof(*m->rows));
	m->row_cluster = calloc(max * DG_MEMBER_ROWS, sizeof(*m->row_cluster));
	m->row_client = calloc(max * DG_MEMBER_ROWS, sizeof(*m->row_client));
	m->lk_bits = calloc(max, sizeof(*m->lk_bits));
	m->lk_ids = calloc(max, sizeof(*m->lk_ids));
	m->lk_group = calloc(max, sizeof(*m->lk_group));
	m->tls_fp = calloc(max, sizeof(*m->tls_fp));
	m->tls_group = calloc(max, sizeof(*m->tls_group));
	m->tls_share = calloc(max, sizeof(*m->tls_share));
	return m->rows && m->row_cluster && m->row_client && m->lk_bits && m->lk_ids &&
	       m->lk_group && m->tls_fp && m->tls_group && m->tls_share ? 0 : -1;
}

void dg_members_free(struct dg_members *m)
{
	free(m->rows);
	free(m->row_cluster);
	free(m->row_client);
	free(m->lk_bits);
	free(m->lk_ids);
	free(m->lk_group);
	free(m->tls_fp);
	free(m->tls_group);
	free(m->tls_share);
	free(m->clusters);
	memset(m, 0, sizeof(*m));
}

/* ---------- rows */

/* Row nr: active client i (t->act[i]) on tmpl, with its share of requests
 * there and what ties it. Returns nr + 1. */
static size_t put_row(struct dg_clients *t, size_t nr, size_t i, uint64_t tmpl, double weight,
		      enum dg_link link)
{
	const struct client *c = t->act[i];
	struct dg_cluster_member *row = &t->m.rows[nr];

	memset(row, 0, sizeof(*row));
	row->client = i;
	row->tmpl = tmpl;
	row->weight = weight;
	row->f = &t->feat[i];
	row->is_key = c->is_key;
	row->peers = c->is_key ? &c->st.peers : NULL;
	row->subnets = c->is_key ? &c->st.subnets : NULL;
	row->ip = c->is_key ? NULL : c->n.name + 3;
	row->link = link;
	t->m.row_client[nr] = i;
	return nr + 1;
}

/* Rows for the templates client i sends, from the head and from the fixed
 * end (a tail is a template of its own kind, linked to the head frames its
 * clients also send): weight its share of requests on each. */
static size_t add_tmpl_rows(struct dg_clients *t, const struct client *c, size_t i, size_t nr)
{
	for (int k = 0; k < DG_FEAT_TMPL && c->st.tmpl_total > 0; k++) {
		double share = c->st.tmpl[k].w / c->st.tmpl_total;

		if (share > 0)
			nr = put_row(t, nr, i, c->st.tmpl[k].fp, share, DG_LINK_TEMPLATE);
	}
	for (int k = 0; k < DG_FEAT_TAILS && c->st.tail_total > 0; k++) {
		double share = fmin(1, c->st.tail[k].w / c->st.tail_total);

		if (share > 0)
			nr = put_row(t, nr, i, c->st.tail[k].fp, share, DG_LINK_TEMPLATE);
	}
	return nr;
}

/* Rows for a key's remembered addresses that have carried at least
 * addr_min_keys keys: the address as its template (a hash of its own
 * kind), weight the key's share of requests through it. Returns the new
 * row count. */
static size_t add_addr_rows(struct dg_clients *t, const struct client *c, size_t i, size_t nr)
{
	uint32_t total = 0;

	for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0]; k++)
		total += c->ip_hits[k];
	for (int k = 0; k < RECENT_IPS && c->recent_ip[k][0] && total; k++) {
		const char *ip = c->recent_ip[k];
		uint64_t h = c->recent_ip_h[k];       /* dg_hash64 of ip, as below */
		struct addr *a = (struct addr *)dg_tab_get_h(&t->addrs, ip, h, 0);

		if (!a || a->nkeys + 0.5 < t->sc.addr_min_keys)
			continue;
		nr = put_row(t, nr, i, h ^ ADDR_SALT,
			     (double)c->ip_hits[k] / total, DG_LINK_ADDR);
	}
	return nr;
}

/* Client i's own rows (templates, a key's addresses), and what its
 * lockstep and TLS groups are found from. Its clusters are forgotten. */
static size_t add_client_rows(struct dg_clients *t, size_t i, size_t nr, double now)
{
	struct client *c = t->act[i];

	c->ncl = 0;
	nr = add_tmpl_rows(t, c, i, nr);
	if (c->is_key)
		nr = add_addr_rows(t, c, i, nr);
	/* Only keys move in lockstep: an address is shared by whoever. */
	t->m.lk_bits[i] = c->is_key ? dg_client_activity(&c->st, now) : 0;
	t->m.lk_ids[i] = c->n.h;
	t->m.tls_fp[i] = c->is_key ? c->tls.fp : 0;
	return nr;
}

/* Rows for the keys in a lockstep or TLS group (group[i] non-zero): the
 * group id as their template, weight 1. Returns the new row count. */
static size_t add_group_rows(struct dg_clients *t, size_t n, size_t nr, const uint64_t *group,
			     enum dg_link link)
{
	for (size_t i = 0; i < n; i++)
		if (group[i])
			nr = put_row(t, nr, i, group[i], 1, link);
	return nr;
}

/* Lockstep and TLS groups are one more template each, carrying all of
 * each member's traffic; every row knows its client's TLS group. */
static size_t add_groups(struct dg_clients *t, size_t n, size_t nr)
{
	struct dg_members *m = &t->m;

	if (dg_lockstep_groups(m->lk_bits, m->lk_ids, n, (uint32_t)t->sc.lockstep_min_keys,
			       m->lk_group) != (size_t)-1)
		nr = add_group_rows(t, n, nr, m->lk_group, DG_LINK_LOCKSTEP);
	if (dg_tls_groups(m->tls_fp, n, (uint32_t)t->sc.tls_min_keys, t->sc.tls_max_share,
			  m->tls_group, m->tls_share) != (size_t)-1)
		nr = add_group_rows(t, n, nr, m->tls_group, DG_LINK_TLS);
	for (size_t j = 0; j < nr; j++) {
		m->rows[j].tls_group = m->tls_group[m->row_client[j]];
		m->rows[j].tls_share = m->tls_share[m->row_client[j]];
	}
	return nr;
}

/* ---------- each client's clusters */

/* One entry per cluster: a client's rows on one component (several linked
 * templates, several linked addresses) add up. */
static void assign_clusters(struct dg_clients *t, size_t nr)
{
	const struct dg_members *m = &t->m;

	for (size_t j = 0; j < nr; j++) {
		struct client *c = t->act[m->row_client[j]];
		int k = 0;

		if (m->row_cluster[j] < 0)
			continue;
		while (k < c->ncl && c->cl[k] != m->row_cluster[j])
			k++;
		if (k == c->ncl) {
			if (c->ncl >= DG_MEMBER_ROWS)
				continue;
			c->cl[k] = m->row_cluster[j];
			c->cl_share[k] = 0;
			c->ncl++;
		}
		c->cl_share[k] = fminf(1, c->cl_share[k] + (float)m->rows[j].weight);
	}
}

/* ---------- what a member inherits */

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

/* How much of what the cluster's requests ask for (step-by-step reasoning
 * phrases, reasoning parameters, log-probabilities, a logit sweep) the
 * member's requests ask for too, each up to the cluster's strength, in
 * [0, 1]. The answers' length is left out: see dg_members_affinity. */
static double ask_match(const struct dg_score_config *sc, const struct dg_cluster *cl,
			const struct dg_features *f, const struct dg_score *own)
{
	static const int ev[] = { DG_EV_REASONING, DG_EV_LOGPROBS, DG_EV_LOGIT_SWEEP };
	double w = sc->weight[DG_EV_ELICIT];
	double want_cot = fmin(1, fmax(0, (cl->f.cot_share - 0.1) / 0.5));
	double got_cot = fmin(1, fmax(0, (f->cot_share - 0.1) / 0.5));
	double want = w * want_cot, got = w * fmin(got_cot, want_cot);

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		w = sc->weight[ev[i]];
		want += w * cl->s.evidence[ev[i]];
		got += w * fmin(own->evidence[ev[i]], cl->s.evidence[ev[i]]);
	}
	return want > 0 ? got / want : 0;
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

/* How much the client's own requests look like the cluster's: its harvest
 * against the cluster's, and for a lockstep, TLS or address group (ties
 * that chance, a popular client or a shared proxy can make) its requests'
 * shape too. A legitimate job that happens to use a
 * campaign's template, a person whose conversation keeps the same minutes
 * as a campaign's, or a customer on the campaign's TLS client or proxy
 * does not inherit its score. */
double dg_members_affinity(const struct dg_score_config *sc, const struct dg_cluster *cl,
			   const struct dg_features *f, const struct dg_score *own)
{
	double a = cl->s.harvest > 0 ? own->harvest / cl->s.harvest : 0;

	/* A later turn whose earlier turn the member never sent carries a
	 * history it wrote itself (a made-up answer): how long the answer is
	 * for that prompt says nothing, and such requests are judged on what
	 * they ask for instead. A real conversation's turns are not. */
	if (f->orphan_share > 0)
		a = fmax(a, f->orphan_share * ask_match(sc, cl, f, own));

	if (cl->link != DG_LINK_TEMPLATE) {
		if (f->req_1h < 2 && !group_alike(sc, cl))
			return 0;
		a = fmin(a, shape_match(sc, &cl->s, own));
	}
	/* A member that reads its answers before it asks again, on a browser,
	 * is a person (humans.h), whoever it shares a template, a minute, a
	 * TLS client or an address with. */
	return (a <= 0.3 ? 0 : a >= 0.8 ? 1 : (a - 0.3) / 0.5) * (1 - dg_human_reader(f));
}

/* The client's own score with every request counting (min_requests 1),
 * without reasons: the affinity reads only its evidence and harvest. */
static void raw_score(const struct dg_clients *t, const struct dg_features *f,
		      struct dg_score *own)
{
	struct dg_score_config raw = t->sc;

	raw.min_requests = 1;
	dg_score_client_bare(&raw, &t->pop, f, own);
}

/* Each TLS group's members that have shown their shape (two requests or
 * more) and how many of those have the group's in full (group_alike). */
static void count_alike(struct dg_clients *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct client *c = t->act[i];
		struct dg_score own;
		int scored = 0;

		if (t->feat[i].req_1h < 2)
			continue;
		for (int k = 0; k < c->ncl; k++) {
			struct dg_cluster *cl = &t->m.clusters[c->cl[k]];

			if (cl->link != DG_LINK_TLS)
				continue;
			if (!scored++)
				raw_score(t, &t->feat[i], &own);
			cl->shown++;
			cl->alike += dg_members_affinity(&t->sc, cl, &t->feat[i], &own) >= 1;
		}
	}
}

void dg_members_build(struct dg_clients *t, size_t n, double now)
{
	struct dg_members *m = &t->m;
	size_t nr = 0;

	for (size_t i = 0; i < n; i++)
		nr = add_client_rows(t, i, nr, now);
	nr = add_groups(t, n, nr);
	free(m->clusters);
	m->nclusters = dg_clusters_build(m->rows, nr, 3, &t->sc, &t->pop, &m->clusters,
					 m->row_cluster);
	m->gen++;
	for (size_t i = 0; i < n; i++)
		t->act[i]->cluster_gen = m->gen;
	assign_clusters(t, nr);
	count_alike(t, n);
}

/* The client's score with its clusters' counted in. Template clusters
 * count by the client's share of requests on their templates: the mean of
 * their scores, in full once they carry at least half of its traffic (a
 * campaign key rotating through four templates of flagged clusters
 * inherits their score; a person whose app shares a popular system prompt
 * inherits that crowd's low one). A lockstep, TLS or address group counts
 * whole (a key's addresses are all it has). Each cluster's score is scaled
 * by the client's affinity with it; the highest of the two counts. */
void dg_members_effective(const struct dg_clients *t, const struct client *c,
			  const struct dg_features *f, const struct dg_score *own, struct dg_score *s)
{
	const struct dg_cluster *best = NULL;
	double eff, tsum = 0, tshare = 0, group = 0, best_part = 0;
	struct dg_score raw;
	int i;

	if (c->cluster_gen != t->m.gen || !c->ncl)
		return;
	/* Clusters that score 0 give nothing whatever the affinity (no part
	 * is above 0, so none is best): most clients' clusters are such, and
	 * they need no raw score. */
	for (i = 0; i < c->ncl && t->m.clusters[c->cl[i]].s.score <= 0; i++)
		;
	if (i == c->ncl)
		return;
	/* With min_requests requests (and at least one) every request already
	 * counts in the own score: it is the raw one (the reasons aside, which
	 * the affinity does not read). */
	if (!own || f->req_1h < fmax(1, t->sc.min_requests)) {
		raw_score(t, f, &raw);
		own = &raw;
	}
	for (i = 0; i < c->ncl; i++) {
		const struct dg_cluster *cl = &t->m.clusters[c->cl[i]];
		double part = cl->s.score * dg_members_affinity(&t->sc, cl, f, own), w = 1;

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
	s->action = dg_score_action(&t->sc, eff);
	s->n_reasons = best->s.n_reasons;
	memcpy(s->reasons, best->s.reasons, sizeof(s->reasons));
}

/* The cluster that explains most of the client's score: the highest score
 * times the client's share in it (a whole share for a lockstep, TLS or
 * address group). */
const char *dg_members_cluster_id(const struct dg_clients *t, const struct client *c)
{
	const struct dg_cluster *best = NULL;
	double best_part = -1;

	if (c->cluster_gen != t->m.gen)
		return NULL;
	for (int i = 0; i < c->ncl; i++) {
		const struct dg_cluster *cl = &t->m.clusters[c->cl[i]];
		double w = cl->link == DG_LINK_TEMPLATE ? c->cl_share[i] : 1;
		double part = (cl->s.score + 1) * w;

		if (part > best_part) {
			best_part = part;
			best = cl;
		}
	}
	return best ? best->id : NULL;
}
