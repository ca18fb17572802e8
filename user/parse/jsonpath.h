/* jsonpath.h — where a body parser's yajl callbacks are in the document
 * (reqbody.c, respbody.c): the open containers, innermost last, each with
 * what it is (the parser's own kind numbers; 0 for a container it does not
 * follow), whether it is a map, and the key being read in it (the parser's
 * own key numbers, found in its table of the keys it knows). And a bounded
 * copy of a string value. Inline: yajl calls back for every token. */
#ifndef DG_JSONPATH_H
#define DG_JSONPATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DG_JSON_MAX_DEPTH 64   /* deeper nesting cancels the parse */

/* Key numbers every parser shares; its own start at DG_JK_FIRST. */
enum {
	DG_JK_NONE,    /* no key: the top level, or a map before its first key */
	DG_JK_OTHER,   /* a key not in the parser's table */
	DG_JK_ELEM,    /* the value is an element of an array */
	DG_JK_FIRST,
};

struct dg_jkey {
	const char *name;
	int key;
};

struct dg_jframe {
	uint8_t kind;
	uint8_t is_map;
	uint8_t key;           /* last key seen, for maps */
};

struct dg_jpath {
	int depth;             /* open containers; 0 at the top level */
	struct dg_jframe st[DG_JSON_MAX_DEPTH];
};

/* The number of the key s (len bytes) in table t (n entries), DG_JK_OTHER
 * when it is not there. */
static inline int dg_jkey_lookup(const struct dg_jkey *t, size_t n, const unsigned char *s,
				 size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = t[i].name;
		size_t j = 0;

		/* Compared in one pass, without a strlen per name: most names
		 * differ at the first byte. */
		while (j < len && name[j] && name[j] == (char)s[j])
			j++;
		if (j == len && name[j] == '\0')
			return t[i].key;
	}
	return DG_JK_OTHER;
}

/* A container opens: 1, or 0 when that is deeper than DG_JSON_MAX_DEPTH
 * (returned from a yajl callback, 0 cancels the parse). */
static inline int dg_jpath_push(struct dg_jpath *p, int kind, int is_map)
{
	struct dg_jframe *fr;

	if (p->depth >= DG_JSON_MAX_DEPTH)
		return 0;
	fr = &p->st[p->depth++];
	fr->kind = (uint8_t)kind;
	fr->is_map = (uint8_t)is_map;
	fr->key = DG_JK_NONE;
	return 1;
}

/* The innermost container closes (there is one); returns its kind. */
static inline int dg_jpath_pop(struct dg_jpath *p)
{
	return p->st[--p->depth].kind;
}

/* The innermost container (there is one). */
static inline struct dg_jframe *dg_jpath_top(struct dg_jpath *p)
{
	return &p->st[p->depth - 1];
}

/* Where the value about to be read sits: the kind of the container around
 * it and its key, DG_JK_ELEM in an array. Returns 0 at the top level (kind
 * 0, key DG_JK_NONE), else 1. */
static inline int dg_jpath_where(const struct dg_jpath *p, int *kind, int *key)
{
	const struct dg_jframe *fr;

	if (p->depth == 0) {
		*kind = 0;
		*key = DG_JK_NONE;
		return 0;
	}
	fr = &p->st[p->depth - 1];
	*kind = fr->kind;
	*key = fr->is_map ? fr->key : DG_JK_ELEM;
	return 1;
}

/* s (len bytes, not NUL-terminated) into dst of cap bytes, cut to fit,
 * NUL-terminated. */
static inline void dg_jcopy(char *dst, size_t cap, const void *s, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(dst, s, n);
	dst[n] = '\0';
}

#endif
