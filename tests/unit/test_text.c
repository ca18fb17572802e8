/* test_text.c — the console's text helpers: cells padded, aligned and cut
 * with '~'; compact numbers that fit their width; durations and relative
 * times; lines cut to the width; items flowed onto lines. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

static void test_cells(void **state)
{
	char out[64];

	dg_text_cell(out, "abc", 6, 0);
	assert_string_equal(out, "abc   ");
	dg_text_cell(out, "abc", 6, 1);
	assert_string_equal(out, "   abc");
	dg_text_cell(out, "abcdefgh", 5, 0);
	assert_string_equal(out, "abcd~");
	dg_text_cell(out, "abcdefgh", 5, 1);
	assert_string_equal(out, "abcd~");
	dg_text_cell(out, "abc", 3, 0);
	assert_string_equal(out, "abc");
	dg_text_cell(out, "abc", 1, 0);
	assert_string_equal(out, "~");
	dg_text_cell(out, "abc", 0, 0);
	assert_string_equal(out, "");
	dg_text_cell(out, "", 2, 1);
	assert_string_equal(out, "  ");
}

static void test_numbers(void **state)
{
	static const struct {
		double v;
		int decimals, w;
		const char *want;
	} cases[] = {
		{ 16.04, 1, 5, "16.0" },
		{ 0, 1, 5, "0" },
		{ 0.04, 1, 5, "0.0" },
		{ 123.45, 1, 5, "123.5" },
		{ 1234.6, 1, 5, "1235" },
		{ 25602.3, 1, 5, "25602" },
		{ 25602.3, 1, 6, "25602" },
		{ 125602.3, 1, 5, "126k" },
		{ 1250, 0, 3, "1k" },
		{ 25602.3, 0, 4, "26k" },
		{ 999999, 0, 5, "1.0M" },
		{ 999400, 0, 4, "999k" },
		{ 1500000, 0, 5, "1.5M" },
		{ 7, 0, 4, "7" },
		{ -3.25, 2, 6, "-3.25" },
		{ 3e12, 0, 4, "3.0T" },
		{ NAN, 1, 5, "-" },
		{ INFINITY, 0, 5, "-" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dg_text_num(out, cases[i].v, cases[i].decimals, cases[i].w);
		assert_string_equal(out, cases[i].want);
		assert_true((int)strlen(out) <= cases[i].w);
	}
	/* Whatever the value, it fits in 5 columns or says so by not fitting
	 * only past the T suffix. */
	for (double v = 1; v < 1e15; v *= 3.7) {
		dg_text_num(out, v, 1, 5);
		assert_true(strlen(out) <= 5);
	}
}

static void test_durations(void **state)
{
	char out[40];

	dg_text_duration(out, 45);
	assert_string_equal(out, "45s");
	dg_text_duration(out, 723);
	assert_string_equal(out, "12m03s");
	dg_text_duration(out, 3 * 3600 + 5 * 60 + 10);
	assert_string_equal(out, "3h05m");
	dg_text_duration(out, 2 * 86400 + 4 * 3600);
	assert_string_equal(out, "2d04h");
	dg_text_duration(out, -1);
	assert_string_equal(out, "-");
	dg_text_duration(out, NAN);
	assert_string_equal(out, "-");
	dg_text_when(out, 1000, 1012);
	assert_string_equal(out, "12s ago");
	dg_text_when(out, 1600, 1010);
	assert_string_equal(out, "in 9m50s");
	dg_text_when(out, 0, 1010);
	assert_string_equal(out, "-");
	dg_text_when(out, NAN, 1010);
	assert_string_equal(out, "-");
}

static void test_lines(void **state)
{
	struct dg_lines l;

	dg_lines_init(&l, 10);
	dg_lines_add(&l, "%s", "short");
	dg_lines_add(&l, "%s", "exactly 10");
	dg_lines_add(&l, "%s", "much longer than ten");
	dg_lines_add(&l, "%s", "two\nlines");
	dg_lines_add(&l, "%s", "");
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0], "short");
	assert_string_equal(l.v[1], "exactly 10");
	assert_string_equal(l.v[2], "much long~");
	assert_string_equal(l.v[3], "two");
	assert_string_equal(l.v[4], "");
	for (int i = 0; i < 100; i++)        /* grows */
		dg_lines_add(&l, "line %d", i);
	assert_int_equal(l.n, 105);
	assert_string_equal(l.v[104], "line 99");
	assert_int_equal(l.failed, 0);
	dg_lines_free(&l);
	dg_lines_init(&l, 0);                /* no width: empty lines, no crash */
	dg_lines_add(&l, "x");
	assert_string_equal(l.v[0], "");
	dg_lines_free(&l);
}

static void test_flow(void **state)
{
	struct dg_lines l;
	struct dg_flow f;

	dg_lines_init(&l, 20);
	dg_flow_begin(&f, &l, "  ", 0);
	dg_flow_item(&f, "alpha %d", 1);
	dg_flow_item(&f, "beta %d", 2);      /* "alpha 1  beta 2" = 15 */
	dg_flow_item(&f, "gamma");           /* 15 + 2 + 5 = 22 > 20: a new line */
	dg_flow_item(&f, "%s", "a very long item that cannot fit");
	dg_flow_end(&f);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "alpha 1  beta 2");
	assert_string_equal(l.v[1], "gamma");
	assert_string_equal(l.v[2], "a very long item th~");
	dg_lines_free(&l);

	dg_lines_init(&l, 12);
	dg_flow_begin(&f, &l, " ", 2);       /* every line indented */
	dg_flow_item(&f, "one");
	dg_flow_item(&f, "two");
	dg_flow_item(&f, "three");
	dg_flow_end(&f);
	dg_flow_end(&f);                     /* twice: nothing more */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "  one two");
	assert_string_equal(l.v[1], "  three");
	dg_lines_free(&l);

	dg_lines_init(&l, 12);
	dg_flow_begin(&f, &l, " ", 2);
	dg_flow_end(&f);                     /* no items: no line */
	assert_int_equal(l.n, 0);
	dg_lines_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_flow),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
