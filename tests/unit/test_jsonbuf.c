/* test_jsonbuf.c — the buffer writer against what it replaces: numbers
 * compared with printf (fixed decimals 0..9 and %g) on ties, boundaries,
 * the range edges where it hands over to printf and 40,000 random
 * doubles; strings compared with yajl_gen for every byte value; a buffer
 * too small by any amount gives -1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_gen.h>

#include "jsonbuf.h"
#include "xorshift.h"


/* {"v":<printf fmt of v>} against the writer's {"v":...}; digits < 0: %g. */
static void check_num(double v, int digits)
{
	char want[512], num[400], got[512];
	struct dg_jb jb;

	if (digits < 0)
		snprintf(num, sizeof(num), "%g", v);
	else
		snprintf(num, sizeof(num), "%.*f", digits, v);
	snprintf(want, sizeof(want), "{\"v\":%s}", num);
	dg_jb_begin(&jb, got, sizeof(got));
	if (digits < 0)
		dg_jb_g(&jb, "v", v);
	else
		dg_jb_fixed(&jb, "v", v, digits);
	assert_int_equal(dg_jb_end(&jb), (int)strlen(want));
	if (strcmp(got, want)) {
		fprintf(stderr, "%a digits %d: got %s want %s\n", v, digits, got, want);
		fail();
	}
}

static void check_all_formats(double v)
{
	for (int d = -1; d <= 9; d++) {
		check_num(v, d);
		check_num(-v, d);
	}
}

static void test_numbers_edges(void **state)
{
	static const double fixed[] = {
		0.0, 1.0, 0.5, 1.5, 2.5, 0.0625, 0.1875, 0.7, 0.1, 0.2, 0.3, 1e-4, 9.99995e-5,
		1e-5, 0.00049, 0.0005, 0.00051, 999999.5, 999999.4, 999995, 9999995, 99999.95,
		123456.5, 1e6, 1e15, 1e16, 9007199254740991.0, 9007199254740992.0,
		9007199254740993.0, 9223372036.854775, 9223372036.854776, 9223372036854775807.0,
		1793491200.034086, 1793491200.5, 67775.86, 67776.409, 0.0009765625,
		DBL_MIN, DBL_TRUE_MIN, DBL_MAX, DBL_EPSILON, 1e-300, 4.9406564584124654e-324,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_all_formats(fixed[i]);
	/* Exact ties at every scale the writer covers: k/2^j. */
	for (int j = 1; j <= 12; j++)
		for (int k = 1; k < 4000; k += 7)
			check_all_formats(ldexp(k, -j));
	/* Powers of ten and their neighbours: where %g changes its exponent. */
	for (int e = -12; e <= 20; e++) {
		double p = pow(10, e);

		check_all_formats(p);
		check_all_formats(nextafter(p, 0));
		check_all_formats(nextafter(p, INFINITY));
		check_all_formats(p * 0.999995);
		check_all_formats(p * 0.9999995);
	}
}

static void test_numbers_random(void **state)
{
	(void)state;
	for (int i = 0; i < 40000; i++) {
		uint64_t bits = next();
		double v;

		memcpy(&v, &bits, sizeof(v));
		if (isfinite(v))
			check_all_formats(v);
		/* Values like the record's: Unix times, milliseconds,
		 * temperatures. */
		check_num(1.7e9 + (double)(next() % 400000000) + (double)(next() % 1000000) / 1e6, 6);
		check_num((double)(next() % 100000000) / 1000.0, 3);
		check_num((double)(next() % 10000000) / (double)(1 + next() % 100000), 3);
		check_num((double)(next() % 300) / 100.0, -1);
		check_num((double)(next() % 1000000) / (double)(1 + next() % 1000000), -1);
	}
}

/* A string through yajl_gen and through the writer. */
static void check_str(const char *s)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t len;
	char got[2048];
	struct dg_jb jb;

	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"k", 1);
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	yajl_gen_map_close(g);
	assert_int_equal(yajl_gen_get_buf(g, &out, &len), yajl_gen_status_ok);
	dg_jb_begin(&jb, got, sizeof(got));
	dg_jb_str(&jb, "k", s);
	assert_int_equal(dg_jb_end(&jb), (int)len);
	assert_memory_equal(got, out, len);
	yajl_gen_free(g);
}

static void test_strings_like_yajl(void **state)
{
	char s[4];

	(void)state;
	for (int c = 1; c < 256; c++) {
		s[0] = (char)c;
		s[1] = 0;
		check_str(s);
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'b';
		s[3] = 0;
		check_str(s);
	}
	check_str("");
	check_str("/v1/chat/completions");
	check_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff\xfe not UTF-8");
	check_str("\"\\\"\\\\\x01\x1f\x7f\b\f\n\r\t</script>");
}

static void test_too_small(void **state)
{
	char buf[256];
	struct dg_jb jb;
	int whole;

	(void)state;
	dg_jb_begin(&jb, buf, sizeof(buf));
	dg_jb_str(&jb, "a", "x\ny");
	dg_jb_null(&jb, "b");
	dg_jb_fixed(&jb, "c", 1.25, 3);
	dg_jb_hex16(&jb, "d", 0xabc);
	whole = dg_jb_end(&jb);
	assert_string_equal(buf, "{\"a\":\"x\\ny\",\"b\":null,\"c\":1.250,\"d\":\"0000000000000abc\"}");
	for (size_t size = 0; size <= (size_t)whole + 1; size++) {
		dg_jb_begin(&jb, buf, size);
		dg_jb_str(&jb, "a", "x\ny");
		dg_jb_null(&jb, "b");
		dg_jb_fixed(&jb, "c", 1.25, 3);
		dg_jb_hex16(&jb, "d", 0xabc);
		assert_int_equal(dg_jb_end(&jb), size > (size_t)whole ? whole : -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_edges),
		cmocka_unit_test(test_numbers_random),
		cmocka_unit_test(test_strings_like_yajl),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
