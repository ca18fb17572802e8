/* test_settings_json.c — the engine's settings as a journal line and back
 * (settings_json.c): the line for the defaults, every setting read back
 * exactly, a line that names a few starting from the defaults, and bad
 * settings refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "settings_json.h"

static int parse(const char *line, struct dg_engine_config *c, int *start, char *err,
		 size_t errlen)
{
	return dg_settings_from_json(line, strlen(line), c, start, err, errlen);
}

/* Settings lines and decision lines read back as written (the settings
 * half; test_decision_json.c has the other). */
static void test_settings_round_trip(void **state)
{
	struct dg_engine_config c, back;
	char line[DG_SETTINGS_JSON_MAX], err[128];
	int start = 0;

	dg_engine_config_default(&c);
	c.tick = 2.5;
	c.score.weight[DG_EV_LOCKSTEP] = 0.25;
	c.score.block_at = 90;
	c.policy.hysteresis = 4;
	assert_int_equal(dg_policy_allow_add(&c.policy, "10.0.0.0/8", err, sizeof(err)), 0);
	assert_true(dg_settings_to_json(&c, 1, line, sizeof(line)) > 0);
	assert_int_equal(dg_settings_from_json(line, strlen(line), &back, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 1);
	assert_memory_equal(&back.score, &c.score, sizeof(c.score));
	assert_true(back.tick == 2.5 && back.policy.hysteresis == 4);
	assert_string_equal(back.policy.allow[0], "cidr:10.0.0.0/8");
	assert_int_equal(dg_settings_from_json("{\"settings\":{\"tick\":\"x\"}}", 26, &back, &start,
					       err, sizeof(err)), -1);
	assert_int_equal(dg_settings_from_json("{\"ts\":1}", 8, &back, &start, err, sizeof(err)), 1);
}

struct names {
	char line[DG_SETTINGS_JSON_MAX];
	int n;
};

static void each_name(const char *name, double v, void *arg)
{
	struct names *ns = arg;
	char want[128];

	snprintf(want, sizeof(want), "\"score.%s\":", name);
	if (!strstr(ns->line, want))
		fail_msg("%s not in the line", want);
	ns->n++;
}

/* The defaults: a known beginning and end, every score setting between. */
static void test_default_line(void **state)
{
	static const char head[] =
		"{\"settings\":{\"start\":true,\"tick\":5,\"max_clients\":65536,"
		"\"score.weight.volume\":";
	static const char tail[] =
		",\"policy.hysteresis\":10,\"policy.ttl\":600,\"policy.manual_ttl\":3600,\"allow\":[]}}";
	struct dg_engine_config c;
	struct names *ns = calloc(1, sizeof(*ns));
	int n;

	dg_engine_config_default(&c);
	n = dg_settings_to_json(&c, 1, ns->line, sizeof(ns->line));
	assert_int_equal(n, strlen(ns->line));
	assert_memory_equal(ns->line, head, strlen(head));
	assert_string_equal(ns->line + n - strlen(tail), tail);
	assert_non_null(strstr(ns->line, "\"score.block_at\":85,"));
	assert_non_null(strstr(ns->line, "\"score.tls_max_share\":0.10000000000000001,"));
	dg_score_config_each(&c.score, each_name, ns);
	assert_int_equal(ns->n, DG_EV__MAX + 13);

	/* A reload says so; the rest is the same. */
	n = dg_settings_to_json(&c, 0, ns->line, sizeof(ns->line));
	assert_memory_equal(ns->line, "{\"settings\":{\"start\":false,\"tick\":5,", 36);
	free(ns);
}

static void bump(const char *name, double v, void *arg)
{
	struct dg_score_config *sc = arg;

	/* A value off the default, inside every setting's range. */
	if (dg_score_config_set(sc, name, v * 0.75 + 0.0625))
		fail_msg("score.%s refused %g", name, v * 0.75 + 0.0625);
}

/* Every setting off its default comes back to the bit. */
static void test_every_setting_round_trip(void **state)
{
	struct dg_engine_config c, back, def;
	char line[DG_SETTINGS_JSON_MAX], err[128];
	int start = 1;

	dg_engine_config_default(&c);
	dg_engine_config_default(&def);
	dg_score_config_each(&def.score, bump, &c.score);
	assert_memory_not_equal(&c.score, &def.score, sizeof(c.score));
	c.tick = 0.1;
	c.max_clients = 16;
	c.policy.hysteresis = 0;
	c.policy.ttl = 1e-3;
	c.policy.manual_ttl = 365 * 86400.0;
	assert_int_equal(dg_policy_allow_add(&c.policy, "key:0123456789ab", err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c.policy, "ip:2001:db8::1", err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c.policy, "192.0.2.0/24", err, sizeof(err)), 0);
	assert_true(dg_settings_to_json(&c, 0, line, sizeof(line)) > 0);
	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(parse(line, &back, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 0);
	assert_memory_equal(&back.score, &c.score, sizeof(c.score));
	assert_true(back.tick == 0.1);
	assert_int_equal(back.max_clients, 16);
	assert_true(back.policy.hysteresis == 0);
	assert_true(back.policy.ttl == 1e-3);
	assert_true(back.policy.manual_ttl == 365 * 86400.0);
	assert_int_equal(back.policy.n_allow, 3);
	assert_string_equal(back.policy.allow[0], "key:0123456789ab");
	assert_string_equal(back.policy.allow[1], "ip:2001:db8::1");
	assert_string_equal(back.policy.allow[2], "cidr:192.0.2.0/24");
}

/* A line names what it changes; the rest are the defaults, whatever the
 * config held before. */
static void test_from_defaults(void **state)
{
	struct dg_engine_config c, def;
	char err[128];
	int start = 1;

	dg_engine_config_default(&def);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(parse("{\"settings\":{\"tick\":7,\"score.weight.template\":0.5}}", &c, &start,
			       err, sizeof(err)), 0);
	assert_int_equal(start, 0);
	assert_true(c.tick == 7);
	assert_true(c.score.weight[DG_EV_TEMPLATE] == 0.5);
	def.score.weight[DG_EV_TEMPLATE] = 0.5;
	assert_memory_equal(&c.score, &def.score, sizeof(c.score));
	assert_int_equal(c.max_clients, 65536);
	assert_true(c.policy.ttl == 600 && c.policy.manual_ttl == 3600 && c.policy.hysteresis == 10);
	assert_int_equal(c.policy.n_allow, 0);

	assert_int_equal(parse("{\"settings\":{}}", &c, &start, err, sizeof(err)), 0);
	assert_true(c.tick == 5);
	assert_int_equal(parse("{\"settings\":{\"start\":true}}", &c, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 1);
	assert_int_equal(parse("{\"settings\":{\"start\":1}}", &c, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 0);
	/* An empty allow list empties it. */
	assert_int_equal(parse("{\"settings\":{\"allow\":[\"ip:10.0.0.1\"],\"allow\":[]}}", &c, &start,
			       err, sizeof(err)), 0);
	assert_int_equal(c.policy.n_allow, 0);
}

/* The line is written whole or not at all. */
static void test_buffer_size(void **state)
{
	struct dg_engine_config c;
	char line[DG_SETTINGS_JSON_MAX], small[DG_SETTINGS_JSON_MAX];
	int n;

	dg_engine_config_default(&c);
	n = dg_settings_to_json(&c, 1, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(dg_settings_to_json(&c, 1, small, (size_t)n), -1);
	assert_int_equal(dg_settings_to_json(&c, 1, small, 16), -1);
	assert_int_equal(dg_settings_to_json(&c, 1, small, (size_t)n + 1), n);
	assert_string_equal(small, line);
}

/* Settings that are unknown, out of range or of the wrong kind, and
 * broken lines: -1 with a reason (naming the setting where there is one).
 * Lines that are not settings lines: 1. */
static void test_bad_settings(void **state)
{
	static const struct {
		const char *line, *says;
	} bad[] = {
		{ "{\"settings\":{\"nonsense\":1}}", "nonsense" },
		{ "{\"settings\":{\"tick\":0}}", "tick" },
		{ "{\"settings\":{\"tick\":-5}}", "tick" },
		{ "{\"settings\":{\"tick\":\"5\"}}", "tick" },
		{ "{\"settings\":{\"tick\":null}}", "tick" },
		{ "{\"settings\":{\"tick\":true}}", "tick" },
		{ "{\"settings\":{\"max_clients\":15}}", "max_clients" },
		{ "{\"settings\":{\"max_clients\":1e20}}", "max_clients" },
		{ "{\"settings\":{\"tick\":1e9}}", "tick" },
		{ "{\"settings\":{\"allow\":[1]}}", "allow[0]" },
		{ "{\"settings\":{\"score.block_at\":101}}", "score.block_at" },
		{ "{\"settings\":{\"score.weight.template\":1.5}}", "score.weight.template" },
		{ "{\"settings\":{\"score.weight.nonsense\":0.5}}", "score.weight.nonsense" },
		{ "{\"settings\":{\"score.\":1}}", "score." },
		{ "{\"settings\":{\"block_at\":90}}", "block_at" },
		{ "{\"settings\":{\"policy.hysteresis\":-1}}", "policy.hysteresis" },
		{ "{\"settings\":{\"policy.ttl\":0}}", "policy.ttl" },
		{ "{\"settings\":{\"policy.manual_ttl\":-3600}}", "policy.manual_ttl" },
		{ "{\"settings\":{\"policy.nonsense\":1}}", "policy.nonsense" },
		{ "{\"settings\":{\"allow\":\"key:0123456789ab\"}}", "allow" },
		{ "{\"settings\":{\"allow\":[\"nobody\"]}}", "" },
		{ "{\"settings\":{\"tick\":5,\"score.min_requests\":0}}", "score.min_requests" },
		{ "{\"settings\":{\"tick\":5", "" },
		{ "{\"settings\":{\"tick\":5}} and more", "" },
		{ "{\"settings\":5}", "" },
		{ "{\"settings\":[]}", "" },
		{ "{\"settings\":null}", "" },
		{ "{\"settings\"\x01\x02\xff junk", "" },
	};
	static const char *other[] = {
		"",
		"{\"ts\":1}",
		"{\"settings\"",                         /* too short to be one */
		" {\"settings\":{\"tick\":5}}",
		"{\"settingsX\":{\"tick\":5}}",
		"{\"set\":{\"tick\":5},\"x\":1}",
		"{\"decision\":{\"client\":\"ip:1.2.3.4\"}}",
		"{\"tick\":5}",
		"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d",
	};
	struct dg_engine_config c;
	char err[128];
	int start;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (parse(bad[i].line, &c, &start, err, sizeof(err)) != -1)
			fail_msg("took bad line %zu: %s", i, bad[i].line);
		if (!err[0])
			fail_msg("no reason for bad line %zu", i);
		if (!strstr(err, bad[i].says))
			fail_msg("line %zu: \"%s\" does not name %s", i, err, bad[i].says);
	}
	/* An allow list entry that is not a string. */
	assert_int_equal(parse("{\"settings\":{\"allow\":[1]}}", &c, &start, err, sizeof(err)), -1);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (parse(other[i], &c, &start, err, sizeof(err)) != 1)
			fail_msg("line %zu taken for a settings line: %s", i, other[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_round_trip),
		cmocka_unit_test(test_default_line),
		cmocka_unit_test(test_every_setting_round_trip),
		cmocka_unit_test(test_from_defaults),
		cmocka_unit_test(test_buffer_size),
		cmocka_unit_test(test_bad_settings),
	};
	return cmocka_run_group_tests_name("settings_json", tests, NULL, NULL);
}
