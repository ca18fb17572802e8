/* test_members.c — clients as cluster members (members.c): how much a
 * member's own requests look like its cluster's (affinity), what it
 * inherits (the effective score), and which cluster names it. Known
 * clusters and members, built by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "clients_int.h"

/* a within eps of b. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) < (eps))

static struct dg_score_config config(void)
{
	struct dg_score_config sc;

	dg_score_config_default(&sc);
	sc.weight[DG_EV_TEMPLATE] = 0.6;
	sc.weight[DG_EV_NEAR_DUP] = 0.5;
	sc.weight[DG_EV_SINGLE] = 0.3;
	return sc;
}

static struct dg_cluster cluster(enum dg_link link, double score, double harvest)
{
	struct dg_cluster cl;

	memset(&cl, 0, sizeof(cl));
	cl.link = link;
	cl.s.score = score;
	cl.s.harvest = harvest;
	return cl;
}

static struct dg_features requests(uint32_t n)
{
	struct dg_features f;

	memset(&f, 0, sizeof(f));
	f.req_1h = n;
	return f;
}

/* A member and a cluster, as dg_members_affinity sees them: the member
 * harvests as much as the cluster (0.5). */
struct pair {
	struct dg_score_config sc;
	struct dg_cluster cl;
	struct dg_features f;
	struct dg_score own;
};

static struct pair pair(enum dg_link link, uint32_t req_1h)
{
	struct pair p;

	memset(&p, 0, sizeof(p));
	p.sc = config();
	p.cl = cluster(link, 90, 0.5);
	p.f = requests(req_1h);
	p.own.harvest = 0.5;
	return p;
}

static double affinity(const struct pair *p)
{
	return dg_members_affinity(&p->sc, &p->cl, &p->f, &p->own);
}

/* A template cluster: the member's harvest against the cluster's, through
 * the ramp 0.3 -> 0.8. */
static void test_affinity_template(void **state)
{
	struct pair p = pair(DG_LINK_TEMPLATE, 1);

	(void)state;
	assert_near(affinity(&p), 1, 1e-12);
	p.own.harvest = 0.4;                /* 0.8 of the cluster's: full */
	assert_near(affinity(&p), 1, 1e-12);
	p.own.harvest = 0.25;               /* 0.5: (0.5 - 0.3) / 0.5 */
	assert_near(affinity(&p), 0.4, 1e-12);
	p.own.harvest = 0.15;               /* 0.3: none */
	assert_near(affinity(&p), 0, 1e-12);
	p.cl.s.harvest = 0;                 /* a cluster that harvests nothing */
	assert_near(affinity(&p), 0, 1e-12);
}

/* A lockstep, TLS or address group: also the shape of the member's own
 * requests, and nothing from a first request. */
static void test_affinity_group_shape(void **state)
{
	struct pair p = pair(DG_LINK_LOCKSTEP, 5);

	(void)state;
	p.cl.s.evidence[DG_EV_TEMPLATE] = 1;
	p.cl.s.evidence[DG_EV_SINGLE] = 1;
	p.own.evidence[DG_EV_TEMPLATE] = 0.5;
	p.own.evidence[DG_EV_SINGLE] = 1;
	p.own.evidence[DG_EV_NEAR_DUP] = 1; /* more than the cluster's counts as its */
	/* shape (0.6 * 0.5 + 0.3 * 1) / (0.6 + 0.3) = 2/3; ramp: 0.7333 */
	assert_near(affinity(&p), (2.0 / 3 - 0.3) / 0.5, 1e-12);
	p.f.req_1h = 1;
	assert_near(affinity(&p), 0, 1e-12);
	p.cl.link = DG_LINK_ADDR;
	assert_near(affinity(&p), 0, 1e-12);
	/* No shape in the cluster: the harvest alone. */
	p.f.req_1h = 2;
	memset(p.cl.s.evidence, 0, sizeof(p.cl.s.evidence));
	assert_near(affinity(&p), 1, 1e-12);
}

