/* test_record.c — the request record as JSON (`trace --json`, replay's
 * input) and as trace's human line: known output for known records, null
 * for every unknown field, the JSON read back as it was written, and the
 * writer byte for byte equal to the yajl_gen one it replaced on random
 * records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "jsonw.h"
#include "record.h"
#define XORSHIFT_SEED 0x243f6a8885a308d3ULL
#include "xorshift.h"

static const char UNKNOWN_JSON[] =
	"{\"ts\":0.000000,\"conn\":0,\"client\":null,\"ip\":null,\"key\":null,\"ja4\":null,"
	"\"method\":null,\"path\":null,\"status\":null,\"model\":null,\"stream\":null,"
	"\"messages\":null,\"prompt_bytes\":null,\"system_fp\":null,\"prompt_fp\":null,"
	"\"prompt_simhash\":null,\"tail_fp\":null,\"parent_fp\":null,\"max_tokens\":null,\"n\":null,\"temperature\":null,"
	"\"logprobs\":null,\"top_logprobs\":null,\"logit_bias\":null,\"logit_bias_n\":null,"
	"\"logit_bias_fp\":null,\"reasoning_param\":null,"
	"\"cot_prompt\":null,\"output_tokens\":null,\"output_bytes\":null,\"ttfb_ms\":null,"
	"\"duration_ms\":null,\"req_bytes\":null,\"req_truncated\":false,"
	"\"resp_truncated\":false,\"tls\":false,\"port\":null,\"front_port\":null,"
	"\"proc\":null}";

static const char KNOWN_JSON[] =
	"{\"ts\":1793491200.034086,\"conn\":10888413185,\"client\":\"key:80ced91434e8\","
	"\"ip\":\"198.19.0.144\",\"key\":\"80ced91434e8\","
	"\"ja4\":\"t13d1812h1_85036bcba153_b26ce05bbdd6\",\"method\":\"POST\","
	"\"path\":\"/v1/chat/completions\",\"status\":200,\"model\":\"dg-large\","
	"\"stream\":false,\"messages\":2,\"prompt_bytes\":1122,"
	"\"system_fp\":\"a249fcb855ec664b\",\"prompt_fp\":\"e891bfee8658c84f\","
	"\"prompt_simhash\":\"9bf8fdf14a2af700\",\"tail_fp\":\"0c1d2e3f40516273\",\"parent_fp\":\"00000000000000a1\","
	"\"max_tokens\":1,\"n\":null,"
	"\"temperature\":0.7,\"logprobs\":true,\"top_logprobs\":20,\"logit_bias\":true,"
	"\"logit_bias_n\":300,\"logit_bias_fp\":\"00ff00ff00ff00ff\","
	"\"reasoning_param\":true,\"cot_prompt\":true,\"output_tokens\":3138,"
	"\"output_bytes\":956372,\"ttfb_ms\":67775.860,\"duration_ms\":67776.409,"
	"\"req_bytes\":null,\"req_truncated\":false,\"resp_truncated\":false,\"tls\":true,"
	"\"port\":8080,\"front_port\":443,\"proc\":null}";

static void known_record(struct dg_record *r)
{
	dg_record_init(r);
	r->ts = 1793491200.034086;
	r->conn = 10888413185ULL;
	strcpy(r->client, "key:80ced91434e8");
	strcpy(r->ip, "198.19.0.144");
	strcpy(r->key, "80ced91434e8");
	strcpy(r->ja4, "t13d1812h1_85036bcba153_b26ce05bbdd6");
	strcpy(r->method, "POST");
	strcpy(r->path, "/v1/chat/completions");
	r->status = 200;
	strcpy(r->model, "dg-large");
	r->stream = 0;
	r->messages = 2;
	r->prompt_bytes = 1122;
	r->has_system_fp = 1;
	r->system_fp = 0xa249fcb855ec664bULL;
	r->has_prompt_fp = 1;
	r->prompt_fp = 0xe891bfee8658c84fULL;
	r->prompt_simhash = 0x9bf8fdf14a2af700ULL;
	r->has_tail_fp = 1;
	r->tail_fp = 0x0c1d2e3f40516273ULL;
	r->has_parent_fp = 1;
	r->parent_fp = 0xa1;
	r->max_tokens = 1;
	r->has_temperature = 1;
	r->temperature = 0.7;
	r->logprobs = 1;
	r->top_logprobs = 20;
	r->logit_bias = 1;
	r->logit_bias_n = 300;
	r->has_logit_bias_fp = 1;
	r->logit_bias_fp = 0x00ff00ff00ff00ffULL;
	r->reasoning_param = 1;
	r->cot_prompt = 1;
	r->output_tokens = 3138;
	r->output_bytes = 956372;
	r->ttfb_ms = 67775.86;
	r->duration_ms = 67776.409;
	r->tls = 1;
	r->port = 8080;
	r->front_port = 443;
}

/* The record's writer before jsonbuf.h: yajl_gen through jsonw.h. The
 * record JSON is a contract, so the new writer must match it exactly. */
