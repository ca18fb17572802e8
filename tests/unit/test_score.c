/* test_score.c — the score (score.c): the families of evidence, that
 * more evidence never lowers a score, reasons, settings and actions. */
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
#include "score.h"

/* Features of a loud harvester and of a batch job. */
static void campaign_features(struct dg_features *f)
{
	memset(f, 0, sizeof(*f));
	f->age_s = 3600;
	f->req_1h = 3000;
	f->rate_1h = 50;
	f->tok_rate_1h = 150000;
	f->template_share = 0.95;
	f->near_dup_share = 0.5;
	f->iat_cv = 0.1;
	f->iat_n = 64;
	f->duty_1h = 1;
	f->single_share = 1;
	f->elicit_share = 0.9;
	f->cot_share = 0.9;
	f->logprob_share = 0.8;
	f->at_cap_share = 0.9;
	f->out_in_ratio = 30;
	f->requests = 3000;
}

static void batch_features(struct dg_features *f)
{
	campaign_features(f);
	f->elicit_share = f->cot_share = 0;
	f->logprob_share = 0;
	f->at_cap_share = 0;
	f->out_in_ratio = 0.2;
}

static const struct dg_population pop = {
	.tok_rate_median = 200, .tok_rate_mad = 150, .req_rate_median = 1, .req_rate_mad = 0.8,
	.clients = 500,
};

static void test_score_families(void **state)
{
	struct dg_score_config c;
	struct dg_features f;
	struct dg_score s;

	dg_score_config_default(&c);
	campaign_features(&f);
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.score >= c.block_at);
	assert_int_equal(s.action, DG_ACT_BLOCK);
	assert_int_equal(s.n_reasons, 3);
	assert_non_null(strstr(s.reasons[0], "step-by-step"));

	batch_features(&f);                   /* automation without harvest */
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.score < 1);
	assert_int_equal(s.action, DG_ACT_NONE);

	memset(&f, 0, sizeof(f));             /* a person asking for reasoning */
	f.age_s = 1800;
	f.req_1h = 12;
	f.rate_1h = 0.4;
	f.tok_rate_1h = 300;
	f.elicit_share = 0.8;
	f.single_share = 0.3;
	f.template_share = 0.3;
	f.iat_cv = 1.8;
	f.iat_n = 11;
	dg_score_client(&c, &pop, &f, &s);
	assert_int_equal(s.action, DG_ACT_NONE);

	/* A review tool: automated, one template, and "think step by step"
	 * in its system prompt, over prompts longer than the answers. Asking
	 * for reasoning that is not written out harvests nothing. */
	batch_features(&f);
	f.cot_share = 1;
	f.out_in_ratio = 0.5;
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.evidence[DG_EV_ELICIT] == 0);
	assert_int_equal(s.action, DG_ACT_NONE);
	f.out_in_ratio = 1;                   /* as long as the prompt: half */
	dg_score_client(&c, &pop, &f, &s);
	assert_float_equal(s.evidence[DG_EV_ELICIT], 0.5, 1e-9);
	f.out_in_ratio = 2;                   /* written out: in full */
	dg_score_client(&c, &pop, &f, &s);
	assert_float_equal(s.evidence[DG_EV_ELICIT], 1, 1e-9);
	assert_int_not_equal(s.action, DG_ACT_NONE);

	f.req_1h = 5;                         /* too few requests: no evidence */
	campaign_features(&f);
	f.req_1h = 5;
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.score == 0);
}

/* More evidence never lowers a score: push each feature, one at a time,
 * towards "more suspicious" from many starting points. */
