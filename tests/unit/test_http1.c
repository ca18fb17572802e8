/* test_http1.c — HTTP/1.1 reassembly (http1.c), through the reassembler:
 * requests and responses split at every byte and one byte at a time,
 * keep-alive, pipelining, chunked and SSE bodies, HEAD, interim and early
 * answers, gaps in bodies, malformed and truncated messages, oversized
 * headers, binary junk, and finding the next message after an error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "keyhash.h"
#include "reassemble.h"
#include "reasm_feed.h"

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


static const char OK_EMPTY[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* Deterministic junk (xorshift64), NUL bytes and all. */
static void junk_fill(uint8_t *p, size_t len, uint64_t x)
{
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* Request heads http_parser refuses: each one is a parse error, makes no
 * record, and the well-formed exchange after it is whole. */
static void test_malformed_requests(void **state)
{
	static const char *bad[] = {
		"GET\r\n\r\n",                                             /* no target */
		"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET /\x01 HTTP/1.1\r\n\r\n",                              /* control byte */
		"FOO / HTTP/1.1\r\n\r\n",                                  /* no such method */
		"POST /x HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
	};
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-bad", "/v1/chat/completions", REQ_BODY);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dg_reasm *ra = new_reasm(s);

		open_conn(ra, 30);
		put_str(ra, 30, DG_DIR_IN, bad[i]);
		assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
		put_str(ra, 30, DG_DIR_IN, req);
		put_str(ra, 30, DG_DIR_OUT, RESP_JSON);
		assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
		assert_int_equal(s->n, 1);
		check_basic(&s->recs[0], "sk-bad");
		dg_reasm_free(ra);
	}

	/* A request whose chunked body breaks framing is still a request: it
	 * takes the response the server gives it, marked cut. */
	struct dg_reasm *ra = new_reasm(s);

	open_conn(ra, 31);
	put_str(ra, 31, DG_DIR_IN, "POST /v1/chat/completions HTTP/1.1\r\n"
				   "Transfer-Encoding: chunked\r\n\r\nzz\r\n");
	put_str(ra, 31, DG_DIR_OUT, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 400);
	assert_int_equal(s->recs[0].req_truncated, 1);
	assert_int_equal(s->recs[0].resp_truncated, 0);
	put_str(ra, 31, DG_DIR_IN, req);
	put_str(ra, 31, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "sk-bad");
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* Broken responses: the exchange they belong to is reported cut, the next
 * one is whole. */
static void test_malformed_responses(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-r", "/v1/chat/completions", REQ_BODY);
	struct dg_reasm *ra;

	/* A bad chunk size inside the body: the status was already read. */
	ra = new_reasm(s);
	open_conn(ra, 32);
	put_str(ra, 32, DG_DIR_IN, req);
	put_str(ra, 32, DG_DIR_OUT, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	assert_int_equal(s->recs[0].output_bytes, 0);
	put_str(ra, 32, DG_DIR_IN, req);
	put_str(ra, 32, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "sk-r");
	dg_reasm_free(ra);

	/* A status that is not a number: no status known. */
	ra = new_reasm(s);
	open_conn(ra, 33);
	put_str(ra, 33, DG_DIR_IN, req);
	put_str(ra, 33, DG_DIR_OUT, "HTTP/1.1 abc OK\r\n\r\n");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, -1);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	put_str(ra, 33, DG_DIR_IN, req);
	put_str(ra, 33, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 2);
	check_basic(&s->recs[1], "sk-r");
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* Input that stops short, then the connection ends. */
static void test_truncated_input(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-t", "/v1/chat/completions", REQ_BODY);
	size_t rl = strlen(req), sl = strlen(RESP_JSON);
	struct dg_reasm *ra;

	/* Cut inside the request's headers: no request, but a connection. */
	ra = new_reasm(s);
	put(ra, 34, DG_DIR_IN, req, 60);
	dg_reasm_flush(ra);
	assert_int_equal(s->n, 0);
	assert_int_equal(s->conns, 1);
	assert_int_equal(s->last_conn.requests, 0);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	dg_reasm_free(ra);

	/* Cut inside the request body: a record, cut both ways. */
	ra = new_reasm(s);
	put(ra, 35, DG_DIR_IN, req, rl - 40);
	dg_reasm_flush(ra);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].path, "/v1/chat/completions");
	assert_int_equal(s->recs[0].status, -1);
	assert_int_equal(s->recs[0].req_truncated, 1);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	assert_int_equal(s->recs[0].req_bytes, (int64_t)strlen(REQ_BODY));
	dg_reasm_free(ra);

	/* Cut inside the response body: the bytes that came are counted. */
	ra = new_reasm(s);
	put(ra, 36, DG_DIR_IN, req, rl);
	put(ra, 36, DG_DIR_OUT, RESP_JSON, sl - 100);
	dg_reasm_flush(ra);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(s->recs[0].resp_truncated, 1);
	assert_int_equal(s->recs[0].req_truncated, 0);
	assert_int_equal(s->recs[0].output_bytes, 140);
	assert_int_equal(s->recs[0].output_tokens, -1);
	assert_int_equal(s->last_conn.partial, 1);
	dg_reasm_free(ra);

	/* A body read until the connection closes ends there, whole. */
	ra = new_reasm(s);
	put_str(ra, 37, DG_DIR_IN, "GET /v1/models HTTP/1.1\r\n\r\n");
	put_str(ra, 37, DG_DIR_OUT, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789");
	assert_int_equal(s->n, 0);
	dg_reasm_flush(ra);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(s->recs[0].output_bytes, 10);
	assert_int_equal(s->recs[0].resp_truncated, 0);
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* Header values, names, targets and blocks over their bounds. */
static void test_huge_headers(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-h", "/v1/chat/completions", REQ_BODY);
	size_t size = 200000, off;
	char *buf = malloc(size), url[1000], name[200], key[700];
	struct dg_reasm *ra;

	/* A 120 KB header block is more than http_parser takes: an error,
	 * then the next request is whole. */
	ra = new_reasm(s);
	open_conn(ra, 38);
	off = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 2000; i++)
		off += (size_t)snprintf(buf + off, size - off, "X-H%d: %050d\r\n", i, i);
	snprintf(buf + off, size - off, "\r\n");
	put_str(ra, 38, DG_DIR_IN, buf);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 1);
	put_str(ra, 38, DG_DIR_IN, req);
	put_str(ra, 38, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "sk-h");
	dg_reasm_free(ra);

	/* A 1000-byte target, a 199-byte header name, a 700-byte key and
	 * another 700-byte value: the path is cut to its bound, each value
	 * cut is counted, the key is still a key. */
	ra = new_reasm(s);
	memset(url, 'u', sizeof(url) - 1);
	url[0] = '/';
	url[sizeof(url) - 1] = 0;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	snprintf(buf, size, "GET %s?q=1 HTTP/1.1\r\n%s: v\r\nAuthorization: Bearer %s\r\n"
		 "X-Big: %s\r\n\r\n", url, name, key, key);
	put_str(ra, 39, DG_DIR_IN, buf);
	put_str(ra, 39, DG_DIR_OUT, OK_EMPTY);
	assert_int_equal(s->n, 1);
	assert_int_equal(strlen(s->recs[0].path), DG_PATH_LEN - 1);
	assert_memory_equal(s->recs[0].path, url, DG_PATH_LEN - 1);
	assert_int_equal(strlen(s->recs[0].key), 12);
	assert_true(!strncmp(s->recs[0].client, "key:", 4));
	assert_int_equal(s->recs[0].status, 200);
	assert_int_equal(dg_reasm_stats(ra)->header_truncated, 2);   /* each value cut */
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	dg_reasm_free(ra);
	free(buf);
	free(req);
	free(s);
}

