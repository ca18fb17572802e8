/* jsonw.h — small writers over a yajl_gen, shared by the request record
 * (record.c, `trace --json`) and the client table (clients_out.c,
 * `clients --json`): a key and its value in one call, and `null` where a
 * value is not known. Numbers are written as printf formats them, so each
 * caller keeps its own number format. */
#ifndef DG_JSONW_H
#define DG_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

/* Values (after a key, or in an array). */
void dg_jw_string(yajl_gen g, const char *s);
/* v as fmt (one double conversion, e.g. "%.3f") prints it, unchecked. */
void dg_jw_number(yajl_gen g, double v, const char *fmt);

/* A map's key, then its value. */
void dg_jw_key(yajl_gen g, const char *k);
void dg_jw_str(yajl_gen g, const char *k, const char *v);
void dg_jw_int(yajl_gen g, const char *k, long long v);
void dg_jw_u64(yajl_gen g, const char *k, uint64_t v);
void dg_jw_num(yajl_gen g, const char *k, double v, const char *fmt);

/* The same, null when the value is not known. */
void dg_jw_str_or_null(yajl_gen g, const char *k, const char *v);   /* NULL or "" */
void dg_jw_int_or_null(yajl_gen g, const char *k, long long v, int known);
/* Also null when v is not finite. */
void dg_jw_num_or_null(yajl_gen g, const char *k, double v, int known, const char *fmt);
void dg_jw_bool_or_null(yajl_gen g, const char *k, int v);        /* v < 0 */
/* 16 lowercase hex digits, as a string. */
void dg_jw_hex_or_null(yajl_gen g, const char *k, uint64_t v, int known);

/* The generated text copied into buf, NUL-terminated, and g freed: its
 * length, or -1 when it does not fit (nothing cut) or g failed. */
int dg_jw_take(yajl_gen g, char *buf, size_t size);

#endif
