/* test_jsonfeed.c — yajl sees every string whole, at every split, escapes
 * included; the parse is the same as feeding yajl directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_parse.h>

#include "jsonfeed.h"

struct seen {
	char log[4096];
	size_t len;
};

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct seen *v = ctx;

	v->len += (size_t)snprintf(v->log + v->len, sizeof(v->log) - v->len, "s%zu:%.*s|", len,
				   (int)len, (const char *)s);
	return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct seen *v = ctx;

	v->len += (size_t)snprintf(v->log + v->len, sizeof(v->log) - v->len, "k:%.*s|", (int)len,
				   (const char *)s);
	return 1;
}

static int on_number(void *ctx, const char *s, size_t len)
{
	struct seen *v = ctx;

	v->len += (size_t)snprintf(v->log + v->len, sizeof(v->log) - v->len, "n:%.*s|", (int)len, s);
	return 1;
}

static const yajl_callbacks cbs = {
	.yajl_string = on_string, .yajl_map_key = on_key, .yajl_number = on_number,
};

/* Parse doc in two pieces cut at cut (cut == 0: directly through yajl). */
static yajl_status parse(const char *doc, size_t cut, struct seen *v)
{
	yajl_handle h = yajl_alloc(&cbs, NULL, v);
	struct dg_jsonfeed f = { 0 };
	size_t len = strlen(doc);
	yajl_status st;

	memset(v, 0, sizeof(*v));
	yajl_config(h, yajl_allow_partial_values, 1);
	if (!cut) {
		st = yajl_parse(h, (const unsigned char *)doc, len);
	} else {
		st = dg_jsonfeed_parse(&f, h, doc, cut);
		if (st == yajl_status_ok)
			st = dg_jsonfeed_parse(&f, h, doc + cut, len - cut);
		if (st == yajl_status_ok)
			st = dg_jsonfeed_flush(&f, h);
	}
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	dg_jsonfeed_free(&f);
	yajl_free(h);
	return st;
}

static void test_every_split_same_parse(void **state)
{
	static const char *docs[] = {
		"{\"messages\":[{\"role\":\"user\",\"content\":\"say \\\"hi\\\" \\\\ and \\u00e9\"}],"
		"\"model\":\"m\",\"max_tokens\":123,\"t\":0.5}",
		"[\"\\\\\",\"\\\"\",\"a\\\\\\\"b\",12345678,\"\"]",
		"{\"a\":\"x\"} ",
	};

	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		struct seen want, got;

		assert_int_equal(parse(docs[d], 0, &want), yajl_status_ok);
		for (size_t cut = 1; cut < strlen(docs[d]); cut++) {
			assert_int_equal(parse(docs[d], cut, &got), yajl_status_ok);
			assert_string_equal(got.log, want.log);
		}
	}
}

/* A long string fed in small pieces reaches yajl in one call. */
static int calls;
static int count_string(void *ctx, const unsigned char *s, size_t len)
{
	(void)ctx;
	(void)s;
	assert_int_equal(len, 100000);
	calls++;
	return 1;
}

static void test_long_string_whole(void **state)
{
	static const yajl_callbacks one = { .yajl_string = count_string };
	yajl_handle h = yajl_alloc(&one, NULL, NULL);
	struct dg_jsonfeed f = { 0 };
	char *doc = malloc(100010);
	size_t len;

	doc[0] = '"';
	memset(doc + 1, 'q', 100000);
	memcpy(doc + 100001, "\"", 2);
	len = strlen(doc);
	for (size_t off = 0; off < len; off += 1000)
		assert_int_equal(dg_jsonfeed_parse(&f, h, doc + off, len - off < 1000 ? len - off : 1000),
				 yajl_status_ok);
	assert_int_equal(f.len, 0);       /* nothing held once the string ended */
	assert_int_equal(yajl_complete_parse(h), yajl_status_ok);
	assert_int_equal(calls, 1);
	dg_jsonfeed_free(&f);
	yajl_free(h);
	free(doc);
}

/* Errors still surface, and a document cut inside a string is held until
 * flushed. */
static void test_errors_and_flush(void **state)
{
	struct seen v;
	yajl_handle h = yajl_alloc(&cbs, NULL, &v);
	struct dg_jsonfeed f = { 0 };

	memset(&v, 0, sizeof(v));
	assert_int_equal(dg_jsonfeed_parse(&f, h, "{\"a\":\"unfinish", 14), yajl_status_ok);
	assert_int_equal(f.len, 9);       /* the quote and 8 bytes */
	assert_int_equal(dg_jsonfeed_flush(&f, h), yajl_status_ok);
	assert_int_equal(f.len, 0);
	assert_int_equal(yajl_complete_parse(h), yajl_status_error);
	yajl_free(h);
	h = yajl_alloc(&cbs, NULL, &v);
	dg_jsonfeed_reset(&f);            /* the next document */
	assert_int_equal(dg_jsonfeed_parse(&f, h, "{]", 2), yajl_status_error);
	dg_jsonfeed_free(&f);
	yajl_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_same_parse),
		cmocka_unit_test(test_long_string_whole),
		cmocka_unit_test(test_errors_and_flush),
	};
	return cmocka_run_group_tests_name("jsonfeed", tests, NULL, NULL);
}
