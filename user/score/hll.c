/* hll.c — HyperLogLog (Flajolet et al. 2007) with the small-range
 * correction. */
#include "hll.h"

#include <math.h>
#include <string.h>

void dg_hll_init(struct dg_hll *h)
{
	memset(h, 0, sizeof(*h));
}

/* Raise register idx to rank (rank > its value), keeping the pairs of a
 * sparse sketch. */
static void raise_reg(struct dg_hll *h, unsigned idx, uint8_t rank)
{
	if (h->nset != DG_HLL_DENSE) {
		if (h->reg[idx]) {
			for (int i = 0; i < h->nset; i++)
				if (h->set[i][0] == idx)
					h->set[i][1] = rank;
		} else if (h->nset < DG_HLL_SPARSE) {
			h->set[h->nset][0] = (uint8_t)idx;
			h->set[h->nset][1] = rank;
			h->nset++;
		} else {
			h->nset = DG_HLL_DENSE;
		}
	}
	h->reg[idx] = rank;
}

int dg_hll_add(struct dg_hll *h, uint64_t x)
{
	unsigned idx = (unsigned)(x >> (64 - DG_HLL_P));
	uint64_t rest = (x << DG_HLL_P) | (1ULL << (DG_HLL_P - 1));
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);

	if (rank <= h->reg[idx])
		return 0;
	raise_reg(h, idx, rank);
	return 1;
}

/* 2^-r for every register value (at most 65): no ldexp per register. */
static double inv_pow2[256];

static void init_table(void)
{
	if (inv_pow2[0] == 1.0)
		return;
	for (int r = 255; r >= 0; r--)
		inv_pow2[r] = ldexp(1.0, -r);
}

double dg_hll_count(const struct dg_hll *h)
{
	double sum = 0, m = DG_HLL_M, est;
	int zeros = 0;

	/* At most DG_HLL_SPARSE registers set: the raw estimate is below
	 * 2.5 m whatever their values (the zeros alone make the sum at least
	 * 248), so it is linear counting, as below, from the zeros alone. */
	if (h->nset != DG_HLL_DENSE) {
		zeros = DG_HLL_M - h->nset;
		return m * log(m / zeros);
	}
	init_table();
	for (int i = 0; i < DG_HLL_M; i++) {
		sum += inv_pow2[h->reg[i]];
		zeros += !h->reg[i];
	}
	est = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
	if (est <= 2.5 * m && zeros)
		est = m * log(m / zeros);
	return est;
}

/* A sparse source: its pairs. Else a branch-free max over registers that
 * cannot alias: the compiler turns it into byte-wise vector maxima (16
 * registers an instruction with SSE2) instead of 256 compares and
 * branches. Clusters merge every member's sketches at each pass, so this
 * is the hot loop there. */
void dg_hll_merge(struct dg_hll *restrict dst, const struct dg_hll *restrict src)
{
	uint8_t *restrict d = dst->reg;
	const uint8_t *restrict s = src->reg;

	if (src->nset != DG_HLL_DENSE) {
		for (int i = 0; i < src->nset; i++)
			if (src->set[i][1] > d[src->set[i][0]])
				raise_reg(dst, src->set[i][0], src->set[i][1]);
		return;
	}
	for (int i = 0; i < DG_HLL_M; i++)
		d[i] = s[i] > d[i] ? s[i] : d[i];
	dst->nset = DG_HLL_DENSE;          /* src alone has more set than sparse holds */
}

uint64_t dg_hash64(const void *p, unsigned long len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (unsigned long i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	/* FNV alone is weak in the high bits: finish with a murmur mix. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}
