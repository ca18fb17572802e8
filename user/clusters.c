/* clusters.c — group clients by linked templates, pool, score. */
#include "clusters.h"
#include "netaddr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idx {
	uint64_t key;          /* sort key: template, client, or component */
	size_t i;              /* member entry */
	double w;
};

static int cmp_idx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Pool members' features: counts add, shares weight by requests. */
static void pool(const struct dg_cluster_member *m, const struct idx *ix, size_t n,
		 struct dg_features *f)
{
	struct dg_hll addrs, nets;
	double w = 0;

	memset(f, 0, sizeof(*f));
	dg_hll_init(&addrs);
	dg_hll_init(&nets);
	for (size_t k = 0; k < n; k++) {
		const struct dg_cluster_member *p = &m[ix[k].i];
		const struct dg_features *g = p->f;
		double pw = ix[k].w, r = g->req_1h * pw;

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
		if (p->is_key && p->peers) {
			dg_hll_merge(&addrs, p->peers);
			if (p->subnets)
				dg_hll_merge(&nets, p->subnets);
		} else if (p->ip) {
			dg_hll_add(&addrs, dg_hash64(p->ip, strlen(p->ip)));
			dg_hll_add(&nets, dg_subnet_hash(p->ip));
		}
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
	f->crowd_subnets = dg_hll_count(&nets);
	/* Timing of a crowd is not one client's: no regularity evidence. */
	f->iat_n = 0;
}

/* Templates are linked when at least two clients (and a tenth of the
 * smaller template's clients) send both: a campaign rotating through
 * paraphrased templates is one crowd, while a person's own prompt is not
 * tied to the popular one they also use. */
static void link_templates(const struct dg_cluster_member *m, const struct idx *byt, size_t q,
			   const uint32_t *tid, const uint32_t *tsize, uint32_t *parent)
{
	struct idx *byc = malloc((q ? q : 1) * sizeof(*byc));
	uint64_t *pairs = NULL;
	size_t np = 0, cap = 0;

	if (!byc)
		return;
	for (size_t k = 0; k < q; k++) {
		byc[k].key = m[byt[k].i].client;
		byc[k].i = k;          /* position in byt: its template id is tid[k] */
	}
	qsort(byc, q, sizeof(*byc), cmp_idx);
	for (size_t a = 0, b; a < q; a = b) {
		for (b = a; b < q && byc[b].key == byc[a].key; b++)
			;
		for (size_t x = a; x < b; x++) {
			for (size_t y = x + 1; y < b; y++) {
				uint32_t t1 = tid[byc[x].i], t2 = tid[byc[y].i];
				if (t1 == t2)
					continue;
				if (np == cap) {
					uint64_t *g;
					cap = cap ? 2 * cap : 1024;
					if (!(g = realloc(pairs, cap * sizeof(*pairs))))
						goto out;
					pairs = g;
				}
				pairs[np++] = t1 < t2 ? (uint64_t)t1 << 32 | t2 : (uint64_t)t2 << 32 | t1;
			}
		}
	}
	if (np)
		qsort(pairs, np, sizeof(*pairs), cmp_u64);
	for (size_t a = 0, b; a < np; a = b) {
		uint32_t t1, t2, small;

		for (b = a; b < np && pairs[b] == pairs[a]; b++)
			;
		t1 = (uint32_t)(pairs[a] >> 32);
		t2 = (uint32_t)pairs[a];
		small = tsize[t1] < tsize[t2] ? tsize[t1] : tsize[t2];
		if (b - a >= 2 && (b - a) * 10 >= small)
			parent[uf_find(parent, t1)] = uf_find(parent, t2);
	}
out:
	free(pairs);
	free(byc);
}

size_t dg_clusters_build(const struct dg_cluster_member *m, size_t n, uint32_t min_members,
			 const struct dg_score_config *sc, const struct dg_population *pop,
			 struct dg_cluster **out, int32_t *member_cluster)
{
	struct idx *byt = malloc((n ? n : 1) * sizeof(*byt));
	struct idx *byk = malloc((n ? n : 1) * sizeof(*byk));
	uint32_t *tid = malloc((n ? n : 1) * sizeof(*tid));
	uint32_t *tsize = malloc((n ? n : 1) * sizeof(*tsize));
	uint32_t *parent = malloc((n ? n : 1) * sizeof(*parent));
	uint64_t *tval = malloc((n ? n : 1) * sizeof(*tval));
	uint64_t *min_t = malloc((n ? n : 1) * sizeof(*min_t));
	int32_t *root_cl = malloc((n ? n : 1) * sizeof(*root_cl));
	struct dg_cluster *cl = NULL;
	size_t q = 0, nt = 0, ncl = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		member_cluster[i] = -1;
	if (!byt || !byk || !tid || !tsize || !parent || !tval || !min_t || !root_cl)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (m[i].f->req_1h >= 1 && m[i].tmpl && m[i].weight > 0) {
			byt[q].key = m[i].tmpl;
			byt[q].i = i;
			q++;
		}
	}
	/* Template ids, sizes, then links between templates. */
	qsort(byt, q, sizeof(*byt), cmp_idx);
	for (size_t a = 0, b; a < q; a = b) {
		for (b = a; b < q && byt[b].key == byt[a].key; b++)
			tid[b] = (uint32_t)nt;
		tsize[nt] = (uint32_t)(b - a);
		tval[nt] = byt[a].key;
		parent[nt] = (uint32_t)nt;
		nt++;
	}
	link_templates(m, byt, q, tid, tsize, parent);
	for (uint32_t t = 0; t < nt; t++) {
		min_t[t] = UINT64_MAX;
		root_cl[t] = -1;
	}
	for (uint32_t t = 0; t < nt; t++) {
		uint32_t r = uf_find(parent, t);
		if (tval[t] < min_t[r])
			min_t[r] = tval[t];
	}