static void test_monotonic(void **state)
{
	struct dg_score_config c;
	uint64_t seed = 42;

	dg_score_config_default(&c);
	for (int trial = 0; trial < 2000; trial++) {
		struct dg_features f, g;
		struct dg_score a, b;
		double *more[] = { &g.rate_1h, &g.tok_rate_1h, &g.template_share, &g.near_dup_share,
				   &g.duty_1h, &g.inflight_mean, &g.single_share, &g.elicit_share,
				   &g.logprob_share, &g.at_cap_share, &g.out_in_ratio,
				   &g.new_model_share, &g.cot_share, &g.reasoning_share,
				   &g.bias_new_share, &g.one_token_share, &g.top_max_share };
		double *fewer[] = { &g.paced_share, &g.browser_share };
		double r[26];

		for (int i = 0; i < 26; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			r[i] = (double)(seed >> 11) / (double)(1ULL << 53);
		}
		memset(&f, 0, sizeof(f));
		f.age_s = r[0] * 7200;
		f.req_1h = (uint32_t)(r[1] * 200);
		f.rate_1h = r[2] * 20;
		f.tok_rate_1h = r[3] * 20000;
		f.template_share = r[4];
		f.near_dup_share = r[5];
		f.iat_cv = r[6] * 3;
		f.iat_n = (uint32_t)(r[7] * 64);
		f.duty_1h = r[8];
		f.inflight_mean = r[9] * 6;
		f.single_share = r[10];
		f.elicit_share = r[11];
		f.logprob_share = r[12];
		f.at_cap_share = r[13];
		f.out_in_ratio = r[14] * 60;
		f.new_model_share = r[15];
		f.cot_share = r[16];
		f.reasoning_share = r[17];
		f.crowd_keys = (uint32_t)(r[18] * 60);
		f.crowd_addrs = 1 + r[19] * 40;
		f.lockstep_keys = (uint32_t)(r[0] * 15);
		f.tls_keys = (uint32_t)(r[1] * 20);
		f.tls_share = r[2] * 0.15;
		f.bias_new_share = r[20] < 0.5 ? 0 : r[20];
		f.one_token_share = r[21];
		f.top_max_share = r[22];
		f.paced_share = r[23];
		f.browser_share = r[24];
		f.ja4_share = r[25] < 0.3 ? 0 : 1;
		f.follow_share = r[3];
		dg_score_client(&c, &pop, &f, &a);
		for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++) {
			g = f;
			*more[k] += 0.25 * (*more[k] + 0.1);
			if (more[k] != &g.rate_1h && more[k] != &g.tok_rate_1h &&
			    more[k] != &g.inflight_mean && more[k] != &g.out_in_ratio && *more[k] > 1)
				*more[k] = 1;
			dg_score_client(&c, &pop, &g, &b);
			assert_true(b.score >= a.score);
		}
		for (size_t k = 0; k < sizeof(fewer) / sizeof(fewer[0]); k++) {
			g = f;                    /* fewer signs of people */
			*fewer[k] *= 0.75;
			dg_score_client(&c, &pop, &g, &b);
			assert_true(b.score >= a.score);
		}
		g = f;                            /* more single-turn: less conversation */
		g.single_share = fmin(1, g.single_share + 0.2);
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;                            /* a bigger crowd, fewer addresses (a
						   * crowd: a key is judged as people
						   * on other terms, humans.h) */
		g.crowd_keys += f.crowd_keys ? 5 : 0;
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;
		g.crowd_addrs = fmax(1, g.crowd_addrs / 2);
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;                            /* more keys in lockstep */
		g.lockstep_keys += 3;
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;                            /* more keys on a rarer TLS client */
		g.tls_keys += 3;
		g.tls_share *= 0.5;
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;                            /* more regular timing */
		g.iat_cv *= 0.5;
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
		g = f;                            /* more requests */
		g.req_1h += 50;
		g.iat_n = 64;
		g.age_s += 1800;
		dg_score_client(&c, &pop, &g, &b);
		assert_true(b.score >= a.score);
	}
}

/* A logit sweep against an evaluation harness: both ask for
 * log-probabilities, one-token answers and the maximum top_logprobs; the
 * sweep biases a new set of ids on nearly every request, the harness the
 * same answer letters. Only the sweep is acted on, with its reason. */
