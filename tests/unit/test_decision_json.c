/* test_decision_json.c — decisions to and from journal lines
 * (decision_json.c): the line written for a known decision, every verb
 * written and read back, the bounds on reasons and fields, and broken
 * lines refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_gen.h>

#include "decision_json.h"

/* A policy's block of a key, with its reasons. */
static void policy_block(struct dg_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->id = 7;
	snprintf(d->client, sizeof(d->client), "key:0123456789ab");
	d->verb = DG_DO_BLOCK;
	d->by = DG_BY_POLICY;
	d->score = 91.24;
	d->n_reasons = 2;
	snprintf(d->reasons[0], DG_REASON_LEN, "200 keys behind 10 addresses");
	snprintf(d->reasons[1], DG_REASON_LEN, "100%% ask for \"step by step\"");
	d->ts = 1.5;
	d->expires = 601.5;
}

static const char POLICY_BLOCK_LINE[] =
	"{\"decision\":{\"id\":7,\"client\":\"key:0123456789ab\",\"action\":\"block\","
	"\"by\":\"policy\",\"score\":91.2,\"reasons\":[\"200 keys behind 10 addresses\","
	"\"100% ask for \\\"step by step\\\"\"],\"note\":\"\",\"ts\":1.500,\"expires\":601.500}}";

/* Parse a NUL-terminated line. */
static int parse(const char *line, struct dg_decision *d, char *err, size_t errlen)
{
	return dg_decision_from_json(line, strlen(line), d, err, errlen);
}

/* Settings lines and decision lines read back as written (the decision
 * half; test_settings_json.c has the other). */
static void test_decision_round_trip(void **state)
{
	struct dg_decision d, dback;
	char line[DG_DECISION_JSON_MAX], err[128];

	memset(&d, 0, sizeof(d));
	d.id = 9;
	snprintf(d.client, sizeof(d.client), "cidr:192.0.2.0/24");
	d.verb = DG_DO_UNBLOCK;
	d.by = DG_BY_OPERATOR;
	d.ts = 10.5;
	d.expires = 70.25;
	d.score = -1;
	snprintf(d.note, sizeof(d.note), "ticket \"9\"");
	assert_true(dg_decision_to_json(&d, line, sizeof(line)) > 0);
	assert_int_equal(dg_decision_from_json(line, strlen(line), &dback, err, sizeof(err)), 0);
	assert_int_equal(dback.id, 9);
	assert_string_equal(dback.client, d.client);
	assert_int_equal(dback.verb, DG_DO_UNBLOCK);
	assert_int_equal(dback.by, DG_BY_OPERATOR);
	assert_true(dback.score == -1 && dback.expires == 70.25);
	assert_string_equal(dback.note, d.note);
	assert_int_equal(dg_decision_from_json("{\"decision\":{\"client\":1}}", 25, &dback, err,
					       sizeof(err)), -1);
	assert_int_equal(dg_decision_from_json("{\"ts\":1.5,\"conn\":3}", 19, &dback, err,
					       sizeof(err)), 1);
}

/* A known decision gives a known line, and the line gives it back. */
static void test_known_line(void **state)
{
	struct dg_decision d, back;
	char line[DG_DECISION_JSON_MAX], err[128];
	int n;

	policy_block(&d);
	n = dg_decision_to_json(&d, line, sizeof(line));
	assert_string_equal(line, POLICY_BLOCK_LINE);
	assert_int_equal(n, strlen(POLICY_BLOCK_LINE));
	assert_int_equal(parse(line, &back, err, sizeof(err)), 0);
	assert_int_equal(back.id, 7);
	assert_string_equal(back.client, "key:0123456789ab");
	assert_int_equal(back.verb, DG_DO_BLOCK);
	assert_int_equal(back.by, DG_BY_POLICY);
	assert_true(back.score == 91.2);             /* as written: one decimal */
	assert_int_equal(back.n_reasons, 2);
	assert_string_equal(back.reasons[0], d.reasons[0]);
	assert_string_equal(back.reasons[1], d.reasons[1]);
	assert_string_equal(back.note, "");
	assert_true(back.ts == 1.5 && back.expires == 601.5);
}

