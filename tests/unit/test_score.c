/* test_score.c — sketches, per-client features (known inputs -> known
 * values), the score (families, monotonicity, reasons) and the client
 * table (naming, distinct counts, first flag, determinism, JSON). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients.h"
#include "client_features.h"
#include "clusters.h"
#include "hll.h"
#include "score.h"

#define T0 1793491200.0        /* 2026-11-01 00:00:00 UTC, on a minute */

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
				   &g.new_model_share, &g.cot_share, &g.reasoning_share };
		double r[20];

		for (int i = 0; i < 20; i++) {
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
		g = f;                            /* a bigger crowd, fewer addresses */
		g.crowd_keys += 5;
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

static void rec(struct dg_record *r, double ts, const char *key, const char *ip, int harvest)
{
	dg_record_init(r);
	r->ts = ts;
	snprintf(r->ip, sizeof(r->ip), "%s", ip);
	if (key) {
		snprintf(r->key, sizeof(r->key), "%s", key);
		snprintf(r->client, sizeof(r->client), "key:%s", key);
	} else {
		snprintf(r->client, sizeof(r->client), "ip:%s", ip);
	}
	snprintf(r->model, sizeof(r->model), "m1");
	r->status = 200;
	r->messages = harvest ? 1 : 4;
	r->prompt_bytes = 400;
	r->has_system_fp = 1;
	r->system_fp = harvest ? 77 : dg_hash64(&ts, sizeof(ts));
	r->has_prompt_fp = 1;
	r->prompt_simhash = harvest ? 0xABCDEF : dg_hash64(&ts, sizeof(ts));
	r->cot_prompt = harvest;
	r->logprobs = harvest;
	r->max_tokens = harvest ? 8192 : 256;
	r->output_tokens = harvest ? 8000 : 200;
	r->duration_ms = 2000;
}

static char *table_json(struct dg_clients *t)
{
	const struct dg_client_view *v;
	size_t n = dg_clients_snapshot(t, 0, &v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	dg_clients_write_json(v, n, f);
	fclose(f);
	return buf;
}

static const struct dg_client_view *find_view(const struct dg_client_view *v, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	fail_msg("no client %s", name);
	return NULL;
}

/* A model is new for new_model_window (24 h) after the host first sees it,
 * unless it was seen in the warm-up hour after the first record (the
 * host's established models on a fresh start). */
static void test_new_model(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	struct dg_record r;
	size_t n;

	(void)state;
	dg_score_config_default(&c);
	t = dg_clients_new(&c, 64);
	for (int m = 0; m < 180; m++) {
		double ts = T0 + 60 * m;

		rec(&r, ts, "a", "10.0.0.1", 0);           /* stays on m1 */
		dg_clients_ingest(t, &r);
		if (m == 10) {                             /* first seen in the warm-up */
			rec(&r, ts + 1, "c", "10.0.0.3", 0);
			snprintf(r.model, sizeof(r.model), "m-early");
			dg_clients_ingest(t, &r);
		}
		if (m >= 120 && m < 160) {                 /* 10 on m1, then 30 on m-new */
			rec(&r, ts + 2, "b", "10.0.0.2", 0);
			if (m >= 130)
				snprintf(r.model, sizeof(r.model), "m-new");
			dg_clients_ingest(t, &r);
			rec(&r, ts + 3, "c", "10.0.0.3", 0);
			snprintf(r.model, sizeof(r.model), "m-early");
			dg_clients_ingest(t, &r);
		}
	}
	n = dg_clients_snapshot(t, 0, &v);
	assert_true(fabs(find_view(v, n, "key:a")->f.new_model_share) < 1e-9);
	assert_true(fabs(find_view(v, n, "key:b")->f.new_model_share - 0.75) < 1e-9);
	assert_true(fabs(find_view(v, n, "key:c")->f.new_model_share) < 1e-9);

	/* A day after it was first seen (T0 + 130 min + 2 s), m-new is
	 * established: of 20 requests a minute apart from one minute before
	 * that, only the first is on a new model. */
	for (int m = 0; m < 20; m++) {
		rec(&r, T0 + 130 * 60 + 2 + 86400 - 60 + 60 * m, "d", "10.0.0.4", 0);
		snprintf(r.model, sizeof(r.model), "m-new");
		dg_clients_ingest(t, &r);
	}
	n = dg_clients_snapshot(t, 0, &v);
	assert_true(fabs(find_view(v, n, "key:d")->f.new_model_share - 0.05) < 1e-9);
	dg_clients_free(t);
}

static void test_client_table(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t, *u;
	const struct dg_client_view *v;
	struct dg_record r;
	char ip[32], *a, *b;
	size_t n;

	dg_score_config_default(&c);
	t = dg_clients_new(&c, 1024);
	u = dg_clients_new(&c, 1024);
	/* 30 quiet people, a few requests each; one address carries 3 keys. */
	for (int m = 0; m < 60; m++) {
		for (int p = 0; p < 30; p++) {
			char key[13];
			if ((m + p) % 6)
				continue;
			snprintf(key, sizeof(key), "%012x", p);
			snprintf(ip, sizeof(ip), "198.18.0.%d", p < 3 ? 1 : p);
			rec(&r, T0 + 60 * m + p, key, ip, 0);
			dg_clients_ingest(t, &r);
			dg_clients_ingest(u, &r);
		}
		/* A harvester: one request every 2 s, no key. */
		for (int s = 0; s < 60; s += 2) {
			rec(&r, T0 + 60 * m + s + 0.5, NULL, "203.0.113.9", 1);
			dg_clients_ingest(t, &r);
			dg_clients_ingest(u, &r);
		}
	}
	rec(&r, T0 + 3599, NULL, "198.18.0.1", 0);     /* the shared address itself */
	dg_clients_ingest(t, &r);
	dg_clients_ingest(u, &r);

	n = dg_clients_snapshot(t, 0, &v);
	assert_int_equal(n, 32);
	assert_string_equal(v[0].name, "ip:203.0.113.9");
	assert_int_equal(v[0].s.action, DG_ACT_BLOCK);
	assert_true(v[0].first_flag_ts > 0 && v[0].first_flag_ts < T0 + 1800);
	assert_true(v[0].first_flag_requests > 0 && v[0].first_flag_requests < 200);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(v[i].s.action, DG_ACT_NONE);
		if (!strcmp(v[i].name, "ip:198.18.0.1"))
			assert_int_equal(llround(v[i].keys), 3);
		if (!strncmp(v[i].name, "key:", 4))
			assert_int_equal(llround(v[i].ips), 1);
	}
	/* Same records, same table, to the byte. */
	a = table_json(t);
	b = table_json(u);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"client\":\"ip:203.0.113.9\",\"score\":"));
	assert_non_null(strstr(a, "\"action\":\"block\""));
	assert_non_null(strstr(a, "\"cluster\":null"));
	free(a);
	free(b);
	dg_clients_free(t);
	dg_clients_free(u);
}

