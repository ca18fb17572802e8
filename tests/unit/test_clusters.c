/* test_clusters.c — groups of keys scored as one campaign (clusters.c):
 * shared proxies and templates, template membership, keys in lockstep, a
 * rare TLS client, shared addresses, and the bystanders kept apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clients.h"
#include "clusters.h"
#include "hll.h"
#include "score_helpers.h"

/* The example: 200 keys, each 2 requests a minute, through 10 proxy
 * addresses, one template, must score as one campaign; ordinary keys behind
 * the same proxies keep their own low scores. */
static void test_hydra_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	struct dg_record r;
	char key[13], ip[32];
	size_t n, hydra = 0, hydra_flagged = 0, legit = 0, legit_flagged = 0;

	dg_score_config_default(&c);
	t = dg_clients_new(&c, 4096);
	for (int s = 0; s < 30 * 60; s += 3) {          /* 30 minutes */
		for (int k = s % 30 / 3; k < 200; k += 10) { /* each key every 30 s */
			snprintf(key, sizeof(key), "a%011x", k);
			snprintf(ip, sizeof(ip), "100.64.0.%d", k % 10);
			rec(&r, T0 + s + k * 0.001, key, ip, 1);
			r.system_fp = 4242;                  /* one template */
			r.prompt_simhash = dg_hash64(&s, sizeof(s)) ^ (uint64_t)k;
			r.logprobs = 0;
			r.max_tokens = 2048;
			r.output_tokens = 1500;
			dg_clients_ingest(t, &r);
		}
		if (s % 60 == 0) {                       /* 30 ordinary keys, same proxies */
			for (int k = 0; k < 30; k++) {
				if ((s / 60 + k) % 5)
					continue;
				snprintf(key, sizeof(key), "b%011x", k);
				snprintf(ip, sizeof(ip), "100.64.0.%d", k % 10);
				rec(&r, T0 + s + 1 + k * 0.01, key, ip, 0);
				r.system_fp = 1000 + (uint64_t)(k % 3);
				dg_clients_ingest(t, &r);
			}
		}
		/* A legitimate job that happens to use the campaign's template. */
		rec(&r, T0 + s + 0.5, "c00000000001", "192.0.2.77", 0);
		r.system_fp = 4242;
		r.messages = 1;
		dg_clients_ingest(t, &r);
		/* Keyless harvesting straight from one of the proxy addresses. */
		rec(&r, T0 + s + 2, NULL, "100.64.0.1", 1);
		dg_clients_ingest(t, &r);
	}
	n = dg_clients_snapshot(t, 0, &v);
	for (size_t i = 0; i < n; i++) {
		int is_hydra = v[i].name[4] == 'a';

		if (!strcmp(v[i].name, "key:c00000000001")) {
			/* In the cluster, but it does not harvest like it. */
			assert_true(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
			continue;
		}
		if (!strcmp(v[i].name, "ip:100.64.0.1")) {
			/* Suspect, but customers share the address: not blocked as one. */
			assert_int_equal(v[i].s.action, DG_ACT_RATELIMIT);
			assert_int_equal(v[i].legit_keys, 3);
			assert_int_equal(v[i].flagged_keys, 20);
			assert_non_null(strstr(v[i].s.reasons[v[i].s.n_reasons - 1], "3 keys that look legitimate"));
			for (int k = 0; k < v[i].s.n_reasons; k++)
				assert_true(v[i].s.reasons[k][0] != 0);
			continue;
		}
		hydra += is_hydra;
		legit += !is_hydra;
		if (v[i].s.action != DG_ACT_NONE) {
			hydra_flagged += is_hydra;
			legit_flagged += !is_hydra;
		}
		if (is_hydra) {
			assert_true(v[i].shared_addrs >= 1);
			assert_true(v[i].cluster[0]);
			assert_true(v[i].f.req_1h < 100);    /* each key alone is small */
		}
	}
	assert_int_equal(hydra, 200);
	assert_int_equal(hydra_flagged, 200);
	assert_int_equal(legit, 30);
	assert_int_equal(legit_flagged, 0);
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(v[i].name, "key:a", 5)) {
			assert_non_null(strstr(v[i].s.reasons[0], "201 keys behind 11 addresses in 2 subnets "));
			break;
		}
	}
	dg_clients_free(t);
}

/* Templates are linked by the keys that carry them; a client belongs to
 * the component when its shares on the component's templates add up to
 * DG_LINK_SHARE, even when each one alone is smaller. */
