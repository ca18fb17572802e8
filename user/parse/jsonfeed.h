/* jsonfeed.h — hand yajl whole string tokens.
 *
 * yajl keeps a string token that a buffer ends inside, and re-reads all of
 * it on every later call until the token ends: a 1 MiB prompt string fed in
 * 16 KiB pieces is read about 32 times over. A jsonfeed sits in front of
 * yajl_parse and holds back the bytes of an unfinished string (tracking
 * quotes and escapes outside yajl), so yajl sees each string once, whole.
 * Everything else passes through at once. The held bytes are prompt text:
 * they stay in this process and are wiped when released. Memory: the longest
 * string held, bounded by what the caller feeds. */
#ifndef DG_JSONFEED_H
#define DG_JSONFEED_H

#include <stddef.h>
#include <yajl/yajl_parse.h>

struct dg_jsonfeed {
	char *buf;             /* held bytes: an unfinished string and after */
	size_t len, cap;
	int in_str, esc;       /* scanner state at the end of what was fed */
};

/* Feed p to yajl through f; returns yajl's status (yajl_status_ok when the
 * bytes were only held). */
yajl_status dg_jsonfeed_parse(struct dg_jsonfeed *f, yajl_handle h, const char *p, size_t len);
/* Give yajl whatever is held (the body ended). */
yajl_status dg_jsonfeed_flush(struct dg_jsonfeed *f, yajl_handle h);
/* Forget what is held (wiped); keep the buffer for the next body. */
void dg_jsonfeed_reset(struct dg_jsonfeed *f);
/* Wipe and free. */
void dg_jsonfeed_free(struct dg_jsonfeed *f);

#endif
