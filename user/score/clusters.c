/* clusters.c — group clients by linked templates, pool, score. */
#include "clusters.h"
#include "hex.h"
#include "netaddr.h"
#include "unionfind.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the sorts move: 16 bytes, as small as it can be, since each sort
 * moves every row once per digit. A row's weight and link are its
 * member's (m[i]); a client's merged weight on a component is kept
 * beside (kw in dg_clusters_build). */
struct idx {
	uint64_t key;          /* sort key: template, client, or component */
	size_t i;              /* member entry */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorting. A pass sorts every row several times (by template, by client,
 * by component), 200,000 rows at 100,000 clients: qsort's comparator calls
 * were a seventh of the pass. These are least-significant-digit radix
 * sorts, a byte at a time, skipping the bytes that all entries share (a
 * component id, a client index use few): the order is qsort's with
 * cmp (key, then i), ties included, whatever the input order. */

/* The byte of entry e that digit d (0..15: i's bytes, then key's) sorts by. */
static unsigned idx_digit(const struct idx *e, int d)
{
	uint64_t v = d < 8 ? (uint64_t)e->i : e->key;

	return (unsigned)(v >> (8 * (d & 7))) & 255;
}

/* A digit's histogram turned into where each value's run starts. */
static void counts_to_positions(size_t *count)
{
	size_t pos = 0;

	for (int b = 0; b < 256; b++) {
		size_t c = count[b];
		count[b] = pos;
		pos += c;
	}
}

/* One stable pass by digit d from src into dst, count[] the digit's
 * histogram. The word and shift are chosen once per pass, not per entry:
 * these loops are most of a sort. */
static void idx_scatter(const struct idx *src, struct idx *dst, size_t n, int d, size_t *count)
{
	int sh = 8 * (d & 7);

	counts_to_positions(count);
	if (d < 8) {
		for (size_t k = 0; k < n; k++)
			dst[count[(uint64_t)src[k].i >> sh & 255]++] = src[k];
	} else {
		for (size_t k = 0; k < n; k++)
			dst[count[src[k].key >> sh & 255]++] = src[k];
	}
}

/* Sort v[0..n) by (key, i); 0, or -1 when out of memory (v unchanged). */
static int sort_idx(struct idx *v, size_t n)
{
	size_t (*count)[256] = calloc(16, sizeof(*count));
	struct idx *tmp = malloc((n ? n : 1) * sizeof(*tmp)), *src = v, *dst = tmp;
	int first = 8;                     /* the first digit sorted by */

	if (!count || !tmp) {
		free(count);
		free(tmp);
		return -1;
	}
	/* The rows are mostly made in order of i: then sorting by key alone,
	 * stably (each pass of this sort is), is the order by (key, i), and
	 * i's digits (a third of the passes over the rows) are left out. */
	for (size_t k = 1; k < n && first; k++)
		if (v[k - 1].i > v[k].i)
			first = 0;
	/* The key's eight histograms written out: as a loop it was half the
	 * histogram's instructions. */
	for (size_t k = 0; k < n; k++) {
		uint64_t key = v[k].key, i = v[k].i;

		count[8][key & 255]++;
		count[9][key >> 8 & 255]++;
		count[10][key >> 16 & 255]++;
		count[11][key >> 24 & 255]++;
		count[12][key >> 32 & 255]++;
		count[13][key >> 40 & 255]++;
		count[14][key >> 48 & 255]++;
		count[15][key >> 56]++;
		for (int d = first; d < 8; d++)
			count[d][i >> (8 * d) & 255]++;
	}
	for (int d = first; d < 16; d++) {
		if (n == 0 || count[d][idx_digit(&v[0], d)] == n)
			continue;              /* every entry has this byte: no reordering */
		idx_scatter(src, dst, n, d, count[d]);
		src = dst;
		dst = dst == tmp ? v : tmp;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(count);
	free(tmp);
	return 0;
}

static int cmp_idx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort by (key, i): by radix, or by qsort when memory is short. */
static void sort_rows(struct idx *v, size_t n)
{
	if (n < 2)
		return;
	if (n < 256 || sort_idx(v, n))     /* small: the counts would cost more */
		qsort(v, n, sizeof(*v), cmp_idx);
}

/* Sort v[0..n) ascending, the same way. */
static void sort_u64(uint64_t *v, size_t n)
{
	size_t (*count)[256];
	uint64_t *tmp, *src = v, *dst;

	if (n < 2)
		return;
	count = n < 256 ? NULL : calloc(8, sizeof(*count));   /* small: qsort */
	tmp = count ? malloc(n * sizeof(*tmp)) : NULL;
	dst = tmp;
	if (!count || !tmp) {
		free(count);
		free(tmp);
		qsort(v, n, sizeof(*v), cmp_u64);
		return;
	}
	for (size_t k = 0; k < n; k++)
		for (int d = 0; d < 8; d++)
			count[d][v[k] >> (8 * d) & 255]++;
	for (int d = 0; d < 8; d++) {
		if (count[d][v[0] >> (8 * d) & 255] == n)
			continue;
		counts_to_positions(count[d]);
		for (size_t k = 0; k < n; k++)
			dst[count[d][src[k] >> (8 * d) & 255]++] = src[k];
		src = dst;
		dst = dst == tmp ? v : tmp;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(count);
	free(tmp);
}

/* The TLS group most of the crowd's keys share: how many keys carry it
 * and that group's share of the host's keys (written to f). */
static void common_tls(const struct dg_cluster_member *m, const struct idx *ix, size_t n,
		       struct dg_features *f)
{
	/* key: group, i: member. Most clusters are a few keys behind an
	 * address: those need no allocation. */
	struct idx small[16];
	struct idx *g = n <= 16 ? small : malloc(n * sizeof(*g));
	size_t k = 0, best = 0;

	if (!g)
		return;
	for (size_t i = 0; i < n; i++) {
		if (m[ix[i].i].is_key && m[ix[i].i].tls_group) {
			g[k].key = m[ix[i].i].tls_group;
			g[k].i = ix[i].i;
			k++;
		}
	}
	sort_rows(g, k);
	for (size_t a = 0, b; a < k; a = b) {
		for (b = a; b < k && g[b].key == g[a].key; b++)
			;
		if (b - a > best) {
			best = b - a;
			f->tls_share = m[g[a].i].tls_share;
		}
	}
	f->tls_keys = (uint32_t)best;
	if (g != small)
		free(g);
}

/* The shares of logit extraction and of human signs, weighted by the
 * member's requests r (browsers: by its requests with a known TLS client). */
static void pool_more(struct dg_features *f, const struct dg_features *g, double r)
{
	f->biased_share += r * g->biased_share;
	f->bias_new_share += r * g->bias_new_share;
	f->one_token_share += r * g->one_token_share;
	f->top_max_share += r * g->top_max_share;
	f->ja4_share += r * g->ja4_share;
	f->browser_share += r * g->ja4_share * g->browser_share;
	f->paced_share += r * g->paced_share * g->follow_share;
	f->follow_share += r * g->follow_share;
}

static void pool_more_div(struct dg_features *f, double w, double wj)
{
	f->biased_share /= w;
	f->bias_new_share /= w;
	f->one_token_share /= w;
	f->top_max_share /= w;
	f->ja4_share /= w;
	f->browser_share = wj > 0 ? f->browser_share / wj : 0;
	f->paced_share = f->follow_share > 0 ? f->paced_share / f->follow_share : 0;
	f->follow_share /= w;
}

/* Pool members' features: counts add, shares weight by requests. */
static void pool(const struct dg_cluster_member *m, const struct idx *ix, const double *kw,
		 size_t n, struct dg_features *f)
{
	struct dg_hll addrs, nets;
	double w = 0, wj = 0;

	memset(f, 0, sizeof(*f));
	dg_hll_init(&addrs);
	dg_hll_init(&nets);
	for (size_t k = 0; k < n; k++) {
		const struct dg_cluster_member *p = &m[ix[k].i];
		const struct dg_features *g = p->f;
		enum dg_link link = p->link;
		double pw = kw[k], r = g->req_1h * pw;

		/* Members' sketches are scattered over the client table: ask for
		 * the next one's while this one is added. */
		if (k + 1 < n && m[ix[k + 1].i].peers) {
			__builtin_prefetch(m[ix[k + 1].i].peers);
			__builtin_prefetch(m[ix[k + 1].i].subnets);
		}
		/* The member's traffic on this template: its totals times its
		 * share (all of them, as integers, when the share is whole: most
		 * members send one template, and lround(x * 1) is x). */
		if (pw == 1) {
			f->req_1h += g->req_1h;
			f->req_10m += g->req_10m;
			f->req_1m += g->req_1m;
			f->out_tok_1h += g->out_tok_1h;
			f->in_tok_1h += g->in_tok_1h;
			f->requests += g->requests;
			f->out_tokens += g->out_tokens;
		} else {
			f->req_1h += (uint32_t)lround(r);
			f->req_10m += (uint32_t)lround(g->req_10m * pw);
			f->req_1m += (uint32_t)lround(g->req_1m * pw);
			f->out_tok_1h += (uint32_t)lround(g->out_tok_1h * pw);
			f->in_tok_1h += (uint32_t)lround(g->in_tok_1h * pw);
			f->requests += (uint64_t)llround(g->requests * pw);
			f->out_tokens += (uint64_t)llround(g->out_tokens * pw);
		}
		f->rate_1h += g->rate_1h * pw;
		f->rate_10m += g->rate_10m * pw;
		f->tok_rate_1h += g->tok_rate_1h * pw;
		f->tok_rate_10m += g->tok_rate_10m * pw;
		if (g->age_s > f->age_s)
			f->age_s = g->age_s;
		/* A lockstep or TLS group is no template: no template share. */
		f->template_share += link != DG_LINK_TEMPLATE ? 0 : r * pw;
		f->near_dup_share += r * g->near_dup_share;
		f->cot_share += r * g->cot_share;
		f->reasoning_share += r * g->reasoning_share;
		f->elicit_share += r * g->elicit_share;
		f->logprob_share += r * g->logprob_share;
		f->single_share += r * g->single_share;
		f->at_cap_share += r * g->at_cap_share;
		f->new_model_share += r * g->new_model_share;
		f->duty_1h += r * g->duty_1h;
		pool_more(f, g, r);
		w += r;
		wj += r * g->ja4_share;
		if (p->is_key && p->peers) {
			dg_hll_merge(&addrs, p->peers);
			if (p->subnets)
				dg_hll_merge(&nets, p->subnets);
		} else if (p->ip) {
			dg_hll_add(&addrs, dg_hash64(p->ip, strlen(p->ip)));
			dg_hll_add(&nets, dg_subnet_hash(p->ip));
		}
		f->crowd_keys += p->is_key;
		f->lockstep_keys += link == DG_LINK_LOCKSTEP;
		f->crowd_by_addr |= link == DG_LINK_ADDR;
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
		pool_more_div(f, w, wj);
	}
	f->out_in_ratio = f->in_tok_1h ? (double)f->out_tok_1h / f->in_tok_1h : 0;
	f->crowd_addrs = dg_hll_count(&addrs);
	f->crowd_subnets = dg_hll_count(&nets);
	/* Timing of a crowd is not one client's: no regularity evidence. */
	f->iat_n = 0;
	common_tls(m, ix, n, f);
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
	size_t nc = 0;

	/* A lockstep or TLS group links to nothing: chance may put a few
	 * unrelated keys in step with a campaign, or on its TLS client, and
	 * their own templates must not pull their crowds into it. Addresses
	 * link only to addresses. */
	for (size_t k = 0; k < q; k++) {
		if (m[byt[k].i].link == DG_LINK_LOCKSTEP || m[byt[k].i].link == DG_LINK_TLS)
			continue;
		byc[nc].key = m[byt[k].i].client;
		byc[nc].i = k;         /* position in byt: its template id is tid[k] */
		nc++;
	}
	sort_rows(byc, nc);
	for (size_t a = 0, b; a < nc; a = b) {
		for (b = a; b < nc && byc[b].key == byc[a].key; b++)
			;
		for (size_t x = a; x < b; x++) {
			for (size_t y = x + 1; y < b; y++) {
				uint32_t t1 = tid[byc[x].i], t2 = tid[byc[y].i];
				if (t1 == t2 || m[byt[byc[x].i].i].link != m[byt[byc[y].i].i].link)
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
	sort_u64(pairs, np);
	for (size_t a = 0, b; a < np; a = b) {
		uint32_t t1, t2, small;

		for (b = a; b < np && pairs[b] == pairs[a]; b++)
			;
		t1 = (uint32_t)(pairs[a] >> 32);
		t2 = (uint32_t)pairs[a];
		small = tsize[t1] < tsize[t2] ? tsize[t1] : tsize[t2];
		if (b - a >= 2 && (b - a) * 10 >= small)
			parent[dg_uf_find(parent, t1)] = dg_uf_find(parent, t2);
	}
out:
	free(pairs);
	free(byc);
}

/* "c-" and the top 8 hex digits of the template's hash: snprintf's
 * "c-%08x", written out by hand for the 22,000 clusters of a pass. */
static void cluster_id(uint64_t tmpl, char id[16])
{
	char hex[DG_HEX16_LEN + 1];

	dg_hex16(dg_hash64(&tmpl, 8), hex);
	memcpy(id, "c-", 2);
	memcpy(id + 2, hex, 8);
	id[10] = 0;
}

/* The template id of value v in the sorted tval[0..nt), or UINT32_MAX. */
static uint32_t find_tmpl(const uint64_t *tval, uint32_t nt, uint64_t v)
{
	uint32_t lo = 0, hi = nt;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (tval[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nt && tval[lo] == v ? lo : UINT32_MAX;
}

size_t dg_clusters_build(const struct dg_cluster_member *m, size_t n, uint32_t min_members,
			 const struct dg_score_config *sc, const struct dg_population *pop,
			 struct dg_cluster **out, int32_t *member_cluster)
{
	struct idx *byt = malloc((n ? n : 1) * sizeof(*byt));
	struct idx *byk = malloc((n ? n : 1) * sizeof(*byk));
	double *kw = malloc((n ? n : 1) * sizeof(*kw));
	uint32_t *tid = malloc((n ? n : 1) * sizeof(*tid));
	uint32_t *tsize = malloc((n ? n : 1) * sizeof(*tsize));
	uint32_t *parent = malloc((n ? n : 1) * sizeof(*parent));
	uint64_t *tval = malloc((n ? n : 1) * sizeof(*tval));
	uint64_t *min_t = malloc((n ? n : 1) * sizeof(*min_t));
	int32_t *root_cl = malloc((n ? n : 1) * sizeof(*root_cl));
	uint32_t *ent_t = malloc((n ? n : 1) * sizeof(*ent_t));
	struct dg_cluster *cl = NULL;
	size_t q = 0, nt = 0, ncl = 0, cap = 0, nk = 0, nr = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		member_cluster[i] = -1;
	if (!byt || !byk || !kw || !tid || !tsize || !parent || !tval || !min_t || !root_cl || !ent_t)
		goto out;
	/* Templates, their sizes and links come from the entries that carry at
	 * least DG_LINK_SHARE of their client's traffic. */
	for (size_t i = 0; i < n; i++) {
		if (m[i].f->req_1h >= 1 && m[i].tmpl && m[i].weight >= DG_LINK_SHARE) {
			byt[q].key = m[i].tmpl;
			byt[q].i = i;
			q++;
		}
	}
	/* Template ids, sizes, then links between templates. */
	sort_rows(byt, q);
	for (size_t i = 0; i < n; i++)
		ent_t[i] = UINT32_MAX;
	for (size_t a = 0, b; a < q; a = b) {
		for (b = a; b < q && byt[b].key == byt[a].key; b++) {
			tid[b] = (uint32_t)nt;
			ent_t[byt[b].i] = (uint32_t)nt;    /* no search for it below */
		}
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
		uint32_t r = dg_uf_find(parent, t);
		if (tval[t] < min_t[r])
			min_t[r] = tval[t];
	}

	/* Every entry on a known template (a smaller share too: a key that
	 * rotates through many linked templates belongs to their component as a
	 * whole) gives a row keyed (component, client). */
	for (size_t i = 0; i < n; i++) {
		uint32_t t = ent_t[i];         /* its template's id when it named one */

		ent_t[i] = UINT32_MAX;
		if (m[i].f->req_1h < 1 || !m[i].tmpl || m[i].weight <= 0)
			continue;
		if (t == UINT32_MAX && (t = find_tmpl(tval, (uint32_t)nt, m[i].tmpl)) == UINT32_MAX)
			continue;
		ent_t[i] = t;
		byk[nk].key = (uint64_t)dg_uf_find(parent, t) << 32 | (uint32_t)m[i].client;
		byk[nk].i = i;
		nk++;
	}
	sort_rows(byk, nk);
	/* A client's rows merge into one, kept when the component carries at
	 * least DG_LINK_SHARE of its traffic; [0, nr) then holds the kept. */
	for (size_t a = 0, b; a < nk; a = b) {
		double w = 0;

		for (b = a; b < nk && byk[b].key == byk[a].key; b++)
			w += m[byk[b].i].weight;
		if (w < DG_LINK_SHARE) {
			for (size_t k = a; k < b; k++)
				ent_t[byk[k].i] = UINT32_MAX;
			continue;
		}
		byk[nr] = byk[a];
		kw[nr] = w > 1 ? 1 : w;
		nr++;
	}
	/* The clusters are counted first and allocated at once: grown by
	 * doubling, 22,000 of a kilobyte each were copied over and over. */
	for (size_t a = 0, b; a < nr; a = b) {
		uint32_t root = (uint32_t)(byk[a].key >> 32);

		for (b = a; b < nr && (uint32_t)(byk[b].key >> 32) == root; b++)
			;
		cap += b - a >= min_members;
	}
	if (cap && !(cl = malloc(cap * sizeof(*cl))))
		goto out;
	for (size_t a = 0, b; a < nr; a = b) {
		uint32_t root = (uint32_t)(byk[a].key >> 32);
		struct dg_cluster *c;

		for (b = a; b < nr && (uint32_t)(byk[b].key >> 32) == root; b++)
			;
		if (b - a < min_members)
			continue;
		c = &cl[ncl];
		memset(c, 0, sizeof(*c));
		c->tmpl = min_t[root];       /* stable name for the component */
		root_cl[root] = (int32_t)ncl;
		cluster_id(c->tmpl, c->id);
		c->members = (uint32_t)(b - a);
		c->link = m[byk[a].i].link;
		pool(m, byk + a, kw + a, b - a, &c->f);
		dg_score_client(sc, pop, &c->f, &c->s);
		ncl++;
	}
	/* Every kept entry of a member points at its component's cluster. */
	for (size_t i = 0; i < n; i++)
		if (ent_t[i] != UINT32_MAX)
			member_cluster[i] = root_cl[dg_uf_find(parent, ent_t[i])];
out:
	free(byt);
	free(byk);
	free(kw);
	free(tid);
	free(tsize);
	free(parent);
	free(tval);
	free(min_t);
	free(root_cl);
	free(ent_t);
	*out = cl;
	return ncl;
}