static int yajl_record_to_json(const struct dg_record *r, char *buf, size_t size)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	yajl_gen_map_open(g);
	dg_jw_num_or_null(g, "ts", r->ts, 1, "%.6f");
	dg_jw_u64(g, "conn", r->conn);
	dg_jw_str_or_null(g, "client", r->client);
	dg_jw_str_or_null(g, "ip", r->ip);
	dg_jw_str_or_null(g, "key", r->key);
	dg_jw_str_or_null(g, "ja4", r->ja4);
	dg_jw_str_or_null(g, "method", r->method);
	dg_jw_str_or_null(g, "path", r->path);
	dg_jw_int_or_null(g, "status", r->status, r->status >= 0);
	dg_jw_str_or_null(g, "model", r->model);
	dg_jw_bool_or_null(g, "stream", r->stream);
	dg_jw_int_or_null(g, "messages", r->messages, r->messages >= 0);
	dg_jw_int_or_null(g, "prompt_bytes", r->prompt_bytes, r->prompt_bytes >= 0);
	dg_jw_hex_or_null(g, "system_fp", r->system_fp, r->has_system_fp);
	dg_jw_hex_or_null(g, "prompt_fp", r->prompt_fp, r->has_prompt_fp);
	dg_jw_hex_or_null(g, "prompt_simhash", r->prompt_simhash, r->has_prompt_fp);
	dg_jw_hex_or_null(g, "tail_fp", r->tail_fp, r->has_tail_fp);
	dg_jw_hex_or_null(g, "parent_fp", r->parent_fp, r->has_parent_fp);
	dg_jw_int_or_null(g, "max_tokens", r->max_tokens, r->max_tokens >= 0);
	dg_jw_int_or_null(g, "n", r->n, r->n >= 0);
	dg_jw_num_or_null(g, "temperature", r->temperature, r->has_temperature, "%g");
	dg_jw_bool_or_null(g, "logprobs", r->logprobs);
	dg_jw_int_or_null(g, "top_logprobs", r->top_logprobs, r->top_logprobs >= 0);
	dg_jw_bool_or_null(g, "logit_bias", r->logit_bias);
	dg_jw_int_or_null(g, "logit_bias_n", r->logit_bias_n, r->logit_bias_n >= 0);
	dg_jw_hex_or_null(g, "logit_bias_fp", r->logit_bias_fp, r->has_logit_bias_fp);
	dg_jw_bool_or_null(g, "reasoning_param", r->reasoning_param);
	dg_jw_bool_or_null(g, "cot_prompt", r->cot_prompt);
	dg_jw_int_or_null(g, "output_tokens", r->output_tokens, r->output_tokens >= 0);
	dg_jw_int_or_null(g, "output_bytes", r->output_bytes, r->output_bytes >= 0);
	dg_jw_num_or_null(g, "ttfb_ms", r->ttfb_ms, r->ttfb_ms >= 0, "%.3f");
	dg_jw_num_or_null(g, "duration_ms", r->duration_ms, r->duration_ms >= 0, "%.3f");
	dg_jw_int_or_null(g, "req_bytes", r->req_bytes, r->req_bytes >= 0);
	dg_jw_bool_or_null(g, "req_truncated", r->req_truncated);
	dg_jw_bool_or_null(g, "resp_truncated", r->resp_truncated);
	dg_jw_bool_or_null(g, "tls", r->tls);
	dg_jw_int_or_null(g, "port", r->port, r->port > 0);
	dg_jw_int_or_null(g, "front_port", r->front_port, r->front_port > 0);
	dg_jw_str_or_null(g, "proc", r->proc);
	yajl_gen_map_close(g);
	return dg_jw_take(g, buf, size);
}


