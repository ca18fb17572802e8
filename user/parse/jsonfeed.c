/* jsonfeed.c — whole string tokens for yajl (jsonfeed.h). */
#include "jsonfeed.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* Room for n more bytes; the old buffer is wiped before it is freed. */
static int reserve(struct dg_jsonfeed *f, size_t n)
{
	size_t cap = f->cap ? f->cap : 4096;
	char *nb;

	if (f->len + n <= f->cap)
		return 0;
	while (cap < f->len + n)
		cap *= 2;
	nb = malloc(cap);
	if (!nb)
		return -1;
	if (f->len)
		memcpy(nb, f->buf, f->len);
	if (f->buf) {
		sodium_memzero(f->buf, f->cap);
		free(f->buf);
	}
	f->buf = nb;
	f->cap = cap;
	return 0;
}

/* Backslashes right before p[end], back to p[from] (esc: one more before
 * p[from], left over from the previous piece). */
static size_t backslashes(const char *p, size_t from, size_t end, int esc)
{
	size_t k = 0;

	while (end - k > from && p[end - k - 1] == '\\')
		k++;
	return end - k == from ? k + (size_t)esc : k;
}

/* The first '"' in p[0..n). Most stretches between quotes in a request are
 * a few bytes (keys, punctuation, short values), shorter than a memchr call
 * costs, so the first bytes are looked at here. */
static const char *find_quote(const char *p, size_t n)
{
	size_t k = n < 16 ? n : 16;

	for (size_t i = 0; i < k; i++)
		if (p[i] == '"')
			return p + i;
	return n > k ? memchr(p + k, '"', n - k) : NULL;
}

/* Scan p with the string state: the offset just past the last byte that
 * is outside a string (0 when every byte is inside one). This runs over
 * every body byte, so it jumps from quote to quote with memchr instead of
 * stepping through the bytes: a quote ends a string unless an odd number
 * of backslashes comes right before it. */
static size_t last_safe(struct dg_jsonfeed *f, const char *p, size_t len)
{
	size_t safe = 0, i = 0;

	while (i < len) {
		const char *q = find_quote(p + i, len - i);
		size_t at = q ? (size_t)(q - p) : len;

		if (!f->in_str) {
			safe = at;             /* everything before the quote */
			if (!q)
				break;
			f->in_str = 1;
			f->esc = 0;
		} else if (!q) {
			f->esc = backslashes(p, i, len, f->esc) & 1;
			break;
		} else if (!(backslashes(p, i, at, f->esc) & 1)) {
			f->in_str = 0;         /* the closing quote is outside */
			safe = at + 1;
		}
		f->esc = 0;
		i = at + 1;
	}
	return safe;
}

/* Out of memory: yajl gets everything now and holds strings itself. */
static yajl_status pass_all(struct dg_jsonfeed *f, yajl_handle h, const char *p, size_t len)
{
	yajl_status st = dg_jsonfeed_flush(f, h);

	return st == yajl_status_ok && len ? yajl_parse(h, (const unsigned char *)p, len) : st;
}

yajl_status dg_jsonfeed_parse(struct dg_jsonfeed *f, yajl_handle h, const char *p, size_t len)
{
	size_t safe = last_safe(f, p, len);
	yajl_status st = yajl_status_ok;

	if (!f->len) {
		/* Nothing held: pass what is safe straight through. */
		if (safe)
			st = yajl_parse(h, (const unsigned char *)p, safe);
	} else if (safe) {
		/* The held string ends here: yajl gets it whole. */
		if (reserve(f, safe))
			return pass_all(f, h, p, len);
		memcpy(f->buf + f->len, p, safe);
		f->len += safe;
		st = dg_jsonfeed_flush(f, h);
	}
	if (st != yajl_status_ok || safe == len)
		return st;
	/* Hold the unfinished string. */
	if (reserve(f, len - safe))
		return pass_all(f, h, p + safe, len - safe);
	memcpy(f->buf + f->len, p + safe, len - safe);
	f->len += len - safe;
	return yajl_status_ok;
}

yajl_status dg_jsonfeed_flush(struct dg_jsonfeed *f, yajl_handle h)
{
	yajl_status st = yajl_status_ok;
	int in_str = f->in_str, esc = f->esc;

	if (f->len)
		st = yajl_parse(h, (const unsigned char *)f->buf, f->len);
	dg_jsonfeed_reset(f);
	f->in_str = in_str;     /* the scanner goes on where the bytes left it */
	f->esc = esc;
	return st;
}

void dg_jsonfeed_reset(struct dg_jsonfeed *f)
{
	if (f->len)
		sodium_memzero(f->buf, f->len);
	f->len = 0;
	f->in_str = f->esc = 0;
}

void dg_jsonfeed_free(struct dg_jsonfeed *f)
{
	if (f->buf) {
		sodium_memzero(f->buf, f->cap);
		free(f->buf);
	}
	memset(f, 0, sizeof(*f));
}
