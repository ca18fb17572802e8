/* test_enforcer.c — user/enforce/enforce.c driving the kernel, as root, on
 * loopback sockets (enforce.loopback on): decisions in force become
 * drops, cuts and pacing; they are lifted when they end; exempt clients
 * are shown and left alone; keys are acted on by connection, at their
 * request heads; a rate-limited client over its budget is cut; the
 * policy's decision on an address that carries legitimate keys acts on
 * its key-less requests only.
 *
 * The programs go on the root cgroup for the test (only the test's port
 * is watched, and the links die with the process). Not root: skipped,
 * unless CI is set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enforce.h"
#include "policy.h"
#include "reassemble.h"

static uint16_t port;
static struct dg_enforcer *enf;
static struct dg_policy *pol;
static int listener = -1;
static uint32_t legit_of_25;           /* legitimate keys behind 127.0.0.25 */

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t legit_keys(const char *client, void *arg)
{
	(void)arg;
	return !strcmp(client, "ip:127.0.0.25") ? legit_of_25 : 0;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sync_now(double now)
{
	dg_enforcer_sync(enf, pol, now, legit_keys, NULL);
	dg_enforcer_step(enf, mono());
}

/* ---------- sockets ---------- */

struct pair {
	int client, server;
	uint64_t cookie;
};

/* Connect from src within 300 ms: 0, or -1 (a dropped SYN times out). */
static int try_connect(const char *src, int *out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in c = { .sin_family = AF_INET };
	struct pollfd pfd;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	socklen_t len = sizeof(err);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	inet_pton(AF_INET, src, &c.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&c, sizeof(c)), 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 300) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	*out = fd;
	return 0;
}

static void open_pair(struct pair *p, const char *src)
{
	socklen_t len = sizeof(p->cookie);

	assert_int_equal(try_connect(src, &p->client), 0);
	p->server = accept(listener, NULL, NULL);
	assert_true(p->server >= 0);
	assert_int_equal(getsockopt(p->server, SOL_SOCKET, SO_COOKIE, &p->cookie, &len), 0);
}

static void close_pair(struct pair *p)
{
	close(p->client);
	close(p->server);
}

static int alive(struct pair *p)
{
	char c = 'x';

	if (send(p->client, &c, 1, MSG_NOSIGNAL) != 1)
		return 0;
	usleep(20000);
	return recv(p->server, &c, 1, MSG_DONTWAIT) == 1;
}

static int can_connect(const char *src)
{
	int fd, s;

	if (try_connect(src, &fd))
		return 0;
	s = accept(listener, NULL, NULL);
	close(s);
	close(fd);
	return 1;
}

static uint32_t pacing(int fd)
{
	uint32_t v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v, &len), 0);
	return v;
}

static void head(const struct pair *p, const char *client, const char *peer)
{
	struct dg_head h;

	memset(&h, 0, sizeof(h));
	h.conn = p->cookie;
	h.ts = wall();
	h.tied = 1;
	snprintf(h.client, sizeof(h.client), "%s", client);
	snprintf(h.peer_ip, sizeof(h.peer_ip), "%s", peer);
	dg_enforcer_head(enf, &h);
}

static void command(const char *client, enum dg_verb verb, double ttl)
{
	char err[128];

	assert_non_null(dg_policy_command(pol, wall(), client, verb, ttl, "test", err, sizeof(err)));
}

/* ---------- tests ---------- */

/* Block an address: its open connection is cut, its new ones refused, a
 * neighbour is served; unblock: served again. Counted on the client. */
static void test_block_address(void **state)
{
	struct pair p;
	struct dg_applied ap;

	(void)state;
	open_pair(&p, "127.0.0.21");
	command("ip:127.0.0.21", DG_DO_BLOCK, 60);
	sync_now(wall());
	assert_false(alive(&p));
	assert_false(can_connect("127.0.0.21"));
	assert_true(can_connect("127.0.0.22"));
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.21", &ap), 1);
	assert_true(ap.applied && ap.by_address && ap.verb == DG_DO_BLOCK);
	assert_true(ap.conns_cut == 1 && ap.packets_dropped >= 1);
	close_pair(&p);
	command("ip:127.0.0.21", DG_DO_UNBLOCK, 60);
	sync_now(wall());
	assert_true(can_connect("127.0.0.21"));
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.21", &ap), 0);
}

/* A decision that ends is lifted, even with nobody syncing: the kernel
 * holds its expiry. */
