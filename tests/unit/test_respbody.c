/* test_respbody.c — output tokens from JSON and SSE responses, any split,
 * gaps, bounds and junk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "respbody.h"

static void assert_resp_equal(const struct dg_resp_fields *a, const struct dg_resp_fields *b)
{
	assert_int_equal(a->output_tokens, b->output_tokens);
	assert_int_equal(a->usage_seen, b->usage_seen);
	assert_int_equal(a->sse_events, b->sse_events);
	assert_int_equal(a->truncated, b->truncated);
	assert_int_equal(a->parse_error, b->parse_error);
	assert_string_equal(a->model, b->model);
}

/* prefix, then (when gap) a gap and tail; the tail (or whole body) is fed
 * whole, in every two-piece split, and a byte at a time: all must agree. */
static void run(const char *prefix, size_t plen, int gap, const char *tail, size_t tlen,
		int is_sse, struct dg_resp_fields *out)
{
	struct dg_respbody *r = dg_respbody_new();
	struct dg_resp_fields got;

	assert_non_null(r);
	for (size_t cut = 0; cut <= tlen + 1; cut++) {
		dg_respbody_begin(r, is_sse);
		if (prefix)
			dg_respbody_feed(r, prefix, plen);
		if (gap)
			dg_respbody_gap(r, 1234);
		if (cut <= tlen) {
			dg_respbody_feed(r, tail, cut);
			dg_respbody_feed(r, tail + cut, tlen - cut);
		} else {
			for (size_t i = 0; i < tlen; i++)
				dg_respbody_feed(r, tail + i, 1);
		}
		memset(&got, 0, sizeof(got));
		dg_respbody_finish(r, &got);
		if (cut == 0)
			*out = got;
		else
			assert_resp_equal(out, &got);
	}
	dg_respbody_finish(r, &got);      /* repeatable */
	assert_resp_equal(out, &got);
	dg_respbody_free(r);
}

static void parse(const char *body, int is_sse, struct dg_resp_fields *out)
{
	run(NULL, 0, 0, body, strlen(body), is_sse, out);
}

/* Replace every "\n" with sep. */
static char *relines(const char *s, const char *sep)
{
	size_t n = 0, sl = strlen(sep);
	for (const char *p = s; *p; p++)
		n += *p == '\n' ? sl : 1;
	char *o = malloc(n + 1), *q = o;
	assert_non_null(o);
	for (const char *p = s; *p; p++) {
		if (*p == '\n') {
			memcpy(q, sep, sl);
			q += sl;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return o;
}

static const char R_OAI_JSON[] =
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \\\"world\\\" \\u00e9\"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":42,"
	"\"total_tokens\":54,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

static const char R_ANT_JSON[] =
	"{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
	"\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
	"\"usage\":{\"input_tokens\":10,\"output_tokens\":7}}";

static void test_json_bodies(void **state)
{
	struct dg_resp_fields f;

	(void)state;
	parse(R_OAI_JSON, 0, &f);
	assert_int_equal(f.output_tokens, 42);
	assert_int_equal(f.usage_seen, 1);
	assert_int_equal(f.sse_events, 0);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "gpt-4o-2024");

	parse(R_ANT_JSON, 0, &f);
	assert_int_equal(f.output_tokens, 7);
	assert_int_equal(f.usage_seen, 1);
	assert_string_equal(f.model, "claude-x");

	parse("{\"model\":\"m\",\"choices\":[]}", 0, &f);
	assert_int_equal(f.output_tokens, -1);
	assert_int_equal(f.usage_seen, 0);

	/* a usage that is not at depth 1 does not count */
	parse("{\"data\":{\"usage\":{\"completion_tokens\":5},\"model\":\"inner\"}}", 0, &f);
	assert_int_equal(f.output_tokens, -1);
	assert_string_equal(f.model, "");

	parse("", 0, &f);
	assert_int_equal(f.output_tokens, -1);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
}

static const char R_OAI_SSE[] =
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\\"x\\\" \\u00e9\"}}]}\n\n"
	": keep-alive comment\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
	"data: [DONE]\n\n";

static const char R_OAI_SSE_USAGE[] =
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n"
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":17,\"total_tokens\":22}}\n\n"
	"data: [DONE]\n\n"
	"data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}],\"usage\":{\"completion_tokens\":99}}\n\n";

static void test_openai_sse(void **state)
{
	struct dg_resp_fields f, g;

	(void)state;
	parse(R_OAI_SSE, 1, &f);
	assert_int_equal(f.sse_events, 5);
	assert_int_equal(f.output_tokens, 3);
	assert_int_equal(f.usage_seen, 0);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "gpt-4o");

	/* CRLF and CR line ends give the same */
	char *crlf = relines(R_OAI_SSE, "\r\n"), *cr = relines(R_OAI_SSE, "\r");
	parse(crlf, 1, &g);
	assert_resp_equal(&f, &g);
	parse(cr, 1, &g);
	assert_resp_equal(&f, &g);
	free(crlf);
	free(cr);

	parse(R_OAI_SSE_USAGE, 1, &f);
	assert_int_equal(f.sse_events, 3);
	assert_int_equal(f.output_tokens, 17);
	assert_int_equal(f.usage_seen, 1);

	/* completions stream: choices[].text */
	parse("data: {\"model\":\"davinci\",\"choices\":[{\"text\":\"abc\",\"index\":0}]}\n\n"
	      "data: {\"choices\":[{\"text\":\"\",\"index\":0}]}\n\n"
	      "data: {\"choices\":[{\"text\":\" d\",\"index\":0}]}\n\n", 1, &f);
	assert_int_equal(f.sse_events, 3);
	assert_int_equal(f.output_tokens, 2);
	assert_string_equal(f.model, "davinci");
}