static void test_client_bound(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	struct dg_record r;
	char ip[32];

	dg_score_config_default(&c);
	t = dg_clients_new(&c, 16);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.18.1.%d", i);
		rec(&r, T0 + i, NULL, ip, 0);
		dg_clients_ingest(t, &r);
	}
	assert_int_equal(dg_clients_count(t), 16);
	assert_int_equal(dg_clients_stats(t)->clients_evicted, 84);
	dg_clients_free(t);
}

/* The example: 200 keys, each 2 requests a minute, through 10 proxy
 * addresses, one template, must score as one campaign; ordinary keys behind
 * the same proxies keep their own low scores. */
static void test_hydra_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	struct dg_record r;
	char key[13], ip[32];
	size_t n, hydra = 0, hydra_flagged = 0, legit = 0, legit_flagged = 0;

	dg_score_config_default(&c);
	t = dg_clients_new(&c, 4096);
	for (int s = 0; s < 30 * 60; s += 3) {          /* 30 minutes */
		for (int k = s % 30 / 3; k < 200; k += 10) { /* each key every 30 s */
			snprintf(key, sizeof(key), "a%011x", k);
			snprintf(ip, sizeof(ip), "100.64.0.%d", k % 10);
			rec(&r, T0 + s + k * 0.001, key, ip, 1);
			r.system_fp = 4242;                  /* one template */
			r.prompt_simhash = dg_hash64(&s, sizeof(s)) ^ (uint64_t)k;
			r.logprobs = 0;
			r.max_tokens = 2048;
			r.output_tokens = 1500;
			dg_clients_ingest(t, &r);
		}
		if (s % 60 == 0) {                       /* 30 ordinary keys, same proxies */
			for (int k = 0; k < 30; k++) {
				if ((s / 60 + k) % 5)
					continue;
				snprintf(key, sizeof(key), "b%011x", k);
				snprintf(ip, sizeof(ip), "100.64.0.%d", k % 10);
				rec(&r, T0 + s + 1 + k * 0.01, key, ip, 0);
				r.system_fp = 1000 + (uint64_t)(k % 3);
				dg_clients_ingest(t, &r);
			}
		}
		/* A legitimate job that happens to use the campaign's template. */
		rec(&r, T0 + s + 0.5, "c00000000001", "192.0.2.77", 0);
		r.system_fp = 4242;
		r.messages = 1;
		dg_clients_ingest(t, &r);
		/* Keyless harvesting straight from one of the proxy addresses. */
		rec(&r, T0 + s + 2, NULL, "100.64.0.1", 1);
		dg_clients_ingest(t, &r);
	}
	n = dg_clients_snapshot(t, 0, &v);
	for (size_t i = 0; i < n; i++) {
		int is_hydra = v[i].name[4] == 'a';

		if (!strcmp(v[i].name, "key:c00000000001")) {
			/* In the cluster, but it does not harvest like it. */
			assert_true(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
			continue;
		}
		if (!strcmp(v[i].name, "ip:100.64.0.1")) {
			/* Suspect, but customers share the address: not blocked as one. */
			assert_int_equal(v[i].s.action, DG_ACT_RATELIMIT);
			assert_int_equal(v[i].legit_keys, 3);
			assert_int_equal(v[i].flagged_keys, 20);
			assert_non_null(strstr(v[i].s.reasons[v[i].s.n_reasons - 1], "3 keys that look legitimate"));
			for (int k = 0; k < v[i].s.n_reasons; k++)
				assert_true(v[i].s.reasons[k][0] != 0);
			continue;
		}
		hydra += is_hydra;
		legit += !is_hydra;
		if (v[i].s.action != DG_ACT_NONE) {
			hydra_flagged += is_hydra;
			legit_flagged += !is_hydra;
		}
		if (is_hydra) {
			assert_true(v[i].shared_addrs >= 1);
			assert_true(v[i].cluster[0]);
			assert_true(v[i].f.req_1h < 100);    /* each key alone is small */
		}
	}
	assert_int_equal(hydra, 200);
	assert_int_equal(hydra_flagged, 200);
	assert_int_equal(legit, 30);
	assert_int_equal(legit_flagged, 0);
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(v[i].name, "key:a", 5)) {
			assert_non_null(strstr(v[i].s.reasons[0], "201 keys behind 11 addresses in 2 subnets "));
			break;
		}
	}
	dg_clients_free(t);
}

