/* test_policy.c — scores to decisions: hysteresis, TTL renewal and expiry,
 * the allow list, operators first, prefixes, the address cap, replay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

#define KEY "key:0123456789ab"

static const char reasons[1][DG_REASON_LEN] = { "100% ask for step-by-step reasoning" };

struct seen {
	struct dg_decision d[64];
	int n;
};

static void on_decision(const struct dg_decision *d, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		s->d[s->n] = *d;
	s->n++;
}

static struct dg_policy_input in_(const char *client, double score)
{
	struct dg_policy_input in;

	memset(&in, 0, sizeof(in));
	in.client = client;
	in.score = score;
	in.action = score >= 85 ? DG_ACT_BLOCK : score >= 65 ? DG_ACT_RATELIMIT : DG_ACT_NONE;
	in.n_reasons = 1;
	in.reasons = reasons;
	return in;
}

static void tick(struct dg_policy *p, double now, const char *client, double score)
{
	struct dg_policy_input in = in_(client, score);

	dg_policy_tick(p, now, &in, 1);
}

static struct dg_policy *setup(struct seen *s, struct dg_policy_config *c)
{
	struct dg_policy_config def;

	memset(s, 0, sizeof(*s));
	if (!c) {
		dg_policy_config_default(&def);
		c = &def;
	}
	return dg_policy_new(c, on_decision, s);
}

/* Enter at the threshold, hold down to threshold - hysteresis, renew while
 * it holds, run out at the expiry otherwise; escalate at once, step down
 * only when the higher action has run out. */
static void test_hysteresis_and_ttl(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);

	tick(p, 1000, KEY, 64);
	assert_int_equal(s.n, 0);
	tick(p, 1010, KEY, 66);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.d[0].verb, DG_DO_RATELIMIT);
	assert_int_equal(s.d[0].by, DG_BY_POLICY);
	assert_true(s.d[0].expires == 1610);
	assert_string_equal(s.d[0].reasons[0], reasons[0]);
	tick(p, 1300, KEY, 56);              /* above 65 - 10: renewed, no new decision */
	assert_int_equal(s.n, 1);
	assert_true(dg_policy_in_force(p, KEY, 1300)->expires == 1900);
	assert_int_equal(dg_policy_history_len(p), 1);      /* the history shows it renewed */
	assert_true(dg_policy_history(p, 0)->expires == 1900);
	assert_true(dg_policy_history(p, 0)->ts == 1010);
	tick(p, 1400, KEY, 50);              /* below: not renewed ... */
	assert_int_equal(dg_policy_action(p, KEY, 1899), DG_ACT_RATELIMIT);
	assert_int_equal(dg_policy_action(p, KEY, 1900), DG_ACT_NONE);   /* ... ends on time */
	tick(p, 2000, KEY, 90);              /* block at once */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.d[1].verb, DG_DO_BLOCK);
	tick(p, 2100, KEY, 76);              /* above 85 - 10: block renewed */
	assert_true(dg_policy_in_force(p, KEY, 2100)->expires == 2700);
	tick(p, 2200, KEY, 70);              /* block holds until it runs out */
	assert_int_equal(s.n, 2);
	assert_int_equal(dg_policy_action(p, KEY, 2699), DG_ACT_BLOCK);
	tick(p, 2700, KEY, 70);              /* then the lower action */
	assert_int_equal(s.n, 3);
	assert_int_equal(s.d[2].verb, DG_DO_RATELIMIT);
	assert_int_equal(dg_policy_stats(p)->decisions, 3);
	dg_policy_free(p);
}

/* Keys, addresses and prefixes on the allow list are never acted on; a
 * key is allowed through an allowed address it uses. */
