/* test_reassemble.c — per-connection reassembly (reassemble.c): the
 * connection's lifecycle (close, grace, sweep, summary), where pieces go in
 * each direction's stream (gaps, overlaps, restarts), joining a connection
 * mid-stream, and the bound on the connection table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "reassemble.h"
#include "netaddr.h"
#include "reasm_feed.h"

/* Close before the response: the request is still a record, marked partial;
 * the connection summary carries the kernel's counters. */
static void test_close_pending(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *req = chat_request("c", "/v1/chat/completions", REQ_BODY);
	struct dg_conn_event e;

	memset(&e, 0, sizeof(e));
	e.type = DG_EV_OPEN;
	e.conn = 14;
	e.ts_ns = now;
	e.t.family = AF_INET;
	inet_pton(AF_INET, "10.9.9.9", e.t.raddr);
	e.t.lport = 8443;
	dg_reasm_open(ra, &e);
	put_str(ra, 14, DG_DIR_IN, req);
	e.type = DG_EV_CLOSE;
	e.ts_ns = now + 5000000;
	e.bytes_in = 999;
	e.srtt_us = 42;
	dg_reasm_close(ra, &e);
	dg_reasm_sweep(ra, e.ts_ns + 100);       /* within the grace period */
	assert_int_equal(s->n, 0);
	dg_reasm_sweep(ra, e.ts_ns + 2000000000ULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, -1);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	assert_string_equal(s->recs[0].ip, "10.9.9.9");
	assert_int_equal(s->conns, 1);
	assert_int_equal(s->last_conn.srtt_us, 42);
	assert_int_equal(s->last_conn.requests, 1);
	assert_int_equal(dg_reasm_conns(ra), 0);

	/* A connection that never sends a whole request is still reported. */
	e.conn = 15;
	e.type = DG_EV_OPEN;
	dg_reasm_open(ra, &e);
	put_str(ra, 15, DG_DIR_IN, "POST /v1/chat/completions HTTP/1.1\r\nHost");
	e.type = DG_EV_CLOSE;
	dg_reasm_close(ra, &e);
	dg_reasm_sweep(ra, e.ts_ns + 2000000000ULL);
	assert_int_equal(s->conns, 2);
	assert_int_equal(s->last_conn.requests, 0);
	assert_int_equal(s->n, 1);
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* Pieces are placed by seq + off: a late piece is dropped and counted, a
 * jump is a gap of exactly the missing bytes, a count that starts over is
 * followed, and bytes the close event counted but never came are a gap. */
static void test_stream_positions(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	const char *req = "GET /v1/models HTTP/1.1\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
	size_t rl = strlen(resp);
	struct dg_chunk c = dg_chunk_call(5, DG_DIR_IN, req, strlen(req));
	struct dg_conn_event close;

	c.seq = 0;
	c.len = c.call_len = 10;
	dg_reasm_chunk(ra, &c);
	c = dg_chunk_call(5, DG_DIR_IN, req + 10, strlen(req) - 10);
	c.seq = 10;
	dg_reasm_chunk(ra, &c);
	dg_reasm_chunk(ra, &c);                         /* the same call again: behind */
	assert_int_equal(dg_reasm_stats(ra)->overlap_dropped, strlen(req) - 10);
	c = dg_chunk_call(5, DG_DIR_OUT, resp, rl - 4); /* the body's last 4 bytes ... */
	c.seq = 0;
	dg_reasm_chunk(ra, &c);
	c = dg_chunk_call(5, DG_DIR_OUT, resp, rl);     /* ... lost: the next call is at rl */
	c.seq = rl;
	dg_reasm_chunk(ra, &c);
	assert_int_equal(dg_reasm_stats(ra)->gaps, 1);
	assert_int_equal(dg_reasm_stats(ra)->gap_bytes, 4);
	assert_int_equal(dg_reasm_stats(ra)->skipped_bytes, 0);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(s->recs[0].resp_truncated, 1);  /* the gap fell in its body */
	/* The kernel's count starts over: carried on, counted. */
	c = dg_chunk_call(5, DG_DIR_IN, req, strlen(req));
	c.seq = 0;
	dg_reasm_chunk(ra, &c);
	assert_int_equal(dg_reasm_stats(ra)->seq_resets, 1);
	c = dg_chunk_call(5, DG_DIR_OUT, resp, rl);
	c.seq = 2 * rl;
	dg_reasm_chunk(ra, &c);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->recs[1].resp_truncated, 0);
	/* The close says 100 more response bytes were captured than came. */
	memset(&close, 0, sizeof(close));
	close.type = DG_EV_CLOSE;
	close.conn = 5;
	close.ts_ns = now;
	close.st.app_in = strlen(req);
	close.st.app_out = 3 * rl + 100;
	dg_reasm_close(ra, &close);
	dg_reasm_flush(ra);
	assert_int_equal(dg_reasm_stats(ra)->gaps, 2);
	assert_int_equal(dg_reasm_stats(ra)->gap_bytes, 104);
	dg_reasm_free(ra);
	free(s);
}

