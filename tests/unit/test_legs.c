/* test_legs.c — one request, one record through a proxy on this host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "legs.h"

#define PROXY 100      /* haproxy: TLS on 8443, connects to 8000 */
#define UPSTREAM 200   /* the inference server on 8000 */
#define CLIENT 300     /* a local process calling 8000 directly */

struct sink {
	struct dg_record recs[32];
	int n;
};

static void out(const struct dg_record *r, void *arg)
{
	struct sink *s = arg;

	if (s->n < 32)
		s->recs[s->n] = *r;
	s->n++;
}

static struct dg_legs *setup(struct sink *s, size_t max_held)
{
	struct dg_legs_config cfg;
	struct dg_legs *l;

	memset(s, 0, sizeof(*s));
	dg_legs_config_default(&cfg);
	if (max_held)
		cfg.max_held = max_held;
	l = dg_legs_new(&cfg, out, s);
	dg_legs_server(l, PROXY);
	dg_legs_server(l, UPSTREAM);
	return l;
}

/* pid connected from 127.0.0.1:lport to to_port. */
static void connect_from(struct dg_legs *l, uint32_t pid, uint16_t lport, uint16_t to_port)
{
	struct dg_conn_event e;

	memset(&e, 0, sizeof(e));
	e.type = DG_EV_CONNECT;
	e.pid = pid;
	e.t.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", e.t.laddr);
	inet_pton(AF_INET, "127.0.0.1", e.t.raddr);
	e.t.lport = lport;
	e.t.rport = to_port;
	dg_legs_connect(l, &e);
}

/* The client's request as the proxy's TLS port sees it. */
static struct dg_record outer(double ts, const char *client_ip, uint16_t client_port, const char *key)
{
	struct dg_record r;

	dg_record_init(&r);
	r.ts = ts;
	r.conn = 1;
	snprintf(r.ip, sizeof(r.ip), "%s", client_ip);
	snprintf(r.peer_ip, sizeof(r.peer_ip), "%s", client_ip);
	r.peer_port = client_port;
	snprintf(r.key, sizeof(r.key), "%s", key);
	snprintf(r.client, sizeof(r.client), "key:%s", key);
	snprintf(r.ja4, sizeof(r.ja4), "t13d1516h2_8daaf6152771_02713d6af862");
	snprintf(r.method, sizeof(r.method), "POST");
	snprintf(r.path, sizeof(r.path), "/v1/chat/completions");
	snprintf(r.model, sizeof(r.model), "m");
	r.req_bytes = 500;
	r.has_prompt_fp = 1;
	r.prompt_fp = 77;
	r.status = 200;
	r.output_tokens = 40;
	r.tls = 1;
	r.port = 8443;
	r.srv_pid = PROXY;
	return r;
}

/* The same request forwarded upstream from the proxy's port lport. */
static struct dg_record inner(const struct dg_record *o, uint16_t lport, double delay)
{
	struct dg_record r = *o;

	r.ts = o->ts + delay;
	r.conn = 2;
	snprintf(r.ip, sizeof(r.ip), "127.0.0.1");
	snprintf(r.peer_ip, sizeof(r.peer_ip), "127.0.0.1");
	r.peer_port = lport;
	r.ja4[0] = 0;
	r.tls = 0;
	r.port = 8000;
	r.srv_pid = UPSTREAM;
	snprintf(r.fwd_ip, sizeof(r.fwd_ip), "%s", o->peer_ip);
	r.fwd_port = o->peer_port;
	return r;
}

static void check_merged(const struct dg_record *m, const char *ip)
{
	assert_int_equal(m->port, 8443);
	assert_string_equal(m->ip, ip);
	assert_int_equal(m->tls, 1);
	assert_true(m->ja4[0] == 't');
	assert_int_equal(m->status, 200);
}

/* Either order of arrival gives one record, with the client's identity. */
static void test_link_either_order(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record i = inner(&o, 50001, 0.002);

	connect_from(l, PROXY, 50001, 8000);
	dg_legs_record(l, &o, 1.0);
	assert_int_equal(s.n, 0);                     /* the outer leg waits */
	dg_legs_record(l, &i, 1.01);
	assert_int_equal(s.n, 1);
	check_merged(&s.recs[0], "203.0.113.9");
	o.ts = 20.0;
	i = inner(&o, 50001, 0.003);
	dg_legs_record(l, &i, 2.0);
	assert_int_equal(s.n, 1);                     /* the inner leg waits */
	dg_legs_record(l, &o, 2.001);
	assert_int_equal(s.n, 2);
	check_merged(&s.recs[1], "203.0.113.9");
	assert_int_equal(dg_legs_stats(l)->linked, 2);
	dg_legs_tick(l, 100);
	assert_int_equal(s.n, 2);
	dg_legs_free(l);
}

