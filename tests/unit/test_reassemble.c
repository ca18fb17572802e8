/* test_reassemble.c — HTTP/1.1 reassembly from captured calls: every split
 * point, keep-alive, pipelining, chunked and SSE bodies, gaps, junk. */
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
#include "keyhash.h"

static const uint8_t secret[16] = "0123456789abcdef";

#define SINK_SECRET secret
#include "reasm_sink.h"

static uint64_t now = 1000000000ULL;

/* One captured call: head bytes, then len - head - tail bytes not sent
 * (the call's bound is head), then tail bytes: two pieces, as the kernel
 * sends them. */
static void put_cut(struct dg_reasm *ra, uint64_t conn, int dir, const char *data,
		    size_t len, size_t head, size_t tail)
{
	struct dg_chunk c = dg_chunk_call(conn, dir, data, head);

	c.src = DG_SRC_TLS;
	c.t.family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", c.t.raddr);
	inet_pton(AF_INET, "127.0.0.1", c.t.laddr);
	c.t.lport = 8443;
	c.t.rport = 40000;
	now += 1000000;     /* 1 ms per call */
	c.ts_ns = now;
	c.call_len = (uint32_t)len;
	c.bound = tail ? (uint32_t)head : 0;
	dg_reasm_chunk(ra, &c);
	if (!tail)
		return;
	c.off = (uint32_t)(len - tail);
	c.data = (const uint8_t *)data + len - tail;
	c.len = tail;
	dg_reasm_chunk(ra, &c);
}

/* The connection's opening, as conn.bpf.c reports it. */
static void open_conn(struct dg_reasm *ra, uint64_t conn)
{
	struct dg_conn_event e;

	memset(&e, 0, sizeof(e));
	e.type = DG_EV_OPEN;
	e.conn = conn;
	e.ts_ns = now;
	e.t.family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", e.t.raddr);
	inet_pton(AF_INET, "127.0.0.1", e.t.laddr);
	e.t.lport = 8443;
	e.t.rport = 40000;
	dg_reasm_open(ra, &e);
}

static void put(struct dg_reasm *ra, uint64_t conn, int dir, const char *data, size_t len)
{
	put_cut(ra, conn, dir, data, len, len, 0);
}

static void put_str(struct dg_reasm *ra, uint64_t conn, int dir, const char *s)
{
	put(ra, conn, dir, s, strlen(s));
}

static const char *REQ_BODY =
	"{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
	"{\"role\":\"user\",\"content\":\"Think step by step: what is 17 * 23?\"}],"
	"\"model\":\"gpt-test\",\"max_tokens\":100,\"stream\":false,\"temperature\":0.5}";

static char *chat_request(const char *key, const char *path, const char *body)
{
	char *buf = malloc(8192);

	snprintf(buf, 8192,
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
		 "Accept: application/json\r\nContent-Type: application/json\r\n"
		 "User-Agent: OpenAI/JS 4.104.0\r\nAuthorization: Bearer %s\r\n"
		 "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s",
		 path, key, strlen(body), body);
	return buf;
}

static const char *RESP_JSON =
	"HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.7\r\n"
	"Content-Type: application/json\r\nContent-Length: 240\r\n\r\n"
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-test\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"tok1 tok2 tok3 \"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":3,"
	"\"total_tokens\":23}}";

static void check_basic(const struct dg_record *r, const char *key)
{
	char want[13];

	dg_key_hash(secret, key, strlen(key), want);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/v1/chat/completions");
	assert_int_equal(r->status, 200);
	assert_string_equal(r->model, "gpt-test");
	assert_int_equal(r->stream, 0);
	assert_string_equal(r->key, want);
	assert_string_equal(r->ip, "10.1.2.3");
	assert_true(!strncmp(r->client, "key:", 4) && !strcmp(r->client + 4, want));
	assert_int_equal(r->messages, 2);
	assert_int_equal(r->max_tokens, 100);
	assert_int_equal(r->cot_prompt, 1);
	assert_int_equal(r->output_tokens, 3);
	assert_int_equal(r->output_bytes, 240);
	assert_true(r->duration_ms > 0);
	assert_true(r->ttfb_ms >= 0);
	assert_int_equal(r->resp_truncated, 0);
	assert_int_equal(r->req_truncated, 0);
}