/* Random bytes in odd-sized calls, both ways, on a connection seen from
 * its opening: counted as errors; the exchange after them is whole. */
static void test_binary_junk(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-j", "/v1/chat/completions", REQ_BODY);
	uint8_t junk[5000];
	struct dg_reasm *ra = new_reasm(s);

	junk_fill(junk, sizeof(junk), 88172645463325252ULL);
	open_conn(ra, 40);
	for (size_t i = 0, n; i < sizeof(junk); i += n) {
		n = 1 + i % 7;
		if (n > sizeof(junk) - i)
			n = sizeof(junk) - i;
		put(ra, 40, DG_DIR_IN, (const char *)junk + i, n);
	}
	put_str(ra, 40, DG_DIR_IN, req);
	put(ra, 40, DG_DIR_OUT, (const char *)junk, 100);
	put_str(ra, 40, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 2);
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "sk-j");
	dg_reasm_free(ra);

	/* Joined mid-stream, the same bytes are dropped, not errors. */
	ra = new_reasm(s);
	put(ra, 41, DG_DIR_IN, (const char *)junk, sizeof(junk));
	put_str(ra, 41, DG_DIR_IN, req);
	put_str(ra, 41, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	assert_int_equal(dg_reasm_stats(ra)->resync_dropped, sizeof(junk));
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "sk-j");
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* After an error the parser waits for a message start, which may come a
 * few bytes at a time ("OPTION" then "S ...", "H" then "TTP/1.1 ..."), or
 * right where the error was. */