static void test_cluster_membership_sums_shares(void **state)
{
	struct dg_score_config c;
	struct dg_features f;
	struct dg_cluster_member m[64];
	int32_t mc[64];
	struct dg_cluster *cl;
	size_t n = 0, ncl;

	(void)state;
	dg_score_config_default(&c);
	memset(&f, 0, sizeof(f));
	f.req_1h = 20;
	f.requests = 20;
	/* 20 keys, each on two neighbouring templates of ten: a chain of links. */
	for (int k = 0; k < 20; k++) {
		for (int j = 0; j < 2; j++) {
			m[n] = (struct dg_cluster_member){.client = (size_t)k, .tmpl = 100 + (uint64_t)((k + j) % 10),
							  .weight = 0.5, .f = &f, .is_key = 1};
			n++;
		}
	}
	/* Key 20 spreads 8% over each of the ten (80% in all). */
	for (int j = 0; j < 10; j++)
		m[n++] = (struct dg_cluster_member){.client = 20, .tmpl = 100 + (uint64_t)j,
						    .weight = 0.08, .f = &f, .is_key = 1};
	/* Key 21: 5% on two of them (10%), the rest its own. */
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 103, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 107, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 21, .tmpl = 999, .weight = 0.9, .f = &f, .is_key = 1};
	/* Key 22: 4% on two (8%): not a member. A 5% template nobody else
	 * carries at 10% does not exist as a template at all. */
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 101, .weight = 0.04, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 105, .weight = 0.04, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 555, .weight = 0.05, .f = &f, .is_key = 1};
	m[n++] = (struct dg_cluster_member){.client = 22, .tmpl = 998, .weight = 0.87, .f = &f, .is_key = 1};

	ncl = dg_clusters_build(m, n, 3, &c, NULL, &cl, mc);
	assert_int_equal(ncl, 1);
	assert_int_equal(cl[0].members, 22);
	assert_int_equal(cl[0].tmpl, 100);
	assert_int_equal(cl[0].f.crowd_keys, 22);
	for (size_t i = 0; i < n; i++) {
		if (m[i].client <= 21 && m[i].tmpl < 200)
			assert_int_equal(mc[i], 0);
		else
			assert_int_equal(mc[i], -1);
	}
	free(cl);
}

/* A crowd's signs of people and of logit extraction pool like its other
 * shares: by requests (browsers by requests with a known TLS client,
 * pacing by requests with an earlier one). Known values. */
static void test_pooled_people_and_sweeps(void **state)
{
	struct dg_score_config c;
	struct dg_features a, b;
	struct dg_cluster_member m[8];
	int32_t mc[8];
	struct dg_cluster *cl;
	size_t ncl;

	(void)state;
	dg_score_config_default(&c);
	memset(&a, 0, sizeof(a));
	a.req_1h = 30;                 /* 30 requests, all on a browser, paced */
	a.ja4_share = 1;
	a.browser_share = 1;
	a.follow_share = 0.9;
	a.paced_share = 1;
	a.bias_new_share = 0.2;
	b = a;
	b.req_1h = 10;                 /* 10: half with a JA4, none a browser's */
	b.ja4_share = 0.5;
	b.browser_share = 0;
	b.follow_share = 0.5;
	b.paced_share = 0;
	b.bias_new_share = 1;
	for (int k = 0; k < 4; k++)
		m[k] = (struct dg_cluster_member){.client = (size_t)k, .tmpl = 5, .weight = 1,
						  .f = k ? &a : &b, .is_key = 1};
	ncl = dg_clusters_build(m, 4, 3, &c, NULL, &cl, mc);
	assert_int_equal(ncl, 1);
	assert_float_equal(cl[0].f.ja4_share, 95.0 / 100, 1e-9);
	assert_float_equal(cl[0].f.browser_share, 90.0 / 95, 1e-9);
	assert_float_equal(cl[0].f.follow_share, 86.0 / 100, 1e-9);
	assert_float_equal(cl[0].f.paced_share, 81.0 / 86, 1e-9);
	assert_float_equal(cl[0].f.bias_new_share, 28.0 / 100, 1e-9);
	free(cl);
}

/* The verdicts of a group test: keys named 'w...' are the campaign
 * (clustered, flagged, `reason` among their reasons); keys whose letter is
 * in `bystanders` share the campaign's tie but not its requests' shape
 * (clustered, never flagged); the rest are in no cluster and not flagged.
 * Returns the campaign keys plus 100 per bystander. */
static size_t group_verdicts(const struct dg_client_view *v, size_t n, const char *bystanders,
			     const char *reason)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].name[4] == 'w') {
			int said = 0;

			found++;
			assert_true(v[i].cluster[0]);
			assert_int_not_equal(v[i].s.action, DG_ACT_NONE);
			for (int k = 0; k < v[i].s.n_reasons; k++)
				said |= strstr(v[i].s.reasons[k], reason) != NULL;
			assert_true(said);
		} else if (v[i].name[4] && strchr(bystanders, v[i].name[4])) {
			found += 100;
			assert_true(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
			assert_true(v[i].first_flag_ts == 0);
		} else {
			assert_false(v[i].cluster[0]);
			assert_int_equal(v[i].s.action, DG_ACT_NONE);
		}
	}
	return found;
}

