/* clusters.c — group by dominant template, pool, score. */
#include "clusters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idx {
	uint64_t tmpl;
	size_t i;
};

static int cmp_idx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	if (x->tmpl != y->tmpl)
		return x->tmpl < y->tmpl ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Pool members' features: counts add, shares weight by requests. */
static void pool(const struct dg_cluster_member *m, const struct idx *ix, size_t n,
		 struct dg_features *f)
{
	struct dg_hll addrs;
	double w = 0;

	memset(f, 0, sizeof(*f));
	dg_hll_init(&addrs);
	for (size_t k = 0; k < n; k++) {
		const struct dg_cluster_member *p = &m[ix[k].i];
		const struct dg_features *g = p->f;
		double pw = p->weight, r = g->req_1h * pw;

		/* The member's traffic on this template: its totals times its share. */
		f->req_1h += (uint32_t)lround(r);
		f->req_10m += (uint32_t)lround(g->req_10m * pw);
		f->req_1m += (uint32_t)lround(g->req_1m * pw);
		f->rate_1h += g->rate_1h * pw;
		f->rate_10m += g->rate_10m * pw;
		f->tok_rate_1h += g->tok_rate_1h * pw;
		f->tok_rate_10m += g->tok_rate_10m * pw;
		f->out_tok_1h += (uint32_t)lround(g->out_tok_1h * pw);
		f->in_tok_1h += (uint32_t)lround(g->in_tok_1h * pw);
		f->requests += (uint64_t)llround(g->requests * pw);
		f->out_tokens += (uint64_t)llround(g->out_tokens * pw);
		if (g->age_s > f->age_s)
			f->age_s = g->age_s;
		f->template_share += r * pw;
		f->near_dup_share += r * g->near_dup_share;
		f->cot_share += r * g->cot_share;
		f->reasoning_share += r * g->reasoning_share;
		f->elicit_share += r * g->elicit_share;
		f->logprob_share += r * g->logprob_share;
		f->single_share += r * g->single_share;
		f->at_cap_share += r * g->at_cap_share;
		f->new_model_share += r * g->new_model_share;
		f->duty_1h += r * g->duty_1h;
		w += r;
		if (p->is_key && p->peers)
			dg_hll_merge(&addrs, p->peers);
		else if (p->ip)
			dg_hll_add(&addrs, dg_hash64(p->ip, strlen(p->ip)));
		f->crowd_keys += p->is_key;
	}
	if (w > 0) {
		f->template_share /= w;
		f->near_dup_share /= w;
		f->cot_share /= w;
		f->reasoning_share /= w;
		f->elicit_share /= w;
		f->logprob_share /= w;
		f->single_share /= w;
		f->at_cap_share /= w;
		f->new_model_share /= w;
		f->duty_1h /= w;
	}
	f->out_in_ratio = f->in_tok_1h ? (double)f->out_tok_1h / f->in_tok_1h : 0;
	f->crowd_addrs = dg_hll_count(&addrs);
	/* Timing of a crowd is not one client's: no regularity evidence. */
	f->iat_n = 0;
}

size_t dg_clusters_build(const struct dg_cluster_member *m, size_t n, uint32_t min_members,
			 const struct dg_score_config *sc, const struct dg_population *pop,
			 struct dg_cluster **out, int32_t *member_cluster)
{
	struct idx *ix = malloc((n ? n : 1) * sizeof(*ix));
	struct dg_cluster *cl = NULL;
	size_t q = 0, ncl = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		member_cluster[i] = -1;
	if (!ix)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct dg_features *f = m[i].f;
		if (f->req_1h >= 1 && m[i].tmpl && m[i].weight > 0) {
			ix[q].tmpl = m[i].tmpl;
			ix[q].i = i;
			q++;
		}
	}
	qsort(ix, q, sizeof(*ix), cmp_idx);
	for (size_t a = 0, b; a < q; a = b) {
		struct dg_cluster *c;

		for (b = a; b < q && ix[b].tmpl == ix[a].tmpl; b++)
			;
		if (b - a < min_members)
			continue;
		if (ncl == cap) {
			struct dg_cluster *grown;
			cap = cap ? 2 * cap : 16;
			grown = realloc(cl, cap * sizeof(*cl));
			if (!grown)
				break;
			cl = grown;
		}
		c = &cl[ncl];
		memset(c, 0, sizeof(*c));
		c->tmpl = ix[a].tmpl;
		snprintf(c->id, sizeof(c->id), "c-%08x", (unsigned)(dg_hash64(&c->tmpl, 8) >> 32));
		c->members = (uint32_t)(b - a);
		pool(m, ix + a, b - a, &c->f);
		dg_score_client(sc, pop, &c->f, &c->s);
		for (size_t k = a; k < b; k++)
			member_cluster[ix[k].i] = (int32_t)ncl;
		ncl++;
	}
	free(ix);
	*out = cl;
	return ncl;
}