/* Request and response each split in two at every byte offset. */
static void test_every_split(void **state)
{
	char *req = chat_request("sk-secret-1", "/v1/chat/completions", REQ_BODY);
	size_t rl = strlen(req), sl = strlen(RESP_JSON);
	struct sink *s = malloc(sizeof(*s));

	for (size_t i = 0; i <= rl; i += 1) {
		size_t j = (i * 7) % (sl + 1);
		struct dg_reasm *ra = new_reasm(s);

		put(ra, 1, DG_DIR_IN, req, i);
		put(ra, 1, DG_DIR_IN, req + i, rl - i);
		put(ra, 1, DG_DIR_OUT, RESP_JSON, j);
		put(ra, 1, DG_DIR_OUT, RESP_JSON + j, sl - j);
		assert_int_equal(s->n, 1);
		check_basic(&s->recs[0], "sk-secret-1");
		dg_reasm_free(ra);
	}
	for (size_t j = 0; j <= sl; j++) {
		struct dg_reasm *ra = new_reasm(s);

		put(ra, 1, DG_DIR_IN, req, rl);
		put(ra, 1, DG_DIR_OUT, RESP_JSON, j);
		put(ra, 1, DG_DIR_OUT, RESP_JSON + j, sl - j);
		assert_int_equal(s->n, 1);
		check_basic(&s->recs[0], "sk-secret-1");
		dg_reasm_free(ra);
	}
	free(s);
	free(req);
}

/* Byte by byte: every call a single byte. */
static void test_byte_at_a_time(void **state)
{
	char *req = chat_request("sk-secret-1", "/v1/chat/completions", REQ_BODY);
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);

	for (size_t i = 0; req[i]; i++)
		put(ra, 7, DG_DIR_IN, req + i, 1);
	for (size_t i = 0; RESP_JSON[i]; i++)
		put(ra, 7, DG_DIR_OUT, RESP_JSON + i, 1);
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "sk-secret-1");
	dg_reasm_free(ra);
	free(s);
	free(req);
}