/* Every verb, by either hand, comes back as it went. */
static void test_every_verb(void **state)
{
	static const enum dg_verb verbs[] = { DG_DO_NONE, DG_DO_RATELIMIT, DG_DO_BLOCK,
					      DG_DO_ALLOW, DG_DO_UNBLOCK };
	static const char *names[] = { "none", "ratelimit", "block", "allow", "unblock" };
	struct dg_decision d, back;
	char line[DG_DECISION_JSON_MAX], err[128], want[32];

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		for (int by = DG_BY_POLICY; by <= DG_BY_OPERATOR; by++) {
			policy_block(&d);
			d.verb = verbs[i];
			d.by = (enum dg_by)by;
			d.id = 100 + i;
			d.ts = 1793491200.125;
			d.expires = d.ts + 3600;
			assert_true(dg_decision_to_json(&d, line, sizeof(line)) > 0);
			snprintf(want, sizeof(want), "\"action\":\"%s\"", names[i]);
			assert_non_null(strstr(line, want));
			assert_non_null(strstr(line, by ? "\"by\":\"operator\"" : "\"by\":\"policy\""));
			assert_int_equal(parse(line, &back, err, sizeof(err)), 0);
			assert_int_equal(back.verb, verbs[i]);
			assert_int_equal(back.by, by);
			assert_int_equal(back.id, 100 + i);
			assert_true(back.ts == d.ts && back.expires == d.expires);
		}
	}
}

/* The line is written whole or not at all. */
static void test_buffer_size(void **state)
{
	struct dg_decision d;
	size_t len = strlen(POLICY_BLOCK_LINE);
	char *line = malloc(len + 1);

	policy_block(&d);
	memset(line, 'x', len + 1);
	assert_int_equal(dg_decision_to_json(&d, line, len), -1);
	assert_int_equal(dg_decision_to_json(&d, line, 1), -1);
	assert_int_equal(dg_decision_to_json(&d, line, 0), -1);
	assert_int_equal(dg_decision_to_json(&d, line, len + 1), (int)len);
	assert_string_equal(line, POLICY_BLOCK_LINE);
	free(line);
}