/* Templates are linked by the keys that carry them; a client belongs to
 * the component when its shares on the component's templates add up to
 * DG_LINK_SHARE, even when each one alone is smaller. */
static void test_cluster_membership_sums_shares(void **state)
{
	struct dg_score_config c;
	struct dg_features f;
	struct dg_cluster_member m[64];
	int32_t mc[64];
	struct dg_cluster *cl;
	size_t n = 0, ncl;

	(void)state;
	dg_score_config_default(&c);
	memset(&f, 0, sizeof(f));
	f.req_1h = 20;
	f.requests = 20;
	/* 20 keys, each on two neighbouring templates of ten: a chain of links. */
	for (int k = 0; k < 20; k++) {
		for (int j = 0; j < 2; j++) {
			m[n] = (struct dg_cluster_member){.client = (size_t)k, .tmpl = 100 + (uint64_t)((k + j) % 10),
							  .weight = 0.5, .f = &f, .is_key = 1};
			n++;
		}
	}
	/* Key 20 spreads 8% over each of the ten (80% in all). */
	for (int j = 0; j < 10; j++)
		m[n++] = (struct dg_cluster_member){.client = 20, .tmpl = 100 + (uint64_t)j,
						    .weight = 0.08, .f = &f, .is_key = 1};
	/* Key 21: 5% on two of them (10%), the rest its own. */
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 103, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 107, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 999, .weight = 0.9, .f = &f, .is_key = 1};
	/* Key 22: 4% on two (8%): not a member. A 5% template nobody else
	 * carries at 10% does not exist as a template at all. */
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 101, .weight = 0.04, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 105, .weight = 0.04, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 555, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 998, .weight = 0.87, .f = &f, .is_key = 1};

	ncl = dg_clusters_build(m, n, 3, &c, NULL, &cl, mc);
	assert_int_equal(ncl, 1);
	assert_int_equal(cl[0].members, 22);
	assert_int_equal(cl[0].tmpl, 100);
	assert_int_equal(cl[0].f.crowd_keys, 22);
	for (size_t i = 0; i < n; i++) {
		if (m[i].client <= 21 && m[i].tmpl < 200)
			assert_int_equal(mc[i], 0);
		else
			assert_int_equal(mc[i], -1);
	}
	free(cl);
}