static void test_logit_sweep(void **state)
{
	struct dg_score_config c;
	struct dg_features f;
	struct dg_score s;

	dg_score_config_default(&c);
	batch_features(&f);                   /* automated, one key */
	f.template_share = 0.05;
	f.near_dup_share = 0.9;               /* each prompt asked again and again */
	f.logprob_share = 1;
	f.one_token_share = 1;
	f.top_max_share = 1;
	f.out_in_ratio = 0.05;
	f.biased_share = 1;
	f.bias_new_share = 0.98;
	dg_score_client(&c, &pop, &f, &s);
	assert_float_equal(s.evidence[DG_EV_LOGIT_SWEEP], 1, 1e-9);
	assert_int_equal(s.action, DG_ACT_BLOCK);
	assert_non_null(strstr(s.reasons[0], "logit sweep: 98% new logit_bias sets"));
	assert_non_null(strstr(s.reasons[0], "1-token answers"));

	f.bias_new_share = 0.4;               /* half way up the ramp ... */
	f.one_token_share = 0.55;             /* ... and half the reading */
	f.top_max_share = 0;
	dg_score_client(&c, &pop, &f, &s);
	assert_float_equal(s.evidence[DG_EV_LOGIT_SWEEP], 0.5 * 0.75, 1e-9);

	f.bias_new_share = 0.01;              /* the harness: one set again and again */
	f.one_token_share = 1;
	f.top_max_share = 1;
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.evidence[DG_EV_LOGIT_SWEEP] == 0);
	assert_int_equal(s.action, DG_ACT_NONE);
}

/* People in a crowd: conversation, pacing and browsers take automation
 * away from a cluster; a campaign that fakes turns keeps it. */
static void test_human_crowd(void **state)
{
	struct dg_score_config c;
	struct dg_features f;
	struct dg_score s, crowd;

	dg_score_config_default(&c);
	memset(&f, 0, sizeof(f));             /* a class: 28 keys, one address */
	f.age_s = 1800;
	f.req_1h = 400;
	f.rate_1h = 13;
	f.tok_rate_1h = 12000;
	f.template_share = 1;
	f.cot_share = 1;
	f.out_in_ratio = 20;
	f.crowd_keys = 28;
	f.crowd_addrs = 1;
	f.crowd_subnets = 1;
	f.single_share = 0.5;
	f.follow_share = 0.9;
	f.paced_share = 1;
	f.ja4_share = 1;
	f.browser_share = 0.9;
	dg_score_client(&c, &pop, &f, &s);
	assert_float_equal(s.human, 1, 1e-9);
	assert_true(s.automation == 0);
	assert_int_equal(s.action, DG_ACT_NONE);

	crowd = s;
	f.single_share = 0.7;                 /* a fake second turn on 30% */
	f.paced_share = 0.5;                  /* not waiting to read answers */
	f.browser_share = 0.33;
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.human == 0);
	assert_int_equal(s.action, DG_ACT_BLOCK);
	assert_true(s.score > crowd.score);

	f.browser_share = 1;                  /* on a browser's TLS client too */
	dg_score_client(&c, &pop, &f, &s);
	assert_true(s.human == 0);            /* pacing gives it away */
	assert_int_equal(s.action, DG_ACT_BLOCK);
}

static void test_config_set(void **state)
{
	struct dg_score_config c;

	dg_score_config_default(&c);
	assert_int_equal(dg_score_config_set(&c, "weight.template", 0.25), 0);
	assert_true(c.weight[DG_EV_TEMPLATE] == 0.25);
	assert_int_equal(dg_score_config_set(&c, "block_at", 90), 0);
	assert_int_equal(dg_score_config_set(&c, "weight.template", 1.5), -1);
	assert_int_equal(dg_score_config_set(&c, "weight.nonsense", 0.5), -1);
	assert_int_equal(dg_score_config_set(&c, "nonsense", 1), -1);
}

/* The action for a score: ratelimit from ratelimit_at, block from block_at. */
static void test_action(void **state)
{
	struct dg_score_config c;

	(void)state;
	dg_score_config_default(&c);
	assert_int_equal(dg_score_action(&c, 0), DG_ACT_NONE);
	assert_int_equal(dg_score_action(&c, 64.9), DG_ACT_NONE);
	assert_int_equal(dg_score_action(&c, 65), DG_ACT_RATELIMIT);
	assert_int_equal(dg_score_action(&c, 84.9), DG_ACT_RATELIMIT);
	assert_int_equal(dg_score_action(&c, 85), DG_ACT_BLOCK);
	assert_int_equal(dg_score_action(&c, 100), DG_ACT_BLOCK);
	c.block_at = 60;                  /* block_at wins where both apply */
	assert_int_equal(dg_score_action(&c, 62), DG_ACT_BLOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score_families),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_logit_sweep),
		cmocka_unit_test(test_human_crowd),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_action),
	};
	return cmocka_run_group_tests_name("score", tests, NULL, NULL);
}
