/* test_h2streams.c — HTTP/2 connections through the reassembler: streams
 * become records (keys, paths, bodies, SSE answers), whatever the split;
 * resets, losses and the stream bound are said in the records and counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "reassemble.h"
#include "keyhash.h"

static const uint8_t secret[16] = "h2h2h2h2h2h2h2h2";
static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#define SINK_SECRET secret
#include "reasm_sink.h"

struct bytes {
	uint8_t *p;
	size_t len;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void frame(struct bytes *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p,
		  size_t n)
{
	uint8_t h[9] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			 (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
			 (uint8_t)stream };

	put(b, h, 9);
	if (n)
		put(b, p, n);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE }

static void headers(struct bytes *b, nghttp2_hd_deflater *d, uint32_t stream, int end,
		    const nghttp2_nv *nv, size_t n)
{
	uint8_t block[4096];
	ssize_t len = nghttp2_hd_deflate_hd(d, block, sizeof(block), nv, n);

	assert_true(len > 0);
	frame(b, 0x1, 0x4 | (end ? 0x1 : 0), stream, block, (size_t)len);
}

/* A client (IN) and server (OUT) conversation with two streams: a POST
 * streamed as SSE, and a GET; the request body in two DATA frames. */
struct conv {
	struct bytes in, out;
	nghttp2_hd_deflater *cd, *sd;
};

static const char *BODY1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: 2+2?\"}],";
static const char *BODY2 = "\"model\":\"h2-model\",\"stream\":true,\"max_tokens\":50,\"logprobs\":true}";

static void conv_init(struct conv *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(nghttp2_hd_deflate_new(&c->cd, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&c->sd, 4096), 0);
}

static void conv_free(struct conv *c)
{
	free(c->in.p);
	free(c->out.p);
	nghttp2_hd_deflate_del(c->cd);
	nghttp2_hd_deflate_del(c->sd);
}

static void client_start(struct conv *c)
{
	put(&c->in, PREFACE, 24);
	frame(&c->in, 0x4, 0, 0, NULL, 0);
}

static void server_settings(struct conv *c)
{
	frame(&c->out, 0x4, 0, 0, NULL, 0);
}

static void post(struct conv *c, uint32_t stream, const char *key)
{
	char auth[64];
	size_t len = strlen(BODY1) + strlen(BODY2);
	char cl[16];

	snprintf(auth, sizeof(auth), "Bearer %s", key);
	snprintf(cl, sizeof(cl), "%zu", len);
	{
		nghttp2_nv nv[] = {
			NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "127.0.0.1"),
			NV(":path", "/v1/chat/completions?x=1"), NV("content-type", "application/json"),
			NV("authorization", auth), NV("content-length", cl),
		};
		headers(&c->in, c->cd, stream, 0, nv, sizeof(nv) / sizeof(nv[0]));
	}
	frame(&c->in, 0x0, 0, stream, BODY1, strlen(BODY1));
	frame(&c->in, 0x0, 0x1, stream, BODY2, strlen(BODY2));
}

static void get(struct conv *c, uint32_t stream)
{
	nghttp2_nv nv[] = {
		NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "127.0.0.1"),
		NV(":path", "/v1/models"), NV("x-api-key", "sk-ant-h2"),
	};

	headers(&c->in, c->cd, stream, 1, nv, sizeof(nv) / sizeof(nv[0]));
}

static void sse_answer(struct conv *c, uint32_t stream, int tokens)
{
	nghttp2_nv nv[] = { NV(":status", "200"), NV("content-type", "text/event-stream") };
	char ev[256];

	headers(&c->out, c->sd, stream, 0, nv, 2);
	for (int i = 0; i < tokens; i++) {
		int n = snprintf(ev, sizeof(ev),
				 "data: {\"choices\":[{\"delta\":{\"content\":\"tok%d \"}}]}\n\n", i);
		frame(&c->out, 0x0, 0, stream, ev, (size_t)n);
	}
	frame(&c->out, 0x0, 0, stream, "data: [DONE]\n\n", 14);
	frame(&c->out, 0x0, 0x1, stream, NULL, 0);
}