/* Keys that one scheduler starts and stops together, each request with a
 * template and prompt of its own, each key on its own address: only their
 * timing ties them. The same traffic on unrelated schedules stays apart,
 * and a conversation that happens to keep the same minutes is not flagged. */
static void test_lockstep_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	struct dg_record r;
	char key[13], ip[32];
	size_t n, found = 0;
	uint64_t u = 0;

	(void)state;
	dg_score_config_default(&c);
	t = dg_clients_new(&c, 1024);
	for (int s = 0; s < 20 * 60; s += 5) {
		for (int k = 0; k < 25; k++) {
			int lock = k < 12 || k == 24;
			/* In step: 2 minutes on, 2 off. Apart: periods of 3 to 7
			 * minutes, each in its own phase. */
			int period = lock ? 240 : 180 + 60 * (k % 5), phase = lock ? 0 : 37 * k;
			if ((s + phase) % period >= 120 || (s / 5 + k) % 4)
				continue;                  /* a request every 20 s when on */
			/* Key 24: a person in a conversation whose minutes fall in
			 * step with the campaign's. */
			snprintf(key, sizeof(key), "%c%011x", k == 24 ? 'p' : lock ? 'w' : 'x', k);
			snprintf(ip, sizeof(ip), "10.%d.%d.9", k, lock);
			rec(&r, T0 + s + k * 0.01, key, ip, 1);
			u++;
			r.system_fp = dg_hash64(&u, sizeof(u));       /* a frame of its own */
			r.prompt_simhash = dg_hash64(&r.system_fp, 8);
			r.logprobs = 0;
			if (k == 24)
				r.messages = 6;
			dg_clients_ingest(t, &r);
		}
	}
	n = dg_clients_snapshot(t, 0, &v);
	/* Key 'p', in step and asking for reasoning but in a conversation,
	 * does not inherit the campaign's score. */
	found = group_verdicts(v, n, "p", "13 keys start and stop in the same minutes");
	assert_int_equal(found, 112);
	dg_clients_free(t);
}

enum tie { TIE_TLS, TIE_ADDR };

/* Keys tied only by a TLS client rare on the host (TIE_TLS; each key on
 * its own address) or only by the few proxy addresses they share
 * (TIE_ADDR; everyone on one common TLS client): each request its own
 * frame, unsynchronised. With `customers` 0 the tie carries only the
 * campaign and the single request, which is then named like the
 * campaign's keys. */
static size_t run_group_host(const struct dg_score_config *c, const struct dg_client_view **v,
			     struct dg_clients **tp, int customers, enum tie tie)
{
	struct dg_clients *t = dg_clients_new(c, 1024);
	struct dg_record r;
	char key[13], ip[32];
	uint64_t u = 0;

	for (int s = 0; s < 20 * 60; s += 5) {
		for (int k = 0; k < 215; k++) {
			/* 200 customers on a common client; on a rare one, 12
			 * campaign keys, a person in a conversation, a person who
			 * asks one single-turn question, and an app with a system
			 * prompt of its own whose conversations are short. */
			int camp = k >= 200 && k < 212, person = k == 212 || k == 214, once = k == 213;

			if (once) {
				if (s != 600)
					continue;
				camp = 1;          /* shaped like a campaign request */
			}
			if (person && !customers)
				continue;
			/* Each campaign key at its own pace: no lockstep. */
			int period = camp ? 100 + 10 * (k - 200) : 60, phase = (k * 37) % period;

			if (!once && (s + phase) % period >= 5)
				continue;
			/* The person pauses at random, as people do. */
			if (person && ((uint32_t)(s / 60) * 2654435761u >> 7) % 3 == 0)
				continue;
			snprintf(key, sizeof(key), "%c%011x",
				 once && customers ? 'q' : camp ? 'w' : k == 214 ? 'r' : person ? 'p' : 'x',
				 k);
			if (tie == TIE_ADDR && k >= 200)   /* three proxies, in turn */
				snprintf(ip, sizeof(ip), "10.9.0.%d", 1 + (s / 5 + k) % 3);
			else
				snprintf(ip, sizeof(ip), "10.%d.%d.9", k / 200, k % 200);
			rec(&r, T0 + s + k * 0.01, key, ip, camp || person);
			u++;
			r.system_fp = dg_hash64(&u, sizeof(u));       /* a frame of its own */
			r.prompt_simhash = dg_hash64(&r.system_fp, 8);
			r.logprobs = 0;
			/* Nobody's volume stands out: 300 output tokens a minute. */
			r.output_tokens = camp ? 600 : 300;
			if (person) {
				r.messages = 6;
				r.max_tokens = 1024;
			}
			if (k == 214) {
				/* Half its requests single-turn, all on its own template:
				 * shaped, but not like the campaign's. */
				r.messages = s % 120 < 60 ? 2 : 4;
				r.system_fp = 4242;
			}
			snprintf(r.ja4, sizeof(r.ja4), "%s",
				 k < 200 || tie == TIE_ADDR ? "t13d1812h1_85036bcba153_b26ce05bbdd6" :
				 "t13d2107h2_9c3f1e6a2b44_7d19e0c4a8f5");
			dg_clients_ingest(t, &r);
		}
	}
	*tp = t;
	return dg_clients_snapshot(t, 0, v);
}