static char *sse_response(int tokens, int usage)
{
	char *buf = malloc(65536);
	size_t off = 0;

	off += (size_t)snprintf(buf + off, 65536 - off,
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		"Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i <= tokens + 1 + usage; i++) {
		char ev[512];
		int n;

		if (i == 0)
			n = snprintf(ev, sizeof(ev), "data: {\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
		else if (i <= tokens)
			n = snprintf(ev, sizeof(ev), "data: {\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \\\"q\\\" \"}}]}\n\n", i);
		else if (i == tokens + 1)
			n = snprintf(ev, sizeof(ev), "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
		else
			n = snprintf(ev, sizeof(ev), "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", tokens, tokens + 5);
		off += (size_t)snprintf(buf + off, 65536 - off, "%x\r\n%s\r\n", n, ev);
	}
	off += (size_t)snprintf(buf + off, 65536 - off, "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
	return buf;
}

/* A stream, cut at every offset; without usage the content events count. */
static void test_sse_every_split(void **state)
{
	const char *body = "{\"model\":\"gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	char *req = chat_request("k2", "/v1/chat/completions", body);
	struct sink *s = malloc(sizeof(*s));

	for (int usage = 0; usage <= 1; usage++) {
		char *resp = sse_response(9, usage);
		size_t len = strlen(resp);

		for (size_t i = 0; i <= len; i++) {
			struct dg_reasm *ra = new_reasm(s);

			put_str(ra, 3, DG_DIR_IN, req);
			put(ra, 3, DG_DIR_OUT, resp, i);
			put(ra, 3, DG_DIR_OUT, resp + i, len - i);
			assert_int_equal(s->n, 1);
			assert_int_equal(s->recs[0].stream, 1);
			assert_int_equal(s->recs[0].status, 200);
			assert_int_equal(s->recs[0].output_tokens, 9);
			dg_reasm_free(ra);
		}
		free(resp);
	}
	free(s);
	free(req);
}

/* Keep-alive: several exchanges in turn; pipelining: requests back to back. */
static void test_keepalive_and_pipelining(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *a = chat_request("ka", "/v1/chat/completions", REQ_BODY);
	char both[20000];

	for (int i = 0; i < 5; i++) {
		put_str(ra, 9, DG_DIR_IN, a);
		put_str(ra, 9, DG_DIR_OUT, RESP_JSON);
	}
	assert_int_equal(s->n, 5);
	for (int i = 0; i < 5; i++)
		check_basic(&s->recs[i], "ka");

	/* Two requests in one call, their responses in one call. */
	snprintf(both, sizeof(both), "%s%s", a, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
	put_str(ra, 9, DG_DIR_IN, both);
	snprintf(both, sizeof(both), "%s%s", RESP_JSON,
		 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	put_str(ra, 9, DG_DIR_OUT, both);
	assert_int_equal(s->n, 7);
	check_basic(&s->recs[5], "ka");
	assert_string_equal(s->recs[6].path, "/v1/models");
	assert_string_equal(s->recs[6].method, "GET");
	assert_int_equal(s->recs[6].status, 404);
	assert_string_equal(s->recs[6].client, "ip:10.1.2.3");
	dg_reasm_free(ra);
	free(a);
	free(s);
}

/* The middle of a large response was not captured: Content-Length framing
 * holds, and usage is found in the tail. */
static void test_gap_in_body(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *req = chat_request("g", "/v1/chat/completions", REQ_BODY);
	size_t blen = 60000;
	char *resp = malloc(blen + 512);
	char *body = malloc(blen + 1);
	size_t off;
	int n;

	n = snprintf(body, blen + 1, "{\"id\":\"x\",\"model\":\"gpt-test\",\"choices\":[{\"message\":{\"content\":\"");
	memset(body + n, 'a', blen - (size_t)n);
	off = blen - 80;
	snprintf(body + off, 81, "\"}}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":777,\"total_tokens\":781}}");
	body[blen] = 0;
	blen = strlen(body);
	n = snprintf(resp, blen + 512, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s", blen, body);
	put_str(ra, 11, DG_DIR_IN, req);
	put_cut(ra, 11, DG_DIR_OUT, resp, (size_t)n, 16384, 4096);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(s->recs[0].output_tokens, 777);
	assert_int_equal(s->recs[0].output_bytes, (int64_t)blen);
	/* The connection goes on normally. */
	put_str(ra, 11, DG_DIR_IN, req);
	put_str(ra, 11, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "g");
	assert_int_equal(dg_reasm_stats(ra)->gaps_framing_lost, 0);
	dg_reasm_free(ra);
	free(req);
	free(resp);
	free(body);
	free(s);
}

/* A gap across chunk framing loses the message: it is reported truncated
 * and the next exchange is parsed after resynchronising. */
static void test_gap_breaks_chunked(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *req = chat_request("h", "/v1/chat/completions", REQ_BODY);
	char *resp = sse_response(400, 0);
	size_t len = strlen(resp);

	put_str(ra, 12, DG_DIR_IN, req);
	put_cut(ra, 12, DG_DIR_OUT, resp, len, 2000, 1000);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(dg_reasm_stats(ra)->gaps_framing_lost, 1);
	put_str(ra, 12, DG_DIR_IN, req);
	put_str(ra, 12, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "h");
	dg_reasm_free(ra);
	free(req);
	free(resp);
	free(s);
}

/* Binary junk and malformed HTTP are counted; what follows still parses. */
static void test_junk_then_valid(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	char *req = chat_request("j", "/v1/chat/completions", REQ_BODY);
	uint8_t junk[3000];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	open_conn(ra, 13);          /* opened while watched: junk is an error */
	put(ra, 13, DG_DIR_IN, (const char *)junk, sizeof(junk));
	put_str(ra, 13, DG_DIR_IN, "POST /x HTTP/1.1\r\nContent-Length: zz\r\n\r\n");
	put_str(ra, 13, DG_DIR_IN, req);
	put_str(ra, 13, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 2);
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "j");
	/* A garbled response line is counted; the next exchange is whole. */
	put_str(ra, 13, DG_DIR_OUT, "HTTP/1.1 2OO OK\r\n\r\n");
	put_str(ra, 13, DG_DIR_IN, req);
	put_str(ra, 13, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 3);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "j");
	dg_reasm_free(ra);
	free(req);
	free(s);
}

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

static void test_forwarded_for(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	const char *req =
		"GET /health HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.200\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	memset(s, 0, sizeof(*s));
	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	dg_prefix_parse("10.1.2.0/24", &cfg.proxies[0]);
	cfg.n_proxies = 1;
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	put_str(ra, 16, DG_DIR_IN, req);
	put_str(ra, 16, DG_DIR_OUT, resp);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].ip, "203.0.113.7");
	assert_string_equal(s->recs[0].client, "ip:203.0.113.7");
	dg_reasm_free(ra);

	/* An untrusted peer's header is ignored. */
	cfg.n_proxies = 0;
	memset(s, 0, sizeof(*s));
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	put_str(ra, 17, DG_DIR_IN, req);
	put_str(ra, 17, DG_DIR_OUT, resp);
	assert_string_equal(s->recs[0].ip, "10.1.2.3");
	dg_reasm_free(ra);
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

static void test_head_request(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);

	put_str(ra, 18, DG_DIR_IN, "HEAD /v1/models HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
	put_str(ra, 18, DG_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(s->n, 2);
	assert_string_equal(s->recs[0].method, "HEAD");
	assert_string_equal(s->recs[1].path, "/health");
	assert_int_equal(s->recs[1].output_bytes, 2);
	dg_reasm_free(ra);
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

/* The pipelining queue is bounded per connection. */
static void test_pending_bound(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);

	for (int i = 0; i < 40; i++)
		put_str(ra, 19, DG_DIR_IN, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(dg_reasm_stats(ra)->pending_full, 24);
	assert_int_equal(s->n, 24);
	dg_reasm_free(ra);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_sse_every_split),
		cmocka_unit_test(test_keepalive_and_pipelining),
		cmocka_unit_test(test_gap_in_body),
		cmocka_unit_test(test_gap_breaks_chunked),
		cmocka_unit_test(test_junk_then_valid),
		cmocka_unit_test(test_close_pending),
		cmocka_unit_test(test_forwarded_for),
		cmocka_unit_test(test_stream_positions),
		cmocka_unit_test(test_joined_mid_stream),
		cmocka_unit_test(test_head_request),
		cmocka_unit_test(test_conn_bound),
		cmocka_unit_test(test_pending_bound),
	};
	return cmocka_run_group_tests_name("reassemble", tests, NULL, NULL);
}
