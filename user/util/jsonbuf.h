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

/* A member: "key": then its value. */
void dg_jb_null(struct dg_jb *jb, const char *key);
void dg_jb_bool(struct dg_jb *jb, const char *key, int v);          /* 0 false, else true */
void dg_jb_str(struct dg_jb *jb, const char *key, const char *v);   /* NUL-terminated */
void dg_jb_i64(struct dg_jb *jb, const char *key, int64_t v);
void dg_jb_u64(struct dg_jb *jb, const char *key, uint64_t v);
void dg_jb_hex16(struct dg_jb *jb, const char *key, uint64_t v);    /* "16 lowercase hex" */
/* v as printf "%.<digits>f" writes it (digits 0..9), v finite. */
void dg_jb_fixed(struct dg_jb *jb, const char *key, double v, int digits);
/* v as printf "%g" writes it, v finite. */
void dg_jb_g(struct dg_jb *jb, const char *key, double v);

#endif
