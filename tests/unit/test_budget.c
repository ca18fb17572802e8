/* test_budget.c — user/enforce/budget.h: a rate-limited client's requests
 * a minute (a token bucket holding a minute's worth). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "budget.h"

/* A burst of per_min, then one every 60/per_min seconds. */
static void test_burst_then_rate(void **state)
{
	struct dg_reqbudget b;
	int ok = 0;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 40; i++)
		ok += dg_budget_take(&b, 100.0, 30);
	assert_int_equal(ok, 30);
	assert_false(dg_budget_take(&b, 100.5, 30));
	assert_true(dg_budget_wait(&b, 30) > 1.4 && dg_budget_wait(&b, 30) <= 2.0);
	assert_true(dg_budget_take(&b, 102.0, 30));    /* 2 s at 30/min: one more */
	assert_false(dg_budget_take(&b, 102.1, 30));
	/* A steady client at the limit is never refused. */
	ok = 0;
	for (int i = 1; i <= 600; i++)
		ok += dg_budget_take(&b, 102.0 + 2.0 * i, 30);
	assert_int_equal(ok, 600);
	/* A quiet minute fills it again, and no more. */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += dg_budget_take(&b, 5000.0, 30);
	assert_int_equal(ok, 30);
}

/* Time going backwards (record times out of order) takes nothing back;
 * no limit means no limit. */
static void test_edges(void **state)
{
	struct dg_reqbudget b;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_true(dg_budget_take(&b, 100.0, 1));
	assert_false(dg_budget_take(&b, 90.0, 1));
	assert_false(dg_budget_take(&b, 100.0, 1));
	assert_true(dg_budget_take(&b, 160.0, 1));
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 1000; i++)
		assert_true(dg_budget_take(&b, 100.0, 0));
	assert_true(dg_budget_wait(&b, 0) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