/* The merged record takes what only the inner leg saw whole. */
static void test_merge_fills_in(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record i = inner(&o, 50001, 0.002);

	connect_from(l, PROXY, 50001, 8000);
	o.resp_truncated = 1;
	o.output_tokens = -1;
	o.req_truncated = 1;
	o.max_tokens = -1;
	i.max_tokens = 64;
	i.output_tokens = 41;
	dg_legs_record(l, &o, 1.0);
	dg_legs_record(l, &i, 1.0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.recs[0].output_tokens, 41);
	assert_int_equal(s.recs[0].resp_truncated, 0);
	assert_int_equal(s.recs[0].max_tokens, 64);
	assert_int_equal(s.recs[0].req_truncated, 0);
	check_merged(&s.recs[0], "203.0.113.9");
	dg_legs_free(l);
}

/* The proxy names the client: two identical requests from two clients at
 * once are told apart by address and port, not by arrival order. */
static void test_forwarded_decides(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record a = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record b = outer(10.001, "198.51.100.4", 40002, "aaaaaaaaaaaa");
	struct dg_record ia = inner(&a, 50001, 0.010), ib = inner(&b, 50002, 0.0);

	connect_from(l, PROXY, 50001, 8000);
	connect_from(l, PROXY, 50002, 8000);
	dg_legs_record(l, &a, 1.0);
	dg_legs_record(l, &b, 1.0);
	dg_legs_record(l, &ia, 1.0);    /* closer in time to b, but names a */
	dg_legs_record(l, &ib, 1.0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[0].ip, "203.0.113.9");
	assert_int_equal(s.recs[0].peer_port, 40001);
	assert_string_equal(s.recs[1].ip, "198.51.100.4");
	/* A forwarded port that matches no waiting leg links nothing. */
	a.ts = 30;
	ia = inner(&a, 50001, 0.001);
	ia.fwd_port = 1;
	dg_legs_record(l, &a, 5.0);
	dg_legs_record(l, &ia, 5.0);
	assert_int_equal(s.n, 2);
	dg_legs_tick(l, 6.0);
	assert_int_equal(s.n, 2);
	dg_legs_tick(l, 7.5);               /* the window (2 s) has passed */
	assert_int_equal(s.n, 4);
	assert_int_equal(dg_legs_stats(l)->outer_alone, 1);
	assert_int_equal(dg_legs_stats(l)->inner_alone, 1);
	dg_legs_free(l);
}

/* Without forwarding headers: content and timing link the closest pair;
 * a different body or key never links. */
static void test_content_and_timing(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record a = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record b = outer(12.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record ib = inner(&b, 50001, 0.004), other;

	connect_from(l, PROXY, 50001, 8000);
	ib.fwd_ip[0] = 0;
	ib.fwd_port = 0;
	dg_legs_record(l, &a, 1.0);
	dg_legs_record(l, &b, 1.0);
	dg_legs_record(l, &ib, 1.0);
	assert_int_equal(s.n, 1);
	assert_true(s.recs[0].ts == 12.0);
	other = inner(&a, 50001, 0.001);
	other.fwd_ip[0] = 0;
	other.prompt_fp = 78;
	dg_legs_record(l, &other, 1.0);
	assert_int_equal(s.n, 1);
	other.prompt_fp = 77;
	snprintf(other.key, sizeof(other.key), "bbbbbbbbbbbb");
	dg_legs_record(l, &other, 1.0);
	assert_int_equal(s.n, 1);
	other = inner(&a, 50001, 0.001);
	other.ts = a.ts - 1;                /* forwarded before it arrived: no */
	dg_legs_record(l, &other, 1.0);
	assert_int_equal(s.n, 1);
	dg_legs_flush(l);
	assert_int_equal(s.n, 5);
	dg_legs_free(l);
}

/* Records that are no leg pass at once: a local client of the upstream, a
 * server with no proxy, a connect from a process that serves nothing. */
static void test_not_legs_pass(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record direct = inner(&o, 50009, 0);

	connect_from(l, CLIENT, 50009, 8000);
	dg_legs_record(l, &direct, 1.0);
	assert_int_equal(s.n, 1);
	o.srv_pid = UPSTREAM;               /* a server that connects nowhere */
	dg_legs_record(l, &o, 1.0);
	assert_int_equal(s.n, 2);
	assert_int_equal(dg_legs_stats(l)->linked, 0);
	dg_legs_free(l);
}

/* A plain proxy's legs read from packets name no process: the outer leg
 * is put to the processes listening on its port (a second worker of the
 * same proxy made the upstream connect), and the upstream's own records,
 * whose listeners connect nowhere, pass straight through. */
static void test_plain_legs_by_port(void **state)
{
	uint32_t pids[] = { PROXY, PROXY + 1, UPSTREAM };
	uint16_t ports[] = { 8080, 8080, 8000 };
	struct sink s;
	struct dg_legs *l = setup(&s, 0);
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
	struct dg_record i, direct;

	dg_legs_listeners(l, pids, ports, 3);
	o.port = 8080;
	o.tls = 0;
	o.ja4[0] = 0;
	o.srv_pid = 0;                       /* from packets */
	i = inner(&o, 50001, 0.002);
	i.srv_pid = 0;
	direct = inner(&o, 50009, 0);
	direct.srv_pid = 0;
	connect_from(l, PROXY + 1, 50001, 8000);
	connect_from(l, CLIENT, 50009, 8000);
	dg_legs_record(l, &direct, 0.5);
	assert_int_equal(s.n, 1);            /* not a leg: out at once */
	dg_legs_record(l, &o, 1.0);
	assert_int_equal(s.n, 1);            /* the outer leg waits */
	dg_legs_record(l, &i, 1.01);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.recs[1].port, 8080);
	assert_string_equal(s.recs[1].ip, "203.0.113.9");
	assert_int_equal(dg_legs_stats(l)->linked, 1);
	/* A proxy that does not listen on the outer leg's port is not its
	 * forwarder: both legs go out alone at the window's end. */
	dg_legs_listeners(l, pids, ports, 1);   /* only PROXY listens on 8080 */
	o.ts = 20.0;
	i = inner(&o, 50001, 0.002);
	i.srv_pid = 0;
	dg_legs_record(l, &o, 2.0);
	dg_legs_record(l, &i, 2.01);
	assert_int_equal(dg_legs_stats(l)->linked, 1);
	dg_legs_tick(l, 100);
	assert_int_equal(s.n, 4);
	dg_legs_free(l);
}

