/* test_engine.c — the engine the daemon and replay share: passes on
 * record-time ticks, passes the caller asks for, the same decisions from
 * the same records whether fed live or read back from the journal lines
 * the daemon writes (records, decisions, ticks, settings), and the same
 * views from passes that reuse what the last pass kept as from passes
 * that compute everything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decision_json.h"
#include "engine.h"
#include "record.h"
#include "settings_json.h"

struct log {
	char lines[512][DG_DECISION_JSON_MAX];
	int n;
};

static void on_decision(const struct dg_decision *d, void *arg)
{
	struct log *l = arg;

	if (l->n < 512)
		dg_decision_to_json(d, l->lines[l->n], DG_DECISION_JSON_MAX);
	l->n++;
}

/* A harvesting key (the same template, reasoning asked, answers far longer
 * than prompts, at the token cap, every two seconds) and a few people. */
static void record(struct dg_record *r, int i)
{
	int campaign = i % 4 != 3;

	dg_record_init(r);
	r->ts = 1700000000.0 + i * (campaign ? 1.5 : 2.0);
	snprintf(r->key, sizeof(r->key), campaign ? "aaaaaaaaaaaa" : "bbbbbbbbbb%02d", i % 40);
	snprintf(r->client, sizeof(r->client), "key:%s", r->key);
	snprintf(r->ip, sizeof(r->ip), campaign ? "198.51.100.7" : "203.0.113.%d", i % 40);
	snprintf(r->method, sizeof(r->method), "POST");
	snprintf(r->path, sizeof(r->path), "/v1/chat/completions");
	snprintf(r->model, sizeof(r->model), "m");
	r->status = 200;
	r->stream = 0;
	r->messages = campaign ? 1 : 3 + i % 5;
	r->prompt_bytes = campaign ? 300 : 2000 + i;
	r->has_system_fp = 1;
	r->system_fp = campaign ? 42 : (uint64_t)i;
	r->has_prompt_fp = 1;
	r->prompt_fp = (uint64_t)i * 7919;
	r->prompt_simhash = campaign ? 0xf0f0f0f0f0f0f0f0ULL ^ (uint64_t)(i & 3) : (uint64_t)i * 0x9e3779b9;
	r->max_tokens = campaign ? 4096 : 500;
	r->logprobs = campaign;
	r->top_logprobs = campaign ? 20 : -1;
	r->cot_prompt = campaign;
	r->reasoning_param = 0;
	r->logit_bias = 0;
	r->output_tokens = campaign ? 3000 : 200;
	r->output_bytes = r->output_tokens * 5;
	r->duration_ms = 1000;
	r->req_bytes = r->prompt_bytes + 100;
}

static struct dg_engine *engine(struct log *l, double tick)
{
	struct dg_engine_config c;

	dg_engine_config_default(&c);
	c.tick = tick;
	memset(l, 0, sizeof(*l));
	return dg_engine_new(&c, on_decision, l);
}

/* A pass when a record crosses a tick, at the boundary, before it counts. */
static void test_ticks(void **state)
{
	struct log l;
	struct dg_engine *e = engine(&l, 10);
	const struct dg_client_view *v;
	struct dg_record r;

	record(&r, 0);
	r.ts = 1000.5;
	dg_engine_record(e, &r);
	r.ts = 1009.9;
	dg_engine_record(e, &r);
	assert_int_equal(dg_engine_stats(e)->ticks, 0);
	assert_int_equal(dg_engine_pending(e), 2);
	r.ts = 1031;                         /* crosses 1010, 1020, 1030: one pass at 1030 */
	dg_engine_record(e, &r);
	assert_int_equal(dg_engine_stats(e)->ticks, 1);
	assert_true(dg_engine_stats(e)->last_tick == 1030);
	assert_int_equal(dg_engine_views(e, &v), 1);
	assert_int_equal(v[0].f.requests, 2);  /* the crossing record came after */
	r.ts = 1035;
	dg_engine_record(e, &r);
	dg_engine_tick(e, 1035);             /* a pass asked for */
	assert_int_equal(dg_engine_stats(e)->ticks, 2);
	assert_int_equal(dg_engine_pending(e), 0);
	r.ts = 1039;
	dg_engine_record(e, &r);             /* the next boundary is 1040 */
	assert_int_equal(dg_engine_stats(e)->ticks, 2);
	dg_engine_finish(e);
	assert_int_equal(dg_engine_stats(e)->ticks, 3);
	dg_engine_finish(e);                 /* nothing new: no pass */
	assert_int_equal(dg_engine_stats(e)->ticks, 3);
	dg_engine_free(e);
}

/* What the daemon writes for one run: settings, records, an operator's
 * decision, the decisions made, a tick line. */
