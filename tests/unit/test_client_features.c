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

/* Logit extraction: a sweep biases a new set of ids on every request; a
 * harness biases the same set again and again. One-token answers and
 * top_logprobs at the maximum are counted as shares of all requests. */
static void test_logit_bias_sets(void **state)
{
	struct dg_client_state sweep, harness;
	struct dg_features f;

	dg_client_state_init(&sweep);
	dg_client_state_init(&harness);
	for (int i = 0; i < 40; i++) {
		struct dg_obs o = obs(1000 + i, 1, (uint64_t)i << 20, DG_OBS_LOGPROBS);

		o.flags |= DG_OBS_BIASED;
		o.bias_fp = 0x1000 + (uint64_t)i;           /* a new set each time */
		if (i % 2 == 0)
			o.flags |= DG_OBS_ONE_TOKEN | DG_OBS_TOP_MAX;
		dg_client_observe(&sweep, &o, 600);
		o.bias_fp = 0x77;                           /* the answer letters */
		if (i >= 30)
			o.flags &= ~(uint32_t)DG_OBS_BIASED;  /* the last ten unbiased */
		dg_client_observe(&harness, &o, 600);
	}
	dg_client_features(&sweep, 1040, 600, &f);
	assert_float_equal(f.biased_share, 1, 1e-9);
	assert_float_equal(f.bias_new_share, 1, 1e-9);
	assert_float_equal(f.one_token_share, 0.5, 1e-9);
	assert_float_equal(f.top_max_share, 0.5, 1e-9);
	dg_client_features(&harness, 1040, 600, &f);
	assert_float_equal(f.biased_share, 0.75, 1e-9);
	assert_float_equal(f.bias_new_share, 1.0 / 40, 1e-9);   /* its first only */

	/* Sets come back after DG_FEAT_BIAS others: new again (bounded memory). */
	dg_client_state_init(&sweep);
	for (int i = 0; i < 3 * DG_FEAT_BIAS; i++) {
		struct dg_obs o = obs(1000 + i, 1, (uint64_t)i << 20, DG_OBS_BIASED);

		o.bias_fp = 0x2000 + (uint64_t)(i % (DG_FEAT_BIAS + 1));
		dg_client_observe(&sweep, &o, 600);
	}
	dg_client_features(&sweep, 1000 + 3 * DG_FEAT_BIAS, 600, &f);
	assert_float_equal(f.bias_new_share, 1, 1e-9);
}

/* A template whose frame is at its fixed end: its tail share counts when
 * the head frames all differ. */
static void test_tail_template(void **state)
{
	struct dg_client_state s;
	struct dg_features f;

	dg_client_state_init(&s);
	for (int i = 0; i < 20; i++) {
		struct dg_obs o = obs(1000 + 10 * i, 100 + (uint64_t)i, (uint64_t)i << 30, 0);

		if (i < 15) {
			o.flags |= DG_OBS_HAS_TAIL;
			o.tail = 0xabc;
		}
		dg_client_observe(&s, &o, 1e9);
	}
	dg_client_features(&s, 1200, 1e9, &f);
	assert_float_equal(f.template_share, 0.75, 1e-9);
	assert_true(f.top_template == 0xabc);
}

/* Pacing: a request counts as paced when it starts after the previous
 * answer ended, by DG_THINK_S or the answer's reading time if longer. */
static void test_paced_and_browser(void **state)
{
	struct dg_client_state s;
	struct dg_features f;
	struct dg_obs o;

	dg_client_state_init(&s);
	o = obs(1000, 1, 1, DG_OBS_HAS_JA4 | DG_OBS_BROWSER);
	o.duration_s = 10;
	o.out_tokens = 400;                 /* 20 s to read */
	dg_client_observe(&s, &o, 600);     /* ends at 1010 */
	o.ts = 1025;                        /* 15 s after: not read yet */
	o.simhash = 2;
	o.out_tokens = 20;                  /* 2 s to read (DG_THINK_S) */
	dg_client_observe(&s, &o, 600);     /* ends at 1035 */
	o = obs(1040, 1, 3, DG_OBS_HAS_JA4);    /* 5 s after: paced, not a browser */
	dg_client_observe(&s, &o, 600);
	o = obs(1040.2, 1, 4, 0);           /* in flight with the one before */
	dg_client_observe(&s, &o, 600);
	dg_client_features(&s, 1050, 600, &f);
	assert_float_equal(f.follow_share, 0.75, 1e-9);
	assert_float_equal(f.paced_share, 1.0 / 3, 1e-9);
	assert_float_equal(f.ja4_share, 0.75, 1e-9);
	assert_float_equal(f.browser_share, 2.0 / 3, 1e-9);
}

/* A later turn whose earlier turn the client sent is a conversation; one
 * whose earlier turn it never sent (a made-up answer) is an orphan, and
 * counts as single-turn. */
static void test_orphan_turns(void **state)
{
	struct dg_client_state s;
	struct dg_features f;
	struct dg_obs o;

	dg_client_state_init(&s);
	o = obs(1000, 1, 1, DG_OBS_SINGLE);
	o.prompt_fp = 0xa;
	dg_client_observe(&s, &o, 600);             /* a first turn */
	o = obs(1100, 1, 2, DG_OBS_HAS_PARENT);
	o.prompt_fp = 0xb;
	o.parent_fp = 0xa;
	dg_client_observe(&s, &o, 600);             /* its follow-up */
	o = obs(1200, 1, 3, DG_OBS_HAS_PARENT);
	o.prompt_fp = 0xc;
	o.parent_fp = 0x77;
	dg_client_observe(&s, &o, 600);             /* a turn it never started */
	o = obs(1300, 1, 4, DG_OBS_HAS_PARENT);
	o.prompt_fp = 0xd;
	o.parent_fp = 0xc;
	dg_client_observe(&s, &o, 600);             /* ... and one after that */
	dg_client_features(&s, 1300, 600, &f);
	assert_float_equal(f.orphan_share, 0.25, 1e-9);
	assert_float_equal(f.single_share, 0.5, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_and_windows),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_reasoning_and_new_model_shares),
		cmocka_unit_test(test_duty_and_inflight),
		cmocka_unit_test(test_old_records_do_not_wipe_windows),
		cmocka_unit_test(test_logit_bias_sets),
		cmocka_unit_test(test_tail_template),
		cmocka_unit_test(test_paced_and_browser),
		cmocka_unit_test(test_orphan_turns),
	};
	return cmocka_run_group_tests_name("client_features", tests, NULL, NULL);
}
