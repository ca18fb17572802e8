/* unionfind.h — the find of a union-find over uint32_t indices, with path
 * halving: clusters.c links templates and addresses, lockstep.c keys in
 * step. Union is parent[find(a)] = find(b). */
#ifndef DG_UNIONFIND_H
#define DG_UNIONFIND_H

#include <stdint.h>

static inline uint32_t dg_uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

#endif
