/* tlsgroups.c — group keys by a TLS client fingerprint rare on the host. */
#include "tlsgroups.h"
#include "hll.h"

#include <stdlib.h>

struct ent {
	uint64_t fp;
	size_t i;
};

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->fp != y->fp)
		return x->fp < y->fp ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
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

size_t dg_tls_groups(const uint64_t *fp, size_t n, uint32_t min_keys, double max_share,
		     uint64_t *group, double *share)
{
	struct ent *e = malloc((n ? n : 1) * sizeof(*e));
	size_t known = 0, groups = 0;

	for (size_t i = 0; i < n; i++) {
		group[i] = 0;
		share[i] = 0;
	}
	if (!e)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (fp[i]) {
			e[known].fp = fp[i];
			e[known].i = i;
			known++;
		}
	}
	qsort(e, known, sizeof(*e), cmp_ent);
	for (size_t a = 0, b; a < known; a = b) {
		double s;
		uint64_t salted, id;

		for (b = a; b < known && e[b].fp == e[a].fp; b++)
			;
		s = (double)(b - a) / (double)known;
		for (size_t k = a; k < b; k++)
			share[e[k].i] = s;
		if (b - a < min_keys || s > max_share)
			continue;
		/* Salted like lockstep ids: a group id is no template fingerprint. */
		salted = e[a].fp ^ 0x746c736b65797321ULL;   /* "tlskeys!" */
		id = dg_hash64(&salted, sizeof(salted)) | 1;
		for (size_t k = a; k < b; k++)
			group[e[k].i] = id;
		groups++;
	}
	free(e);
	return groups;
}