/* Empty (null), plain, or bytes of any value: escapes, controls, UTF-8
 * and bytes that are not UTF-8. */
static void rand_str(char *dst, size_t size)
{
	static const char *const pieces[] = {
		"", "POST", "/v1/chat/completions", "key:80ced91434e8", "198.19.0.144",
		"2001:db8::1", "caf\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x98\x80", "\"", "\\", "/",
		"\x01\x1f\x7f", "\b\f\n\r\t", "\xff\xfe", "</script>", "python3/4242",
	};
	size_t len = 0, want = next() % 5;

	dst[0] = 0;
	for (size_t i = 0; i < want; i++) {
		const char *p = pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))];
		char one[2] = { (char)(1 + next() % 255), 0 };

		if (next() % 3 == 0)
			p = one;
		if (len + strlen(p) + 1 > size)
			break;
		memcpy(dst + len, p, strlen(p) + 1);
		len += strlen(p);
	}
}

static double rand_double(void)
{
	uint64_t bits = next();
	double v;

	switch (next() % 6) {
	case 0:
		memcpy(&v, &bits, sizeof(v));
		return v;                         /* anything, NaN and infinities too */
	case 1:
		return -1;
	case 2:
		return (double)(next() % 100000000) / 1000.0;
	case 3:
		return 1.7e9 + (double)(next() % 400000000) + (double)(next() % 1000000) / 1e6;
	case 4:
		return (double)(next() % 300) / 100.0;
	default:
		return ldexp((double)(next() % 100000), -(int)(next() % 20));
	}
}

static int64_t rand_i64(void)
{
	static const int64_t special[] = { -1, 0, 1, INT64_MAX, INT64_MIN, 4294967296LL, -2 };

	return next() % 2 ? special[next() % 7] : (int64_t)(next() % 1000000);
}

static void test_like_yajl_writer(void **state)
{
	char a[DG_RECORD_JSON_MAX], b[DG_RECORD_JSON_MAX];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct dg_record r;
		int na, nb;

		dg_record_init(&r);
		r.ts = rand_double();
		r.conn = next() % 2 ? next() : UINT64_MAX;
		rand_str(r.client, sizeof(r.client));
		rand_str(r.ip, sizeof(r.ip));
		rand_str(r.key, sizeof(r.key));
		rand_str(r.ja4, sizeof(r.ja4));
		rand_str(r.method, sizeof(r.method));
		rand_str(r.path, sizeof(r.path));
		r.status = (int)rand_i64();
		rand_str(r.model, sizeof(r.model));
		r.stream = (int)(next() % 4) - 1;
		r.messages = (int)rand_i64();
		r.prompt_bytes = rand_i64();
		r.req_bytes = rand_i64();
		r.has_system_fp = next() % 2;
		r.system_fp = next();
		r.has_prompt_fp = next() % 2;
		r.prompt_fp = next();
		r.prompt_simhash = next();
		r.has_tail_fp = next() % 2;
		r.tail_fp = next();
		r.has_parent_fp = next() % 2;
		r.parent_fp = next() >> (next() % 64);
		r.max_tokens = rand_i64();
		r.n = (int)rand_i64();
		r.has_temperature = next() % 2;
		r.temperature = rand_double();
		r.logprobs = (int)(next() % 3) - 1;
		r.top_logprobs = (int)rand_i64();
		r.logit_bias = (int)(next() % 3) - 1;
		r.logit_bias_n = (int)rand_i64();
		r.has_logit_bias_fp = next() % 2;
		r.logit_bias_fp = next();
		r.reasoning_param = (int)(next() % 3) - 1;
		r.cot_prompt = (int)(next() % 3) - 1;
		r.output_tokens = rand_i64();
		r.output_bytes = rand_i64();
		r.ttfb_ms = rand_double();
		r.duration_ms = rand_double();
		r.req_truncated = (int)(next() % 3) - 1;
		r.resp_truncated = (int)(next() % 2);
		r.tls = (int)(next() % 2);
		r.port = (int)rand_i64();
		r.front_port = (int)rand_i64();
		rand_str(r.proc, sizeof(r.proc));
		na = dg_record_to_json(&r, a, sizeof(a));
		nb = yajl_record_to_json(&r, b, sizeof(b));
		assert_int_equal(na, nb);
		assert_string_equal(a, b);
		/* And where the buffer ends just short of the line. */
		assert_int_equal(dg_record_to_json(&r, a, (size_t)nb), -1);
		assert_int_equal(dg_record_to_json(&r, a, (size_t)nb + 1), nb);
	}
}

