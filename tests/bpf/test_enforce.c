/* test_enforce.c — the enforcer's BPF programs (bpf/enforce.bpf.c) run by
 * the kernel, as root.
 *
 * dg_ingress through BPF_PROG_TEST_RUN, Katran style: a table of fixtures,
 * each a description, the rules in place, a packet and the verdict
 * expected (blocked, expired, exempt, allowed, unwatched port, IPv4 and
 * IPv6, prefixes, loopback, the SYN budget).
 *
 * dg_sweep and the pacing on real loopback sockets the test opens: a
 * blocked address's connection is cut (the client sees a reset), a
 * connection named by cookie is cut, a rate-limited one is paced and
 * unpaced when the rule goes, an exempt one is left alone.
 *
 * Not root: skipped, unless CI is set (then it fails: CI runs as root). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dg_enforce.h"
#include "enforce.skel.h"

/* The watched port: one free when the test starts (set before load). */
static uint16_t WATCHED, OTHER;

static struct enforce_bpf *skel;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---------- maps ---------- */

static struct dg_enf_addr prefix(const char *s, int len)
{
	struct dg_enf_addr k;
	struct in_addr a4;

	memset(&k, 0, sizeof(k));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		k.addr[10] = k.addr[11] = 0xff;
		memcpy(&k.addr[12], &a4, 4);
		k.prefixlen = (uint32_t)(96 + len);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, k.addr), 1);
		k.prefixlen = (uint32_t)len;
	}
	return k;
}

static void put_rule(const char *addr, int len, enum dg_enf_action action, int64_t ttl_ms,
		     uint32_t slot, uint32_t pace, uint32_t syn_per_min)
{
	struct dg_enf_addr k = prefix(addr, len);
	struct dg_enf_rule r = {
		.expires_ns = (uint64_t)((int64_t)mono_ns() + ttl_ms * 1000000LL),
		.action = action, .slot = slot, .pace_bps = pace, .syn_per_min = syn_per_min,
	};

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.rules), &k, &r, BPF_ANY), 0);
}

static void put_exempt(const char *addr, int len)
{
	struct dg_enf_addr k = prefix(addr, len);
	uint32_t one = 1;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.exempt), &k, &one, BPF_ANY), 0);
}

static void clear_map(struct bpf_map *m, size_t key_size)
{
	uint8_t key[64], next[64];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

static void reset(void)
{
	struct dg_enf_state zero;
	int fd = bpf_map__fd(skel->maps.state);

	clear_map(skel->maps.rules, sizeof(struct dg_enf_addr));
	clear_map(skel->maps.exempt, sizeof(struct dg_enf_addr));
	clear_map(skel->maps.conns, sizeof(uint64_t));
	memset(&zero, 0, sizeof(zero));
	for (uint32_t i = 0; i < 8; i++)
		bpf_map_update_elem(fd, &i, &zero, BPF_ANY);
	skel->bss->enforce_loopback = 1;
}

static struct dg_enf_state slot_state(uint32_t slot)
{
	struct dg_enf_state s;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.state), &slot, &s), 0);
	return s;
}

/* ---------- packets ---------- */

#define F_SYN 0x02
#define F_ACK 0x10

static size_t packet(uint8_t *p, const char *src, uint16_t dport, uint8_t flags)
{
	struct in_addr a4;
	size_t ip_len;

	memset(p, 0, 128);
	memset(p, 0xaa, 12);                               /* MACs */
	if (inet_pton(AF_INET, src, &a4) == 1) {
		p[12] = 0x08; p[13] = 0x00;
		p[14] = 0x45;                              /* IPv4, 20 bytes */
		p[14 + 3] = 40;                            /* total length */
		p[14 + 8] = 64;                            /* TTL */
		p[14 + 9] = 6;                             /* TCP */
		memcpy(&p[14 + 12], &a4, 4);
		inet_pton(AF_INET, "10.0.0.1", &p[14 + 16]);
		ip_len = 20;
	} else {
		p[12] = 0x86; p[13] = 0xdd;
		p[14] = 0x60;
		p[14 + 5] = 20;                            /* payload length */
		p[14 + 6] = 6;                             /* next header: TCP */
		p[14 + 7] = 64;
		assert_int_equal(inet_pton(AF_INET6, src, &p[14 + 8]), 1);
		inet_pton(AF_INET6, "fd00::1", &p[14 + 24]);
		ip_len = 40;
	}
	uint8_t *t = p + 14 + ip_len;
	t[0] = 0xc3; t[1] = 0x50;                          /* source port 50000 */
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	t[12] = 0x50;                                      /* data offset 5 */
	t[13] = flags;
	return 14 + ip_len + 20;
}