/* A TLS group nearly all of whose members that showed their shape have
 * the group's speaks for a first request. */
static void test_affinity_alike_tls_group(void **state)
{
	struct pair p = pair(DG_LINK_TLS, 1);

	(void)state;
	p.sc.tls_min_keys = 4;
	p.sc.group_alike_share = 0.9;
	p.cl.members = 8;
	p.cl.shown = 4;
	p.cl.alike = 4;
	assert_near(affinity(&p), 1, 1e-12);
	p.cl.alike = 3;                     /* 3 of 4 alike: not enough */
	assert_near(affinity(&p), 0, 1e-12);
	p.cl.alike = 4;
	p.cl.members = 9;                   /* fewer than half have shown theirs */
	assert_near(affinity(&p), 0, 1e-12);
	p.cl.members = 3;
	p.cl.shown = p.cl.alike = 3;        /* fewer than tls_min_keys */
	assert_near(affinity(&p), 0, 1e-12);
}

/* A member whose later turns carry a history it never sent (orphans) is
 * judged on what its requests ask for, in proportion to their share; a
 * member in real conversations is not. */
static void test_affinity_orphan_turns(void **state)
{
	struct pair p = pair(DG_LINK_TEMPLATE, 1);

	(void)state;
	p.cl.f.cot_share = 1;                       /* the cluster asks for reasoning ... */
	p.cl.s.evidence[DG_EV_REASONING] = 0.5;     /* ... and half for its parameters */
	p.own.harvest = 0.05;                       /* a made-up answer: short for the prompt */
	p.f.cot_share = 1;
	assert_near(affinity(&p), 0, 1e-12);        /* a real conversation: none */
	p.f.orphan_share = 1;
	/* asks: (0.7 * 1 + 0.3 * 0) / (0.7 * 1 + 0.3 * 0.5) = 0.8235: full */
	assert_near(affinity(&p), 1, 1e-12);
	p.f.orphan_share = 0.5;                     /* half its turns: 0.4118 */
	assert_near(affinity(&p), (0.5 * 0.7 / 0.85 - 0.3) / 0.5, 1e-12);
	p.f.orphan_share = 1;
	p.f.cot_share = 0.35;                       /* asks half as often: 0.4118 */
	assert_near(affinity(&p), (0.35 / 0.85 - 0.3) / 0.5, 1e-12);
}

/* A member that reads its answers on a browser inherits that much less,
 * from any kind of cluster. */
static void test_affinity_reader(void **state)
{
	struct pair p = pair(DG_LINK_LOCKSTEP, 8);

	(void)state;
	assert_near(affinity(&p), 1, 1e-12);
	p.f.ja4_share = 1;
	p.f.browser_share = 1;
	p.f.follow_share = 0.9;
	p.f.paced_share = 0.75;                     /* half way up 0.6 -> 0.9 */
	assert_near(affinity(&p), 0.5, 1e-12);
	p.f.paced_share = 1;
	assert_near(affinity(&p), 0, 1e-12);
	p.cl.link = DG_LINK_TEMPLATE;
	assert_near(affinity(&p), 0, 1e-12);
	p.f.browser_share = 0;                      /* an app: pacing alone earns nothing */
	assert_near(affinity(&p), 1, 1e-12);
}

/* A table with three clusters: two template clusters (scores 80 and 40)
 * and a lockstep group (90), and a member with a harvest like theirs. */
struct fixture {
	struct dg_clients t;
	struct dg_cluster cl[3];
	struct client c;
	struct dg_features f;
};

