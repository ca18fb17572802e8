/* test_client_features.c — one client's features (client_features.c):
 * known observations in, known rates, windows, shares, duty and in-flight
 * counts out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client_features.h"
#include "hll.h"
#include "score_helpers.h"

static struct dg_obs obs(double ts, uint64_t tmpl, uint64_t sim, uint32_t flags)
{
	struct dg_obs o;

	memset(&o, 0, sizeof(o));
	o.ts = ts;
	o.duration_s = 0.5;
	o.out_tokens = 100;
	o.in_tokens = 50;
	o.tmpl = tmpl;
	o.simhash = sim;
	o.flags = flags | DG_OBS_HAS_TMPL | DG_OBS_HAS_SIM;
	return o;
}

static void test_rates_and_windows(void **state)
{
	struct dg_client_state s;
	struct dg_features f;

	dg_client_state_init(&s);
	/* 120 requests, one every 5 s, over 10 minutes. */
	for (int i = 0; i < 120; i++) {
		struct dg_obs o = obs(T0 + 5 * i, 1, (uint64_t)i << 20, 0);
		dg_client_observe(&s, &o, 600);
	}
	dg_client_features(&s, T0 + 600, 600, &f);
	assert_int_equal(f.requests, 120);
	assert_int_equal(f.req_1h, 120);
	assert_int_equal(f.req_10m, 120);
	assert_int_equal(f.req_1m, 12);               /* the last minute */
	assert_true(fabs(f.rate_10m - 12) < 0.01);
	assert_true(fabs(f.tok_rate_10m - 1200) < 1);
	assert_true(fabs(f.out_in_ratio - 2) < 1e-9);
	assert_true(f.iat_cv < 1e-6);                 /* perfectly regular */
	assert_int_equal(f.iat_n, 64);
	assert_true(fabs(f.template_share - 1) < 1e-9);
	/* An hour later everything has left the windows but the totals. */
	dg_client_features(&s, T0 + 600 + 3700, 600, &f);
	assert_int_equal(f.req_1h, 0);
	assert_int_equal(f.req_10m, 0);
	assert_int_equal(f.requests, 120);
}

static void test_shares(void **state)
{
	struct dg_client_state s;
	struct dg_features f;

	dg_client_state_init(&s);
	for (int i = 0; i < 100; i++) {
		uint32_t fl = (i % 4 == 0 ? DG_OBS_COT : 0) | (i % 2 ? DG_OBS_LOGPROBS : 0) |
			      (i < 90 ? DG_OBS_SINGLE : 0) | (i % 5 == 0 ? DG_OBS_AT_CAP : 0);
		/* 90% one template; the rest ten distinct ones. */
		uint64_t tmpl = i % 10 ? 7 : 1000 + (uint64_t)i;
		/* Half the prompts are near-duplicates (1 bit from a base). */
		uint64_t sim = i % 2 ? 0xF0F0F0F0F0F0F0F0ULL ^ (1ULL << (i % 60)) :
				       dg_hash64(&i, sizeof(i));
		struct dg_obs o = obs(T0 + i, tmpl, sim, fl);
		dg_client_observe(&s, &o, 600);
	}
	dg_client_features(&s, T0 + 100, 600, &f);
	assert_true(fabs(f.cot_share - 0.25) < 1e-9);
	assert_true(fabs(f.elicit_share - 0.25) < 1e-9);
	assert_true(fabs(f.logprob_share - 0.5) < 1e-9);
	assert_true(fabs(f.single_share - 0.9) < 1e-9);
	assert_true(fabs(f.at_cap_share - 0.2) < 1e-9);
	assert_true(fabs(f.template_share - 0.9) < 0.02);
	assert_int_equal(f.top_template, 7);
	assert_true(f.near_dup_share > 0.45 && f.near_dup_share <= 0.5);
}

/* Reasoning asked by parameter counts as eliciting too, once per request
 * however it is asked; a newly released model is its own share. */
static void test_reasoning_and_new_model_shares(void **state)
{
	struct dg_client_state s;
	struct dg_features f;

	dg_client_state_init(&s);
	for (int i = 0; i < 100; i++) {
		uint32_t fl = (i % 5 == 0 ? DG_OBS_REASONING : 0) | (i % 10 == 0 ? DG_OBS_COT : 0) |
			      (i % 4 == 0 ? DG_OBS_NEW_MODEL : 0);
		struct dg_obs o = obs(T0 + i, 1, (uint64_t)i << 20, fl);

		dg_client_observe(&s, &o, 600);
	}
	dg_client_features(&s, T0 + 100, 600, &f);
	assert_true(fabs(f.reasoning_share - 0.2) < 1e-9);
	assert_true(fabs(f.cot_share - 0.1) < 1e-9);
	assert_true(fabs(f.elicit_share - 0.2) < 1e-9);      /* every COT one has both */
	assert_true(fabs(f.new_model_share - 0.25) < 1e-9);
	assert_true(fabs(f.logprob_share) < 1e-9);
}

static void test_duty_and_inflight(void **state)
{
	struct dg_client_state s;
	struct dg_features f;

	/* A request every other minute for an hour: duty 0.5. */
	dg_client_state_init(&s);
	for (int m = 0; m < 60; m += 2) {
		struct dg_obs o = obs(T0 + 60 * m + 1, 1, 1, 0);
		dg_client_observe(&s, &o, 600);
	}
	dg_client_features(&s, T0 + 59 * 60 + 30, 600, &f);
	assert_true(fabs(f.duty_1h - 0.5) < 1e-9);

	/* Four requests at a time, each lasting 10 s: three others in flight. */
	dg_client_state_init(&s);
	for (int i = 0; i < 40; i++) {
		struct dg_obs o = obs(T0 + 20 * (i / 4) + 0.01 * (i % 4), 1, 1, 0);
		o.duration_s = 10;
		dg_client_observe(&s, &o, 600);
	}
	dg_client_features(&s, T0 + 200, 600, &f);
	assert_int_equal(f.inflight_max, 3);
	assert_true(fabs(f.inflight_mean - 1.5) < 1e-9);   /* 0,1,2,3 */
}

static void test_old_records_do_not_wipe_windows(void **state)
{
	struct dg_client_state s;
	struct dg_features f;
	struct dg_obs o;

	dg_client_state_init(&s);
	for (int i = 0; i < 30; i++) {
		o = obs(T0 + 3600 + i, 1, 1, 0);
		dg_client_observe(&s, &o, 600);
	}
	o = obs(T0, 1, 1, 0);                 /* an hour late */
	dg_client_observe(&s, &o, 600);
	dg_client_features(&s, T0 + 3630, 600, &f);
	assert_int_equal(f.req_1m, 30);
	assert_int_equal(f.req_1h, 30);
	assert_int_equal(f.requests, 31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_and_windows),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_reasoning_and_new_model_shares),
		cmocka_unit_test(test_duty_and_inflight),
		cmocka_unit_test(test_old_records_do_not_wipe_windows),
	};
	return cmocka_run_group_tests_name("client_features", tests, NULL, NULL);
}
