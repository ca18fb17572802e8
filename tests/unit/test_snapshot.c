/* test_snapshot.c — the daemon's answers as the console parses them:
 * status, clients and client answers recorded from a live daemon
 * (tests/unit/fixtures/console_*.json, observe mode, after an operator's
 * block), then answers that are wrong in every way the console must
 * survive: missing and mistyped fields, junk elements, escapes in strings,
 * arrays past their bounds, and every truncation of a real answer. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixture_file.h"

#include "snapshot.h"

static char *slurp(const char *name)
{
	char *buf = fixture_read(name, NULL);

	assert_non_null(buf);
	return buf;
}

static void test_status(void **state)
{
	char *json = slurp("console_status.json"), err[256];
	struct dg_con_status st;

	assert_int_equal(dg_con_parse_status(json, &st, err, sizeof(err)), 0);
	assert_string_equal(st.mode, "observe");
	assert_true(st.clients == 37);
	assert_true(st.decisions_in_force == 20);
	assert_true(st.records_per_s == 0);
	assert_true(st.events_lost == 0);
	assert_true(st.connections == 0);
	assert_true(fabs(st.bpf_cpu - 0.0038) < 1e-9);
	assert_true(st.uptime_s > 400);
	assert_true(st.last_pass > 1.7e9);
	free(json);
}

static void test_status_wrong(void **state)
{
	struct dg_con_status st;
	char err[256];

	assert_int_equal(dg_con_parse_status("{}", &st, err, sizeof(err)), 0);
	assert_string_equal(st.mode, "");
	assert_true(isnan(st.clients) && isnan(st.bpf_cpu) && isnan(st.records_per_s));
	assert_int_equal(dg_con_parse_status("{\"mode\":5,\"clients\":\"many\",\"bpf_cpu\":null,"
					     "\"events_lost\":[1],\"connections\":1e999,"
					     "\"decisions_in_force\":3}", &st, err, sizeof(err)), 0);
	assert_string_equal(st.mode, "");
	assert_true(isnan(st.clients) && isnan(st.bpf_cpu) && isnan(st.events_lost));
	assert_true(isnan(st.connections));
	assert_true(st.decisions_in_force == 3);
	assert_int_equal(dg_con_parse_status("{\"mode\":\"en\\u001bforce\"}", &st, err, sizeof(err)), 0);
	assert_string_equal(st.mode, "en?force");
	assert_int_equal(dg_con_parse_status("[]", &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a JSON object"));
	assert_int_equal(dg_con_parse_status("{\"mode\":", &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(dg_con_parse_status("", &st, err, sizeof(err)), -1);
	assert_int_equal(dg_con_parse_status(NULL, &st, err, sizeof(err)), -1);
	assert_true(isnan(st.clients));
}

static void test_clients(void **state)
{
	char *json = slurp("console_clients.json"), err[256];
	struct dg_con_client *c;
	size_t n, skipped;

	assert_int_equal(dg_con_parse_clients(json, 100, &c, &n, &skipped, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(skipped, 0);
	assert_string_equal(c[0].name, "key:0b5d02c8e745");
	assert_string_equal(c[0].cluster, "c-0fbc9f72");
	assert_string_equal(c[0].action, "block");
	assert_true(c[0].score == 94.4);
	assert_int_equal(c[0].n_reasons, 3);
	assert_string_equal(c[0].reasons[0], "20 keys behind 1 address in 1 subnet share templates");
	assert_true(c[0].keys == 1 && c[0].ips == 1);
	assert_true(c[0].requests == 17);
	assert_true(c[0].requests_per_min >= 0 && c[0].output_tokens_per_min >= 0);
	assert_int_equal(c[0].applied, -1);           /* observe mode: enforcement null */
	assert_int_equal(c[0].trend, ' ');
	free(c);
	/* A bound: the first two, the rest counted. */
	assert_int_equal(dg_con_parse_clients(json, 2, &c, &n, &skipped, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(skipped, 2);
	assert_string_equal(c[1].name, "key:56abcd824fd2");
	free(c);
	free(json);
}

static void test_clients_wrong(void **state)
{
	const char *json =
		"[1, \"x\", null, {}, {\"client\": 5}, {\"client\": \"\"},"
		" {\"client\": \"key:\\u001b[31mevil\\n\", \"cluster\": null, \"score\": 12},"
		" {\"client\": \"ip:192.0.2.1\", \"score\": \"high\", \"action\": [\"block\"],"
		"  \"reasons\": [1, \"\", \"r1\", \"r2\", \"r3\", \"r4\", \"r5\"],"
		"  \"keys\": -1, \"enforcement\": {\"action\": \"block\", \"applied\": false,"
		"  \"exempt\": \"an SSH peer\"}},"
		" {\"client\": \"ip:192.0.2.2\", \"reasons\": \"not an array\","
		"  \"enforcement\": {\"applied\": true}},"
		" {\"client\": \"ip:192.0.2.3\", \"enforcement\": {\"applied\": \"yes\"}}]";
	struct dg_con_client *c;
	size_t n, skipped;
	char err[256], big[600];

	assert_int_equal(dg_con_parse_clients(json, 100, &c, &n, &skipped, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(skipped, 6);
	assert_string_equal(c[0].name, "key:?[31mevil?");   /* nothing reaches the terminal */
	assert_string_equal(c[0].cluster, "");
	assert_true(c[0].score == 12);
	assert_true(isnan(c[0].keys) && isnan(c[0].requests_per_min));
	assert_string_equal(c[1].name, "ip:192.0.2.1");
	assert_true(isnan(c[1].score));
	assert_string_equal(c[1].action, "");
	assert_int_equal(c[1].n_reasons, DG_CON_REASONS);   /* the first four non-empty */
	assert_string_equal(c[1].reasons[0], "r1");
	assert_string_equal(c[1].reasons[3], "r4");
	assert_true(c[1].keys == -1);
	assert_int_equal(c[1].applied, 0);
	assert_int_equal(c[2].n_reasons, 0);
	assert_int_equal(c[2].applied, 1);
	assert_int_equal(c[3].applied, -1);
	free(c);

	/* Strings are cut to their buffers. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "[{\"client\":\"", 12);
	memcpy(big + sizeof(big) - 5, "\"}]", 4);
	assert_int_equal(dg_con_parse_clients(big, 100, &c, &n, &skipped, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(c[0].name), DG_CON_NAME - 1);
	free(c);

	assert_int_equal(dg_con_parse_clients("[]", 100, &c, &n, &skipped, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(c);
	assert_int_equal(dg_con_parse_clients("{}", 100, &c, &n, &skipped, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a JSON array"));
	assert_int_equal(dg_con_parse_clients("[{", 100, &c, &n, &skipped, err, sizeof(err)), -1);
	assert_null(c);
}

static void test_detail(void **state)
{
	char *json = slurp("console_client.json"), err[256];
	struct dg_con_detail d;

	assert_int_equal(dg_con_parse_detail(json, &d, err, sizeof(err)), 0);
	assert_string_equal(d.c.name, "key:8916471ac341");
	assert_string_equal(d.c.action, "block");
	assert_int_equal(d.c.n_reasons, 3);
	assert_true(d.cluster_members == 20);
	assert_true(d.requests_to_flag == 2);
	assert_true(d.first_flagged > 1.7e9 && d.first_seen > 1.7e9 && d.last_seen >= d.first_seen);
	assert_true(d.automation > 0 && d.harvest > 0);
	assert_int_equal(d.n_addrs, 1);
	assert_string_equal(d.addrs[0], "127.17.191.12");
	assert_int_equal(d.n_features, 16);
	assert_string_equal(d.features[0].name, "requests");
	assert_true(d.features[0].v == 17);
	assert_int_equal(d.n_evidence, 15);
	assert_string_equal(d.evidence[1].name, "template");
	assert_int_equal(d.enf.present, 0);
	/* The operator's block is in force and the newest decision. */
	assert_int_equal(d.has_in_force, 1);
	assert_string_equal(d.in_force.by, "operator");
	assert_string_equal(d.in_force.why, "distillguard top");
	assert_true(isnan(d.in_force.score));
	assert_int_equal(d.n_decisions, 2);
	assert_int_equal(d.decisions_total, 2);
	assert_true(d.decisions[0].id == 21);
	assert_string_equal(d.decisions[0].by, "operator");
	assert_true(d.decisions[1].id == 8);
	assert_string_equal(d.decisions[1].by, "policy");
	assert_string_equal(d.decisions[1].why, "20 keys behind 1 address in 1 subnet share templates");
	assert_true(d.decisions[1].score == 91.8);
	free(json);
}

static void test_detail_wrong(void **state)
{
	struct dg_con_detail d;
	char err[256], *json, *p;
	size_t size = 1 << 16, len;

	assert_int_equal(dg_con_parse_detail("{}", &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "names no client"));
	assert_int_equal(dg_con_parse_detail("{\"view\": []}", &d, err, sizeof(err)), -1);
	assert_int_equal(dg_con_parse_detail("[{\"view\": {\"client\": \"x\"}}]", &d, err,
					     sizeof(err)), -1);
	assert_int_equal(dg_con_parse_detail("{\"view\": {\"client\": \"ip:192.0.2.9\"}, \"features\": 3,"
					     " \"addresses\": {}, \"in_force\": false, \"decisions\": null}",
					     &d, err, sizeof(err)), 0);
	assert_string_equal(d.c.name, "ip:192.0.2.9");
	assert_true(isnan(d.cluster_members) && isnan(d.first_seen) && isnan(d.c.score));
	assert_int_equal(d.n_features + d.n_evidence + d.n_addrs + d.n_decisions + d.has_in_force, 0);

	/* Past every bound: 50 features, 40 addresses, 100 decisions (the
	 * newest 32 kept), an enforcement object with its counters. */
	json = malloc(size);
	assert_non_null(json);
	p = json;
	p += sprintf(p, "{\"view\": {\"client\": \"ip:192.0.2.9\", \"enforcement\": {\"action\": "
		     "\"ratelimit\", \"applied\": true, \"by\": \"address\", \"exempt\": null, "
		     "\"expires\": 1000.5, \"packets_dropped\": 7, \"syn_refused\": 2}}, \"features\": {");
	for (int i = 0; i < 50; i++)
		p += sprintf(p, "%s\"feature_with_a_rather_long_name_%d\": %d.5", i ? "," : "", i, i);
	p += sprintf(p, "}, \"addresses\": [");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s\"192.0.2.%d\"", i ? "," : "", i);
	p += sprintf(p, "], \"decisions\": [");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s{\"id\": %d, \"action\": \"block\", \"by\": \"policy\", "
			     "\"reasons\": [\"r%d\"]}", i ? "," : "", i, i);
	sprintf(p, ", 7]}");
	len = strlen(json);
	assert_true(len < size);
	assert_int_equal(dg_con_parse_detail(json, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_features, DG_CON_PAIRS);
	assert_int_equal(strlen(d.features[0].name), DG_CON_WORD - 1);
	assert_true(d.features[3].v == 3.5);
	assert_int_equal(d.n_addrs, DG_CON_ADDRS);
	assert_int_equal(d.n_decisions, DG_CON_DECISIONS);
	assert_int_equal(d.decisions_total, 100);
	assert_true(d.decisions[0].id == 99);
	assert_string_equal(d.decisions[0].why, "r99");
	assert_int_equal(d.enf.present, 1);
	assert_int_equal(d.enf.applied, 1);
	assert_string_equal(d.enf.action, "ratelimit");
	assert_string_equal(d.enf.by, "address");
	assert_string_equal(d.enf.exempt, "");
	assert_true(d.enf.expires == 1000.5);
	assert_int_equal(d.enf.n_counts, 5);
	assert_string_equal(d.enf.counts[0].name, "packets_dropped");
	assert_true(d.enf.counts[0].v == 7 && d.enf.counts[1].v == 2 && isnan(d.enf.counts[2].v));
	free(json);
}

/* Every truncation of a real answer is refused, never half-read. */
static void test_truncated(void **state)
{
	static const char *files[] = { "console_status.json", "console_clients.json",
				       "console_client.json" };

	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		char *json = slurp(files[k]), err[256];
		size_t len = strlen(json);

		while (len && (json[len - 1] == '\n' || json[len - 1] == ' '))
			json[--len] = 0;
		for (size_t cut = 0; cut < len; cut++) {
			char *part = strndup(json, cut);
			struct dg_con_status st;
			struct dg_con_client *c = NULL;
			struct dg_con_detail d;
			size_t n, skipped;

			assert_non_null(part);
			if (k == 0)
				assert_int_equal(dg_con_parse_status(part, &st, err, sizeof(err)), -1);
			else if (k == 1)
				assert_int_equal(dg_con_parse_clients(part, 100, &c, &n, &skipped, err,
								      sizeof(err)), -1);
			else
				assert_int_equal(dg_con_parse_detail(part, &d, err, sizeof(err)), -1);
			assert_null(c);
			free(part);
		}
		free(json);
	}
}

static void test_clean(void **state)
{
	char out[8];

	dg_con_clean(out, sizeof(out), "ab\tc\x7f\xc3\xa9");
	assert_string_equal(out, "ab?c???");
	dg_con_clean(out, sizeof(out), "0123456789");
	assert_string_equal(out, "0123456");
	dg_con_clean(out, sizeof(out), NULL);
	assert_string_equal(out, "");
	dg_con_clean(out, 0, "x");          /* no room: untouched, no crash */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_wrong),
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_clients_wrong),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_detail_wrong),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_clean),
	};
	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