static int verdict(const char *src, uint16_t dport, uint8_t flags)
{
	uint8_t pkt[128];
	size_t n = packet(pkt, src, dport, flags);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)n,
		    .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.dg_ingress), &o), 0);
	return (int)o.retval;
}

/* ---------- the fixtures ---------- */

enum setup { S_NONE, S_BLOCK4, S_BLOCK4_EXPIRED, S_BLOCK_CIDR4, S_BLOCK6, S_BLOCK_CIDR6,
	     S_BLOCK4_EXEMPT, S_BLOCK4_LOOPBACK_OFF, S_RATELIMIT4 };

static const struct fixture {
	const char *what;
	enum setup setup;
	const char *src;
	int unwatched;             /* to another port than the watched one */
	uint8_t flags;
	int pass;                  /* expected verdict: 1 pass, 0 drop */
} fixtures[] = {
	{ "no rule: passes", S_NONE, "192.0.2.7", 0, F_SYN, 1 },
	{ "blocked IPv4 address, SYN: dropped", S_BLOCK4, "192.0.2.7", 0, F_SYN, 0 },
	{ "blocked IPv4 address, data: dropped", S_BLOCK4, "192.0.2.7", 0, F_ACK, 0 },
	{ "blocked address, unwatched port: passes", S_BLOCK4, "192.0.2.7", 1, F_SYN, 1 },
	{ "another address: passes", S_BLOCK4, "192.0.2.8", 0, F_SYN, 1 },
	{ "expired block: passes", S_BLOCK4_EXPIRED, "192.0.2.7", 0, F_SYN, 1 },
	{ "inside a blocked /24: dropped", S_BLOCK_CIDR4, "198.51.100.200", 0, F_SYN, 0 },
	{ "outside the /24: passes", S_BLOCK_CIDR4, "198.51.101.1", 0, F_SYN, 1 },
	{ "blocked IPv6 address: dropped", S_BLOCK6, "2001:db8::7", 0, F_SYN, 0 },
	{ "IPv6 neighbour: passes", S_BLOCK6, "2001:db8::8", 0, F_SYN, 1 },
	{ "inside a blocked IPv6 /64: dropped", S_BLOCK_CIDR6, "2001:db8:1:2::99", 0, F_ACK, 0 },
	{ "outside the /64: passes", S_BLOCK_CIDR6, "2001:db8:1:3::99", 0, F_ACK, 1 },
	{ "IPv6 blocked, unwatched port: passes", S_BLOCK6, "2001:db8::7", 1, F_SYN, 1 },
	{ "blocked but exempt (allow list, SSH peer): passes", S_BLOCK4_EXEMPT, "192.0.2.7",
	  0, F_SYN, 1 },
	{ "blocked, on loopback, enforce_loopback off: passes", S_BLOCK4_LOOPBACK_OFF,
	  "192.0.2.7", 0, F_SYN, 1 },
	{ "rate-limited, data: passes", S_RATELIMIT4, "192.0.2.9", 0, F_ACK, 1 },
};

static void setup_fixture(enum setup s)
{
	reset();
	switch (s) {
	case S_NONE:
		break;
	case S_BLOCK4:
		put_rule("192.0.2.7", 32, DG_ENF_BLOCK, 60000, 1, 0, 0);
		break;
	case S_BLOCK4_EXPIRED:
		put_rule("192.0.2.7", 32, DG_ENF_BLOCK, -1, 1, 0, 0);
		break;
	case S_BLOCK_CIDR4:
		put_rule("198.51.100.0", 24, DG_ENF_BLOCK, 60000, 1, 0, 0);
		break;
	case S_BLOCK6:
		put_rule("2001:db8::7", 128, DG_ENF_BLOCK, 60000, 1, 0, 0);
		break;
	case S_BLOCK_CIDR6:
		put_rule("2001:db8:1:2::", 64, DG_ENF_BLOCK, 60000, 1, 0, 0);
		break;
	case S_BLOCK4_EXEMPT:
		put_rule("192.0.2.0", 24, DG_ENF_BLOCK, 60000, 1, 0, 0);
		put_exempt("192.0.2.7", 32);
		break;
	case S_BLOCK4_LOOPBACK_OFF:
		put_rule("192.0.2.7", 32, DG_ENF_BLOCK, 60000, 1, 0, 0);
		skel->bss->enforce_loopback = 0;   /* test runs arrive on lo */
		break;
	case S_RATELIMIT4:
		put_rule("192.0.2.9", 32, DG_ENF_RATELIMIT, 60000, 1, 0, 2);
		break;
	}
}

