/* test_record.c — the request record as JSON (`trace --json`, replay's
 * input) and as trace's human line: known output for known records, null
 * for every unknown field, and the JSON read back as it was written. */
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

#include "record.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
