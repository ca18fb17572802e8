/* test_fixtures.c — reassembly of byte streams recorded from real clients
 * (the official openai Node package, curl) talking to scripts/endpoint.py
 * (tests/unit/fixtures/record.py made them). Each stream is split at every
 * byte offset, and fed one byte at a time; every split must give the same
 * records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "fixture_file.h"

#include "keyhash.h"
#include "reassemble.h"

static const uint8_t secret[16] = "fixture-secret!!";

struct want {
	const char *file;          /* fixture name without .in/.out */
	int records;
	const char *path, *model, *key;
	int stream, tokens, messages, logprobs, cot;
};

static const struct want wants[] = {
	{ "openai_node_json.0", -1, "/v1/chat/completions", "fixture-model", "sk-fixture-node", 0, 5, 2, 0, 0 },
	{ "openai_node_json.1", -1, "/v1/chat/completions", "fixture-model", "sk-fixture-node", 0, 5, 2, 0, 0 },
	{ "openai_node_sse.0", -1, "/v1/chat/completions", "fixture-model", "sk-fixture-node", 1, 5, 2, 0, 0 },
	{ "openai_node_sse.1", -1, "/v1/chat/completions", "fixture-model", "sk-fixture-node", 1, 5, 2, 0, 0 },
	{ "anthropic_curl_sse", 1, "/v1/messages", "fixture-claude", "sk-fixture-ant", 1, 4, 1, 0, 0 },
	{ "completions_curl_json", 1, "/v1/completions", "fixture-legacy", "sk-fixture-legacy", 0, 3, 1, 1, 1 },
};

#define MAX_RECS 16
struct sink {
	struct dg_record r[MAX_RECS];
	int n;
};

static void on_record(const struct dg_record *r, void *arg)
{
	struct sink *s = arg;

	if (s->n < MAX_RECS)
		s->r[s->n] = *r;
	s->n++;
}

static char *slurp(const char *name, const char *ext, size_t *len)
{
	char file[256];

	snprintf(file, sizeof(file), "%s.%s", name, ext);
	return fixture_read(file, len);
}

static void put(struct dg_reasm *ra, int dir, const char *p, size_t len, uint64_t *ts)
{
	struct dg_chunk c;

	if (!len)
		return;
	c = dg_chunk_call(1, dir, p, len);
	c.src = DG_SRC_TLS;
	c.t.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", c.t.raddr);
	c.t.lport = 443;
	*ts += 1000;
	c.ts_ns = *ts;
	dg_reasm_chunk(ra, &c);
}

static int count_requests(const char *in, size_t len)
{
	int n = 0;

	for (size_t i = 0; i + 5 <= len; i++)
		if (!memcmp(in + i, "POST ", 5) && (i == 0 || in[i - 1] == '}' || in[i - 1] == '\n'))
			n++;
	return n;
}

static void check(const struct want *w, const struct sink *s, int expect)
{
	char key[13];

	dg_key_hash(secret, w->key, strlen(w->key), key);
	assert_int_equal(s->n, expect);
	for (int i = 0; i < s->n && i < MAX_RECS; i++) {
		const struct dg_record *r = &s->r[i];

		assert_string_equal(r->path, w->path);
		assert_string_equal(r->model, w->model);
		assert_string_equal(r->key, key);
		assert_string_equal(r->ip, "192.0.2.9");
		assert_int_equal(r->status, 200);
		assert_int_equal(r->stream, w->stream);
		assert_int_equal(r->output_tokens, w->tokens);
		assert_int_equal(r->messages, w->messages);
		assert_int_equal(r->logprobs, w->logprobs);
		assert_int_equal(r->cot_prompt, w->cot);
		assert_true(r->has_system_fp && r->has_prompt_fp);
		assert_int_equal(r->req_truncated, 0);
		assert_int_equal(r->resp_truncated, 0);
	}
}

/* A reassembler with the test secret whose records land in s (emptied). */
static struct dg_reasm *reasm_into(struct sink *s)
{
	struct dg_reasm_config cfg;

	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	memset(s, 0, sizeof(*s));
	return dg_reasm_new(&cfg, on_record, NULL, s);
}

