/* jsonbuf.c — a flat JSON object into a caller's buffer (jsonbuf.h). */
#include "jsonbuf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void dg_jb_begin(struct dg_jb *jb, char *buf, size_t size)
{
	jb->start = buf;
	jb->p = buf;
	jb->end = size ? buf + size - 1 : buf;
	jb->full = size == 0;
	jb->fields = 0;
	if (!jb->full)
		*jb->p++ = '{';
	jb->full |= jb->p > jb->end;
}

int dg_jb_end(struct dg_jb *jb)
{
	dg_jb_put(jb, "}", 1);
	if (jb->full)
		return -1;
	*jb->p = '\0';
	return (int)(jb->p - jb->start);
}

/* What yajl_string_encode writes for byte c: NULL when c goes as it is. */
static const char *escape(unsigned char c, char hex[7])
{
	switch (c) {
	case '\r': return "\\r";
	case '\n': return "\\n";
	case '\\': return "\\\\";
	case '"':  return "\\\"";
	case '\f': return "\\f";
	case '\b': return "\\b";
	case '\t': return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		memcpy(hex, "\\u00", 4);
		hex[4] = "0123456789ABCDEF"[c >> 4];   /* yajl's CharToHex: upper case */
		hex[5] = "0123456789ABCDEF"[c & 0xf];
		hex[6] = '\0';
		return hex;
	}
}

void dg_jb_str_value(struct dg_jb *jb, const char *v)
{
	const unsigned char *s = (const unsigned char *)v, *run = s;
	char hex[7];

	dg_jb_put(jb, "\"", 1);
	/* Runs of bytes that need no escape are copied whole. */
	for (; *s; s++) {
		const char *e;

		if (*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		e = escape(*s, hex);
		dg_jb_put(jb, (const char *)run, (size_t)(s - run));
		dg_jb_put(jb, e, strlen(e));
		run = s + 1;
	}
	dg_jb_put(jb, (const char *)run, (size_t)(s - run));
	dg_jb_put(jb, "\"", 1);
}

/* The decimal digits of v, from end backwards; returns where they start. */
static char *digits_back(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void dg_jb_u64_value(struct dg_jb *jb, uint64_t v)
{
	char b[24], *end = b + sizeof(b), *p = digits_back(end, v);

	dg_jb_put(jb, p, (size_t)(end - p));
}

void dg_jb_i64_value(struct dg_jb *jb, int64_t v)
{
	char b[24], *end = b + sizeof(b), *p;

	p = digits_back(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	dg_jb_put(jb, p, (size_t)(end - p));
}

/* ---- doubles, as printf writes them ---- */

static const uint64_t pow10_u64[10] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000
};

/* av * 10^digits (av >= 0, finite; digits 0..9) rounded to an integer the
 * way glibc's printf rounds: on the double's exact binary value, to
 * nearest, a tie to even. av is m / 2^s exactly (m < 2^53), so the
 * product m * 10^digits (< 2^83) and the remainder of its division by 2^s
 * are exact in 128 bits. Returns -1 when av >= 2^53 or the result does not
 * fit 63 bits: the caller then asks printf. */
static int scaled(double av, int digits, uint64_t *q)
{
	unsigned __int128 prod, whole, rest, half;
	uint64_t m;
	int exp, s;

	if (av == 0) {
		*q = 0;
		return 0;
	}
	m = (uint64_t)ldexp(frexp(av, &exp), 53);    /* av = m * 2^(exp - 53) */
	s = 53 - exp;
	if (s <= 0)
		return -1;
	if (s >= 128) {                  /* below 2^-74: rounds to 0 */
		*q = 0;
		return 0;
	}
	prod = (unsigned __int128)m * pow10_u64[digits];
	whole = prod >> s;
	rest = prod & ((((unsigned __int128)1) << s) - 1);
	half = ((unsigned __int128)1) << (s - 1);
	if (rest > half || (rest == half && (whole & 1)))
		whole++;
	if (whole >> 63)
		return -1;
	*q = (uint64_t)whole;
	return 0;
}

/* q / 10^digits with `digits` decimals (a point only when digits > 0),
 * trailing zeros of the decimals dropped when trim; after a '-' when neg. */
static void put_scaled(struct dg_jb *jb, int neg, uint64_t q, int digits, int trim)
{
	char b[48], *end = b + sizeof(b), *p = end;

	if (digits > 0) {
		uint64_t frac = q % pow10_u64[digits];
		int n = digits;

		if (trim)
			while (n > 0 && frac % 10 == 0) {
				frac /= 10;
				n--;
			}
		for (int i = 0; i < n; i++, frac /= 10)
			*--p = (char)('0' + frac % 10);
		if (n > 0)
			*--p = '.';
	}
	p = digits_back(p, q / pow10_u64[digits]);
	if (neg)
		*--p = '-';
	dg_jb_put(jb, p, (size_t)(end - p));
}

/* Outside what scaled() covers: printf itself. "%.9f" of DBL_MAX is 319
 * characters. */
static void put_printf(struct dg_jb *jb, const char *fmt, int prec, double v)
{
	char b[400];
	int n = snprintf(b, sizeof(b), fmt, prec, v);

	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(b))
		n = (int)sizeof(b) - 1;
	dg_jb_put(jb, b, (size_t)n);
}

void dg_jb_fixed_value(struct dg_jb *jb, double v, int digits)
{
	uint64_t q;

	if (scaled(fabs(v), digits, &q))
		put_printf(jb, "%.*f", digits, v);
	else
		put_scaled(jb, signbit(v) != 0, q, digits, 0);
}

/* %g is %.6g: six significant digits, in the "%f" style with trailing
 * zeros dropped when the decimal exponent X of the value rounded to six
 * digits is in -4..5, else the "%e" style (left to printf). With d = 5 - X
 * decimals the rounded value has exactly six digits, 100000 <= q < 10^6;
 * X is guessed from log10 and corrected when the rounding says otherwise
 * (999999.5 rounds up to 10^6: X is 6, printf writes 1e+06). */
void dg_jb_g_value(struct dg_jb *jb, double v)
{
	double av = fabs(v);
	uint64_t q;
	int x;

	if (av == 0) {
		dg_jb_put(jb, signbit(v) ? "-0" : "0", signbit(v) ? 2 : 1);
		return;
	}
	x = (int)floor(log10(av));
	for (int tries = 0; tries < 3; tries++) {
		int d = 5 - x;

		if (d < 0 || d > 9 || scaled(av, d, &q))
			break;
		if (q >= 1000000) {
			x++;
		} else if (q < 100000) {
			x--;
		} else {
			put_scaled(jb, signbit(v) != 0, q, d, 1);
			return;
		}
	}
	put_printf(jb, "%.*g", 6, v);
}