static void test_sse_lines(void **state)
{
	struct dg_resp_fields f;

	(void)state;
	/* data split over lines, joined with "\n"; other fields ignored; no
	 * space after the colon */
	parse("id: 1\nretry: 100\nevent: chunk\ndata: {\"choices\":[{\"delta\":\ndata:{\"content\":\"a\"}}]}\n\n"
	      "data\n\n"
	      "dataxyzlong: {\"bad\"\n\n", 1, &f);
	assert_int_equal(f.sse_events, 1);     /* a bare "data" line: empty, no event */
	assert_int_equal(f.output_tokens, 1);
	assert_int_equal(f.parse_error, 0);

	/* the last event has no blank line after it: still used */
	parse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n", 1, &f);
	assert_int_equal(f.sse_events, 1);
	assert_int_equal(f.output_tokens, 1);
	assert_int_equal(f.truncated, 0);

	/* cut in the middle of a line: dropped, truncated */
	parse("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"del", 1, &f);
	assert_int_equal(f.sse_events, 1);
	assert_int_equal(f.output_tokens, 1);
	assert_int_equal(f.truncated, 1);

	parse("", 1, &f);
	assert_int_equal(f.sse_events, 0);
	assert_int_equal(f.output_tokens, 0);
	assert_int_equal(f.truncated, 0);

	/* the event name stands in for a missing "type" */
	parse("event: content_block_delta\ndata: {\"index\":0}\n\n", 1, &f);
	assert_int_equal(f.output_tokens, 1);
}

static const char R_ANT_SSE_HEAD[] =
	"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"type\":\"message\","
	"\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	"event: ping\ndata: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
static const char R_ANT_SSE_TAIL[] =
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void test_anthropic_sse(void **state)
{
	struct dg_resp_fields f;
	char body[4096];

	(void)state;
	snprintf(body, sizeof(body), "%s%s", R_ANT_SSE_HEAD, R_ANT_SSE_TAIL);
	parse(body, 1, &f);
	assert_int_equal(f.sse_events, 8);
	assert_int_equal(f.output_tokens, 15);
	assert_int_equal(f.usage_seen, 1);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "claude-sonnet-4-5");

	/* no message_delta: count the deltas (message_start's usage is not final) */
	parse(R_ANT_SSE_HEAD, 1, &f);
	assert_int_equal(f.sse_events, 6);
	assert_int_equal(f.output_tokens, 2);
	assert_int_equal(f.usage_seen, 0);
}