/* Keys that one scheduler starts and stops together, each request with a
 * template and prompt of its own, each key on its own address: only their
 * timing ties them. The same traffic on unrelated schedules stays apart,
 * and a conversation that happens to keep the same minutes is not flagged. */
/* The verdicts of a group test: keys named 'w...' are the campaign
 * (clustered, flagged, `reason` among their reasons); keys whose letter is
 * in `bystanders` share the campaign's tie but not its requests' shape
 * (clustered, never flagged); the rest are in no cluster and not flagged.
 * Returns the campaign keys plus 100 per bystander. */
static size_t group_verdicts(const struct dg_client_view *v, size_t n, const char *bystanders,
			     const char *reason)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].name[4] == 'w') {
			int said = 0;

			found++;
			assert_true(v[i].cluster[0]);
			assert_int_not_equal(v[i].s.action, DG_ACT_NONE);
			for (int k = 0; k < v[i].s.n_reasons; k++)
				said |= strstr(v[i].s.reasons[k], reason) != NULL;
			assert_true(said);
		} else if (v[i].name[4] && strchr(bystanders, v[i].name[4])) {
			found += 100;
			assert_true(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
			assert_true(v[i].first_flag_ts == 0);
		} else {
			assert_false(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
		}
	}
	return found;
}

static void test_lockstep_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	struct dg_record r;
	char key[13], ip[32];
	size_t n, found = 0;
	uint64_t u = 0;

	(void)state;
	dg_score_config_default(&c);
	t = dg_clients_new(&c, 1024);
	for (int s = 0; s < 20 * 60; s += 5) {
		for (int k = 0; k < 25; k++) {
			int lock = k < 12 || k == 24;
			/* In step: 2 minutes on, 2 off. Apart: periods of 3 to 7
			 * minutes, each in its own phase. */
			int period = lock ? 240 : 180 + 60 * (k % 5), phase = lock ? 0 : 37 * k;
			if ((s + phase) % period >= 120 || (s / 5 + k) % 4)
				continue;                  /* a request every 20 s when on */
			/* Key 24: a person in a conversation whose minutes fall in
			 * step with the campaign's. */
			snprintf(key, sizeof(key), "%c%011x", k == 24 ? 'p' : lock ? 'w' : 'x', k);
			snprintf(ip, sizeof(ip), "10.%d.%d.9", k, lock);
			rec(&r, T0 + s + k * 0.01, key, ip, 1);
			u++;
			r.system_fp = dg_hash64(&u, sizeof(u));       /* a frame of its own */
			r.prompt_simhash = dg_hash64(&r.system_fp, 8);
			r.logprobs = 0;
			if (k == 24)
				r.messages = 6;
			dg_clients_ingest(t, &r);
		}
	}
	n = dg_clients_snapshot(t, 0, &v);
	/* Key 'p', in step and asking for reasoning but in a conversation,
	 * does not inherit the campaign's score. */
	found = group_verdicts(v, n, "p", "13 keys start and stop in the same minutes");
	assert_int_equal(found, 112);
	dg_clients_free(t);
}