static void test_unknown_is_null(void **state)
{
	struct dg_record r;
	char buf[DG_RECORD_JSON_MAX];

	(void)state;
	dg_record_init(&r);
	assert_int_equal(dg_record_to_json(&r, buf, sizeof(buf)), (int)strlen(UNKNOWN_JSON));
	assert_string_equal(buf, UNKNOWN_JSON);
}

static void test_known_json(void **state)
{
	struct dg_record r;
	char buf[DG_RECORD_JSON_MAX];

	(void)state;
	known_record(&r);
	assert_int_equal(dg_record_to_json(&r, buf, sizeof(buf)), (int)strlen(KNOWN_JSON));
	assert_string_equal(buf, KNOWN_JSON);
	/* Too small a buffer: -1, nothing cut. */
	assert_int_equal(dg_record_to_json(&r, buf, strlen(KNOWN_JSON)), -1);
}

/* Hashes that are 0 or all ones, the largest conn, a temperature that is
 * not a number, a name that needs escaping. */
static void test_edges(void **state)
{
	struct dg_record r;
	char buf[DG_RECORD_JSON_MAX];

	(void)state;
	dg_record_init(&r);
	r.ts = 1.5;
	r.conn = UINT64_MAX;
	r.has_system_fp = 1;
	r.has_prompt_fp = 1;
	r.prompt_fp = UINT64_MAX;
	r.prompt_simhash = 0xabc;
	r.has_temperature = 1;
	r.temperature = NAN;
	r.ttfb_ms = 0.00049;
	strcpy(r.client, "key:\"x\\y\x01");
	assert_true(dg_record_to_json(&r, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"ts\":1.500000,\"conn\":18446744073709551615,"
				    "\"client\":\"key:\\\"x\\\\y\\u0001\","));
	assert_non_null(strstr(buf, "\"system_fp\":\"0000000000000000\","
				    "\"prompt_fp\":\"ffffffffffffffff\","
				    "\"prompt_simhash\":\"0000000000000abc\","));
	assert_non_null(strstr(buf, "\"temperature\":null,"));
	assert_non_null(strstr(buf, "\"ttfb_ms\":0.000,"));
}

static void test_read_back(void **state)
{
	struct dg_record r;
	char buf[DG_RECORD_JSON_MAX], err[128];

	(void)state;
	assert_int_equal(dg_record_from_json(KNOWN_JSON, strlen(KNOWN_JSON), &r, err, sizeof(err)),
			 0);
	assert_string_equal(r.client, "key:80ced91434e8");
	assert_int_equal(r.system_fp, 0xa249fcb855ec664bULL);
	assert_int_equal(r.n, -1);
	assert_int_equal(r.front_port, 443);
	assert_true(dg_record_to_json(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, KNOWN_JSON);
	assert_int_equal(dg_record_from_json(UNKNOWN_JSON, strlen(UNKNOWN_JSON), &r, err,
					     sizeof(err)), 0);
	assert_true(dg_record_to_json(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, UNKNOWN_JSON);
	assert_int_equal(dg_record_from_json("[1]", 3, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "not a JSON object");
	assert_int_equal(dg_record_from_json("{\"conn\":1}", 10, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "missing ts");
}

static void test_line(void **state)
{
	struct dg_record r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	known_record(&r);
	dg_record_print_line(&r, f);
	fclose(f);
	assert_string_equal(buf,
		"00:00:00.034 key:80ced91434e8   198.19.0.144                            "
		"POST /v1/chat/completions 200    tls model=dg-large in=1122B msgs=2 "
		"out=3138 tok ttfb=67776ms dur=67776ms logprobs reasoning cot\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_is_null),
		cmocka_unit_test(test_known_json),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_like_yajl_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
