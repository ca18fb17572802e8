/* test_clients_out.c — the client views written out (clients_out.c): the
 * `clients --json` array and the plain table, known output for known
 * views (a flagged key in a cluster, an address with keys behind it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients.h"

static void views(struct dg_client_view v[2])
{
	memset(v, 0, 2 * sizeof(*v));
	strcpy(v[0].name, "key:0123456789ab");
	v[0].s.score = 91.25;
	v[0].s.action = DG_ACT_BLOCK;
	v[0].action = DG_ACT_BLOCK;
	v[0].s.automation = 0.8125;
	v[0].s.harvest = 1;
	v[0].s.evidence[DG_EV_TEMPLATE] = 0.5;
	v[0].s.evidence[DG_EV_LOGPROBS] = 1.0 / 3;
	v[0].s.n_reasons = 2;
	strcpy(v[0].s.reasons[0], "200 keys behind 10 addresses");
	strcpy(v[0].s.reasons[1], "100% ask for \"step by step\"");
	v[0].f.requests = 1234;
	v[0].f.out_tokens = 5678901;
	v[0].ips = 2.4;
	v[0].keys = 1;
	v[0].shared_addrs = 1;
	strcpy(v[0].cluster, "c-00abcdef");
	v[0].first_ts = 1700000000.1234;
	v[0].last_ts = 1700003600;
	v[0].first_flag_ts = 1700000120.5;
	v[0].first_flag_requests = 17;

	strcpy(v[1].name, "ip:198.51.100.7");
	v[1].s.score = 3;
	v[1].ips = 1;
	v[1].keys = 5.6;
	v[1].legit_keys = 4;
	v[1].flagged_keys = 2;
	v[1].f.requests = 12;
	v[1].f.rate_1m = 2.5;
	v[1].f.tok_rate_1m = 640.4;
	v[1].first_ts = 1;
	v[1].last_ts = 2;
}

static char *written(void (*write)(const struct dg_client_view *, size_t, FILE *),
		     const struct dg_client_view *v, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	write(v, n, f);
	fclose(f);
	return buf;
}

static void test_json(void **state)
{
	struct dg_client_view v[2];
	char *out;

	(void)state;
	views(v);
	out = written(dg_clients_write_json, v, 2);
	assert_string_equal(out,
		"[{\"client\":\"key:0123456789ab\",\"score\":91.2,"
		"\"reasons\":[\"200 keys behind 10 addresses\",\"100% ask for \\\"step by step\\\"\"],"
		"\"action\":\"block\",\"requests\":1234,\"output_tokens\":5678901,"
		"\"requests_per_min\":0.0,\"output_tokens_per_min\":0,\"ips\":2,\"keys\":1,"
		"\"addresses_shared_with_legit_keys\":1,\"cluster\":\"c-00abcdef\","
		"\"first_seen\":1700000000.123,\"last_seen\":1700003600.000,"
		"\"first_flagged\":1700000120.500,\"requests_to_flag\":17,"
		"\"automation\":0.812,\"harvest\":1.000,\"evidence\":{"
		"\"volume\":0.000,\"template\":0.500,\"near_dup\":0.000,\"regular\":0.000,"
		"\"duty\":0.000,\"parallel\":0.000,\"single_turn\":0.000,\"crowd\":0.000,"
		"\"lockstep\":0.000,\"tls_client\":0.000,\"cot\":0.000,\"reasoning\":0.000,"
		"\"logprobs\":0.333,\"output_heavy\":0.000,\"new_model\":0.000,\"logit_sweep\":0.000}},"
		"{\"client\":\"ip:198.51.100.7\",\"score\":3.0,\"reasons\":[],\"action\":\"none\","
		"\"requests\":12,\"output_tokens\":0,\"requests_per_min\":2.5,"
		"\"output_tokens_per_min\":640,\"ips\":1,\"keys\":6,"
		"\"legit_keys\":4,\"flagged_keys\":2,\"cluster\":null,"
		"\"first_seen\":1.000,\"last_seen\":2.000,"
		"\"first_flagged\":null,\"requests_to_flag\":null,"
		"\"automation\":0.000,\"harvest\":0.000,\"evidence\":{"
		"\"volume\":0.000,\"template\":0.000,\"near_dup\":0.000,\"regular\":0.000,"
		"\"duty\":0.000,\"parallel\":0.000,\"single_turn\":0.000,\"crowd\":0.000,"
		"\"lockstep\":0.000,\"tls_client\":0.000,\"cot\":0.000,\"reasoning\":0.000,"
		"\"logprobs\":0.000,\"output_heavy\":0.000,\"new_model\":0.000,\"logit_sweep\":0.000}}]\n");
	free(out);
	out = written(dg_clients_write_json, v, 0);
	assert_string_equal(out, "[]\n");
	free(out);
}

static void test_table(void **state)
{
	struct dg_client_view v[2];
	char *out;

	(void)state;
	views(v);
	out = written(dg_clients_write_table, v, 2);
	assert_string_equal(out,
		"SCORE  ACTION     CLIENT                                       REQS    OUT_TOK   IPS  KEYS  REASONS\n"
		" 91.2  block      key:0123456789ab                             1234    5678901     2     1  "
		"200 keys behind 10 addresses; 100% ask for \"step by step\"\n"
		"  3.0  none       ip:198.51.100.7                                12          0     1     6  \n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