enum tie { TIE_TLS, TIE_ADDR };

/* Keys tied only by a TLS client rare on the host (TIE_TLS; each key on
 * its own address) or only by the few proxy addresses they share
 * (TIE_ADDR; everyone on one common TLS client): each request its own
 * frame, unsynchronised. With `customers` 0 the tie carries only the
 * campaign and the single request, which is then named like the
 * campaign's keys. */
static size_t run_group_host(const struct dg_score_config *c, const struct dg_client_view **v,
			     struct dg_clients **tp, int customers, enum tie tie)
{
	struct dg_clients *t = dg_clients_new(c, 1024);
	struct dg_record r;
	char key[13], ip[32];
	uint64_t u = 0;

	for (int s = 0; s < 20 * 60; s += 5) {
		for (int k = 0; k < 215; k++) {
			/* 200 customers on a common client; on a rare one, 12
			 * campaign keys, a person in a conversation, a person who
			 * asks one single-turn question, and an app with a system
			 * prompt of its own whose conversations are short. */
			int camp = k >= 200 && k < 212, person = k == 212 || k == 214, once = k == 213;

			if (once) {
				if (s != 600)
					continue;
				camp = 1;          /* shaped like a campaign request */
			}
			if (person && !customers)
				continue;
			/* Each campaign key at its own pace: no lockstep. */
			int period = camp ? 100 + 10 * (k - 200) : 60, phase = (k * 37) % period;

			if (!once && (s + phase) % period >= 5)
				continue;
			/* The person pauses at random, as people do. */
			if (person && ((uint32_t)(s / 60) * 2654435761u >> 7) % 3 == 0)
				continue;
			snprintf(key, sizeof(key), "%c%011x",
				 once && customers ? 'q' : camp ? 'w' : k == 214 ? 'r' : person ? 'p' : 'x',
				 k);
			if (tie == TIE_ADDR && k >= 200)   /* three proxies, in turn */
				snprintf(ip, sizeof(ip), "10.9.0.%d", 1 + (s / 5 + k) % 3);
			else
				snprintf(ip, sizeof(ip), "10.%d.%d.9", k / 200, k % 200);
			rec(&r, T0 + s + k * 0.01, key, ip, camp || person);
			u++;
			r.system_fp = dg_hash64(&u, sizeof(u));       /* a frame of its own */
			r.prompt_simhash = dg_hash64(&r.system_fp, 8);
			r.logprobs = 0;
			/* Nobody's volume stands out: 300 output tokens a minute. */
			r.output_tokens = camp ? 600 : 300;
			if (person) {
				r.messages = 6;
				r.max_tokens = 1024;
			}
			if (k == 214) {
				/* Half its requests single-turn, all on its own template:
				 * shaped, but not like the campaign's. */
				r.messages = s % 120 < 60 ? 2 : 4;
				r.system_fp = 4242;
			}
			snprintf(r.ja4, sizeof(r.ja4), "%s",
				 k < 200 || tie == TIE_ADDR ? "t13d1812h1_85036bcba153_b26ce05bbdd6" :
				 "t13d2107h2_9c3f1e6a2b44_7d19e0c4a8f5");
			dg_clients_ingest(t, &r);
		}
	}
	*tp = t;
	return dg_clients_snapshot(t, 0, v);
}