static void test_ingress_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		int v;

		setup_fixture(f->setup);
		v = verdict(f->src, f->unwatched ? OTHER : WATCHED, f->flags);
		if (v != f->pass)
			fail_msg("fixture '%s': verdict %d, expected %d", f->what, v, f->pass);
	}
}

/* Drops are counted on the rule's slot. */
static void test_drops_counted(void **state)
{
	(void)state;
	setup_fixture(S_BLOCK4);
	for (int i = 0; i < 5; i++)
		assert_int_equal(verdict("192.0.2.7", WATCHED, F_ACK), 0);
	assert_int_equal(verdict("192.0.2.7", OTHER, F_ACK), 1);
	assert_int_equal(slot_state(1).dropped, 5);
}

/* A rate-limited address gets syn_per_min new connections a minute; data
 * on open connections is never dropped; a spent request budget refuses
 * SYNs until it says. */
static void test_syn_budget(void **state)
{
	struct dg_enf_addr k;
	struct dg_enf_rule r;
	int fd;

	(void)state;
	setup_fixture(S_RATELIMIT4);                       /* 2 a minute */
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN), 1);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN), 1);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN), 0);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN | F_ACK), 1);   /* not a new conn */
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_ACK), 1);
	assert_int_equal(verdict("192.0.2.10", WATCHED, F_SYN), 1);
	assert_int_equal(slot_state(1).syn_refused, 1);

	/* A new window: SYNs pass again. */
	struct dg_enf_state st = slot_state(1);
	uint32_t slot = 1;
	st.window_ns -= DG_ENF_WINDOW_NS;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.state), &slot, &st, BPF_ANY), 0);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN), 1);

	/* The request budget is spent (user space says): SYNs refused. */
	k = prefix("192.0.2.9", 32);
	fd = bpf_map__fd(skel->maps.rules);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &r), 0);
	r.exhausted_until_ns = mono_ns() + 60000000000ULL;
	r.syn_per_min = 0;
	assert_int_equal(bpf_map_update_elem(fd, &k, &r, BPF_ANY), 0);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_SYN), 0);
	assert_int_equal(verdict("192.0.2.9", WATCHED, F_ACK), 1);
}

/* ---------- the sweep, on real sockets ---------- */

struct pair {
	int listener, client, server;
};

static void open_pair(struct pair *p, const char *client_addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(WATCHED) };
	struct sockaddr_in c = { .sin_family = AF_INET };
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	inet_pton(AF_INET, client_addr, &c.sin_addr);
	p->listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(p->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(p->listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->listener, 4), 0);
	p->client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(p->client, (struct sockaddr *)&c, sizeof(c)), 0);
	assert_int_equal(connect(p->client, (struct sockaddr *)&a, sizeof(a)), 0);
	p->server = accept(p->listener, NULL, NULL);
	assert_true(p->server >= 0);
}

static void close_pair(struct pair *p)
{
	close(p->client);
	close(p->server);
	close(p->listener);
}

static void sweep(void)
{
	char buf[64];
	int fd = bpf_iter_create(bpf_link__fd(skel->links.dg_sweep));

	assert_true(fd >= 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static uint32_t pacing(int fd)
{
	uint32_t v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v, &len), 0);
	return v;
}

/* Is the connection still there? The client writes and reads: a cut one
 * was reset. */
static int alive(struct pair *p)
{
	char c = 'x';
	ssize_t n;

	if (send(p->client, &c, 1, MSG_NOSIGNAL) != 1)
		return 0;
	usleep(20000);
	n = recv(p->server, &c, 1, MSG_DONTWAIT);
	return n == 1;
}