static void test_responses_api_sse(void **state)
{
	struct dg_resp_fields f;

	(void)state;
	parse("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"model\":\"gpt-5\",\"usage\":null}}\n\n"
	      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"
	      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\" there\"}\n\n"
	      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-5\","
	      "\"usage\":{\"input_tokens\":3,\"output_tokens\":9,\"total_tokens\":12}}}\n\n", 1, &f);
	assert_int_equal(f.sse_events, 4);
	assert_int_equal(f.output_tokens, 9);
	assert_int_equal(f.usage_seen, 1);
	assert_string_equal(f.model, "gpt-5");
}

static void test_sse_gap(void **state)
{
	struct dg_resp_fields f;
	const char *third = strstr(R_OAI_SSE, "lo \\\"x");
	size_t plen = (size_t)(third - R_OAI_SSE);

	(void)state;
	assert_non_null(third);
	/* the gap swallows 10 bytes of the third event: it is dropped, the
	 * stream resumes at the next blank line */
	run(R_OAI_SSE, plen, 1, third + 10, strlen(third + 10), 1, &f);
	assert_int_equal(f.sse_events, 4);
	assert_int_equal(f.output_tokens, 2);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);

	/* a gap that ends right on a line end */
	const char *fourth = strstr(R_OAI_SSE, ": keep");
	run(R_OAI_SSE, plen, 1, fourth - 1, strlen(fourth - 1), 1, &f);
	assert_int_equal(f.sse_events, 4);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
}

static void test_json_gap_resync(void **state)
{
	struct dg_resp_fields f;
	const char *head = "{\"id\":\"x\",\"model\":\"gpt-4o\",\"choices\":[{\"message\":{\"content\":\"Some long answer";
	const char *tail =
		" more text with a fake \\\"usage\\\": {\\\"completion_tokens\\\": 999} inside\"}}],"
		"\"usage\" : {\"prompt_tokens\":1,\"completion_tokens\":42,"
		"\"completion_tokens_details\":{\"reasoning_tokens\":30}},\"system_fingerprint\":\"fp\"}";

	(void)state;
	run(head, strlen(head), 1, tail, strlen(tail), 0, &f);
	assert_int_equal(f.output_tokens, 42);
	assert_int_equal(f.usage_seen, 1);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "gpt-4o");

	/* two usage objects after the gap: the last one wins */
	const char *two = "x\"}, \"usage\":{\"output_tokens\":5}, \"b\":{\"usage\":\n{\"output_tokens\":6}}}";
	run(head, strlen(head), 1, two, strlen(two), 0, &f);
	assert_int_equal(f.output_tokens, 6);

	/* "usage" not followed by an object, and a broken one: not found */
	const char *none = "x\"}, \"usage\": null, \"usage\" x {, \"usage\":{\"output_tokens\":tru}}";
	run(head, strlen(head), 1, none, strlen(none), 0, &f);
	assert_int_equal(f.output_tokens, -1);
	assert_int_equal(f.usage_seen, 0);
	assert_int_equal(f.parse_error, 0);

	/* tail ends inside the usage object: the numbers already read count */
	const char *cut = "x\"}],\"usage\":{\"completion_tokens\":11,\"total";
	run(head, strlen(head), 1, cut, strlen(cut), 0, &f);
	assert_int_equal(f.output_tokens, 11);
}