static void test_allow_list(void **state)
{
	struct seen s;
	struct dg_policy_config c;
	struct dg_policy *p;
	struct dg_policy_input in[4];
	char err[128];

	dg_policy_config_default(&c);
	assert_int_equal(dg_policy_allow_add(&c, KEY, err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c, "10.0.0.0/8", err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c, "ip:192.0.2.1", err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c, "2001:db8::/32", err, sizeof(err)), 0);
	assert_int_equal(dg_policy_allow_add(&c, "key:xyz", err, sizeof(err)), -1);
	assert_int_equal(dg_policy_allow_add(&c, "nonsense", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nonsense"));
	p = setup(&s, &c);
	in[0] = in_(KEY, 99);
	in[1] = in_("ip:10.1.2.3", 99);
	in[2] = in_("key:aaaaaaaaaaaa", 99);
	in[2].addrs[0] = "2001:db8::7";
	in[2].n_addrs = 1;
	in[3] = in_("ip:192.0.2.2", 99);     /* not allowed */
	dg_policy_tick(p, 100, in, 4);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.d[0].client, "ip:192.0.2.2");
	assert_int_equal(dg_policy_action(p, KEY, 100), DG_ACT_NONE);
	dg_policy_free(p);
}

/* An operator's decision comes first, for its TTL; unblock lifts what the
 * policy put in force and holds it off; then the policy acts again. */
static void test_operator_first(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);
	const struct dg_decision *d;
	char err[128];

	d = dg_policy_command(p, 100, KEY, DG_DO_BLOCK, 0, "abuse report 42", err, sizeof(err));
	assert_non_null(d);
	assert_true(d->expires == 100 + 3600);
	assert_int_equal(d->by, DG_BY_OPERATOR);
	assert_string_equal(d->note, "abuse report 42");
	tick(p, 200, KEY, 0);                /* a low score does not lift it */
	assert_int_equal(dg_policy_action(p, KEY, 200), DG_ACT_BLOCK);
	assert_int_equal(dg_policy_action(p, KEY, 3700), DG_ACT_NONE);
	tick(p, 4000, KEY, 90);
	assert_int_equal(dg_policy_action(p, KEY, 4000), DG_ACT_BLOCK);
	assert_non_null(dg_policy_command(p, 4010, KEY, DG_DO_UNBLOCK, 60, "", err, sizeof(err)));
	assert_int_equal(dg_policy_action(p, KEY, 4010), DG_ACT_NONE);
	tick(p, 4020, KEY, 90);              /* held off ... */
	assert_int_equal(dg_policy_action(p, KEY, 4020), DG_ACT_NONE);
	tick(p, 4080, KEY, 90);              /* ... for the unblock's TTL */
	assert_int_equal(dg_policy_action(p, KEY, 4080), DG_ACT_BLOCK);
	/* allow, ratelimit by hand, and names refused. */
	assert_non_null(dg_policy_command(p, 5000, "ip:203.0.113.5", DG_DO_RATELIMIT, 10, NULL,
					  err, sizeof(err)));
	assert_int_equal(dg_policy_action(p, "ip:203.0.113.5", 5005), DG_ACT_RATELIMIT);
	assert_null(dg_policy_command(p, 5000, "bob", DG_DO_BLOCK, 0, "", err, sizeof(err)));
	assert_null(dg_policy_command(p, 5000, "key:0123", DG_DO_BLOCK, 0, "", err, sizeof(err)));
	assert_null(dg_policy_command(p, 5000, "ip:1.2.3.0/24", DG_DO_BLOCK, 0, "", err, sizeof(err)));
	assert_int_equal(dg_policy_stats(p)->by_operator, 3);
	dg_policy_free(p);
}

/* A prefix covers the addresses inside it; the longest prefix wins. */
static void test_prefixes(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);
	char err[128];

	assert_non_null(dg_policy_command(p, 10, "cidr:198.51.100.0/24", DG_DO_BLOCK, 0, "",
					  err, sizeof(err)));
	assert_non_null(dg_policy_command(p, 10, "cidr:198.51.100.128/25", DG_DO_ALLOW, 0, "",
					  err, sizeof(err)));
	assert_int_equal(dg_policy_action(p, "ip:198.51.100.7", 20), DG_ACT_BLOCK);
	assert_int_equal(dg_policy_action(p, "ip:198.51.100.200", 20), DG_ACT_NONE);
	assert_int_equal(dg_policy_in_force(p, "ip:198.51.100.200", 20)->verb, DG_DO_ALLOW);
	assert_int_equal(dg_policy_action(p, "ip:198.51.101.7", 20), DG_ACT_NONE);
	tick(p, 30, "ip:198.51.100.201", 99);    /* allowed by the /25: no decision */
	assert_int_equal(s.n, 2);
	dg_policy_free(p);
}

/* An address that carries legitimate keys is rate-limited, not blocked. */
static void test_address_cap(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);
	struct dg_policy_input in = in_("ip:192.0.2.9", 95);

	in.action = DG_ACT_RATELIMIT;
	dg_policy_tick(p, 10, &in, 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.d[0].verb, DG_DO_RATELIMIT);
	dg_policy_free(p);
}

/* Replaying a journal: operators' decisions are applied as made, the
 * policy's are remade by the ticks (so they are not applied twice). */
static void test_replay(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);
	struct dg_decision d;

	memset(&d, 0, sizeof(d));
	snprintf(d.client, sizeof(d.client), KEY);
	d.verb = DG_DO_BLOCK;
	d.by = DG_BY_OPERATOR;
	d.ts = 50;
	d.expires = 150;
	dg_policy_replay(p, &d);
	assert_int_equal(dg_policy_action(p, KEY, 100), DG_ACT_BLOCK);
	assert_int_equal(dg_policy_action(p, KEY, 150), DG_ACT_NONE);
	d.by = DG_BY_POLICY;
	snprintf(d.client, sizeof(d.client), "key:bbbbbbbbbbbb");
	dg_policy_replay(p, &d);
	assert_int_equal(dg_policy_action(p, "key:bbbbbbbbbbbb", 100), DG_ACT_NONE);
	assert_int_equal(s.n, 1);
	dg_policy_free(p);
}

/* The history keeps the last DG_POLICY_HISTORY decisions in order. */
static void test_history_bound(void **state)
{
	struct seen s;
	struct dg_policy *p = setup(&s, NULL);
	char name[DG_CLIENT_LEN], err[64];

	for (int i = 0; i < DG_POLICY_HISTORY + 10; i++) {
		snprintf(name, sizeof(name), "ip:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_non_null(dg_policy_command(p, i, name, DG_DO_BLOCK, 5, "", err, sizeof(err)));
	}
	assert_int_equal(dg_policy_history_len(p), DG_POLICY_HISTORY);
	assert_int_equal(dg_policy_history(p, 0)->id, 11);
	assert_null(dg_policy_history(p, DG_POLICY_HISTORY));
	dg_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hysteresis_and_ttl),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_operator_first),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_address_cap),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_history_bound),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