static void test_sweep_cuts_blocked_address(void **state)
{
	struct pair p;

	(void)state;
	reset();
	open_pair(&p, "127.0.0.9");
	sweep();
	assert_true(alive(&p));
	put_rule("127.0.0.9", 32, DG_ENF_BLOCK, 60000, 2, 0, 0);
	sweep();
	assert_false(alive(&p));
	assert_int_equal(slot_state(2).cut, 1);
	close_pair(&p);
}

static void test_sweep_leaves_exempt_and_expired(void **state)
{
	struct pair p;

	(void)state;
	reset();
	open_pair(&p, "127.0.0.10");
	put_rule("127.0.0.0", 8, DG_ENF_BLOCK, 60000, 2, 0, 0);
	put_exempt("127.0.0.10", 32);
	sweep();
	assert_true(alive(&p));
	reset();
	put_rule("127.0.0.10", 32, DG_ENF_BLOCK, -1, 2, 0, 0);
	sweep();
	assert_true(alive(&p));
	close_pair(&p);
}

static void test_sweep_cuts_by_cookie(void **state)
{
	struct pair p, q;
	struct dg_enf_conn c = { .slot = 3, .cut = 1 };
	uint64_t cookie;
	socklen_t len = sizeof(cookie);

	(void)state;
	reset();
	open_pair(&p, "127.0.0.11");
	close(p.listener);
	open_pair(&q, "127.0.0.11");
	assert_int_equal(getsockopt(p.server, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
	c.expires_ns = mono_ns() + 60000000000ULL;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.conns), &cookie, &c, BPF_ANY), 0);
	sweep();
	assert_false(alive(&p));           /* the key's connection */
	assert_true(alive(&q));            /* another from the same address */
	assert_int_equal(slot_state(3).cut, 1);
	close(p.client);
	close(p.server);
	close_pair(&q);
}

static void test_sweep_paces_and_unpaces(void **state)
{
	struct pair p;
	struct dg_enf_addr k;

	(void)state;
	reset();
	open_pair(&p, "127.0.0.12");
	assert_int_equal(pacing(p.server), 0xffffffffu);
	put_rule("127.0.0.12", 32, DG_ENF_RATELIMIT, 60000, 4, 250000, 0);
	sweep();
	assert_int_equal(pacing(p.server), 250000);
	assert_true(alive(&p));
	assert_int_equal(slot_state(4).paced, 1);
	sweep();                            /* already paced: not counted again */
	assert_int_equal(slot_state(4).paced, 1);
	k = prefix("127.0.0.12", 32);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.rules), &k), 0);
	sweep();
	assert_int_equal(pacing(p.server), 0xffffffffu);
	close_pair(&p);
}

/* ---------- setup ---------- */

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int setup(void **state)
{
	(void)state;
	WATCHED = free_port();
	OTHER = (uint16_t)(WATCHED + 1);
	skel = enforce_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->watch_ports[0] = WATCHED;
	skel->rodata->n_ports = 1;
	if (enforce_bpf__load(skel)) {
		fprintf(stderr, "test_enforce: the enforcer's BPF object did not load\n");
		return -1;
	}
	skel->links.dg_sweep = bpf_program__attach_iter(skel->progs.dg_sweep, NULL);
	if (!skel->links.dg_sweep) {
		fprintf(stderr, "test_enforce: attaching the sweep iterator: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	enforce_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingress_fixtures),
		cmocka_unit_test(test_drops_counted),
		cmocka_unit_test(test_syn_budget),
		cmocka_unit_test(test_sweep_cuts_blocked_address),
		cmocka_unit_test(test_sweep_leaves_exempt_and_expired),
		cmocka_unit_test(test_sweep_cuts_by_cookie),
		cmocka_unit_test(test_sweep_paces_and_unpaces),
	};

	if (geteuid() != 0) {
		if (getenv("CI")) {
			fprintf(stderr, "test_enforce: needs root, and CI is set: failing\n");
			printf("[  FAILED  ] 1 test(s).\n");
			return 1;
		}
		fprintf(stderr, "test_enforce: needs root: skipped\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
