/* test_jsonw.c — the key-and-value JSON writers (jsonw.h): known output
 * for every writer, null for what is not known, numbers exactly as their
 * format prints them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_gen.h>

#include "jsonw.h"

static yajl_gen open_map(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	assert_non_null(g);
	yajl_gen_map_open(g);
	return g;
}

/* Close the map, compare what g wrote with want, free g. */
static void expect(yajl_gen g, const char *want)
{
	const unsigned char *buf;
	size_t len;

	yajl_gen_map_close(g);
	assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	yajl_gen_free(g);
}

static void test_known(void **state)
{
	yajl_gen g = open_map();

	(void)state;
	dg_jw_str(g, "s", "a\"b\\c\x01");
	dg_jw_str(g, "empty", "");
	dg_jw_int(g, "i", -42);
	dg_jw_int(g, "big", 9007199254740993LL);
	dg_jw_u64(g, "u", UINT64_MAX);
	dg_jw_num(g, "f1", 12.25, "%.1f");
	dg_jw_num(g, "f3", 0.0005, "%.3f");
	dg_jw_num(g, "f6", 1700000000.5, "%.6f");
	dg_jw_num(g, "g", 0.1234567, "%g");
	expect(g, "{\"s\":\"a\\\"b\\\\c\\u0001\",\"empty\":\"\",\"i\":-42,"
		  "\"big\":9007199254740993,\"u\":18446744073709551615,"
		  "\"f1\":12.2,\"f3\":0.001,\"f6\":1700000000.500000,\"g\":0.123457}");
}

static void test_null_when_unknown(void **state)
{
	yajl_gen g = open_map();

	(void)state;
	dg_jw_str_or_null(g, "s", "x");
	dg_jw_str_or_null(g, "s0", "");
	dg_jw_str_or_null(g, "sn", NULL);
	dg_jw_int_or_null(g, "i", 7, 1);
	dg_jw_int_or_null(g, "in", 7, 0);
	dg_jw_num_or_null(g, "f", 2.5, 1, "%.3f");
	dg_jw_num_or_null(g, "fn", 2.5, 0, "%.3f");
	dg_jw_num_or_null(g, "nan", NAN, 1, "%.3f");
	dg_jw_num_or_null(g, "inf", -INFINITY, 1, "%g");
	dg_jw_bool_or_null(g, "t", 1);
	dg_jw_bool_or_null(g, "b0", 0);
	dg_jw_bool_or_null(g, "bn", -1);
	dg_jw_hex_or_null(g, "h", 0xabcULL, 1);
	dg_jw_hex_or_null(g, "h0", 0, 1);
	dg_jw_hex_or_null(g, "hn", 0xabcULL, 0);
	expect(g, "{\"s\":\"x\",\"s0\":null,\"sn\":null,\"i\":7,\"in\":null,"
		  "\"f\":2.500,\"fn\":null,\"nan\":null,\"inf\":null,"
		  "\"t\":true,\"b0\":false,\"bn\":null,"
		  "\"h\":\"0000000000000abc\",\"h0\":\"0000000000000000\",\"hn\":null}");
}

/* Values on their own, after a key or in an array. */
static void test_values(void **state)
{
	yajl_gen g = open_map();

	(void)state;
	dg_jw_key(g, "a");
	yajl_gen_array_open(g);
	dg_jw_string(g, "x");
	dg_jw_number(g, 3.14159, "%.2f");
	dg_jw_number(g, 7, "%.0f");
	yajl_gen_array_close(g);
	expect(g, "{\"a\":[\"x\",3.14,7]}");
}

/* A number longer than a small buffer is written whole. */
/* Integers at their limits, written without printf. */
static void test_integer_limits(void **state)
{
	yajl_gen g = open_map();

	(void)state;
	dg_jw_int(g, "min", INT64_MIN);
	dg_jw_int(g, "neg", -7);
	dg_jw_int(g, "zero", 0);
	dg_jw_int(g, "max", INT64_MAX);
	dg_jw_int_or_null(g, "ten", 10, 1);
	dg_jw_u64(g, "u0", 0);
	dg_jw_u64(g, "umax", UINT64_MAX);
	expect(g, "{\"min\":-9223372036854775808,\"neg\":-7,\"zero\":0,"
		  "\"max\":9223372036854775807,\"ten\":10,\"u0\":0,"
		  "\"umax\":18446744073709551615}");
}

static void test_long_number(void **state)
{
	yajl_gen g = open_map();
	char want[400];
	char num[360];

	(void)state;
	snprintf(num, sizeof(num), "%.3f", 1e300);
	assert_true(strlen(num) > 300);
	dg_jw_num(g, "n", 1e300, "%.3f");
	snprintf(want, sizeof(want), "{\"n\":%s}", num);
	expect(g, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_null_when_unknown),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_integer_limits),
		cmocka_unit_test(test_long_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