static char *journal(struct log *live, int n)
{
	struct dg_engine *e = engine(live, 5);
	struct dg_engine_config c;
	char *text = NULL, line[DG_RECORD_JSON_MAX], err[128];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int printed = 0;

	dg_engine_config_default(&c);
	c.tick = 5;
	assert_true(dg_settings_to_json(&c, 1, line, sizeof(line)) > 0);
	fprintf(f, "%s\n", line);
	for (int i = 0; i < n; i++) {
		struct dg_record r;

		record(&r, i);
		assert_true(dg_record_to_json(&r, line, sizeof(line)) > 0);
		fprintf(f, "%s\n", line);
		dg_engine_record(e, &r);
		for (; printed < live->n; printed++)
			fprintf(f, "%s\n", live->lines[printed]);
		if (i == n / 2) {
			assert_non_null(dg_engine_command(e, r.ts, "key:bbbbbbbbbb07", DG_DO_BLOCK, 60,
							  "by hand", err, sizeof(err)));
			fprintf(f, "%s\n", live->lines[printed++]);
		}
	}
	fprintf(f, "{\"tick\":%.6f}\n", dg_engine_now(e));
	dg_engine_tick(e, dg_engine_now(e));
	for (; printed < live->n; printed++)
		fprintf(f, "%s\n", live->lines[printed]);
	fclose(f);
	dg_engine_free(e);
	return text;
}

/* Read the journal back as replay does. */
static void replay(const char *text, struct log *out)
{
	struct dg_engine *e = engine(out, 5);
	char *copy = strdup(text), *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct dg_record r;
		struct dg_decision d;
		struct dg_engine_config c;
		char err[128];
		int start;

		if (!dg_record_from_json(line, strlen(line), &r, err, sizeof(err)))
			dg_engine_record(e, &r);
		else if (!dg_decision_from_json(line, strlen(line), &d, err, sizeof(err)))
			dg_engine_decision(e, &d);
		else if (!dg_settings_from_json(line, strlen(line), &c, &start, err, sizeof(err)))
			dg_engine_reconfigure(e, &c);
		else if (!strncmp(line, "{\"tick\":", 8))
			dg_engine_tick(e, strtod(line + 8, NULL));
		else
			fail_msg("a line replay would not take: %.80s", line);
	}
	free(copy);
	dg_engine_free(e);
}

static void test_replay_gives_the_same_decisions(void **state)
{
	struct log *live = calloc(1, sizeof(*live)), *again = calloc(1, sizeof(*again));
	char *text = journal(live, 1600);
	int policy = 0;

	replay(text, again);
	assert_int_equal(again->n, live->n);
	for (int i = 0; i < live->n && i < 512; i++) {
		assert_string_equal(again->lines[i], live->lines[i]);
		policy += strstr(live->lines[i], "\"by\":\"policy\"") != NULL;
	}
	/* The campaign was acted on; the people were not. */
	assert_true(policy >= 1);
	assert_non_null(strstr(text, "\"client\":\"key:aaaaaaaaaaaa\",\"action\":\"ratelimit\"") ?
			(void *)1 : strstr(text, "\"client\":\"key:aaaaaaaaaaaa\",\"action\":\"block\""));
	for (int i = 0; i < live->n && i < 512; i++)
		if (strstr(live->lines[i], "\"by\":\"policy\""))
			assert_null(strstr(live->lines[i], "bbbbbbbbbb"));
	free(text);
	free(live);
	free(again);
}

/* ---------- passes that keep things against passes that keep nothing */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A record of client i (of n) at ts: campaigns (every third client: one
 * of two templates, single turns, reasoning, at the cap, one TLS client,
 * a few shared addresses), people, keyless addresses (every tenth). */
static void random_record(struct dg_record *r, long i, double ts)
{
	int campaign = i % 3 == 0;

	dg_record_init(r);
	r->ts = ts;
	if (i % 10) {
		snprintf(r->key, sizeof(r->key), "k%05ld", i);
		snprintf(r->ip, sizeof(r->ip), "10.0.%ld.%ld", i / 7 % 20,
			 (long)(rng() % (campaign ? 6 : 2)));
	} else {
		snprintf(r->ip, sizeof(r->ip), "172.16.0.%ld", i % 200);
	}
	snprintf(r->ja4, sizeof(r->ja4), "t13d%02ld_abc", campaign ? 1L : i % 40);
	snprintf(r->model, sizeof(r->model), "%s", i % 5 ? "dg-large" : "dg-new");
	r->status = 200;
	r->messages = campaign ? 1 : 2 + (int)(rng() % 5);
	r->prompt_bytes = 200 + (int64_t)(rng() % 4000);
	r->has_system_fp = rng() % 8 != 0;
	r->system_fp = 1000 + (uint64_t)(campaign ? i % 2 : i % 7 + (long)(rng() % 3));
	r->has_tail_fp = rng() % 3 == 0;
	r->tail_fp = 77 + (uint64_t)(i % 7);
	r->has_prompt_fp = 1;
	r->prompt_fp = rng() % (campaign ? 1000000 : 50);
	r->has_parent_fp = rng() % 3 == 0;
	r->parent_fp = rng() % 60;
	r->prompt_simhash = (campaign ? 0xabcdefULL : rng()) ^ (1ULL << (rng() % 64));
	r->max_tokens = campaign ? 4096 : (int64_t[]){ 256, 1024, 1 }[rng() % 3];
	r->n = 1;
	r->cot_prompt = campaign ? rng() % 2 == 0 : rng() % 20 == 0;
	r->logprobs = campaign && rng() % 3 == 0;
	r->top_logprobs = r->logprobs ? 20 : 0;
	r->output_tokens = 20 + (int64_t)(rng() % 1000);
	r->duration_ms = 50 + (double)r->output_tokens * 8;
}

