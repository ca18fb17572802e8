/* test_promtext.c — user/util/promtext.c: the Prometheus text format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static char *buf;
static size_t len;

static FILE *open_out(void)
{
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	return f;
}

/* HELP escapes backslash and newline; label values quotes too. */
static void test_escaping(void **state)
{
	FILE *f = open_out();

	(void)state;
	dg_prom_family(f, "x_total", "counter", "a \\ b\nc \"q\"");
	dg_prom_sample(f, "x_total", 3, "client", "ip:1.2.3.4", "why", "a\"b\\c\nd", NULL);
	dg_prom_sample(f, "y", 0.25, NULL);
	dg_prom_sample(f, "y", NAN, NULL);
	dg_prom_sample(f, "y", INFINITY, NULL);
	dg_prom_sample_u64(f, "z_total", 18446744073709551615ULL, "k", "", NULL);
	fclose(f);
	assert_string_equal(buf,
		"# HELP x_total a \\\\ b\\nc \"q\"\n"
		"# TYPE x_total counter\n"
		"x_total{client=\"ip:1.2.3.4\",why=\"a\\\"b\\\\c\\nd\"} 3\n"
		"y 0.25\n"
		"y NaN\n"
		"y +Inf\n"
		"z_total{k=\"\"} 18446744073709551615\n");
	free(buf);
}

/* Buckets are cumulative, +Inf is the count, sum adds up; a value above
 * every bound counts only in +Inf; NaN is not counted. */
static void test_histogram(void **state)
{
	static const double le[] = { 0.1, 1, 10 };
	struct dg_histo h;
	FILE *f = open_out();

	(void)state;
	dg_histo_init(&h, le, 3);
	dg_histo_add(&h, 0.05);
	dg_histo_add(&h, 0.1);                 /* on a bound: in it */
	dg_histo_add(&h, 5);
	dg_histo_add(&h, 50);
	dg_histo_add(&h, NAN);
	dg_prom_histo(f, "d_seconds", "help", &h);
	fclose(f);
	assert_string_equal(buf,
		"# HELP d_seconds help\n"
		"# TYPE d_seconds histogram\n"
		"d_seconds_bucket{le=\"0.1\"} 2\n"
		"d_seconds_bucket{le=\"1\"} 2\n"
		"d_seconds_bucket{le=\"10\"} 3\n"
		"d_seconds_bucket{le=\"+Inf\"} 4\n"
		"d_seconds_sum 55.15\n"
		"d_seconds_count 4\n");
	free(buf);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(dg_prom_name_ok("distillguard_requests_total"));
	assert_true(dg_prom_name_ok("a:b_c9"));
	assert_false(dg_prom_name_ok(""));
	assert_false(dg_prom_name_ok("9abc"));
	assert_false(dg_prom_name_ok("a-b"));
	assert_false(dg_prom_name_ok("a b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