/* Joined mid-stream (a connection older than the tracer: no opening seen,
 * the kernel counts from the first call it captured): what comes before the
 * next message start is dropped, not a parse error. */
static void test_joined_mid_stream(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *req = chat_request("m", "/v1/chat/completions", REQ_BODY);
	const char *tail = "ages\":[]}";
	static const uint8_t h2frames[] = { 0, 0, 4, 1, 4, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0x41 };
	struct dg_chunk c = dg_chunk_call(21, DG_DIR_IN, tail, strlen(tail));

	c.seq = 0;                          /* the end of a body we did not see */
	c.other_seq = 0;
	dg_reasm_chunk(ra, &c);
	c = dg_chunk_call(21, DG_DIR_IN, req, strlen(req));
	c.seq = strlen(tail);
	c.other_seq = 0;
	dg_reasm_chunk(ra, &c);
	c = dg_chunk_call(21, DG_DIR_OUT, RESP_JSON, strlen(RESP_JSON));
	c.seq = 0;
	c.other_seq = strlen(tail) + strlen(req);
	dg_reasm_chunk(ra, &c);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].model, "gpt-test");
	assert_int_equal(s->recs[0].output_tokens, 3);
	assert_int_equal(s->recs[0].resp_truncated, 0);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	assert_int_equal(dg_reasm_stats(ra)->resync_dropped, strlen(tail));
	/* An HTTP/2 connection joined mid-stream: no records, no errors. */
	c = dg_chunk_call(22, DG_DIR_IN, h2frames, sizeof(h2frames));
	c.seq = 0;
	dg_reasm_chunk(ra, &c);
	dg_reasm_flush(ra);
	assert_int_equal(s->n, 1);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* The connection table is bounded; eviction is counted. */
static void test_conn_bound(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;

	memset(s, 0, sizeof(*s));
	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	cfg.max_conns = 16;
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	for (uint64_t i = 0; i < 100; i++)
		put_str(ra, 1000 + i, DG_DIR_IN, "GET / HTTP/1.1\r\n\r\n");
	assert_true(dg_reasm_conns(ra) <= 16);
	assert_int_equal(dg_reasm_stats(ra)->conns_evicted, 84);
	assert_int_equal(s->n, 84);    /* evicted requests are still reported */
	dg_reasm_free(ra);
	free(s);
}

/* Upstream mode: a request read on the upstream from a trusted proxy that
 * names its client's address and port is tied to the client's own
 * connection on a front port (the record's front_port; the head names
 * that connection and the client's address); a name with no such
 * connection, an untrusted peer, or no port, ties nothing. */
static struct dg_head last_head;
static int heads;

static void on_head(const struct dg_head *h, void *arg)
{
	(void)arg;
	last_head = *h;
	heads++;
}