static void test_big_bodies(void **state)
{
	struct dg_resp_fields f;
	struct dg_respbody *r = dg_respbody_new();
	size_t big = 1500000;
	char *b = malloc(big + 200);

	(void)state;
	assert_non_null(b);
	/* JSON over the parse bound: the usage at the end is still found */
	strcpy(b, "{\"model\":\"m\",\"choices\":[{\"message\":{\"content\":\"");
	size_t n = strlen(b);
	memset(b + n, 'a', big);
	strcpy(b + n + big, "\"}}],\"usage\":{\"completion_tokens\":4242}}");
	dg_respbody_begin(r, 0);
	for (size_t i = 0, len = strlen(b); i < len; i += 65536)
		dg_respbody_feed(r, b + i, len - i < 65536 ? len - i : 65536);
	dg_respbody_finish(r, &f);
	assert_int_equal(f.output_tokens, 4242);
	assert_int_equal(f.usage_seen, 1);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "m");

	/* an SSE event over 256 KiB is skipped; the next one counts */
	strcpy(b, "data: {\"choices\":[{\"delta\":{\"content\":\"");
	n = strlen(b);
	memset(b + n, 'a', 300000);
	strcpy(b + n + 300000, "\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n");
	dg_respbody_begin(r, 1);
	dg_respbody_feed(r, b, strlen(b));
	dg_respbody_finish(r, &f);
	assert_int_equal(f.sse_events, 2);
	assert_int_equal(f.output_tokens, 1);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);

	/* an event just under the bound is parsed */
	strcpy(b, "data: {\"choices\":[{\"delta\":{\"content\":\"");
	n = strlen(b);
	memset(b + n, 'a', 200000);
	strcpy(b + n + 200000, "\"}}]}\n\n");
	dg_respbody_begin(r, 1);
	dg_respbody_feed(r, b, strlen(b));
	dg_respbody_finish(r, &f);
	assert_int_equal(f.output_tokens, 1);
	assert_int_equal(f.truncated, 0);
	dg_respbody_free(r);
	free(b);
}

static void test_malformed(void **state)
{
	struct dg_resp_fields f;
	char deep[300];

	(void)state;
	run(NULL, 0, 0, "\x00\xff\x13junk", 7, 0, &f);
	assert_int_equal(f.parse_error, 1);
	assert_int_equal(f.output_tokens, -1);

	parse("<html>502 Bad Gateway</html>", 0, &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"model\":\"m\",\"usage\":{\"completion_tokens\":3", 0, &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);

	parse("data: not json\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", 1, &f);
	assert_int_equal(f.parse_error, 1);
	assert_int_equal(f.sse_events, 2);
	assert_int_equal(f.output_tokens, 1);

	memset(deep, 0, sizeof(deep));
	strcat(deep, "data: ");
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	strcat(deep, "\n\n");
	parse(deep, 1, &f);
	assert_int_equal(f.parse_error, 1);
	parse(deep + 6, 0, &f);
	assert_int_equal(f.parse_error, 1);

	static const char bin[] = "data: \x00\x01\xfe\n\n\r\r\n:\n";
	run(NULL, 0, 0, bin, sizeof(bin) - 1, 1, &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"usage\":{\"completion_tokens\":1e3,\"output_tokens\":99999999999999999999999}}", 0, &f);
	assert_int_equal(f.output_tokens, -1);
	assert_int_equal(f.parse_error, 0);
}

static void test_reuse(void **state)
{
	struct dg_resp_fields a, b;
	struct dg_respbody *r = dg_respbody_new();

	(void)state;
	parse(R_ANT_JSON, 0, &a);
	dg_respbody_begin(r, 1);
	dg_respbody_feed(r, "data: {\"choices\":[{\"delta\":{\"content\":\"", 40);
	dg_respbody_gap(r, 3);
	dg_respbody_begin(r, 0);
	dg_respbody_feed(r, R_ANT_JSON, strlen(R_ANT_JSON));
	dg_respbody_finish(r, &b);
	assert_resp_equal(&a, &b);
	dg_respbody_feed(r, "x", 1);      /* ignored after finish */
	dg_respbody_finish(r, &b);
	assert_resp_equal(&a, &b);
	dg_respbody_free(r);
	dg_respbody_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_bodies),
		cmocka_unit_test(test_openai_sse),
		cmocka_unit_test(test_sse_lines),
		cmocka_unit_test(test_anthropic_sse),
		cmocka_unit_test(test_responses_api_sse),
		cmocka_unit_test(test_sse_gap),
		cmocka_unit_test(test_json_gap_resync),
		cmocka_unit_test(test_big_bodies),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
