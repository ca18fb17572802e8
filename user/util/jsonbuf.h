/* jsonbuf.h — a flat JSON object written straight into a caller's buffer,
 * for the request record, which the daemon writes once per request.
 *
 * The text is byte for byte what yajl_gen (no beautify, solidus not
 * escaped) and the jsonw.h writers make: strings escaped as yajl escapes
 * them (\" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX, every
 * other byte as it is, unchecked), numbers as printf formats them. What
 * it saves is yajl's allocation, its state machine and its buffer copy,
 * and printf for the common doubles (see dg_jb_fixed, dg_jb_g).
 *
 * Keys are written as given: they must need no escaping (literals). When
 * the buffer is too small the writer stops and dg_jb_end returns -1. */
#ifndef DG_JSONBUF_H
#define DG_JSONBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hex.h"

struct dg_jb {
	char *p, *end;             /* next byte; the last usable byte (for the NUL) */
	char *start;
	int full;                  /* something did not fit */
	int fields;                /* members so far: the next needs a comma */
};

/* Opens the object ("{") in buf of size bytes. */
void dg_jb_begin(struct dg_jb *jb, char *buf, size_t size);
/* Closes it ("}"), NUL-terminates: the length, or -1 when it did not fit. */
int dg_jb_end(struct dg_jb *jb);

/* Values, after dg_jb_key; the members below are a key and one of these. */
void dg_jb_str_value(struct dg_jb *jb, const char *v);          /* NUL-terminated */
void dg_jb_u64_value(struct dg_jb *jb, uint64_t v);
void dg_jb_i64_value(struct dg_jb *jb, int64_t v);
/* v as printf "%.<digits>f" writes it (digits 0..9), v finite. */
void dg_jb_fixed_value(struct dg_jb *jb, double v, int digits);
/* v as printf "%g" writes it, v finite. */
void dg_jb_g_value(struct dg_jb *jb, double v);

/* The small steps are inline, and a key's length is taken where the key
 * is still a literal: a record has some forty members, and strlen and
 * memcpy of each key were a third of writing it. */

/* n bytes, or the writer stops (full) when they do not fit. */
static inline void dg_jb_put(struct dg_jb *jb, const char *s, size_t n)
{
	if (jb->full || (size_t)(jb->end - jb->p) < n) {
		jb->full = 1;
		return;
	}
	memcpy(jb->p, s, n);
	jb->p += n;
}

/* ,"key": (no comma before the first member); n is strlen(k). */
static inline void dg_jb_key_n(struct dg_jb *jb, const char *k, size_t n)
{
	if (jb->full || (size_t)(jb->end - jb->p) < n + 4) {
		jb->full = 1;
		return;
	}
	if (jb->fields++)
		*jb->p++ = ',';
	*jb->p++ = '"';
	memcpy(jb->p, k, n);
	jb->p += n;
	*jb->p++ = '"';
	*jb->p++ = ':';
}

#define dg_jb_key(jb, k) dg_jb_key_n((jb), (k), strlen(k))

/* The members, as macros so that k is still the caller's literal. */
#define dg_jb_null(jb, k)         (dg_jb_key(jb, k), dg_jb_put((jb), "null", 4))
/* 0 false, else true. */
#define dg_jb_bool(jb, k, v) \
	(dg_jb_key(jb, k), (v) ? dg_jb_put((jb), "true", 4) : dg_jb_put((jb), "false", 5))
#define dg_jb_str(jb, k, v)       (dg_jb_key(jb, k), dg_jb_str_value((jb), (v)))
#define dg_jb_u64(jb, k, v)       (dg_jb_key(jb, k), dg_jb_u64_value((jb), (v)))
#define dg_jb_i64(jb, k, v)       (dg_jb_key(jb, k), dg_jb_i64_value((jb), (v)))
#define dg_jb_fixed(jb, k, v, d)  (dg_jb_key(jb, k), dg_jb_fixed_value((jb), (v), (d)))
#define dg_jb_g(jb, k, v)         (dg_jb_key(jb, k), dg_jb_g_value((jb), (v)))
/* "16 lowercase hex digits". */
#define dg_jb_hex16(jb, k, v)     (dg_jb_key(jb, k), dg_jb_hex16_value((jb), (v)))

static inline void dg_jb_hex16_value(struct dg_jb *jb, uint64_t v)
{
	char b[DG_HEX16_LEN + 3];

	b[0] = '"';
	dg_hex16(v, b + 1);
	b[DG_HEX16_LEN + 1] = '"';
	dg_jb_put(jb, b, DG_HEX16_LEN + 2);
}

#endif