static void test_tls_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	size_t n, found = 0;

	(void)state;
	dg_score_config_default(&c);
	n = run_group_host(&c, &v, &t, 1, TIE_TLS);
	/* On the campaign's client and asking for reasoning, but a
	 * conversation ('p'), a single request ('q': every conversation opens
	 * like a campaign's request, and customers who have shown another
	 * shape share this client) or requests of another shape ('r'): none
	 * inherits the campaign's score. The common client ties nobody. */
	found = group_verdicts(v, n, "pqr", "15 keys share a TLS client that 7.0% of keys use");
	assert_int_equal(found, 312);
	dg_clients_free(t);

	/* A client that only the campaign uses speaks for a new key's first
	 * request, if it has the campaign's shape: flagged on that request. */
	n = run_group_host(&c, &v, &t, 0, TIE_TLS);
	found = group_verdicts(v, n, "", "13 keys share a TLS client that 6.1% of keys use");
	assert_int_equal(found, 13);
	for (size_t i = 0; i < n; i++)
		if (v[i].name[4] == 'w' && v[i].f.requests == 1)
			assert_int_equal(v[i].first_flag_requests, 1), found = 0;
	assert_int_equal(found, 0);
	dg_clients_free(t);

	/* Above 1, group_alike_share switches that off. */
	assert_int_equal(dg_score_config_set(&c, "group_alike_share", 1.5), 0);
	n = run_group_host(&c, &v, &t, 0, TIE_TLS);
	for (size_t i = 0; i < n; i++)
		if (v[i].name[4] == 'w')
			assert_int_equal(v[i].s.action == DG_ACT_NONE, v[i].f.requests == 1);
	dg_clients_free(t);
	dg_score_config_default(&c);

	/* With TLS groups off, nothing else ties the campaign's keys. */
	assert_int_equal(dg_score_config_set(&c, "tls_max_share", 0), 0);
	n = run_group_host(&c, &v, &t, 1, TIE_TLS);
	for (size_t i = 0; i < n; i++) {
		assert_false(v[i].cluster[0]);
		assert_int_equal(v[i].s.action, DG_ACT_NONE);
	}
	dg_clients_free(t);
}

/* Keys tied only by the proxy addresses they share: one campaign. Its
 * customers on the same proxies keep their own scores, and a first request
 * is not enough while the proxies carry customers. */
static void test_addr_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	size_t n, found;

	(void)state;
	dg_score_config_default(&c);
	n = run_group_host(&c, &v, &t, 1, TIE_ADDR);
	found = group_verdicts(v, n, "pqr", "15 keys behind 3 addresses in 1 subnet");
	assert_int_equal(found, 312);
	for (size_t i = 0; i < n; i++)
		if (v[i].s.n_reasons)
			assert_null(strstr(v[i].s.reasons[0], "share templates"));
	dg_clients_free(t);

	/* Unlike a rare TLS client, proxies that carry only the campaign so
	 * far do not speak for a first request: customers may come later. */
	n = run_group_host(&c, &v, &t, 0, TIE_ADDR);
	found = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].name[4] != 'w')
			continue;
		found++;
		assert_int_equal(v[i].s.action == DG_ACT_NONE, v[i].f.requests == 1);
	}
	assert_int_equal(found, 13);
	dg_clients_free(t);

	/* An address ties keys only once it has carried addr_min_keys. */
	assert_int_equal(dg_score_config_set(&c, "addr_min_keys", 16), 0);
	n = run_group_host(&c, &v, &t, 1, TIE_ADDR);
	for (size_t i = 0; i < n; i++) {
		assert_false(v[i].cluster[0]);
		assert_int_equal(v[i].s.action, DG_ACT_NONE);
	}
	dg_clients_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hll),
		cmocka_unit_test(test_rates_and_windows),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_duty_and_inflight),
		cmocka_unit_test(test_old_records_do_not_wipe_windows),
		cmocka_unit_test(test_score_families),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_action),
		cmocka_unit_test(test_new_model),
		cmocka_unit_test(test_client_table),
		cmocka_unit_test(test_client_bound),
		cmocka_unit_test(test_hydra_cluster),
		cmocka_unit_test(test_cluster_membership_sums_shares),
		cmocka_unit_test(test_lockstep_cluster),
		cmocka_unit_test(test_tls_cluster),
		cmocka_unit_test(test_addr_cluster),
	};
	return cmocka_run_group_tests_name("score", tests, NULL, NULL);
}
