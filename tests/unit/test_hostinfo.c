/* test_hostinfo.c — user/enforce/hostinfo.c on a made-up /proc: the
 * cgroups of the servers on the watched ports (ancestors only), sshd's
 * ports, the peers of established connections; and the host's own
 * addresses from the real machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostinfo.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void sock_fd(const char *pid, int fd, unsigned long inode)
{
	char path[256], target[64];

	snprintf(path, sizeof(path), "%s/%s/fd/%d", root, pid, fd);
	snprintf(target, sizeof(target), "socket:[%lu]", inode);
	assert_int_equal(symlink(target, path), 0);
}

static void proc(const char *pid, const char *comm, const char *cgroup)
{
	char rel[64], text[256];

	dir(pid);
	snprintf(rel, sizeof(rel), "%s/fd", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "%s/comm", pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%s/cgroup", pid);
	snprintf(text, sizeof(text), "12:memory:/elsewhere\n0::%s\n", cgroup);
	put(rel, text);
}

#define HEAD "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
#define TAIL " 00000000:00000000 00:00000000 00000000     0        0 "

static const char tcp6_text[] = HEAD
	    /* listener :8443 on :: (inode 101); sshd on :2222 (201) */
	    "   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A" TAIL
	    "101 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 00000000000000000000000000000000:08AE 00000000000000000000000000000000:0000 0A" TAIL
	    "201 1 0000000000000000 100 0 0 10 0\n"
	    /* established 2001:db8::5 -> :2222, and a v4-mapped 203.0.113.4 -> :2222 */
	    "   2: 00000000000000000000000001000000:08AE B80D0120000000000000000005000000:D434 01" TAIL
	    "402 1 0000000000000000 100 0 0 10 0\n"
	    "   3: 0000000000000000FFFF00000100000A:08AE 0000000000000000FFFF0000047100CB:D435 01" TAIL
	    "403 1 0000000000000000 100 0 0 10 0\n";

/* 127.0.0.1 is 0100007F in /proc/net/tcp (a native-endian word). */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/dg-hostinfo.XXXXXX");
	assert_non_null(mkdtemp(root));
	dir("net");
	put("net/tcp", HEAD
	    /* listeners: 8443 (inode 100), 22 (200), 9000 (300) */
	    "   0: 00000000:20FB 00000000:0000 0A" TAIL "100 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 00000000:0016 00000000:0000 0A" TAIL "200 1 0000000000000000 100 0 0 10 0\n"
	    "   2: 0100007F:2328 00000000:0000 0A" TAIL "300 1 0000000000000000 100 0 0 10 0\n"
	    /* established: 192.0.2.7 -> :22, 198.51.100.9 -> :8443 */
	    "   3: 0A00000A:0016 070200C0:D431 01" TAIL "400 1 0000000000000000 100 0 0 10 0\n"
	    "   4: 0A00000A:20FB 096433C6:D432 01" TAIL "401 1 0000000000000000 100 0 0 10 0\n"
	    /* time-wait to :22 (not a session) */
	    "   5: 0A00000A:0016 080200C0:D433 06" TAIL "0 1 0000000000000000 100 0 0 10 0\n"
	    "garbage line\n");
	put("net/tcp6", tcp6_text);
	/* Two vLLM workers in one service, a child cgroup of it, a server
	 * elsewhere, sshd, and a process with sockets on no watched port. */
	proc("10", "python3", "/system.slice/vllm.service");
	sock_fd("10", 3, 100);
	proc("11", "python3", "/system.slice/vllm.service/worker");
	sock_fd("11", 7, 101);
	proc("12", "nginx", "/system.slice/nginx.service");
	sock_fd("12", 5, 101);
	sock_fd("12", 6, 401);
	proc("20", "sshd", "/system.slice/ssh.service");
	sock_fd("20", 3, 200);
	sock_fd("20", 4, 201);
	proc("30", "redis", "/system.slice/redis.service");
	sock_fd("30", 3, 300);
	dir("self");                      /* not a pid */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static int has(const struct dg_host_scan *s, const char *cg)
{
	for (int i = 0; i < s->n_cgroups; i++)
		if (!strcmp(s->cgroups[i], cg))
			return 1;
	return 0;
}

static void test_scan(void **state)
{
	const uint16_t ports[] = { 8443, 443 };
	struct dg_host_scan s;

	(void)state;
	assert_int_equal(dg_host_scan(root, ports, 2, &s), 0);
	assert_int_equal(s.server_pids, 3);
	assert_int_equal(s.n_cgroups, 2);          /* the worker is inside vllm.service */
	assert_true(has(&s, "/system.slice/vllm.service"));
	assert_true(has(&s, "/system.slice/nginx.service"));
	assert_int_equal(s.n_ssh_ports, 2);
	assert_true((s.ssh_ports[0] == 22 && s.ssh_ports[1] == 2222) ||
		    (s.ssh_ports[0] == 2222 && s.ssh_ports[1] == 22));

	/* The redis port watched instead: only it. */
	const uint16_t other[] = { 9000 };
	assert_int_equal(dg_host_scan(root, other, 1, &s), 0);
	assert_int_equal(s.n_cgroups, 1);
	assert_string_equal(s.cgroups[0], "/system.slice/redis.service");

	/* No /proc: an error, not a crash. */
	assert_int_equal(dg_host_scan("/nonexistent/proc", ports, 2, &s), -1);
}