	/* One entry per (component, client), its shares summed. */
	for (size_t k = 0; k < q; k++) {
		uint32_t root = uf_find(parent, tid[k]);
		byk[k].key = (uint64_t)root << 32 | (uint32_t)m[byt[k].i].client;
		byk[k].i = byt[k].i;
		byk[k].w = m[byt[k].i].weight;
	}
	qsort(byk, q, sizeof(*byk), cmp_idx);
	for (size_t a = 0, b; a < q; a = b) {
		uint32_t root = (uint32_t)(byk[a].key >> 32);
		size_t members = 0, w = a;
		struct dg_cluster *c;

		for (b = a; b < q && (uint32_t)(byk[b].key >> 32) == root; b++)
			;
		/* Merge each client's entries: [a, w) holds one per client. */
		for (size_t k = a; k < b; k++) {
			if (k > a && byk[k].key == byk[w - 1].key) {
				byk[w - 1].w += byk[k].w;
				continue;
			}
			byk[w++] = byk[k];
		}
		members = w - a;
		if (members < min_members)
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
		c->tmpl = min_t[root];       /* stable name for the component */
		root_cl[root] = (int32_t)ncl;
		snprintf(c->id, sizeof(c->id), "c-%08x", (unsigned)(dg_hash64(&c->tmpl, 8) >> 32));
		c->members = (uint32_t)members;
		for (size_t k = a; k < w; k++)
			if (byk[k].w > 1)
				byk[k].w = 1;
		pool(m, byk + a, members, &c->f);
		dg_score_client(sc, pop, &c->f, &c->s);
		ncl++;
	}
	/* Every entry of a member points at its component's cluster. */
	for (size_t k = 0; k < q; k++)
		member_cluster[byt[k].i] = root_cl[uf_find(parent, tid[k])];
out:
	free(byt);
	free(byk);
	free(tid);
	free(tsize);
	free(parent);
	free(tval);
	free(min_t);
	free(root_cl);
	*out = cl;
	return ncl;
}