static void test_expiry(void **state)
{
	(void)state;
	command("cidr:127.0.0.16/30", DG_DO_BLOCK, 1);       /* .16 - .19 */
	sync_now(wall());
	assert_false(can_connect("127.0.0.17"));
	assert_true(can_connect("127.0.0.20"));
	usleep(1300000);
	assert_true(can_connect("127.0.0.17"));               /* before any sync */
	sync_now(wall());
}

/* The allow list is exempt: the decision is shown as not applied. */
static void test_exempt(void **state)
{
	struct dg_applied ap;

	(void)state;
	command("ip:127.0.0.23", DG_DO_BLOCK, 60);
	sync_now(wall());
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.23", &ap), 1);
	assert_false(ap.applied);
	assert_string_equal(ap.why, "allow list");
	assert_true(can_connect("127.0.0.23"));
	command("ip:127.0.0.23", DG_DO_UNBLOCK, 60);
	sync_now(wall());
}

/* An operator's allow of an address holds inside a blocked prefix. */
static void test_operator_allow_in_prefix(void **state)
{
	(void)state;
	command("ip:127.0.0.30", DG_DO_ALLOW, 60);
	command("cidr:127.0.0.28/30", DG_DO_BLOCK, 60);       /* .28 - .31 */
	sync_now(wall());
	assert_false(can_connect("127.0.0.29"));
	assert_true(can_connect("127.0.0.30"));
	command("cidr:127.0.0.28/30", DG_DO_UNBLOCK, 60);
	command("ip:127.0.0.30", DG_DO_UNBLOCK, 60);
	sync_now(wall());
	assert_true(can_connect("127.0.0.29"));
}

/* A blocked key: the connection that carried it is cut; a request head
 * that names it on another connection gets that one cut; another key
 * from the same address is served. */
static void test_block_key(void **state)
{
	struct pair a, b, c;
	struct dg_applied ap;

	(void)state;
	open_pair(&a, "127.0.0.24");
	open_pair(&b, "127.0.0.24");
	open_pair(&c, "127.0.0.24");
	head(&a, "key:0123456789ab", "127.0.0.24");
	head(&c, "key:ba9876543210", "127.0.0.24");
	command("key:0123456789ab", DG_DO_BLOCK, 60);
	sync_now(wall());
	assert_false(alive(&a));
	assert_true(alive(&b));
	head(&b, "key:0123456789ab", "127.0.0.24");
	dg_enforcer_step(enf, mono());
	assert_false(alive(&b));
	assert_true(alive(&c));
	head(&c, "key:ba9876543210", "127.0.0.24");
	dg_enforcer_step(enf, mono());
	assert_true(alive(&c));
	assert_true(can_connect("127.0.0.24"));                /* keys are not addresses */
	assert_int_equal(dg_enforcer_applied(enf, "key:0123456789ab", &ap), 1);
	assert_true(ap.applied && !ap.by_address);
	assert_int_equal(ap.conns_cut, 2);
	assert_int_equal(ap.requests_cut, 1);
	close_pair(&a);
	close_pair(&b);
	close_pair(&c);
	command("key:0123456789ab", DG_DO_UNBLOCK, 60);
	sync_now(wall());
}

/* A rate-limited address is paced (open connections and new ones) and
 * unpaced when lifted; its new connections over the budget are refused. */
static void test_ratelimit_address(void **state)
{
	struct pair a, b;
	struct dg_applied ap;
	int ok = 0;

	(void)state;
	open_pair(&a, "127.0.0.26");
	command("ip:127.0.0.26", DG_DO_RATELIMIT, 60);
	sync_now(wall());
	assert_int_equal(pacing(a.server), 100000);
	open_pair(&b, "127.0.0.26");                           /* paced as it opens */
	assert_int_equal(pacing(b.server), 100000);
	for (int i = 0; i < 6; i++)
		ok += can_connect("127.0.0.26");
	assert_int_equal(ok, 4);              /* 5 a minute; a came before the rule */
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.26", &ap), 1);
	assert_int_equal(ap.syn_refused, 2);
	assert_int_equal(ap.conns_paced, 6);
	command("ip:127.0.0.26", DG_DO_UNBLOCK, 60);
	sync_now(wall());
	assert_int_equal(pacing(a.server), 0xffffffffu);
	assert_int_equal(pacing(b.server), 0xffffffffu);
	close_pair(&a);
	close_pair(&b);
}

/* A rate-limited key: its connections paced at their heads, and the
 * request over its budget has its connection cut. */
