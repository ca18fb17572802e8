/* lru.h — the recency list of a bounded table: entries most recently used
 * first, evicted from the tail. The connection table (reassemble.c) and the
 * client, address and model tables (clients.c) each keep one. A table's
 * entry embeds a struct dg_lru_link as its first member, so a link is the
 * entry (cast it back). */
#ifndef DG_LRU_H
#define DG_LRU_H

#include <stddef.h>

struct dg_lru_link {
	struct dg_lru_link *prev, *next;
};

struct dg_lru {
	struct dg_lru_link *head, *tail;   /* head: most recently used */
};

static inline void dg_lru_unlink(struct dg_lru *l, struct dg_lru_link *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

static inline void dg_lru_push(struct dg_lru *l, struct dg_lru_link *n)
{
	n->next = l->head;
	n->prev = NULL;
	if (l->head)
		l->head->prev = n;
	l->head = n;
	if (!l->tail)
		l->tail = n;
}

/* Mark n as just used. */
static inline void dg_lru_touch(struct dg_lru *l, struct dg_lru_link *n)
{
	dg_lru_unlink(l, n);
	dg_lru_push(l, n);
}

#endif