static void test_tls_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	size_t n, found = 0;

	(void)state;
	dg_score_config_default(&c);
	n = run_group_host(&c, &v, &t, 1, TIE_TLS);
	/* On the campaign's client and asking for reasoning, but a
	 * conversation ('p'), a single request ('q': every conversation opens
	 * like a campaign's request, and customers who have shown another
	 * shape share this client) or requests of another shape ('r'): none
	 * inherits the campaign's score. The common client ties nobody. */
	found = group_verdicts(v, n, "pqr", "15 keys share a TLS client that 7.0% of keys use");
	assert_int_equal(found, 312);
	dg_clients_free(t);

	/* A client that only the campaign uses speaks for a new key's first
	 * request, if it has the campaign's shape: flagged on that request. */
	n = run_group_host(&c, &v, &t, 0, TIE_TLS);
	found = group_verdicts(v, n, "", "13 keys share a TLS client that 6.1% of keys use");
	assert_int_equal(found, 13);
	for (size_t i = 0; i < n; i++)
		if (v[i].name[4] == 'w' && v[i].f.requests == 1)
			assert_int_equal(v[i].first_flag_requests, 1), found = 0;
	assert_int_equal(found, 0);
	dg_clients_free(t);

	/* Above 1, group_alike_share switches that off. */
	assert_int_equal(dg_score_config_set(&c, "group_alike_share", 1.5), 0);
	n = run_group_host(&c, &v, &t, 0, TIE_TLS);
	for (size_t i = 0; i < n; i++)
		if (v[i].name[4] == 'w')
			assert_int_equal(v[i].s.action == DG_ACT_NONE, v[i].f.requests == 1);
	dg_clients_free(t);
	dg_score_config_default(&c);

	/* With TLS groups off, nothing else ties the campaign's keys. */
	assert_int_equal(dg_score_config_set(&c, "tls_max_share", 0), 0);
	n = run_group_host(&c, &v, &t, 1, TIE_TLS);
	for (size_t i = 0; i < n; i++) {
		assert_false(v[i].cluster[0]);
		assert_int_equal(v[i].s.action, DG_ACT_NONE);
	}
	dg_clients_free(t);
}

/* Keys tied only by the proxy addresses they share: one campaign. Its
 * customers on the same proxies keep their own scores, and a first request
 * is not enough while the proxies carry customers. */
static void test_addr_cluster(void **state)
{
	struct dg_score_config c;
	struct dg_clients *t;
	const struct dg_client_view *v;
	size_t n, found;

	(void)state;
	dg_score_config_default(&c);
	n = run_group_host(&c, &v, &t, 1, TIE_ADDR);
	found = group_verdicts(v, n, "pqr", "15 keys behind 3 addresses in 1 subnet");
	assert_int_equal(found, 312);
	for (size_t i = 0; i < n; i++)
		if (v[i].s.n_reasons)
			assert_null(strstr(v[i].s.reasons[0], "share templates"));
	dg_clients_free(t);

	/* Unlike a rare TLS client, proxies that carry only the campaign so
	 * far do not speak for a first request: customers may come later. */
	n = run_group_host(&c, &v, &t, 0, TIE_ADDR);
	found = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].name[4] != 'w')
			continue;
		found++;
		assert_int_equal(v[i].s.action == DG_ACT_NONE, v[i].f.requests == 1);
	}
	assert_int_equal(found, 13);
	dg_clients_free(t);

	/* An address ties keys only once it has carried addr_min_keys. */
	assert_int_equal(dg_score_config_set(&c, "addr_min_keys", 16), 0);
	n = run_group_host(&c, &v, &t, 1, TIE_ADDR);
	for (size_t i = 0; i < n; i++) {
		assert_false(v[i].cluster[0]);
		assert_int_equal(v[i].s.action, DG_ACT_NONE);
	}
	dg_clients_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hydra_cluster),
		cmocka_unit_test(test_cluster_membership_sums_shares),
		cmocka_unit_test(test_pooled_people_and_sweeps),
		cmocka_unit_test(test_lockstep_cluster),
		cmocka_unit_test(test_tls_cluster),
		cmocka_unit_test(test_addr_cluster),
	};
	return cmocka_run_group_tests_name("clusters", tests, NULL, NULL);
}
