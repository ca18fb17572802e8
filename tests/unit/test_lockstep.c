/* test_lockstep.c — keys whose activity moves together: which patterns
 * count, which keys group, that chance does not group, and that the group
 * id is stable. Known bitmaps in, known groups out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lockstep.h"

#define WAVE 0x33333333u       /* 2 minutes on, 2 off, for 32 minutes */

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static void test_eligible(void **state)
{
	(void)state;
	assert_true(dg_lockstep_eligible(WAVE));
	assert_false(dg_lockstep_eligible(0xffffffffu));    /* always on */
	assert_false(dg_lockstep_eligible(0));
	assert_false(dg_lockstep_eligible(0x3ffu));         /* appeared 10 min ago, still on */
	/* Appeared, stopped, started again once: one restart is not enough. */
	assert_false(dg_lockstep_eligible(0x3c3cu));
	/* Twice is, once there are five active minutes. */
	assert_true(dg_lockstep_eligible(0x333u));          /* 11 0011 0011 */
	assert_false(dg_lockstep_eligible(0x111u));         /* three active minutes */
	/* Running since before the window: its first start in the window is
	 * already a restart. */
	assert_true(dg_lockstep_eligible(0xfff0f0f0u));
	/* Five minutes idle at least. */
	assert_false(dg_lockstep_eligible(0xfff7f7f7u));
}

static void test_waves_group(void **state)
{
	uint32_t bits[40];
	uint64_t ids[40], group[40], seed = 7;
	size_t n = 0, groups;

	(void)state;
	for (int i = 0; i < 10; i++)          /* the campaign: 6 exact, 4 off by a minute */
		bits[n++] = i < 6 ? WAVE : WAVE ^ (1u << (3 * i));
	for (int i = 0; i < 10; i++)          /* always on */
		bits[n++] = 0xffffffffu;
	for (int i = 0; i < 20; i++)          /* random, half sparse, half dense */
		bits[n++] = (uint32_t)lcg(&seed) & (i % 2 ? (uint32_t)lcg(&seed) : ~0u);
	for (size_t i = 0; i < n; i++)
		ids[i] = 1000 + i;
	groups = dg_lockstep_groups(bits, ids, n, DG_LOCKSTEP_MIN_GROUP, group);
	assert_int_equal(groups, 1);
	assert_int_not_equal(group[0], 0);
	for (size_t i = 0; i < 10; i++)
		assert_true(group[i] == group[0]);
	for (size_t i = 10; i < n; i++)
		assert_true(group[i] == 0);
}

static void test_phases_apart(void **state)
{
	uint32_t bits[10];
	uint64_t ids[10], group[10];

	(void)state;
	/* Two schedulers in opposite phases are two groups, not one. */
	for (int i = 0; i < 10; i++) {
		bits[i] = i % 2 ? WAVE : ~WAVE;
		ids[i] = 50 - (uint64_t)i;
	}
	assert_int_equal(dg_lockstep_groups(bits, ids, 10, DG_LOCKSTEP_MIN_GROUP, group), 2);
	assert_true(group[0] != 0 && group[1] != 0 && group[0] != group[1]);
	for (int i = 2; i < 10; i++)
		assert_true(group[i] == group[i % 2]);
	/* Three in step are too few. */
	assert_int_equal(dg_lockstep_groups(bits, ids, 6, DG_LOCKSTEP_MIN_GROUP, group), 0);
	for (int i = 0; i < 6; i++)
		assert_true(group[i] == 0);
}

static void test_stable_id(void **state)
{
	uint32_t bits[8];
	uint64_t ids[8], g1[8], g2[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		bits[i] = i < 5 ? WAVE : 0x0f0f0f0fu;
		ids[i] = 900 + (uint64_t)i;
	}
	assert_int_equal(dg_lockstep_groups(bits, ids, 8, DG_LOCKSTEP_MIN_GROUP, g1), 1);
	/* Reversed order, one member fewer (not the smallest id): same id. */
	for (int i = 0; i < 8; i++) {
		bits[i] = i < 3 ? 0x0f0f0f0fu : WAVE;
		ids[i] = 907 - (uint64_t)i;
	}
	bits[3] = 0;
	assert_int_equal(dg_lockstep_groups(bits, ids, 8, DG_LOCKSTEP_MIN_GROUP, g2), 1);
	assert_true(g2[7] == g1[0] && g2[4] == g1[0]);
	assert_true(g2[3] == 0);
}

/* Thousands of independent clients at various densities: chance alone
 * must not make a group. */
static void test_chance_does_not_group(void **state)
{
	enum { N = 6000 };
	uint32_t *bits = calloc(N, sizeof(*bits));
	uint64_t *ids = calloc(N, sizeof(*ids)), *group = calloc(N, sizeof(*group)), seed = 11;
	size_t eligible = 0;

	(void)state;
	assert_non_null(bits);
	assert_non_null(ids);
	assert_non_null(group);
	for (size_t i = 0; i < N; i++) {
		unsigned p = 20 + (unsigned)(i % 7) * 10;      /* 20% .. 80% of minutes */
		for (int m = 0; m < 32; m++)
			if (lcg(&seed) % 100 < p)
				bits[i] |= 1u << m;
		ids[i] = i;
		eligible += dg_lockstep_eligible(bits[i]);
	}
	assert_true(eligible > N / 2);
	assert_int_equal(dg_lockstep_groups(bits, ids, N, DG_LOCKSTEP_MIN_GROUP, group), 0);
	free(bits);
	free(ids);
	free(group);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eligible),
		cmocka_unit_test(test_waves_group),
		cmocka_unit_test(test_phases_apart),
		cmocka_unit_test(test_stable_id),
		cmocka_unit_test(test_chance_does_not_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
