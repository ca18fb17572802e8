/* test_clients.c — the client table (clients.c): naming, distinct
 * counts, the first flag, new models, determinism and its bound. */
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
#include "score_helpers.h"

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

/* What the table reads off records for logit extraction and people: a
 * sweep's new logit_bias sets, one-token answers and the maximum
 * top_logprobs; a harness's one set; a browser's JA4; a tail frame shared
 * by requests whose head frames all differ. Known values. */
static void test_record_signals(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v, *x;
	struct dg_record r;
	size_t n;

	(void)state;
	dg_score_config_default(&c);
	t = dg_clients_new(&c, 64);
	for (int i = 0; i < 60; i++) {
		double ts = T0 + 2 * i;

		rec(&r, ts, "sweep", "10.0.0.1", 0);       /* a sweep, one request in two at the max */
		r.messages = 1;
		r.max_tokens = 1;
		r.output_tokens = 1;
		r.logprobs = 1;
		r.top_logprobs = i % 2 ? 20 : 5;
		r.logit_bias = 1;
		r.logit_bias_n = 300;
		r.has_logit_bias_fp = 1;
		r.logit_bias_fp = 1000 + (uint64_t)i;
		dg_clients_ingest(t, &r);
		rec(&r, ts + 1, "harness", "10.0.0.2", 0); /* the answer letters, every time */
		r.max_tokens = 1;
		r.top_logprobs = 20;
		r.logit_bias = 1;
		r.logit_bias_n = 4;
		r.has_logit_bias_fp = 1;
		r.logit_bias_fp = 42;
		dg_clients_ingest(t, &r);
		rec(&r, ts + 1.5, "pupil", "10.0.0.3", 0); /* on a browser, one tail */
		snprintf(r.ja4, sizeof(r.ja4), "%s", i % 4 ? "t13d1516h2_8daaf6152771_02713d6af862" :
			 "t13d1812h1_85036bcba153_b26ce05bbdd6");
		r.has_tail_fp = 1;
		r.tail_fp = 9;
		r.max_tokens = -1;                         /* not said: one token given */
		r.output_tokens = i < 30 ? 1 : 200;
		dg_clients_ingest(t, &r);
	}
	n = dg_clients_snapshot(t, 0, &v);
	x = find_view(v, n, "key:sweep");
	assert_float_equal(x->f.bias_new_share, 1, 1e-9);
	assert_float_equal(x->f.one_token_share, 1, 1e-9);
	assert_float_equal(x->f.top_max_share, 0.5, 1e-9);
	assert_float_equal(x->s.evidence[DG_EV_LOGIT_SWEEP], 1, 1e-9);
	assert_int_not_equal(x->s.action, DG_ACT_NONE);
	assert_non_null(strstr(x->s.reasons[0], "logit sweep: 100% new logit_bias sets, "
					      "1-token answers"));
	x = find_view(v, n, "key:harness");
	assert_float_equal(x->f.biased_share, 1, 1e-9);
	assert_float_equal(x->f.bias_new_share, 1.0 / 60, 1e-9);
	assert_float_equal(x->f.top_max_share, 1, 1e-9);
	assert_true(x->s.evidence[DG_EV_LOGIT_SWEEP] == 0);
	x = find_view(v, n, "key:pupil");
	assert_float_equal(x->f.ja4_share, 1, 1e-9);
	assert_float_equal(x->f.browser_share, 0.75, 1e-9);
	assert_float_equal(x->f.one_token_share, 0.5, 1e-9);
	assert_float_equal(x->f.template_share, 1, 1e-9);   /* heads all differ */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_model),
		cmocka_unit_test(test_record_signals),
		cmocka_unit_test(test_client_table),
		cmocka_unit_test(test_client_bound),
	};
	return cmocka_run_group_tests_name("clients", tests, NULL, NULL);
}