/* A server in the root cgroup covers every other. */
static void test_root_cgroup(void **state)
{
	const uint16_t ports[] = { 8443 };
	struct dg_host_scan s;

	(void)state;
	proc("40", "uvicorn", "/");
	sock_fd("40", 9, 100);
	assert_int_equal(dg_host_scan(root, ports, 1, &s), 0);
	assert_int_equal(s.n_cgroups, 1);
	assert_string_equal(s.cgroups[0], "/");
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/40", root);
		assert_int_equal(system(cmd), 0);
	}
}

/* The server pids, incrementally: a second scan walks nobody's fds, a
 * new process is walked alone, a new watched listener walks everyone; a
 * process named in names is a server too. */
static void test_servers_incremental(void **state)
{
	const uint16_t ports[] = { 8443 };
	char *names[] = { "sshd" };
	struct dg_host_servers *hs = dg_host_servers_new();
	uint32_t pids[16];
	int over, n, all;

	(void)state;
	n = dg_host_servers_scan(hs, root, ports, 1, NULL, 0, pids, 16, &over);
	assert_int_equal(n, 3);
	assert_true(pids[0] == 10 && pids[1] == 11 && pids[2] == 12);   /* ascending */
	all = dg_host_servers_walked(hs);
	assert_true(all >= 5);
	assert_int_equal(dg_host_servers_scan(hs, root, ports, 1, NULL, 0, pids, 16, &over), 3);
	assert_int_equal(dg_host_servers_walked(hs), 0);
	/* A new worker holding the listener: walked alone, found. */
	proc("13", "python3", "/system.slice/vllm.service");
	sock_fd("13", 3, 100);
	assert_int_equal(dg_host_servers_scan(hs, root, ports, 1, NULL, 0, pids, 16, &over), 4);
	assert_int_equal(dg_host_servers_walked(hs), 1);
	/* A listener that appears later (a server that binds after loading)
	 * makes everyone be looked at again. */
	put("net/tcp6", HEAD
	    "   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A" TAIL
	    "101 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A" TAIL
	    "301 1 0000000000000000 100 0 0 10 0\n");
	proc("14", "late", "/late");
	sock_fd("14", 3, 301);
	n = dg_host_servers_scan(hs, root, ports, 1, NULL, 0, pids, 16, &over);
	assert_int_equal(n, 5);
	assert_int_equal(dg_host_servers_walked(hs), all + 2);
	dg_host_servers_free(hs);
	/* By name (sshd holds no watched listener); and the bound. */
	hs = dg_host_servers_new();
	assert_int_equal(dg_host_servers_scan(hs, root, ports, 1, names, 1, pids, 16, &over), 6);
	n = dg_host_servers_scan(hs, root, ports, 1, names, 1, pids, 2, &over);
	assert_int_equal(n, 2);
	assert_int_equal(over, 4);
	dg_host_servers_free(hs);
	/* Put things back for the other tests. */
	put("net/tcp6", tcp6_text);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/13 %s/14", root, root);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_peers(void **state)
{
	const uint16_t ssh[] = { 22, 2222 };
	struct dg_prefix p[8];
	char s[64];
	int over = -1, n;

	(void)state;
	n = dg_host_peers(root, ssh, 2, p, 8, &over);
	assert_int_equal(n, 3);
	assert_int_equal(over, 0);
	inet_ntop(AF_INET, p[0].addr, s, sizeof(s));
	assert_string_equal(s, "192.0.2.7");
	assert_int_equal(p[0].bits, 32);
	inet_ntop(AF_INET6, p[1].addr, s, sizeof(s));
	assert_string_equal(s, "2001:db8::5");
	assert_int_equal(p[1].bits, 128);
	assert_int_equal(p[2].family, AF_INET);     /* v4-mapped reads as IPv4 */
	inet_ntop(AF_INET, p[2].addr, s, sizeof(s));
	assert_string_equal(s, "203.0.113.4");

	/* The bound: counted, not overrun. */
	n = dg_host_peers(root, ssh, 2, p, 1, &over);
	assert_int_equal(n, 1);
	assert_int_equal(over, 2);
	/* No port: nobody. */
	assert_int_equal(dg_host_peers(root, ssh, 0, p, 8, &over), 0);
}

static void test_addresses(void **state)
{
	struct dg_prefix p[64];
	int n = dg_host_addresses(p, 64), lo = 0;

	(void)state;
	for (int i = 0; i < n; i++)
		if (p[i].family == AF_INET && p[i].addr[0] == 127)
			lo = 1;
	assert_true(lo);                  /* every host has 127.0.0.1 on lo */
	assert_int_equal(dg_host_addresses(p, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_root_cgroup),
		cmocka_unit_test(test_servers_incremental),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