/* Feed in (split at a) then out (split at b), each piece in calls of at
 * most step bytes (0: the piece in one call); the records land in s. */
static void feed_split(const char *in, size_t il, size_t a, const char *out, size_t ol,
		       size_t b, size_t step, struct sink *s)
{
	const struct { int dir; const char *p; size_t len; } pieces[] = {
		{ DG_DIR_IN, in, a }, { DG_DIR_IN, in + a, il - a },
		{ DG_DIR_OUT, out, b }, { DG_DIR_OUT, out + b, ol - b },
	};
	struct dg_reasm *ra = reasm_into(s);
	uint64_t ts = 1;

	for (size_t k = 0; k < 4; k++) {
		size_t n = step ? step : pieces[k].len;
		for (size_t off = 0; off < pieces[k].len; off += n)
			put(ra, pieces[k].dir, pieces[k].p + off,
			    pieces[k].len - off < n ? pieces[k].len - off : n, &ts);
	}
	dg_reasm_free(ra);
}

static void test_recorded_streams(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	int files = 0;

	for (size_t k = 0; k < sizeof(wants) / sizeof(wants[0]); k++) {
		const struct want *w = &wants[k];
		size_t il, ol;
		char *in = slurp(w->file, "in", &il), *out = slurp(w->file, "out", &ol);
		int expect;

		if (!in || !out) {
			/* Node may reuse one connection: the .1 files are optional. */
			assert_non_null(strstr(w->file, ".1"));
			free(in);
			free(out);
			continue;
		}
		files++;
		expect = w->records > 0 ? w->records : count_requests(in, il);
		assert_true(expect >= 1);
		for (size_t a = 0; a <= il; a++) {
			feed_split(in, il, a, out, ol, ol, 0, s);
			check(w, s, expect);
		}
		for (size_t b = 0; b <= ol; b++) {
			feed_split(in, il, il, out, ol, b, 0, s);
			check(w, s, expect);
		}
		feed_split(in, il, il, out, ol, ol, 1, s);   /* one byte per call */
		check(w, s, expect);
		free(in);
		free(out);
	}
	assert_true(files >= 4);
	free(s);
}

/* The connection's JA4 reaches its records: sent before the request, or
 * (rings drained in another order) after it began, in pieces. */
static void test_ja4_on_records(void **state)
{
	size_t hl, il, ol;
	char *hello = slurp("hello_curl", "bin", &hl);
	char *in = slurp("anthropic_curl_sse", "in", &il), *out = slurp("anthropic_curl_sse", "out", &ol);
	char *exp = NULL;
	struct dg_hello_event *h = calloc(1, sizeof(*h));
	struct sink *s = malloc(sizeof(*s));

	assert_non_null(hello);
	{
		size_t el;
		exp = slurp("hello_expected", "txt", &el);
		exp[el] = 0;
	}
	for (int order = 0; order < 2; order++) {
		struct dg_reasm *ra = reasm_into(s);
		uint64_t ts = 1;

		if (order == 1)
			put(ra, DG_DIR_IN, in, il, &ts);
		/* The hello in two pieces, as over two packets. */
		for (size_t off = 0; off < hl; off += 300) {
			h->type = DG_EV_HELLO;
			h->conn = 1;
			h->record_len = (uint32_t)hl;
			h->offset = (uint32_t)off;
			h->len = (uint16_t)(hl - off < 300 ? hl - off : 300);
			memcpy(h->data, hello + off, h->len);
			dg_reasm_hello(ra, h);
		}
		if (order == 0)
			put(ra, DG_DIR_IN, in, il, &ts);
		put(ra, DG_DIR_OUT, out, ol, &ts);
		dg_reasm_free(ra);
		assert_int_equal(s->n, 1);
		assert_true(s->r[0].ja4[0] == 't');
		assert_non_null(strstr(exp, s->r[0].ja4));      /* the curl line's value */
	}
	free(h);
	free(s);
	free(hello);
	free(in);
	free(out);
	free(exp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_streams),
		cmocka_unit_test(test_ja4_on_records),
	};
	return cmocka_run_group_tests_name("fixtures", tests, NULL, NULL);
}
