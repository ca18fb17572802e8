/* jsonw.c — key-and-value writers over a yajl_gen (jsonw.h). */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

/* Room for any double under a "%.Nf" format with a small N (DBL_MAX has
 * 309 digits before the point). */
#define NUM_MAX 400

void dg_jw_string(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void dg_jw_number(yajl_gen g, double v, const char *fmt)
{
	char b[NUM_MAX];
	int n = snprintf(b, sizeof(b), fmt, v);

	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(b))
		n = (int)sizeof(b) - 1;
	yajl_gen_number(g, b, (size_t)n);
}

/* The decimal digits of v, from the end of b backwards; returns where they
 * start. yajl_gen_integer and snprintf both go through printf, which was a
 * good part of writing a record line (a dozen integers each). */
static char *fmt_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* v as a JSON number. */
static void gen_i64(yajl_gen g, long long v)
{
	char b[24], *end = b + sizeof(b), *p;

	p = fmt_u64(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	yajl_gen_number(g, p, (size_t)(end - p));
}

void dg_jw_key(yajl_gen g, const char *k)
{
	dg_jw_string(g, k);
}

void dg_jw_str(yajl_gen g, const char *k, const char *v)
{
	dg_jw_key(g, k);
	dg_jw_string(g, v);
}

void dg_jw_int(yajl_gen g, const char *k, long long v)
{
	dg_jw_key(g, k);
	gen_i64(g, v);
}

/* yajl_gen_integer takes a long long: a larger value goes in as text. */
void dg_jw_u64(yajl_gen g, const char *k, uint64_t v)
{
	char b[24], *end = b + sizeof(b), *p = fmt_u64(end, v);

	dg_jw_key(g, k);
	yajl_gen_number(g, p, (size_t)(end - p));
}

void dg_jw_num(yajl_gen g, const char *k, double v, const char *fmt)
{
	dg_jw_key(g, k);
	dg_jw_number(g, v, fmt);
}

void dg_jw_str_or_null(yajl_gen g, const char *k, const char *v)
{
	dg_jw_key(g, k);
	if (v && *v)
		dg_jw_string(g, v);
	else
		yajl_gen_null(g);
}

void dg_jw_int_or_null(yajl_gen g, const char *k, long long v, int known)
{
	dg_jw_key(g, k);
	if (known)
		gen_i64(g, v);
	else
		yajl_gen_null(g);
}

void dg_jw_num_or_null(yajl_gen g, const char *k, double v, int known, const char *fmt)
{
	dg_jw_key(g, k);
	if (known && isfinite(v))
		dg_jw_number(g, v, fmt);
	else
		yajl_gen_null(g);
}

void dg_jw_bool_or_null(yajl_gen g, const char *k, int v)
{
	dg_jw_key(g, k);
	if (v < 0)
		yajl_gen_null(g);
	else
		yajl_gen_bool(g, v);
}

void dg_jw_hex_or_null(yajl_gen g, const char *k, uint64_t v, int known)
{
	char b[DG_HEX16_LEN + 1];

	dg_jw_key(g, k);
	if (known)
		dg_jw_string(g, dg_hex16(v, b));
	else
		yajl_gen_null(g);
}

int dg_jw_take(yajl_gen g, char *buf, size_t size)
{
	const unsigned char *out;
	size_t len;
	int rc = -1;

	if (yajl_gen_get_buf(g, &out, &len) == yajl_gen_status_ok && len < size) {
		memcpy(buf, out, len);
		buf[len] = 0;
		rc = (int)len;
	}
	yajl_gen_free(g);
	return rc;
}