/* Everything a pass shows of a client, the same in both engines. */
static void assert_same_view(const struct dg_client_view *a, const struct dg_client_view *b)
{
	assert_string_equal(a->name, b->name);
	assert_true(a->s.score == b->s.score);
	assert_int_equal(a->s.action, b->s.action);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->s.n_reasons, b->s.n_reasons);
	for (int k = 0; k < a->s.n_reasons; k++)
		assert_string_equal(a->s.reasons[k], b->s.reasons[k]);
	assert_string_equal(a->cluster, b->cluster);
	assert_true(a->ips == b->ips && a->keys == b->keys);
	assert_int_equal(a->shared_addrs, b->shared_addrs);
	assert_int_equal(a->legit_keys, b->legit_keys);
	assert_int_equal(a->flagged_keys, b->flagged_keys);
	assert_true(a->first_flag_ts == b->first_flag_ts);
	assert_true(a->f.age_s == b->f.age_s && a->f.duty_1h == b->f.duty_1h);
	assert_int_equal(a->f.req_1m, b->f.req_1m);
	assert_int_equal(a->f.req_10m, b->f.req_10m);
	assert_int_equal(a->f.req_1h, b->f.req_1h);
	assert_true(a->f.rate_1h == b->f.rate_1h && a->f.rate_10m == b->f.rate_10m);
	assert_true(a->f.tok_rate_1h == b->f.tok_rate_1h && a->f.tok_rate_10m == b->f.tok_rate_10m);
	assert_true(a->f.template_share == b->f.template_share);
	assert_true(a->f.near_dup_share == b->f.near_dup_share);
	assert_true(a->f.cot_share == b->f.cot_share && a->f.single_share == b->f.single_share);
	assert_true(a->f.iat_cv == b->f.iat_cv && a->f.peers == b->f.peers);
}

/* Two engines fed the same randomised stream (bursts and pauses across
 * minute and 10-minute edges, clients evicted from a small table, passes
 * the caller asks for between ticks): after every pass, every client's
 * view is the same whether the pass reused what the last one kept or
 * computed everything. */
static void test_kept_passes_match_full_passes(void **state)
{
	struct dg_engine_config c;
	struct dg_engine *kept, *full;
	double ts = 1800000000.0;
	uint64_t compared = 0, flagged = 0;

	(void)state;
	rng_state = 0x5eed5eedULL;
	dg_engine_config_default(&c);
	c.max_clients = 300;
	kept = dg_engine_new(&c, NULL, NULL);
	c.full_passes = 1;
	full = dg_engine_new(&c, NULL, NULL);
	assert_non_null(kept);
	assert_non_null(full);
	for (int k = 0; k < 60000; k++) {
		struct dg_record r;
		long i = (long)(rng() % 400);
		uint64_t ticks = dg_engine_stats(kept)->ticks;

		if (rng() % 4 == 0)
			i %= 30;                       /* a few busy clients */
		/* Mostly a busy host, now and then a pause of minutes. */
		ts += rng() % 500 == 0 ? (double)(rng() % 900) : (double)(rng() % 1000) / 4000.0;
		random_record(&r, i, ts);
		dg_engine_record(kept, &r);
		dg_engine_record(full, &r);
		if (rng() % 3000 == 0) {
			double at = ts + (double)(rng() % 120);
			dg_engine_tick(kept, at);
			dg_engine_tick(full, at);
		}
		if (dg_engine_stats(kept)->ticks != ticks) {
			const struct dg_client_view *a, *b;
			size_t na = dg_engine_views(kept, &a), nb = dg_engine_views(full, &b);

			assert_int_equal(na, nb);
			for (size_t j = 0; j < na; j++) {
				assert_same_view(&a[j], &b[j]);
				flagged += a[j].s.action != DG_ACT_NONE;
			}
			compared += na;
		}
	}
	/* The comparison saw many passes, and flagged clients among them. */
	assert_true(dg_engine_stats(kept)->ticks > 1000);
	assert_true(compared > 100000 && flagged > 1000);
	dg_engine_free(kept);
	dg_engine_free(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticks),
		cmocka_unit_test(test_replay_gives_the_same_decisions),
		cmocka_unit_test(test_kept_passes_match_full_passes),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