static void open_at(struct dg_reasm *ra, uint64_t conn, const char *peer, uint16_t rport,
		    uint16_t lport)
{
	struct dg_conn_event e;

	memset(&e, 0, sizeof(e));
	e.type = DG_EV_OPEN;
	e.conn = conn;
	e.ts_ns = now;
	e.t.family = AF_INET;
	inet_pton(AF_INET, peer, e.t.raddr);
	inet_pton(AF_INET, "127.0.0.1", e.t.laddr);
	e.t.lport = lport;
	e.t.rport = rport;
	dg_reasm_open(ra, &e);
}

static void upstream_request(struct dg_reasm *ra, uint64_t conn, const char *headers)
{
	char req[1024];

	snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer sk-up\r\n%sContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", headers, strlen(REQ_BODY), REQ_BODY);
	put_str(ra, conn, DG_DIR_IN, req);
	put_str(ra, conn, DG_DIR_OUT, RESP_JSON);
}

static void test_upstream_tie(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;

	(void)state;
	memset(s, 0, sizeof(*s));
	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	cfg.mono_to_real = 1700000000.0;
	cfg.front_ports[cfg.n_front_ports++] = 8443;
	assert_int_equal(dg_prefix_parse("127.0.0.1", &cfg.proxies[0]), 0);
	cfg.n_proxies = 1;
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	dg_reasm_on_head(ra, on_head, NULL);
	open_at(ra, 1, "203.0.113.5", 40000, 8443);       /* the client, at the proxy */
	open_at(ra, 2, "127.0.0.1", 50000, 8000);         /* the proxy, at the upstream */
	open_at(ra, 3, "192.0.2.9", 40000, 8000);         /* someone else, direct */

	upstream_request(ra, 2, "Forwarded: for=\"203.0.113.5:40000\"\r\n");
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].front_port, 8443);
	assert_string_equal(s->recs[0].ip, "203.0.113.5");
	assert_int_equal(last_head.conn, 1);
	assert_string_equal(last_head.peer_ip, "203.0.113.5");
	assert_int_equal(last_head.tied, 1);

	/* X-Forwarded-For and the port header do it too. */
	upstream_request(ra, 2, "X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Port: 40000\r\n");
	assert_int_equal(s->recs[1].front_port, 8443);
	assert_int_equal(last_head.conn, 1);

	/* Another port: no such connection, nothing tied, counted. */
	upstream_request(ra, 2, "Forwarded: for=\"203.0.113.5:40001\"\r\n");
	assert_int_equal(s->recs[2].front_port, 0);
	assert_int_equal(last_head.conn, 2);
	assert_int_equal(dg_reasm_stats(ra)->front_untied, 1);

	/* A peer that is not a trusted proxy names nobody. */
	upstream_request(ra, 3, "Forwarded: for=\"203.0.113.5:40000\"\r\n");
	assert_int_equal(s->recs[3].front_port, 0);
	assert_string_equal(s->recs[3].ip, "192.0.2.9");
	assert_int_equal(last_head.conn, 3);
	assert_int_equal(dg_reasm_stats(ra)->front_tied, 2);

	/* The front connection gone: nothing to tie to any more. */
	{
		struct dg_conn_event e;

		memset(&e, 0, sizeof(e));
		e.type = DG_EV_CLOSE;
		e.conn = 1;
		e.ts_ns = now;
		dg_reasm_close(ra, &e);
		dg_reasm_sweep(ra, now + 5000000000ULL);
	}
	upstream_request(ra, 2, "Forwarded: for=\"203.0.113.5:40000\"\r\n");
	assert_int_equal(s->recs[s->n - 1].front_port, 0);
	dg_reasm_free(ra);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_pending),
		cmocka_unit_test(test_stream_positions),
		cmocka_unit_test(test_joined_mid_stream),
		cmocka_unit_test(test_conn_bound),
		cmocka_unit_test(test_upstream_tie),
	};
	return cmocka_run_group_tests_name("reassemble", tests, NULL, NULL);
}
