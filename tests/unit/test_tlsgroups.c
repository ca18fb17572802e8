/* test_tlsgroups.c — keys on a TLS client that is rare on the host: which
 * fingerprints make a group, and a key's fingerprint by majority. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tlsgroups.h"

/* 100 keys: 60 on a common client (1), 25 on another (2), 6 on a rare one
 * (3), 2 on a rarer one (4), 7 unknown (0). */
static void host(uint64_t *fp)
{
	for (int i = 0; i < 100; i++)
		fp[i] = i < 60 ? 1 : i < 85 ? 2 : i < 91 ? 3 : i < 93 ? 4 : 0;
}

static void test_rare_client_groups(void **state)
{
	uint64_t fp[100], group[100];
	double share[100];

	(void)state;
	host(fp);
	/* Known: 93 keys; client 3 is 6/93 = 6.5% of them, client 2 27%. */
	assert_int_equal(dg_tls_groups(fp, 100, 4, 0.1, group, share), 1);
	for (int i = 0; i < 100; i++) {
		if (fp[i] == 3) {
			assert_true(group[i] != 0);
			assert_true(group[i] == group[85]);
			assert_true(group[i] != 3);          /* an id, not the hash itself */
		} else {
			assert_true(group[i] == 0);          /* common, too few, or unknown */
		}
	}
	assert_float_equal(share[0], 60.0 / 93, 1e-9);
	assert_float_equal(share[90], 6.0 / 93, 1e-9);
	assert_float_equal(share[95], 0, 0);
	/* A looser share admits the second client; a smaller group the rarest. */
	assert_int_equal(dg_tls_groups(fp, 100, 4, 0.3, group, share), 2);
	assert_int_equal(dg_tls_groups(fp, 100, 2, 0.1, group, share), 2);
	assert_true(group[91] != 0 && group[91] != group[85]);
	/* Off: no share is small enough. */
	assert_int_equal(dg_tls_groups(fp, 100, 4, 0, group, share), 0);
}

static void test_stable_ids(void **state)
{
	uint64_t fp[100], g1[100], g2[100], rev[100];
	double share[100];

	(void)state;
	host(fp);
	dg_tls_groups(fp, 100, 4, 0.1, g1, share);
	for (int i = 0; i < 100; i++)
		rev[i] = fp[99 - i];
	dg_tls_groups(rev, 100, 4, 0.1, g2, share);
	for (int i = 0; i < 100; i++)
		assert_true(g1[i] == g2[99 - i]);
	assert_int_equal(dg_tls_groups(fp, 0, 4, 0.1, g1, share), 0);
}

static void test_vote(void **state)
{
	struct dg_tls_vote v = { 0, 0 };

	(void)state;
	dg_tls_vote(&v, 0);                      /* unknown: no vote */
	assert_true(v.fp == 0);
	for (int i = 0; i < 10; i++) {
		dg_tls_vote(&v, 7);
		if (i % 3 == 0)
			dg_tls_vote(&v, 9);       /* a minority of other connections */
	}
	assert_true(v.fp == 7);
	/* A key that moves to another client flips within the cap. */
	for (int i = 0; i < 200; i++)
		dg_tls_vote(&v, 7);
	assert_int_equal(v.votes, DG_TLS_VOTE_CAP);
	for (int i = 0; i <= DG_TLS_VOTE_CAP; i++)
		dg_tls_vote(&v, 9);
	assert_true(v.fp == 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rare_client_groups),
		cmocka_unit_test(test_stable_ids),
		cmocka_unit_test(test_vote),
	};
	return cmocka_run_group_tests_name("tlsgroups", tests, NULL, NULL);
}
