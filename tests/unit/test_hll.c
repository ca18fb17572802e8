/* test_hll.c — the HyperLogLog distinct counter (hll.c): small counts
 * exact, repeats not counted, large counts and unions within the error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hll.h"

static void test_hll(void **state)
{
	struct dg_hll h, g;
	char buf[32];

	dg_hll_init(&h);
	dg_hll_init(&g);
	assert_true(dg_hll_count(&h) < 0.5);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "10.0.0.%d", i);
		dg_hll_add(&h, dg_hash64(buf, strlen(buf)));
		dg_hll_add(&h, dg_hash64(buf, strlen(buf)));   /* repeats do not count */
	}
	assert_int_equal(llround(dg_hll_count(&h)), 5);
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "key-%d", i);
		dg_hll_add(i < 10000 ? &h : &g, dg_hash64(buf, strlen(buf)));
	}
	assert_true(fabs(dg_hll_count(&h) - 10005) / 10005 < 0.15);
	dg_hll_merge(&h, &g);
	assert_true(fabs(dg_hll_count(&h) - 20005) / 20005 < 0.15);
}

/* A sparse sketch (its registers also kept as pairs) counts and merges
 * exactly as the same registers read in full, below, at and past the
 * number of pairs it keeps. */
static void test_hll_sparse_as_dense(void **state)
{
	char buf[32];

	(void)state;
	for (int n = 0; n <= 3 * DG_HLL_SPARSE; n++) {
		struct dg_hll h, dense, a, b;

		dg_hll_init(&h);
		dg_hll_init(&a);
		for (int i = 0; i < n; i++) {
			snprintf(buf, sizeof(buf), "10.1.%d.%d", n, i);
			dg_hll_add(&h, dg_hash64(buf, strlen(buf)));
			snprintf(buf, sizeof(buf), "other-%d", i);
			if (i % 2)
				dg_hll_add(&a, dg_hash64(buf, strlen(buf)));
		}
		dense = h;
		dense.nset = DG_HLL_DENSE;     /* read every register */
		assert_true(dg_hll_count(&h) == dg_hll_count(&dense));
		b = a;
		dg_hll_merge(&a, &h);
		dg_hll_merge(&b, &dense);
		assert_memory_equal(a.reg, b.reg, sizeof(a.reg));
		assert_true(dg_hll_count(&a) == dg_hll_count(&b));
		if (n <= DG_HLL_SPARSE)
			assert_int_not_equal(h.nset, DG_HLL_DENSE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hll),
		cmocka_unit_test(test_hll_sparse_as_dense),
	};
	return cmocka_run_group_tests_name("hll", tests, NULL, NULL);
}
