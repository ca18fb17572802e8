/* tlsgroups.c — group keys by a TLS client fingerprint rare on the host. */
#include "tlsgroups.h"
#include "hll.h"

#include <stdlib.h>

/* One TLS client: its fingerprint, the keys that carry it, its group id
 * (0: none). */
struct slot {
	uint64_t fp, id;
	size_t keys;
};

/* The slot of fp (non-zero) in tab[0..mask], an empty one if not there:
 * fingerprints are hashes already, so their low bits spread them. */
static struct slot *slot_of(struct slot *tab, size_t mask, uint64_t fp)
{
	size_t k = (size_t)fp & mask;

	while (tab[k].fp && tab[k].fp != fp)
		k = (k + 1) & mask;
	return &tab[k];
}

void dg_tls_vote(struct dg_tls_vote *v, uint64_t fp)
{
	if (!fp)
		return;
	if (v->fp == fp) {
		if (v->votes < DG_TLS_VOTE_CAP)
			v->votes++;
	} else if (v->votes == 0) {
		v->fp = fp;
		v->votes = 1;
	} else {
		v->votes--;
	}
}

/* Keys are counted per fingerprint in an open-addressed table (at most
 * half full) rather than sorted: a pass groups 100,000 keys, and only
 * the counts matter. */
size_t dg_tls_groups(const uint64_t *fp, size_t n, uint32_t min_keys, double max_share,
		     uint64_t *group, double *share)
{
	size_t known = 0, groups = 0, cap = 16;
	struct slot *tab;

	for (size_t i = 0; i < n; i++) {
		group[i] = 0;
		share[i] = 0;
		known += fp[i] != 0;
	}
	while (cap < 2 * known)
		cap <<= 1;
	if (!(tab = calloc(cap, sizeof(*tab))))
		return (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		struct slot *sl;

		if (!fp[i])
			continue;
		sl = slot_of(tab, cap - 1, fp[i]);
		sl->fp = fp[i];
		sl->keys++;
	}
	for (size_t k = 0; k < cap; k++) {
		double s = (double)tab[k].keys / (double)known;
		/* Salted like lockstep ids: a group id is no template fingerprint. */
		uint64_t salted = tab[k].fp ^ 0x746c736b65797321ULL;   /* "tlskeys!" */

		if (!tab[k].fp || tab[k].keys < min_keys || s > max_share)
			continue;
		tab[k].id = dg_hash64(&salted, sizeof(salted)) | 1;
		groups++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct slot *sl;

		if (!fp[i])
			continue;
		sl = slot_of(tab, cap - 1, fp[i]);
		share[i] = (double)sl->keys / (double)known;
		group[i] = sl->id;
	}
	free(tab);
	return groups;
}
