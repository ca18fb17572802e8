/* lockstep.c — group clients whose per-minute activity moves together. */
#include "lockstep.h"
#include "hll.h"
#include "unionfind.h"

#include <stdlib.h>

#define NBANDS (DG_LOCKSTEP_WINDOW / DG_LOCKSTEP_BAND)
#define BAND_MASK ((1u << DG_LOCKSTEP_BAND) - 1)

struct cand {
	uint64_t key;          /* band number, band bits, then the rotated pattern */
	uint32_t i;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static uint32_t rotl32(uint32_t v, unsigned r)
{
	r &= 31;
	return r ? v << r | v >> (32 - r) : v;
}

int dg_lockstep_eligible(uint32_t bits)
{
	/* Bit i active and bit i+1 (the minute before) idle is a start. A
	 * start with no activity before it in the window is a first
	 * appearance (of the key, or of the host's view of it after a
	 * restart), which every client has: only restarts count. */
	uint32_t starts = bits & ~(bits >> 1) & ~(1u << (DG_LOCKSTEP_WINDOW - 1));
	int restarts = __builtin_popcount(starts) - !(bits >> (DG_LOCKSTEP_WINDOW - 1));

	int active = __builtin_popcount(bits);

	return active >= DG_LOCKSTEP_MIN_ACTIVE &&
	       DG_LOCKSTEP_WINDOW - active >= DG_LOCKSTEP_MIN_IDLE &&
	       restarts >= DG_LOCKSTEP_MIN_RESTARTS;
}

static int jaccard_at_least(uint32_t a, uint32_t b)
{
	unsigned both = (unsigned)__builtin_popcount(a & b);
	unsigned either = (unsigned)__builtin_popcount(a | b);

	return either && (double)both >= DG_LOCKSTEP_JACCARD * (double)either;
}

/* Active in the same minutes and idle in the same minutes: dense patterns
 * are alike in their active minutes by chance, sparse ones in their idle
 * minutes, so both must agree. */
static int similar(uint32_t a, uint32_t b)
{
	return jaccard_at_least(a, b) && jaccard_at_least(~a, ~b);
}

size_t dg_lockstep_groups(const uint32_t *bits, const uint64_t *ids, size_t n, uint32_t min_group,
			  uint64_t *group)
{
	struct cand *c = malloc((n ? n : 1) * NBANDS * sizeof(*c));
	uint32_t *parent = malloc((n ? n : 1) * sizeof(*parent));
	uint32_t *size = calloc(n ? n : 1, sizeof(*size));
	uint64_t *min_id = malloc((n ? n : 1) * sizeof(*min_id));
	size_t nc = 0, groups = 0;

	for (size_t i = 0; i < n; i++)
		group[i] = 0;
	if (!c || !parent || !size || !min_id || n > UINT32_MAX) {
		groups = (size_t)-1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		parent[i] = (uint32_t)i;
		if (!dg_lockstep_eligible(bits[i]))
			continue;
		/* A band that is all idle or all active is shared by too many
		 * unrelated clients to be a useful bucket. */
		for (unsigned b = 0; b < NBANDS; b++) {
			uint32_t band = bits[i] >> (b * DG_LOCKSTEP_BAND) & BAND_MASK;

			if (band == 0 || band == BAND_MASK)
				continue;
			c[nc].key = (uint64_t)b << 40 | (uint64_t)band << 32 |
				    rotl32(bits[i], b * DG_LOCKSTEP_BAND);
			c[nc].i = (uint32_t)i;
			nc++;
		}
	}
	qsort(c, nc, sizeof(*c), cmp_cand);
	/* Within a bucket (same band, same bits) the patterns are sorted, so
	 * near-identical ones sit close: compare each with a few before it. */
	for (size_t k = 0; k < nc; k++) {
		for (size_t j = k; j-- > 0 && k - j <= DG_LOCKSTEP_PROBES;) {
			uint32_t a = c[k].i, b = c[j].i;

			if (c[j].key >> 32 != c[k].key >> 32)
				break;
			if (similar(bits[a], bits[b]))
				parent[dg_uf_find(parent, a)] = dg_uf_find(parent, b);
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t r = dg_uf_find(parent, (uint32_t)i);
		if (!size[r]++ || ids[i] < min_id[r])
			min_id[r] = ids[i];
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t r = dg_uf_find(parent, (uint32_t)i);
		uint64_t salted = min_id[r] ^ 0x6c6f636b73746570ULL;   /* "lockstep" */

		if (size[r] < min_group)
			continue;
		group[i] = dg_hash64(&salted, sizeof(salted)) | 1;
		groups += (uint32_t)i == r;
	}
out:
	free(c);
	free(parent);
	free(size);
	free(min_id);
	return groups;
}