static void fixture(struct fixture *x)
{
	struct dg_score_config raw;
	struct dg_score own;

	memset(x, 0, sizeof(*x));
	x->t.sc = config();
	x->f = requests(5);
	x->f.logprob_share = 1;
	raw = x->t.sc;
	raw.min_requests = 1;
	dg_score_client(&raw, &x->t.pop, &x->f, &own);
	assert_true(own.harvest > 0);
	x->cl[0] = cluster(DG_LINK_TEMPLATE, 80, own.harvest);
	x->cl[1] = cluster(DG_LINK_TEMPLATE, 40, own.harvest);
	x->cl[2] = cluster(DG_LINK_LOCKSTEP, 90, own.harvest);
	for (int i = 0; i < 3; i++) {
		snprintf(x->cl[i].id, sizeof(x->cl[i].id), "c-%08d", i);
		x->cl[i].s.n_reasons = 1;
		snprintf(x->cl[i].s.reasons[0], DG_REASON_LEN, "reason of %d", i);
	}
	x->t.m.clusters = x->cl;
	x->t.m.nclusters = 3;
	x->t.m.gen = 7;
	x->c.cluster_gen = 7;
}

static void member_of(struct fixture *x, int cl, float share)
{
	x->c.cl[x->c.ncl] = cl;
	x->c.cl_share[x->c.ncl] = share;
	x->c.ncl++;
}

static struct dg_score effective(struct fixture *x, double own_score)
{
	struct dg_score s;

	memset(&s, 0, sizeof(s));
	s.score = own_score;
	dg_members_effective(&x->t, &x->c, &x->f, NULL, &s);
	return s;
}

/* Template clusters: the mean of their scores by the member's shares, in
 * full once they carry half its traffic. */
static void test_effective_templates(void **state)
{
	struct fixture x;
	struct dg_score s;

	(void)state;
	fixture(&x);
	member_of(&x, 0, 0.25f);
	s = effective(&x, 0);
	assert_near(s.score, 40, 1e-9);            /* 80 * 0.25 / 0.5 */
	assert_int_equal(s.action, DG_ACT_NONE);
	assert_string_equal(s.reasons[0], "reason of 0");
	member_of(&x, 1, 0.25f);
	s = effective(&x, 0);
	assert_near(s.score, 60, 1e-9);            /* (80 + 40) / 2 */
	assert_int_equal(s.n_reasons, 1);
	assert_string_equal(s.reasons[0], "reason of 0");  /* the one that gives most */
	s = effective(&x, 70);                             /* its own is higher: kept */
	assert_near(s.score, 70, 1e-9);
	assert_int_equal(s.n_reasons, 0);
	assert_string_equal(dg_members_cluster_id(&x.t, &x.c), "c-00000000");
}

/* A group counts whole; the highest of the two counts. */
static void test_effective_group(void **state)
{
	struct fixture x;
	struct dg_score s;

	(void)state;
	fixture(&x);
	member_of(&x, 0, 0.5f);
	member_of(&x, 2, 1);
	s = effective(&x, 10);
	assert_near(s.score, 90, 1e-9);
	assert_int_equal(s.action, DG_ACT_BLOCK);
	assert_string_equal(s.reasons[0], "reason of 2");
	assert_string_equal(dg_members_cluster_id(&x.t, &x.c), "c-00000002");
	/* A first request: the lockstep group says nothing. */
	x.f.req_1h = 1;
	s = effective(&x, 10);
	assert_near(s.score, 80, 1e-9);
	assert_int_equal(s.action, DG_ACT_RATELIMIT);
}

/* Clusters of an older refresh count for nothing. */
static void test_stale_clusters(void **state)
{
	struct fixture x;
	struct dg_score s;

	(void)state;
	fixture(&x);
	member_of(&x, 2, 1);
	x.c.cluster_gen = 6;
	s = effective(&x, 10);
	assert_near(s.score, 10, 1e-9);
	assert_null(dg_members_cluster_id(&x.t, &x.c));
	x.c.cluster_gen = 7;
	x.c.ncl = 0;
	assert_null(dg_members_cluster_id(&x.t, &x.c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_affinity_template),
		cmocka_unit_test(test_affinity_group_shape),
		cmocka_unit_test(test_affinity_alike_tls_group),
		cmocka_unit_test(test_affinity_orphan_turns),
		cmocka_unit_test(test_affinity_reader),
		cmocka_unit_test(test_effective_templates),
		cmocka_unit_test(test_effective_group),
		cmocka_unit_test(test_stale_clusters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