static void json_answer(struct conv *c, uint32_t stream)
{
	nghttp2_nv nv[] = { NV(":status", "200"), NV("content-type", "application/json") };
	const char *body = "{\"data\":[{\"id\":\"h2-model\"}]}";

	headers(&c->out, c->sd, stream, 0, nv, 2);
	frame(&c->out, 0x0, 0x1, stream, body, strlen(body));
}

static uint64_t now_ns = 1000000000ULL;

static void feed(struct dg_reasm *ra, int dir, const uint8_t *p, size_t n)
{
	struct dg_chunk c = dg_chunk_call(9, dir, p, n);

	if (!n)
		return;
	c.src = DG_SRC_TLS;
	c.t.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.44", c.t.raddr);
	c.t.lport = 443;
	c.t.rport = 50000;
	c.ts_ns = now_ns += 1000000;
	c.pid = 77;
	c.comm = "nginx";
	dg_reasm_chunk(ra, &c);
}

static void check_two(const struct sink *s)
{
	char k1[13], k2[13];
	const struct dg_record *post_r = NULL, *get_r = NULL;

	assert_int_equal(s->n, 2);
	for (int i = 0; i < 2; i++) {
		if (!strcmp(s->recs[i].method, "POST"))
			post_r = &s->recs[i];
		else
			get_r = &s->recs[i];
	}
	assert_non_null(post_r);
	assert_non_null(get_r);
	dg_key_hash(secret, "sk-h2-one", 9, k1);
	dg_key_hash(secret, "sk-ant-h2", 9, k2);
	assert_string_equal(post_r->path, "/v1/chat/completions");
	assert_string_equal(post_r->key, k1);
	assert_string_equal(post_r->ip, "192.0.2.44");
	assert_string_equal(post_r->model, "h2-model");
	assert_int_equal(post_r->stream, 1);
	assert_int_equal(post_r->max_tokens, 50);
	assert_int_equal(post_r->logprobs, 1);
	assert_int_equal(post_r->cot_prompt, 1);
	assert_int_equal(post_r->req_bytes, (int64_t)(strlen(BODY1) + strlen(BODY2)));
	assert_int_equal(post_r->status, 200);
	assert_int_equal(post_r->output_tokens, 7);
	assert_int_equal(post_r->req_truncated, 0);
	assert_int_equal(post_r->resp_truncated, 0);
	assert_int_equal(post_r->port, 443);
	assert_string_equal(get_r->path, "/v1/models");
	assert_string_equal(get_r->key, k2);
	assert_int_equal(get_r->status, 200);
	assert_int_equal(get_r->req_bytes, 0);
	assert_true(get_r->output_bytes > 0);
}

/* Interleaved as a server sees it: both requests, then both answers. */
static void build(struct conv *c)
{
	conv_init(c);
	client_start(c);
	server_settings(c);
	post(c, 1, "sk-h2-one");
	get(c, 3);
	json_answer(c, 3);
	sse_answer(c, 1, 7);
}

static void test_two_streams_every_split(void **state)
{
	struct conv c;

	build(&c);
	for (size_t cut_in = 1; cut_in < c.in.len; cut_in += 7) {
		for (size_t cut_out = 1; cut_out < c.out.len; cut_out += 53) {
			struct sink s;
			struct dg_reasm *ra = new_reasm(&s);

			/* A server answers what it has read: requests first. */
			feed(ra, DG_DIR_IN, c.in.p, cut_in);
			feed(ra, DG_DIR_IN, c.in.p + cut_in, c.in.len - cut_in);
			feed(ra, DG_DIR_OUT, c.out.p, cut_out);
			feed(ra, DG_DIR_OUT, c.out.p + cut_out, c.out.len - cut_out);
			check_two(&s);
			assert_int_equal(dg_reasm_stats(ra)->h2_conns, 1);
			assert_int_equal(dg_reasm_stats(ra)->parse_errors, 0);
			dg_reasm_free(ra);
		}
	}
	conv_free(&c);
}