static void test_ratelimit_key(void **state)
{
	struct pair p[6];
	struct dg_applied ap;
	int alive_n = 0;

	(void)state;
	command("key:aaaaaaaaaaaa", DG_DO_RATELIMIT, 60);
	sync_now(wall());
	for (int i = 0; i < 6; i++) {
		open_pair(&p[i], "127.0.0.27");
		head(&p[i], "key:aaaaaaaaaaaa", "127.0.0.27");
		dg_enforcer_step(enf, mono());
	}
	for (int i = 0; i < 6; i++)
		alive_n += alive(&p[i]);
	assert_int_equal(alive_n, 5);
	assert_false(alive(&p[5]));
	assert_int_equal(pacing(p[0].server), 100000);
	assert_int_equal(dg_enforcer_applied(enf, "key:aaaaaaaaaaaa", &ap), 1);
	assert_int_equal(ap.requests_cut, 1);
	for (int i = 0; i < 6; i++)
		close_pair(&p[i]);
	command("key:aaaaaaaaaaaa", DG_DO_UNBLOCK, 60);
	sync_now(wall());
}

/* The policy blocks an address that also carries legitimate keys: its
 * key-less requests are cut, its keys' connections are not, and the
 * address is not refused. */
static void test_address_with_legit_keys(void **state)
{
	static const char reasons[1][DG_REASON_LEN] = { "test" };
	struct dg_policy_input in;
	struct pair keyless, keyed;
	struct dg_applied ap;
	double now = wall();

	(void)state;
	legit_of_25 = 3;
	memset(&in, 0, sizeof(in));
	in.client = "ip:127.0.0.25";
	in.score = 95;
	in.action = DG_ACT_BLOCK;
	in.n_reasons = 1;
	in.reasons = reasons;
	dg_policy_tick(pol, now, &in, 1);
	open_pair(&keyless, "127.0.0.25");
	open_pair(&keyed, "127.0.0.25");
	sync_now(now);
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.25", &ap), 1);
	assert_true(ap.applied && !ap.by_address);
	assert_true(can_connect("127.0.0.25"));
	head(&keyed, "key:cccccccccccc", "127.0.0.25");
	head(&keyless, "ip:127.0.0.25", "127.0.0.25");
	dg_enforcer_step(enf, mono());
	assert_false(alive(&keyless));
	assert_true(alive(&keyed));
	close_pair(&keyless);
	close_pair(&keyed);
	/* With no legitimate key behind it, the same decision is by address. */
	legit_of_25 = 0;
	sync_now(wall());
	assert_int_equal(dg_enforcer_applied(enf, "ip:127.0.0.25", &ap), 1);
	assert_true(ap.by_address);
	assert_false(can_connect("127.0.0.25"));
}

/* ---------- setup ---------- */

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listener, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(listener, (struct sockaddr *)&a, &len) || listen(listener, 64))
		return 0;
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	struct dg_enforce_config c;
	struct dg_policy_config pc;
	char err[256];

	(void)state;
	if (!(port = free_port()))
		return -1;
	dg_policy_config_default(&pc);
	pc.ratelimit_at = 65;
	pc.block_at = 85;
	if (dg_policy_allow_add(&pc, "ip:127.0.0.23", err, sizeof(err)))
		return -1;
	pol = dg_policy_new(&pc, NULL, NULL);
	dg_enforce_config_default(&c);
	c.ports[0] = port;
	c.n_ports = 1;
	snprintf(c.cgroups[0], sizeof(c.cgroups[0]), "/");
	c.n_cgroups = 1;
	c.loopback = 1;
	c.pace_bps = 100000;
	c.requests_per_min = 5;
	snprintf(c.allow[0], sizeof(c.allow[0]), "ip:127.0.0.23");
	c.n_allow = 1;
	if (!(enf = dg_enforcer_open(&c, err, sizeof(err)))) {
		fprintf(stderr, "test_enforcer: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dg_enforcer_close(enf);
	dg_policy_free(pol);
	close(listener);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_address),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_operator_allow_in_prefix),
		cmocka_unit_test(test_block_key),
		cmocka_unit_test(test_ratelimit_address),
		cmocka_unit_test(test_ratelimit_key),
		cmocka_unit_test(test_address_with_legit_keys),
	};

	if (geteuid() != 0) {
		if (getenv("CI")) {
			fprintf(stderr, "test_enforcer: needs root, and CI is set: failing\n");
			printf("[  FAILED  ] 1 test(s).\n");
			return 1;
		}
		fprintf(stderr, "test_enforcer: needs root: skipped\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