/* nginx -> haproxy -> upstream, all watched: three records, one request,
 * in every order of arrival. */
static void test_chain(void **state)
{
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};

	for (int k = 0; k < 6; k++) {
		struct sink s;
		struct dg_legs *l = setup(&s, 0);
		struct dg_record recs[3];

		dg_legs_server(l, 400);     /* nginx on 443, connects to haproxy's 8443 */
		connect_from(l, 400, 51000, 8443);
		connect_from(l, PROXY, 50001, 8000);
		recs[0] = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");
		recs[0].srv_pid = 400;
		recs[0].port = 443;
		recs[1] = inner(&recs[0], 51000, 0.001);
		recs[1].port = 8443;
		recs[1].srv_pid = PROXY;
		recs[1].tls = 1;
		recs[2] = inner(&recs[1], 50001, 0.001);
		for (int j = 0; j < 3; j++)
			dg_legs_record(l, &recs[orders[k][j]], 1.0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.recs[0].port, 443);
		assert_string_equal(s.recs[0].ip, "203.0.113.9");
		assert_int_equal(dg_legs_stats(l)->linked, 2);
		dg_legs_free(l);
	}
}

/* Thousands of client processes connecting to the upstream port do not
 * push the proxy out; a proxy seen serving only after its connect counts. */
static void test_many_clients(void **state)
{
	struct sink s;
	struct dg_legs_config cfg;
	struct dg_legs *l;
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa"), i;

	memset(&s, 0, sizeof(s));
	dg_legs_config_default(&cfg);
	l = dg_legs_new(&cfg, out, &s);
	connect_from(l, PROXY, 50001, 8000);      /* before it is known to serve */
	for (uint32_t pid = 1000; pid < 1500; pid++)
		connect_from(l, pid, (uint16_t)(20000 + pid), 8000);
	dg_legs_server(l, UPSTREAM);
	dg_legs_server(l, PROXY);
	for (uint32_t pid = 2000; pid < 20000; pid++)
		connect_from(l, pid, (uint16_t)(20000 + pid % 40000), 8000);
	i = inner(&o, 50001, 0.001);
	dg_legs_record(l, &o, 1.0);
	dg_legs_record(l, &i, 1.0);
	assert_int_equal(s.n, 1);
	assert_int_equal(dg_legs_stats(l)->linked, 1);
	dg_legs_free(l);
}

/* The bound on waiting legs: the oldest goes alone, counted. */
static void test_bound(void **state)
{
	struct sink s;
	struct dg_legs *l = setup(&s, 2);
	struct dg_record o = outer(10.0, "203.0.113.9", 40001, "aaaaaaaaaaaa");

	connect_from(l, PROXY, 50001, 8000);
	for (int k = 0; k < 5; k++) {
		o.ts = 10.0 + k;
		dg_legs_record(l, &o, 1.0);
	}
	assert_int_equal(s.n, 3);
	assert_int_equal(dg_legs_stats(l)->held_full, 3);
	assert_true(s.recs[0].ts == 10.0);
	dg_legs_free(l);                    /* the rest are emitted, not lost */
	assert_int_equal(s.n, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_either_order),
		cmocka_unit_test(test_merge_fills_in),
		cmocka_unit_test(test_forwarded_decides),
		cmocka_unit_test(test_content_and_timing),
		cmocka_unit_test(test_not_legs_pass),
		cmocka_unit_test(test_plain_legs_by_port),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_many_clients),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests_name("legs", tests, NULL, NULL);
}
