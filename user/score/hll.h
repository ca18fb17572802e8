/* hll.h — HyperLogLog distinct counter: 256 one-byte registers (p = 8,
 * about 6.5% standard error), exact-enough small counts by linear
 * counting. Bounded memory whatever is counted (addresses per key, keys
 * per address). */
#ifndef DG_HLL_H
#define DG_HLL_H

#include <stdint.h>

#define DG_HLL_P 8
#define DG_HLL_M (1 << DG_HLL_P)

/* Registers set, as (register, value) pairs, while there are at most
 * DG_HLL_SPARSE of them: a key's addresses, an address's keys are mostly a
 * few, and a cluster unions its members' sketches at every pass. A sparse
 * sketch is merged from its pairs (one cache line, not four) and counted
 * from its number of zero registers alone (linear counting, which is what
 * so few registers always give). */
#define DG_HLL_SPARSE 8
#define DG_HLL_DENSE  255               /* nset: more than DG_HLL_SPARSE set */

struct dg_hll {
	uint8_t nset;                   /* pairs in set[], or DG_HLL_DENSE */
	uint8_t set[DG_HLL_SPARSE][2];  /* (register, its value) of those set */
	uint8_t reg[DG_HLL_M];
};

void dg_hll_init(struct dg_hll *h);
/* Add an item by its 64-bit hash (well mixed: use dg_hash64). Returns 1
 * when a register rose (the count may have changed), else 0: callers that
 * keep a count recount only then. */
int dg_hll_add(struct dg_hll *h, uint64_t hash);
double dg_hll_count(const struct dg_hll *h);
/* Fold src into dst (union); dst and src are distinct sketches. */
void dg_hll_merge(struct dg_hll *restrict dst, const struct dg_hll *restrict src);

/* A 64-bit mix of bytes, for sketches and tables (not keyed, not secret). */
uint64_t dg_hash64(const void *p, unsigned long len);

#endif