static void test_message_start_split_after_error(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	uint64_t dropped;

	open_conn(ra, 42);
	put_str(ra, 42, DG_DIR_IN, "\x16\x03\x01 not http\r\n\r\n");
	put_str(ra, 42, DG_DIR_OUT, "\x16\x03\x03 not http either\r\n\r\n");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 2);
	put_str(ra, 42, DG_DIR_IN, "OPTION");
	put_str(ra, 42, DG_DIR_IN, "S /v1/models HTTP/1.1\r\n\r\n");
	put_str(ra, 42, DG_DIR_OUT, "H");
	put_str(ra, 42, DG_DIR_OUT, "TTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].method, "OPTIONS");
	assert_string_equal(s->recs[0].path, "/v1/models");
	assert_int_equal(s->recs[0].status, 204);
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 2);
	/* Bytes that cannot start one are dropped and counted. */
	put_str(ra, 42, DG_DIR_IN, "GE\x01");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 3);
	dropped = dg_reasm_stats(ra)->resync_dropped;
	put_str(ra, 42, DG_DIR_IN, "xyz");
	assert_int_equal(dg_reasm_stats(ra)->resync_dropped, dropped + 3);
	assert_int_equal(s->n, 1);
	/* A message that starts where the error is, in the same call, is
	 * parsed: here a chunked body that never came, then a request. */
	put_str(ra, 42, DG_DIR_IN, "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "GET /v1/models HTTP/1.1\r\n\r\n");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 4);
	put_str(ra, 42, DG_DIR_OUT, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(s->n, 3);
	assert_string_equal(s->recs[1].path, "/a");
	assert_int_equal(s->recs[1].status, 400);
	assert_int_equal(s->recs[1].req_truncated, 1);
	assert_string_equal(s->recs[2].method, "GET");
	assert_string_equal(s->recs[2].path, "/v1/models");
	assert_int_equal(s->recs[2].status, 200);
	assert_int_equal(s->recs[2].output_bytes, 2);
	dg_reasm_free(ra);
	free(s);
}

/* An interim 100 Continue is not the answer; an answer that comes before
 * the request body ended pairs with it, and the rest of that body is not
 * taken for a new request. */
static void test_interim_and_early_answers(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	char *req = chat_request("sk-e", "/v1/chat/completions", REQ_BODY);
	struct dg_reasm *ra = new_reasm(s);

	put_str(ra, 43, DG_DIR_IN, req);
	put_str(ra, 43, DG_DIR_OUT, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(s->n, 0);
	put_str(ra, 43, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 1);
	check_basic(&s->recs[0], "sk-e");

	put_str(ra, 43, DG_DIR_IN, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"
				   "{\"model\":\"x\"");
	put_str(ra, 43, DG_DIR_OUT, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(s->n, 2);
	assert_int_equal(s->recs[1].status, 413);
	assert_int_equal(s->recs[1].req_truncated, 1);
	assert_int_equal(s->recs[1].req_bytes, 1000);
	put_str(ra, 43, DG_DIR_IN, "aaaaaaaaaaaaaaaaaaaa");   /* the body's rest */
	put_str(ra, 43, DG_DIR_IN, req);
	put_str(ra, 43, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 3);
	check_basic(&s->recs[2], "sk-e");
	assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
	assert_int_equal(dg_reasm_stats(ra)->resync_dropped, 20);
	dg_reasm_free(ra);
	free(req);
	free(s);
}

/* A chunked request body is counted chunk by chunk and parsed whole; the
 * query string is not part of the path. */
static void test_chunked_request_and_query(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm *ra = new_reasm(s);
	size_t bl = strlen(REQ_BODY), h = bl / 2;
	char buf[1024];

	snprintf(buf, sizeof(buf), "POST /v1/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
		 h, (int)h, REQ_BODY, bl - h, REQ_BODY + h);
	put_str(ra, 44, DG_DIR_IN, buf);
	put_str(ra, 44, DG_DIR_OUT, RESP_JSON);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].path, "/v1/chat/completions");
	assert_int_equal(s->recs[0].req_bytes, (int64_t)bl);
	assert_string_equal(s->recs[0].model, "gpt-test");
	assert_int_equal(s->recs[0].messages, 2);
	assert_int_equal(s->recs[0].max_tokens, 100);
	assert_int_equal(s->recs[0].req_truncated, 0);
	assert_string_equal(s->recs[0].client, "ip:10.1.2.3");
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
		cmocka_unit_test(test_head_request),
		cmocka_unit_test(test_pending_bound),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_malformed_responses),
		cmocka_unit_test(test_truncated_input),
		cmocka_unit_test(test_huge_headers),
		cmocka_unit_test(test_binary_junk),
		cmocka_unit_test(test_message_start_split_after_error),
		cmocka_unit_test(test_interim_and_early_answers),
		cmocka_unit_test(test_chunked_request_and_query),
	};
	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