/* What a line may leave out, and what is cut to its bound. */
static void test_optional_fields_and_bounds(void **state)
{
	struct dg_decision d;
	char line[4096], err[128], reason[200], note[300], client[100];

	/* No id, score, reasons or note: id 0, score unknown. */
	assert_int_equal(parse("{\"decision\":{\"client\":\"ip:192.0.2.1\",\"action\":\"ratelimit\","
			       "\"by\":\"policy\",\"ts\":5,\"expires\":65}}", &d, err, sizeof(err)), 0);
	assert_int_equal(d.id, 0);
	assert_true(d.score == -1);
	assert_int_equal(d.n_reasons, 0);
	assert_string_equal(d.note, "");
	assert_int_equal(d.verb, DG_DO_RATELIMIT);

	/* score null, id not a positive number. */
	assert_int_equal(parse("{\"decision\":{\"id\":-3,\"client\":\"ip:192.0.2.1\",\"action\":\"block\","
			       "\"by\":\"operator\",\"score\":null,\"ts\":5,\"expires\":65}}",
			       &d, err, sizeof(err)), 0);
	assert_int_equal(d.id, 0);
	assert_true(d.score == -1);

	/* At most DG_MAX_REASONS reasons, strings only, each cut to its bound. */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = 0;
	snprintf(line, sizeof(line), "{\"decision\":{\"client\":\"key:0123456789ab\",\"action\":\"block\","
		 "\"by\":\"policy\",\"score\":99.5,\"reasons\":[1,\"one\",null,\"%s\",\"three\",\"four\"],"
		 "\"ts\":5,\"expires\":65}}", reason);
	assert_int_equal(parse(line, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_reasons, DG_MAX_REASONS);
	assert_string_equal(d.reasons[0], "one");
	assert_int_equal(strlen(d.reasons[1]), DG_REASON_LEN - 1);
	assert_string_equal(d.reasons[2], "three");
	assert_true(d.score == 99.5);

	/* A note too long for the decision is left out, not cut. */
	memset(note, 'n', sizeof(note) - 1);
	note[sizeof(note) - 1] = 0;
	snprintf(line, sizeof(line), "{\"decision\":{\"client\":\"ip:192.0.2.1\",\"action\":\"block\","
		 "\"by\":\"operator\",\"note\":\"%s\",\"ts\":5,\"expires\":65}}", note);
	assert_int_equal(parse(line, &d, err, sizeof(err)), 0);
	assert_string_equal(d.note, "");

	/* A client name too long for a decision: refused. */
	memset(client, 'c', sizeof(client) - 1);
	client[sizeof(client) - 1] = 0;
	snprintf(line, sizeof(line), "{\"decision\":{\"client\":\"ip:%s\",\"action\":\"block\","
		 "\"by\":\"operator\",\"ts\":5,\"expires\":65}}", client);
	assert_int_equal(parse(line, &d, err, sizeof(err)), -1);
}

/* Decision lines that are broken: -1 and a reason. Lines that are not
 * decisions at all: 1. */
static void test_malformed_lines(void **state)
{
	/* D(fields): a decision line with these fields. */
#define D(fields) "{\"decision\":{" fields "}}"
#define CAB "\"client\":\"ip:1.2.3.4\",\"action\":\"block\",\"by\":\"policy\","
	static const char *broken[] = {
		"{\"decision\":{\"client\":\"key:0123456789ab\",\"action\":\"block\",\"by\":\"policy\",\"ts\":1",
		D(CAB "\"ts\":1,\"expires\":2") " trailing",
		"{\"decision\":1}",
		"{\"decision\":null}",
		"{\"decision\":[1,2,3]}",
		"{\"decision\":\"block\"}",
		D(""),
		"[\"decision\",{\"client\":\"ip:1.2.3.4\"}]",
		/* Each required field missing in turn. */
		D("\"action\":\"block\",\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"action\":\"block\",\"ts\":1,\"expires\":2"),
		D(CAB "\"expires\":2"),
		D(CAB "\"ts\":1"),
		/* ... or of the wrong kind. */
		D("\"client\":\"ip:1.2.3.4\",\"action\":\"explode\",\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"action\":\"BLOCK\",\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"action\":3,\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":[\"ip:1.2.3.4\"],\"action\":\"block\",\"by\":\"policy\",\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"action\":\"block\",\"by\":1,\"ts\":1,\"expires\":2"),
		D("\"client\":\"ip:1.2.3.4\",\"action\":\"block\",\"by\":\"mallory\",\"ts\":1,\"expires\":2"),
		D(CAB "\"ts\":\"1\",\"expires\":2"),
		D(CAB "\"ts\":1,\"expires\":null"),
		D(CAB "\"ts\":1e999,\"expires\":2"),
		D(CAB "\"ts\":1,\"expires\":-1e999"),
		/* Not JSON, though it says decision early. */
		"{\"decision\" \x01\x02\xff\xfe",
		"\"decision\" is not an object",
	};
#undef CAB
#undef D
	static const char *other[] = {
		"",
		"{}",
		"{\"decision\"",                          /* too short to be one */
		"{\"tick\":1793491200.5}",
		"{\"ts\":1764000000.123456,\"conn\":12345678901234,\"client\":\"key:0123456789ab\"}",
		"{\"settings\":{\"start\":true,\"tick\":5}}",
		"{\"event\":\"conn\",\"conn\":1,\"ip\":\"10.0.0.1\",\"port\":8443}",
		"\x01\x02\x03 binary junk without the word in it \xff\xfe",
	};
	struct dg_decision d;
	char err[128];

	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		err[0] = 0;
		if (parse(broken[i], &d, err, sizeof(err)) != -1)
			fail_msg("took broken line %zu: %s", i, broken[i]);
		if (!err[0])
			fail_msg("no reason for broken line %zu", i);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (parse(other[i], &d, err, sizeof(err)) != 1)
			fail_msg("line %zu taken for a decision line: %s", i, other[i]);
	/* Only len bytes are read. */
	assert_int_equal(dg_decision_from_json(POLICY_BLOCK_LINE, strlen(POLICY_BLOCK_LINE) - 2, &d,
					       err, sizeof(err)), -1);
}

/* The inner object alone, for lists of decisions. */
static void test_gen_in_a_list(void **state)
{
	struct dg_decision d;
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t len;
	const char *inner = strchr(POLICY_BLOCK_LINE, ':') + 1;
	char want[2 * DG_DECISION_JSON_MAX];

	policy_block(&d);
	yajl_gen_array_open(g);
	dg_decision_gen(g, &d);
	dg_decision_gen(g, &d);
	yajl_gen_array_close(g);
	yajl_gen_get_buf(g, &out, &len);
	snprintf(want, sizeof(want), "[%.*s,%.*s]", (int)strlen(inner) - 1, inner,
		 (int)strlen(inner) - 1, inner);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	yajl_gen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_round_trip),
		cmocka_unit_test(test_known_line),
		cmocka_unit_test(test_every_verb),
		cmocka_unit_test(test_buffer_size),
		cmocka_unit_test(test_optional_fields_and_bounds),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_gen_in_a_list),
	};
	return cmocka_run_group_tests_name("decision_json", tests, NULL, NULL);
}