static void test_byte_at_a_time(void **state)
{
	struct conv c;
	struct sink s;
	struct dg_reasm *ra = new_reasm(&s);

	build(&c);
	/* The server's SETTINGS first: still known to be HTTP/2. */
	for (size_t i = 0; i < 9; i++)
		feed(ra, DG_DIR_OUT, c.out.p + i, 1);
	for (size_t i = 0; i < c.in.len; i++)
		feed(ra, DG_DIR_IN, c.in.p + i, 1);
	for (size_t i = 9; i < c.out.len; i++)
		feed(ra, DG_DIR_OUT, c.out.p + i, 1);
	check_two(&s);
	dg_reasm_free(ra);
	conv_free(&c);
}

/* A reset stream is a record, cut; an answer lost in a gap cuts the open
 * streams, counted; the connection's other records are whole. */
static void test_reset_and_loss(void **state)
{
	struct conv c;
	struct sink s;
	struct dg_reasm *ra = new_reasm(&s);
	uint8_t code[4] = { 0, 0, 0, 8 };

	conv_init(&c);
	client_start(&c);
	server_settings(&c);
	post(&c, 1, "sk-h2-one");
	frame(&c.in, 0x3, 0, 1, code, 4);          /* the client cancels stream 1 */
	get(&c, 3);
	json_answer(&c, 3);
	feed(ra, DG_DIR_IN, c.in.p, c.in.len);
	feed(ra, DG_DIR_OUT, c.out.p, c.out.len);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[0].method, "POST");
	assert_int_equal(s.recs[0].resp_truncated, 1);
	assert_string_equal(s.recs[1].path, "/v1/models");
	assert_int_equal(s.recs[1].resp_truncated, 0);
	/* Stream 5 asked; its answer's header block is lost in a gap. */
	free(c.in.p);
	c.in.p = NULL;
	c.in.len = 0;
	get(&c, 5);
	feed(ra, DG_DIR_IN, c.in.p, c.in.len);
	{
		struct dg_chunk ch = dg_chunk_call(9, DG_DIR_OUT, "", 1);
		uint8_t tail[1] = { 0 };

		/* The next call comes 40 bytes past the stream's end: a gap
		 * where the answer's header block was. */
		ch.seq = c.out.len + 40;
		ch.call_len = 1;
		ch.data = tail;
		ch.len = 1;
		ch.src = DG_SRC_TLS;
		ch.ts_ns = now_ns += 1000;
		dg_reasm_chunk(ra, &ch);
	}
	assert_int_equal(dg_reasm_stats(ra)->h2_lost, 1);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.recs[2].path, "/v1/models");
	assert_int_equal(s.recs[2].resp_truncated, 1);
	dg_reasm_free(ra);
	conv_free(&c);
}

/* More streams open at once than followed: the oldest go first, counted,
 * and none is lost. */
static void test_stream_bound(void **state)
{
	struct conv c;
	struct sink s;
	struct dg_reasm *ra = new_reasm(&s);

	conv_init(&c);
	client_start(&c);
	for (uint32_t i = 0; i < 130; i++)
		get(&c, 1 + 2 * i);
	feed(ra, DG_DIR_IN, c.in.p, c.in.len);
	assert_int_equal(dg_reasm_stats(ra)->h2_streams_full, 2);
	assert_int_equal(s.n, 2);
	dg_reasm_flush(ra);
	assert_int_equal(s.n, 130);
	dg_reasm_free(ra);
	conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_streams_every_split),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_reset_and_loss),
		cmocka_unit_test(test_stream_bound),
	};
	return cmocka_run_group_tests_name("h2streams", tests, NULL, NULL);
}
