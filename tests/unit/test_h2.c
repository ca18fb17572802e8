/* test_h2.c — the passive HTTP/2 decoder: conversations built here with a
 * tiny frame writer and nghttp2's HPACK deflater, fed whole, split in two at
 * every byte offset and a byte at a time (same events every time), plus
 * padding, CONTINUATION, trailers, table size, bounds, gaps, errors, push
 * and the wipe of header copies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>

#include "h2.h"

#define T_DATA 0x0
#define T_HEADERS 0x1
#define T_PRIORITY 0x2
#define T_RST 0x3
#define T_SETTINGS 0x4
#define T_PUSH 0x5
#define T_PING 0x6
#define T_GOAWAY 0x7
#define T_WINDOW 0x8
#define T_CONT 0x9

#define F_END_STREAM 0x1
#define F_END_HEADERS 0x4
#define F_PADDED 0x8
#define F_PRIORITY 0x20

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }
#define NVS(a) (a), (sizeof(a) / sizeof((a)[0]))

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---- Byte buffers ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	buf_put(b, tmp, (size_t)n);
}

/* Printable ASCII as is, anything else (and '\\') as \xNN. */
static void buf_escaped(struct buf *b, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			buf_put(b, &s[i], 1);
		else
			buf_printf(b, "\\x%02x", s[i]);
	}
}

/* ---- Conversations: an ordered list of one direction's bytes, or gaps ---- */

#define MAX_SEGS 256

struct seg {
	int dir;
	uint64_t gap;        /* a gap segment when > 0 */
	struct buf b;
};

struct conv {
	struct seg seg[MAX_SEGS];
	size_t n;
	nghttp2_hd_deflater *def[2];   /* client's encoder (IN), server's (OUT) */
};

static struct conv *conv_new(void)
{
	struct conv *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(nghttp2_hd_deflate_new(&c->def[0], 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&c->def[1], 4096), 0);
	return c;
}

static void conv_free(struct conv *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->seg[i].b.p);
	nghttp2_hd_deflate_del(c->def[0]);
	nghttp2_hd_deflate_del(c->def[1]);
	free(c);
}

static struct buf *conv_bytes(struct conv *c, int dir)
{
	if (c->n == 0 || c->seg[c->n - 1].dir != dir || c->seg[c->n - 1].gap) {
		assert_true(c->n < MAX_SEGS);
		c->seg[c->n].dir = dir;
		c->n++;
	}
	return &c->seg[c->n - 1].b;
}

static void put_raw(struct conv *c, int dir, const void *p, size_t n)
{
	buf_put(conv_bytes(c, dir), p, n);
}

static void put_gap(struct conv *c, int dir, uint64_t n)
{
	assert_true(c->n < MAX_SEGS);
	c->seg[c->n].dir = dir;
	c->seg[c->n].gap = n;
	c->n++;
}

static void put_frame_header(struct conv *c, int dir, size_t len, uint8_t type, uint8_t flags,
			     uint32_t stream)
{
	uint8_t h[9] = { (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
			 (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
			 (uint8_t)stream };

	put_raw(c, dir, h, sizeof(h));
}

static void put_frame(struct conv *c, int dir, uint8_t type, uint8_t flags, uint32_t stream,
		      const void *payload, size_t n)
{
	put_frame_header(c, dir, n, type, flags, stream);
	put_raw(c, dir, payload, n);
}

static void put_preface(struct conv *c)
{
	put_raw(c, 0, PREFACE, 24);
}

/* SETTINGS with n (id, value) pairs. */
static void put_settings(struct conv *c, int dir, const uint32_t *kv, size_t n)
{
	uint8_t p[6 * 8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = p + 6 * i;

		e[0] = (uint8_t)(kv[2 * i] >> 8);
		e[1] = (uint8_t)kv[2 * i];
		e[2] = (uint8_t)(kv[2 * i + 1] >> 24);
		e[3] = (uint8_t)(kv[2 * i + 1] >> 16);
		e[4] = (uint8_t)(kv[2 * i + 1] >> 8);
		e[5] = (uint8_t)kv[2 * i + 1];
	}
	put_frame(c, dir, T_SETTINGS, 0, 0, p, 6 * n);
}

/* A header block from dir's encoder (malloc'd). */
static uint8_t *hpack(struct conv *c, int dir, const nghttp2_nv *nv, size_t n, size_t *len)
{
	size_t cap = nghttp2_hd_deflate_bound(c->def[dir], nv, n);
	uint8_t *out = malloc(cap);
	ssize_t r;

	assert_non_null(out);
	r = nghttp2_hd_deflate_hd(c->def[dir], out, cap, nv, n);
	assert_true(r >= 0);
	*len = (size_t)r;
	return out;
}

/* One HEADERS frame carrying the whole block (END_HEADERS added). */
static size_t put_headers(struct conv *c, int dir, uint32_t stream, uint8_t flags,
			  const nghttp2_nv *nv, size_t n)
{
	size_t len;
	uint8_t *blk = hpack(c, dir, nv, n, &len);

	put_frame(c, dir, T_HEADERS, flags | F_END_HEADERS, stream, blk, len);
	free(blk);
	return len;
}

static void put_data(struct conv *c, int dir, uint32_t stream, uint8_t flags, const char *s)
{
	put_frame(c, dir, T_DATA, flags, stream, s, strlen(s));
}

static void put_rst(struct conv *c, int dir, uint32_t stream, uint32_t code)
{
	uint8_t p[4] = { (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
			 (uint8_t)code };

	put_frame(c, dir, T_RST, 0, stream, p, 4);
}

/* ---- Recording events as text ---- */

struct rec {
	struct buf log;
	int data_open;       /* the last line is DATA of (dir, stream) */
	int dir;
	uint32_t stream;
	int lost[2];
};

static void rec_headers(struct rec *r, const struct dg_h2_event *e)
{
	size_t bytes = 0;

	buf_printf(&r->log, "%d H %u%s", e->dir, e->stream, e->trailers ? " T" : "");
	assert_true(e->n_hdrs <= DG_H2_MAX_HEADERS);
	for (size_t i = 0; i < e->n_hdrs; i++) {
		const struct dg_h2_header *f = &e->hdrs[i];

		assert_true(f->value_len <= DG_H2_MAX_VALUE);
		bytes += f->name_len + f->value_len;
		buf_put(&r->log, " ", 1);
		buf_escaped(&r->log, f->name, f->name_len);
		buf_put(&r->log, "=", 1);
		buf_escaped(&r->log, f->value, f->value_len);
	}
	assert_true(bytes <= DG_H2_MAX_HDR_BYTES);
	buf_put(&r->log, "\n", 1);
}

/* DATA pieces of one stream in a row are joined: how the payload was cut
 * into events depends on the feed, the bytes do not. */
static void rec_data(struct rec *r, const struct dg_h2_event *e)
{
	assert_true(e->len > 0);
	if (r->data_open && r->dir == e->dir && r->stream == e->stream)
		r->log.len--;    /* reopen the line */
	else
		buf_printf(&r->log, "%d D %u ", e->dir, e->stream);
	buf_escaped(&r->log, e->data, e->len);
	buf_put(&r->log, "\n", 1);
}

static void on_event(const struct dg_h2_event *e, void *arg)
{
	struct rec *r = arg;

	assert_true(e->dir == 0 || e->dir == 1);
	assert_false(r->lost[e->dir]);    /* LOST is the last event of a direction */
	if (e->type == DG_H2_DATA) {
		rec_data(r, e);
		r->data_open = 1;
		r->dir = e->dir;
		r->stream = e->stream;
		return;
	}
	r->data_open = 0;
	switch (e->type) {
	case DG_H2_HEADERS:
		rec_headers(r, e);
		break;
	case DG_H2_DATA_GAP:
		buf_printf(&r->log, "%d G %u %llu\n", e->dir, e->stream, (unsigned long long)e->gap);
		break;
	case DG_H2_END:
		buf_printf(&r->log, "%d E %u\n", e->dir, e->stream);
		break;
	case DG_H2_RESET:
		buf_printf(&r->log, "%d R %u %u\n", e->dir, e->stream, e->error_code);
		break;
	case DG_H2_GOAWAY:
		buf_printf(&r->log, "%d W %u %u\n", e->dir, e->stream, e->error_code);
		break;
	case DG_H2_LOST:
		assert_non_null(e->why);
		buf_printf(&r->log, "%d L %s\n", e->dir, e->why);
		r->lost[e->dir] = 1;
		break;
	default:
		fail_msg("unknown event type %d", e->type);
	}
}

/* ---- Playing a conversation ---- */

enum feed_mode { FEED_WHOLE, FEED_SPLIT, FEED_BYTES };

static size_t conv_total(const struct conv *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->seg[i].b.len;
	return n;
}

static void feed_conv(struct dg_h2 *h, const struct conv *c, enum feed_mode mode, size_t cut)
{
	size_t pos = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct seg *s = &c->seg[i];

		if (s->gap) {
			dg_h2_gap(h, s->dir, s->gap);
			continue;
		}
		if (mode == FEED_BYTES) {
			for (size_t j = 0; j < s->b.len; j++)
				dg_h2_feed(h, s->dir, s->b.p + j, 1);
		} else if (mode == FEED_SPLIT && cut > pos && cut < pos + s->b.len) {
			dg_h2_feed(h, s->dir, s->b.p, cut - pos);
			dg_h2_feed(h, s->dir, s->b.p + (cut - pos), s->b.len - (cut - pos));
		} else {
			dg_h2_feed(h, s->dir, s->b.p, s->b.len);
		}
		pos += s->b.len;
	}
}

static char *run_once(const struct conv *c, enum feed_mode mode, size_t cut, struct dg_h2_stats *st)
{
	struct rec r;
	struct dg_h2 *h;

	memset(&r, 0, sizeof(r));
	h = dg_h2_new(on_event, &r);
	assert_non_null(h);
	feed_conv(h, c, mode, cut);
	*st = *dg_h2_stats(h);
	dg_h2_free(h);
	buf_put(&r.log, "", 1);
	return (char *)r.log.p;
}

/* Counters that do not depend on how the bytes were cut (dropped_bytes
 * counts from the end of the piece that lost, so it does). */
static void assert_stats_same(const struct dg_h2_stats *a, const struct dg_h2_stats *b)
{
	for (int d = 0; d < 2; d++) {
		assert_int_equal(a->frames[d], b->frames[d]);
		assert_int_equal(a->data_bytes[d], b->data_bytes[d]);
		assert_int_equal(a->data_gap_bytes[d], b->data_gap_bytes[d]);
		assert_int_equal(a->header_blocks[d], b->header_blocks[d]);
		assert_int_equal(a->unknown_frames[d], b->unknown_frames[d]);
		assert_int_equal(a->gap_bytes[d], b->gap_bytes[d]);
		assert_int_equal(a->lost[d], b->lost[d]);
	}
	assert_int_equal(a->headers_dropped, b->headers_dropped);
	assert_int_equal(a->values_truncated, b->values_truncated);
	assert_int_equal(a->table_capped, b->table_capped);
	assert_int_equal(a->push_promises, b->push_promises);
}

/* The log of a whole feed, checked against a split at every stride-th byte
 * offset and a byte-at-a-time feed. Caller frees. */
static char *play_stride(const struct conv *c, size_t stride, struct dg_h2_stats *st)
{
	char *whole = run_once(c, FEED_WHOLE, 0, st);
	size_t total = conv_total(c);
	struct dg_h2_stats other;
	char *got;

	for (size_t cut = 1; cut < total; cut += stride) {
		got = run_once(c, FEED_SPLIT, cut, &other);
		if (strcmp(whole, got) != 0)
			fail_msg("split at %zu:\n%s\n-- whole:\n%s", cut, got, whole);
		assert_stats_same(st, &other);
		free(got);
	}
	got = run_once(c, FEED_BYTES, 0, &other);
	if (strcmp(whole, got) != 0)
		fail_msg("byte at a time:\n%s\n-- whole:\n%s", got, whole);
	assert_stats_same(st, &other);
	free(got);
	return whole;
}

static char *play(const struct conv *c, struct dg_h2_stats *st)
{
	return play_stride(c, 1, st);
}

static void expect(const struct conv *c, const char *want, struct dg_h2_stats *st)
{
	char *got = play(c, st);

	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\n-- want:\n%s", got, want);
	free(got);
}

/* ---- Common headers ---- */

static const nghttp2_nv REQ_GET[] = {
	NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "api.example"),
	NV(":path", "/v1/models"), NV("authorization", "Bearer sk-test-123"),
};
static const nghttp2_nv REQ_POST[] = {
	NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "api.example"),
	NV(":path", "/v1/chat/completions"), NV("content-type", "application/json"),
	NV("authorization", "Bearer sk-test-123"),
};
static const nghttp2_nv RESP_JSON[] = {
	NV(":status", "200"), NV("content-type", "application/json"),
};
static const nghttp2_nv RESP_SSE[] = {
	NV(":status", "200"), NV("content-type", "text/event-stream"),
};

#define L_GET(s) "0 H " #s " :method=GET :scheme=https :authority=api.example :path=/v1/models authorization=Bearer sk-test-123\n"
#define L_POST(s) "0 H " #s " :method=POST :scheme=https :authority=api.example :path=/v1/chat/completions content-type=application/json authorization=Bearer sk-test-123\n"
#define L_JSON(s) "1 H " #s " :status=200 content-type=application/json\n"
#define L_SSE(s) "1 H " #s " :status=200 content-type=text/event-stream\n"

/* Client preface + SETTINGS, server SETTINGS + ACKs, WINDOW_UPDATE,
 * PRIORITY, PING and an extension frame: frames that give no events. */
static void put_handshake(struct conv *c)
{
	static const uint32_t cs[] = { 0x2, 0, 0x4, 6291456 };
	static const uint32_t ss[] = { 0x3, 100, 0x4, 65535, 0x5, 16384 };
	static const uint8_t wu[4] = { 0, 0x0f, 0, 0x01 };
	static const uint8_t ping[8] = "pingpong";

	put_preface(c);
	put_settings(c, 0, NVS(cs) / 2);
	/* undefined flags are ignored (RFC 9113 4.1); unknown types skipped */
	put_frame(c, 0, T_WINDOW, 0xff, 0, wu, 4);
	put_frame(c, 0, 0xb0, 0xff, 0, "ext", 3);
	put_settings(c, 1, NVS(ss) / 2);
	put_frame(c, 1, T_PRIORITY, 0xff, 3, "\0\0\0\0\x10", 5);
	put_frame(c, 1, T_SETTINGS, 0x1, 0, NULL, 0);
	put_frame(c, 0, T_SETTINGS, 0x1, 0, NULL, 0);
	put_frame(c, 0, T_PING, 0, 0, ping, 8);
	put_frame(c, 1, T_PING, 0x1, 0, ping, 8);
}

/* ---- Tests ---- */

static void test_preface_fn(void **state)
{
	(void)state;
	assert_int_equal(dg_h2_preface((const uint8_t *)PREFACE, 24), 1);
	assert_int_equal(dg_h2_preface((const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz", 27), 1);
	assert_int_equal(dg_h2_preface((const uint8_t *)"PRI ", 4), 1);
	assert_int_equal(dg_h2_preface((const uint8_t *)"PRI", 3), 0);
	assert_int_equal(dg_h2_preface((const uint8_t *)"PRI * HTTP/1.1\r\n", 16), 0);
	assert_int_equal(dg_h2_preface((const uint8_t *)"GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(dg_h2_preface(NULL, 0), 0);
}

static void test_get_and_post(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;

	(void)state;
	put_handshake(c);
	put_headers(c, 0, 1, F_END_STREAM, NVS(REQ_GET));
	put_headers(c, 1, 1, 0, NVS(RESP_JSON));
	put_data(c, 1, 1, F_END_STREAM, "{\"data\":[]}");
	put_headers(c, 0, 3, 0, NVS(REQ_POST));
	put_data(c, 0, 3, 0, "{\"model\":\"m\",");
	put_data(c, 0, 3, F_END_STREAM, "\"messages\":[]}");
	put_headers(c, 1, 3, 0, NVS(RESP_JSON));
	put_data(c, 1, 3, 0, "{\"usage\":{}}");
	put_data(c, 1, 3, F_END_STREAM, "");
	expect(c,
	       L_GET(1) "0 E 1\n"
	       L_JSON(1) "1 D 1 {\"data\":[]}\n" "1 E 1\n"
	       L_POST(3) "0 D 3 {\"model\":\"m\",\"messages\":[]}\n" "0 E 3\n"
	       L_JSON(3) "1 D 3 {\"usage\":{}}\n" "1 E 3\n", &st);
	assert_int_equal(st.frames[0], 9);
	assert_int_equal(st.frames[1], 9);
	assert_int_equal(st.unknown_frames[0], 1);
	assert_int_equal(st.header_blocks[0], 2);
	assert_int_equal(st.header_blocks[1], 2);
	assert_int_equal(st.data_bytes[0], 27);
	assert_int_equal(st.data_bytes[1], 23);
	assert_int_equal(st.lost[0] + st.lost[1], 0);
	assert_int_equal(st.dropped_bytes[0] + st.dropped_bytes[1], 0);
	conv_free(c);
}

static void test_interleaved_streams(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;

	(void)state;
	put_handshake(c);
	put_headers(c, 0, 1, 0, NVS(REQ_POST));
	put_headers(c, 0, 3, F_END_STREAM, NVS(REQ_GET));
	put_data(c, 0, 1, 0, "a1");
	put_headers(c, 0, 5, 0, NVS(REQ_POST));
	put_data(c, 0, 5, 0, "c1");
	put_data(c, 0, 1, F_END_STREAM, "a2");
	put_headers(c, 1, 3, 0, NVS(RESP_JSON));
	put_headers(c, 1, 1, 0, NVS(RESP_SSE));
	put_data(c, 1, 3, 0, "B1");
	put_data(c, 0, 5, F_END_STREAM, "c2");
	put_data(c, 1, 1, 0, "A1");
	put_data(c, 1, 3, F_END_STREAM, "B2");
	put_headers(c, 1, 5, F_END_STREAM, NVS(RESP_JSON));
	put_data(c, 1, 1, F_END_STREAM, "A2");
	expect(c,
	       L_POST(1) L_GET(3) "0 E 3\n" "0 D 1 a1\n" L_POST(5) "0 D 5 c1\n"
	       "0 D 1 a2\n" "0 E 1\n"
	       L_JSON(3) L_SSE(1) "1 D 3 B1\n"
	       "0 D 5 c2\n" "0 E 5\n"
	       "1 D 1 A1\n" "1 D 3 B2\n" "1 E 3\n" L_JSON(5) "1 E 5\n" "1 D 1 A2\n" "1 E 1\n", &st);
	conv_free(c);
}

static void test_padding_and_priority(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;
	uint8_t p[256];
	uint8_t *blk;
	size_t len, n;

	(void)state;
	put_preface(c);
	/* HEADERS: pad length 7, priority (exclusive, dep 0, weight 200), block, 7 zeros */
	blk = hpack(c, 0, NVS(REQ_POST), &len);
	n = 0;
	p[n++] = 7;
	memcpy(p + n, "\x80\x00\x00\x00\xc8", 5);
	n += 5;
	memcpy(p + n, blk, len);
	n += len;
	memset(p + n, 0, 7);
	n += 7;
	free(blk);
	put_frame(c, 0, T_HEADERS, F_END_HEADERS | F_PADDED | F_PRIORITY, 1, p, n);
	/* padded DATA: "hello" + 3 bytes of padding */
	put_frame(c, 0, T_DATA, F_PADDED, 1, "\x03hello\0\0\0", 9);
	/* PADDED with pad length 0, then a DATA frame of padding only */
	put_frame(c, 0, T_DATA, F_PADDED, 1, "\x00world", 6);
	put_frame(c, 0, T_DATA, F_PADDED | F_END_STREAM, 1, "\x04\0\0\0\0", 5);
	/* a PRIORITY frame, and HEADERS with PRIORITY but no padding */
	put_frame(c, 1, T_PRIORITY, 0, 1, "\x00\x00\x00\x00\x10", 5);
	blk = hpack(c, 1, NVS(RESP_JSON), &len);
	memcpy(p, "\x00\x00\x00\x00\x10", 5);
	memcpy(p + 5, blk, len);
	free(blk);
	put_frame(c, 1, T_HEADERS, F_END_HEADERS | F_PRIORITY | F_END_STREAM, 1, p, 5 + len);
	expect(c, L_POST(1) "0 D 1 helloworld\n" "0 E 1\n" L_JSON(1) "1 E 1\n", &st);
	assert_int_equal(st.data_bytes[0], 10);
	conv_free(c);
}

static void test_continuation(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;
	uint8_t *blk;
	size_t len;

	(void)state;
	put_preface(c);
	blk = hpack(c, 0, NVS(REQ_GET), &len);
	assert_true(len > 10);
	put_frame(c, 0, T_HEADERS, F_END_STREAM, 1, blk, 4);
	put_frame(c, 0, T_CONT, 0, 1, blk + 4, 0);           /* an empty fragment */
	put_frame(c, 0, T_CONT, 0, 1, blk + 4, 5);
	/* PADDED means nothing on CONTINUATION: the 0x08 flag must be ignored */
	put_frame(c, 0, T_CONT, F_END_HEADERS | F_PADDED, 1, blk + 9, len - 9);
	free(blk);
	/* a padded HEADERS whose block goes on in a CONTINUATION */
	blk = hpack(c, 1, NVS(RESP_JSON), &len);
	{
		uint8_t p[64];

		p[0] = 2;
		memcpy(p + 1, blk, 3);
		memcpy(p + 4, "\0\0", 2);
		put_frame(c, 1, T_HEADERS, F_PADDED | F_END_STREAM, 1, p, 6);
		put_frame(c, 1, T_CONT, F_END_HEADERS, 1, blk + 3, len - 3);
	}
	free(blk);
	expect(c, L_GET(1) "0 E 1\n" L_JSON(1) "1 E 1\n", &st);
	conv_free(c);
}

static void test_continuation_errors(void **state)
{
	struct conv *c;
	struct dg_h2_stats st;
	uint8_t *blk;
	size_t len;

	(void)state;
	/* a DATA frame inside a header block */
	c = conv_new();
	put_preface(c);
	blk = hpack(c, 0, NVS(REQ_POST), &len);
	put_frame(c, 0, T_HEADERS, 0, 1, blk, 6);
	put_data(c, 0, 1, 0, "x");
	free(blk);
	put_headers(c, 1, 1, F_END_STREAM, NVS(RESP_JSON));
	expect(c, "0 L continuation expected\n" L_JSON(1) "1 E 1\n", &st);
	assert_int_equal(st.lost[0], 1);
	assert_int_equal(st.lost[1], 0);
	conv_free(c);

	/* a CONTINUATION of another stream */
	c = conv_new();
	put_preface(c);
	blk = hpack(c, 0, NVS(REQ_POST), &len);
	put_frame(c, 0, T_HEADERS, 0, 1, blk, 6);
	put_frame(c, 0, T_CONT, F_END_HEADERS, 3, blk + 6, len - 6);
	free(blk);
	expect(c, "0 L continuation expected\n", &st);
	conv_free(c);

	/* an unknown frame type inside a header block */
	c = conv_new();
	put_preface(c);
	blk = hpack(c, 0, NVS(REQ_POST), &len);
	put_frame(c, 0, T_HEADERS, 0, 1, blk, 6);
	put_frame(c, 0, 0xbb, 0, 1, "zz", 2);
	free(blk);
	expect(c, "0 L continuation expected\n", &st);
	conv_free(c);

	/* a CONTINUATION with no block open */
	c = conv_new();
	put_frame(c, 1, T_CONT, F_END_HEADERS, 1, "\x88", 1);
	expect(c, "1 L unexpected CONTINUATION\n", &st);
	conv_free(c);
}

static void test_trailers_and_interim(void **state)
{
	static const nghttp2_nv req_trl[] = { NV("x-checksum", "abc") };
	static const nghttp2_nv hints[] = { NV(":status", "103"), NV("link", "</a.css>; rel=preload") };
	static const nghttp2_nv resp_trl[] = { NV("grpc-status", "0"), NV("grpc-message", "ok") };
	struct conv *c = conv_new();
	struct dg_h2_stats st;

	(void)state;
	put_preface(c);
	put_headers(c, 0, 1, 0, NVS(REQ_POST));
	put_data(c, 0, 1, 0, "{}");
	put_headers(c, 0, 1, F_END_STREAM, NVS(req_trl));
	put_headers(c, 1, 1, 0, NVS(hints));
	put_headers(c, 1, 1, 0, NVS(RESP_JSON));
	put_data(c, 1, 1, 0, "{\"ok\":1}");
	put_headers(c, 1, 1, F_END_STREAM, NVS(resp_trl));
	expect(c,
	       L_POST(1) "0 D 1 {}\n" "0 H 1 T x-checksum=abc\n" "0 E 1\n"
	       "1 H 1 :status=103 link=</a.css>; rel=preload\n" L_JSON(1)
	       "1 D 1 {\"ok\":1}\n" "1 H 1 T grpc-status=0 grpc-message=ok\n" "1 E 1\n", &st);
	conv_free(c);
}

static void test_sse_response(void **state)
{
	struct conv *c = conv_new();
	struct buf want = { 0 }, body = { 0 };
	struct dg_h2_stats st;
	char ev[128];
	char *got;

	(void)state;
	put_preface(c);
	put_headers(c, 0, 1, 0, NVS(REQ_POST));
	put_data(c, 0, 1, F_END_STREAM, "{\"stream\":true}");
	put_headers(c, 1, 1, 0, NVS(RESP_SSE));
	for (int i = 0; i < 50; i++) {
		snprintf(ev, sizeof(ev), "data: {\"choices\":[{\"delta\":{\"content\":\"t%d\"}}]}\n\n", i);
		put_data(c, 1, 1, 0, ev);
		buf_put(&body, ev, strlen(ev));
	}
	put_data(c, 1, 1, 0, "data: [DONE]\n\n");
	buf_put(&body, "data: [DONE]\n\n", 14);
	put_data(c, 1, 1, F_END_STREAM, "");

	buf_printf(&want, "%s", L_POST(1) "0 D 1 {\"stream\":true}\n" "0 E 1\n" L_SSE(1) "1 D 1 ");
	buf_escaped(&want, body.p, body.len);
	buf_printf(&want, "\n1 E 1\n");
	buf_put(&want, "", 1);
	got = play(c, &st);
	assert_string_equal(got, (char *)want.p);
	assert_int_equal(st.data_bytes[1], body.len);
	assert_int_equal(st.frames[1], 53);
	free(got);
	free(want.p);
	free(body.p);
	conv_free(c);
}

static void test_rst_and_goaway(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;
	uint8_t ga[8 + 3] = { 0, 0, 0, 3, 0, 0, 0, 0, 'b', 'y', 'e' };

	(void)state;
	put_preface(c);
	put_headers(c, 0, 1, 0, NVS(REQ_POST));
	put_headers(c, 0, 3, F_END_STREAM, NVS(REQ_GET));
	put_rst(c, 0, 1, 8);                       /* CANCEL */
	put_headers(c, 1, 3, 0, NVS(RESP_JSON));
	put_rst(c, 1, 3, 2);                       /* INTERNAL_ERROR */
	put_frame(c, 1, T_GOAWAY, 0, 0, ga, sizeof(ga));
	put_frame(c, 0, T_GOAWAY, 0, 0, "\x80\0\0\0\0\0\0\x0b", 8);   /* reserved bit set */
	expect(c,
	       L_POST(1) L_GET(3) "0 E 3\n" "0 R 1 8\n"
	       L_JSON(3) "1 R 3 2\n" "1 W 3 0\n" "0 W 0 11\n", &st);
	conv_free(c);
}

/* Ten 1000-byte values: 10 KB, more than the default 4096-byte table. */
static void big_headers(nghttp2_nv *nv, char vals[10][1001], char names[10][24])
{
	static const nghttp2_nv pseudo[] = {
		NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "api.example"),
		NV(":path", "/v1/messages"),
	};

	memcpy(nv, pseudo, sizeof(pseudo));
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], 24, "x-big-%d", i);
		for (int j = 0; j < 1000; j++)
			vals[i][j] = "abcdefghijklmnopqrstuvwxyz"[(i * 7 + j * 3) % 26];
		vals[i][1000] = '\0';
		nv[4 + i] = (nghttp2_nv){ (uint8_t *)names[i], (uint8_t *)vals[i], strlen(names[i]), 1000,
					  NGHTTP2_NV_FLAG_NONE };
	}
}

/* Client encoder at table size enc (announced by a size update), server
 * SETTINGS_HEADER_TABLE_SIZE at settings (0: none); two requests with the
 * same ten big headers. */
static struct conv *table_conv(size_t enc, uint32_t settings, size_t *second_len)
{
	struct conv *c = conv_new();
	nghttp2_nv nv[14];
	char vals[10][1001], names[10][24];

	nghttp2_hd_deflate_del(c->def[0]);
	assert_int_equal(nghttp2_hd_deflate_new(&c->def[0], enc), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(c->def[0], enc), 0);
	big_headers(nv, vals, names);
	if (settings) {
		uint32_t kv[] = { 0x3, 100, 0x1, settings };

		put_settings(c, 1, NVS(kv) / 2);
	}
	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, nv, 14);
	*second_len = put_headers(c, 0, 3, F_END_STREAM, nv, 14);
	return c;
}

static void big_expected(struct buf *want)
{
	nghttp2_nv nv[14];
	char vals[10][1001], names[10][24];

	big_headers(nv, vals, names);
	for (uint32_t s = 1; s <= 3; s += 2) {
		buf_printf(want, "0 H %u :method=POST :scheme=https :authority=api.example :path=/v1/messages", s);
		for (int i = 0; i < 10; i++) {
			buf_printf(want, " %s=", names[i]);
			buf_put(want, vals[i], 1000);
		}
		buf_printf(want, "\n0 E %u\n", s);
	}
	buf_put(want, "", 1);
}

static void test_table_size(void **state)
{
	struct buf want = { 0 };
	struct dg_h2_stats st;
	size_t second;
	struct conv *c;
	char *got;

	(void)state;
	big_expected(&want);

	/* server allows 64 KiB: the client's size update and indexed entries decode */
	c = table_conv(65536, 65536, &second);
	assert_true(second < 100);    /* the second block is all table references */
	got = play_stride(c, 97, &st);
	assert_string_equal(got, (char *)want.p);
	assert_int_equal(st.table_capped, 0);
	free(got);
	conv_free(c);

	/* without the server's SETTINGS the size update is an HPACK error */
	c = table_conv(65536, 0, &second);
	expect(c, "0 L hpack\n", &st);
	conv_free(c);

	/* a server announcing 1 MiB is capped at 64 KiB: a 64 KiB encoder is fine */
	c = table_conv(65536, 1u << 20, &second);
	got = play_stride(c, 97, &st);
	assert_string_equal(got, (char *)want.p);
	assert_int_equal(st.table_capped, 1);
	free(got);
	conv_free(c);

	/* ...and one at 128 KiB goes past the cap */
	c = table_conv(131072, 1u << 20, &second);
	expect(c, "0 L hpack\n", &st);
	assert_int_equal(st.table_capped, 1);
	conv_free(c);
	free(want.p);
}

static void test_header_bounds(void **state)
{
	static const nghttp2_nv pseudo[] = {
		NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "a"), NV(":path", "/"),
	};
	nghttp2_nv nv[105], tail[6];
	char names[100][16], vals[100][16];
	char *big = malloc(10240), *got;
	struct buf want = { 0 };
	struct dg_h2_stats st;
	struct conv *c = conv_new();

	(void)state;
	assert_non_null(big);
	for (int i = 0; i < 10240; i++)
		big[i] = (char)('A' + i % 26);
	memcpy(nv, pseudo, sizeof(pseudo));
	nv[4] = (nghttp2_nv){ (uint8_t *)"x-long", (uint8_t *)big, 6, 10240, NGHTTP2_NV_FLAG_NONE };
	for (int i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "x-%03d", i);
		snprintf(vals[i], sizeof(vals[i]), "v%03d", i);
		nv[5 + i] = (nghttp2_nv){ (uint8_t *)names[i], (uint8_t *)vals[i], 5, 4, NGHTTP2_NV_FLAG_NONE };
	}
	/* the next block names fields the first one dropped (by now only in
	 * the dynamic table) */
	memcpy(tail, pseudo, sizeof(pseudo));
	tail[4] = nv[104];
	tail[5] = nv[103];

	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, nv, 105);
	assert_true(put_headers(c, 0, 3, F_END_STREAM, tail, 6) < 10);

	buf_printf(&want, "0 H 1 :method=POST :scheme=https :authority=a :path=/ x-long=");
	buf_put(&want, big, DG_H2_MAX_VALUE);
	for (int i = 0; i < 59; i++)
		buf_printf(&want, " %s=%s", names[i], vals[i]);
	buf_printf(&want, "\n0 E 1\n0 H 3 :method=POST :scheme=https :authority=a :path=/ x-099=v099 x-098=v098\n0 E 3\n");
	buf_put(&want, "", 1);
	got = play_stride(c, 31, &st);
	assert_string_equal(got, (char *)want.p);
	assert_int_equal(st.headers_dropped, 41);
	assert_int_equal(st.values_truncated, 1);
	assert_int_equal(st.header_blocks[0], 2);
	free(got);
	free(want.p);
	free(big);
	conv_free(c);
}

/* The byte bound: four 4000-byte values fit in 16 KiB, the fifth does not,
 * a small field after it still does. */
static void test_header_byte_bound(void **state)
{
	static char vals[5][4001];
	nghttp2_nv nv[10] = { NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "a"),
			      NV(":path", "/") };
	struct dg_h2_stats st;
	struct buf want = { 0 };
	struct conv *c = conv_new();
	char *got;

	(void)state;
	for (int i = 0; i < 5; i++) {
		memset(vals[i], 'a' + i, 4000);
		nv[4 + i] = (nghttp2_nv){ (uint8_t *)"x-big", (uint8_t *)vals[i], 5, 4000,
					  NGHTTP2_NV_FLAG_NO_INDEX };
	}
	nv[9] = (nghttp2_nv)NV("x-after", "1");
	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, nv, 10);
	buf_printf(&want, "0 H 1 :method=GET :scheme=https :authority=a :path=/");
	for (int i = 0; i < 4; i++) {
		buf_printf(&want, " x-big=");
		buf_put(&want, vals[i], 4000);
	}
	buf_printf(&want, " x-after=1\n0 E 1\n");
	buf_put(&want, "", 1);
	got = play_stride(c, 53, &st);
	assert_string_equal(got, (char *)want.p);
	assert_int_equal(st.headers_dropped, 1);
	assert_int_equal(st.values_truncated, 0);
	free(got);
	free(want.p);
	conv_free(c);
}

static void test_gap_in_data(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;

	(void)state;
	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, NVS(REQ_GET));
	put_headers(c, 1, 1, 0, NVS(RESP_SSE));
	/* "hello world": "hel", 5 missing, "rld" */
	put_frame_header(c, 1, 11, T_DATA, 0, 1);
	put_raw(c, 1, "hel", 3);
	put_gap(c, 1, 5);
	put_raw(c, 1, "rld", 3);
	/* padded "abcdef" + 4 padding: a gap over "def" and 2 padding bytes */
	put_frame_header(c, 1, 11, T_DATA, F_PADDED, 1);
	put_raw(c, 1, "\x04" "abc", 4);
	put_gap(c, 1, 5);
	put_raw(c, 1, "\0\0", 2);
	/* a gap in padding only, then one to the exact end of an END_STREAM frame */
	put_frame_header(c, 1, 6, T_DATA, F_PADDED, 1);
	put_raw(c, 1, "\x02" "xyz", 4);
	put_gap(c, 1, 2);
	put_frame_header(c, 1, 4, T_DATA, F_END_STREAM, 1);
	put_raw(c, 1, "!", 1);
	put_gap(c, 1, 3);
	/* gaps inside PING and unknown-frame payloads are skipped */
	put_frame_header(c, 1, 8, T_PING, 0, 0);
	put_raw(c, 1, "pi", 2);
	put_gap(c, 1, 6);
	put_frame_header(c, 1, 100, 0xcc, 0, 0);
	put_gap(c, 1, 100);
	/* and in GOAWAY's debug data */
	put_frame_header(c, 1, 18, T_GOAWAY, 0, 0);
	put_raw(c, 1, "\0\0\0\x07\0\0\0\0de", 10);
	put_gap(c, 1, 8);
	put_headers(c, 0, 3, F_END_STREAM, NVS(REQ_GET));
	put_headers(c, 1, 3, F_END_STREAM, NVS(RESP_JSON));
	expect(c,
	       L_GET(1) "0 E 1\n" L_SSE(1) "1 D 1 hel\n" "1 G 1 5\n" "1 D 1 rldabc\n" "1 G 1 3\n"
	       "1 D 1 xyz!\n" "1 G 1 3\n" "1 E 1\n" "1 W 7 0\n" L_GET(3) "0 E 3\n" L_JSON(3) "1 E 3\n", &st);
	assert_int_equal(st.data_gap_bytes[1], 11);
	assert_int_equal(st.gap_bytes[1], 129);
	assert_int_equal(st.lost[1], 0);
	conv_free(c);
}

static void test_gap_lost(void **state)
{
	struct conv *c;
	struct dg_h2_stats st;
	uint8_t *blk;
	size_t len;

	(void)state;
	/* inside a header block: HPACK state would be lost */
	c = conv_new();
	put_preface(c);
	blk = hpack(c, 0, NVS(REQ_POST), &len);
	put_frame_header(c, 0, len, T_HEADERS, F_END_HEADERS, 1);
	put_raw(c, 0, blk, 5);
	put_gap(c, 0, 3);
	put_raw(c, 0, blk + 8, len - 8);
	free(blk);
	put_data(c, 0, 1, F_END_STREAM, "{}");
	put_headers(c, 0, 3, F_END_STREAM, NVS(REQ_GET));
	put_headers(c, 1, 1, 0, NVS(RESP_JSON));
	put_data(c, 1, 1, F_END_STREAM, "{}");
	expect(c, "0 L gap\n" L_JSON(1) "1 D 1 {}\n" "1 E 1\n", &st);
	assert_int_equal(st.lost[0], 1);
	assert_true(st.dropped_bytes[0] > 0);
	assert_int_equal(st.header_blocks[0], 0);
	conv_free(c);

	/* crossing the end of a DATA frame */
	c = conv_new();
	put_preface(c);
	put_headers(c, 0, 1, 0, NVS(REQ_POST));
	put_frame_header(c, 0, 3, T_DATA, 0, 1);
	put_raw(c, 0, "a", 1);
	put_gap(c, 0, 10);
	put_data(c, 0, 1, F_END_STREAM, "zz");
	put_headers(c, 1, 1, F_END_STREAM, NVS(RESP_JSON));
	expect(c, L_POST(1) "0 D 1 a\n" "0 L gap\n" L_JSON(1) "1 E 1\n", &st);
	conv_free(c);

	/* between frames, inside a frame header, in SETTINGS, in the preface */
	c = conv_new();
	put_gap(c, 1, 1);
	put_headers(c, 1, 1, 0, NVS(RESP_JSON));
	put_preface(c);
	put_frame_header(c, 0, 12, T_SETTINGS, 0, 0);
	put_raw(c, 0, "\0\x01", 2);
	put_gap(c, 0, 4);
	expect(c, "1 L gap\n0 L gap\n", &st);
	conv_free(c);

	/* in GOAWAY's fixed fields, before its debug data */
	c = conv_new();
	put_frame_header(c, 1, 12, T_GOAWAY, 0, 0);
	put_raw(c, 1, "\0\0\0\x07", 4);
	put_gap(c, 1, 4);
	expect(c, "1 L gap\n", &st);
	conv_free(c);

	c = conv_new();
	put_raw(c, 0, PREFACE, 10);
	put_gap(c, 0, 14);
	put_raw(c, 1, "\0\0", 2);
	put_gap(c, 1, 7);
	expect(c, "0 L gap\n1 L gap\n", &st);
	assert_int_equal(st.gap_bytes[0], 14);
	conv_free(c);
}

static void test_no_preface_and_junk(void **state)
{
	struct conv *c;
	struct dg_h2_stats st;
	struct rec r;
	struct dg_h2 *h;
	uint32_t x = 12345;
	uint8_t junk[4096];

	(void)state;
	c = conv_new();
	put_raw(c, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
	put_headers(c, 1, 1, F_END_STREAM, NVS(RESP_JSON));
	expect(c, "0 L no preface\n" L_JSON(1) "1 E 1\n", &st);
	conv_free(c);

	/* right up to the last byte */
	c = conv_new();
	put_raw(c, 0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", 24);
	expect(c, "0 L no preface\n", &st);
	conv_free(c);

	/* an HTTP/1 response read as frames: an unknown type of 4.7 MB, skipped */
	c = conv_new();
	put_raw(c, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
	expect(c, "", &st);
	assert_int_equal(st.unknown_frames[1], 1);
	conv_free(c);

	/* random bytes: no crash, no event after LOST (checked by on_event) */
	for (int round = 0; round < 200; round++) {
		memset(&r, 0, sizeof(r));
		h = dg_h2_new(on_event, &r);
		assert_non_null(h);
		dg_h2_feed(h, 0, (const uint8_t *)PREFACE, round % 2 ? 24 : 0);
		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (uint8_t)(x >> 16);
			/* short lengths, mostly known types, so frames get parsed */
			if (i % 9 == 0)
				junk[i] = 0;
			if (i % 9 == 3)
				junk[i] %= 12;
		}
		for (size_t off = 0; off < sizeof(junk); off += 97) {
			size_t n = sizeof(junk) - off < 97 ? sizeof(junk) - off : 97;

			dg_h2_feed(h, (int)(off / 97) % 2, junk + off, n);
			if (off % 3 == 0)
				dg_h2_gap(h, (int)(off / 97) % 2, off % 7);
		}
		dg_h2_feed(h, 2, junk, 10);       /* not a direction: ignored */
		dg_h2_free(h);
		free(r.log.p);
	}
}

static void test_malformed_frames(void **state)
{
	static const struct {
		int dir;
		uint8_t type, flags;
		uint32_t stream;
		const char *payload;
		size_t len;
		const char *why;
	} cases[] = {
		{ 1, T_SETTINGS, 0, 0, "\0\x01\0\0\x10\0\0", 7, "bad frame size" },
		{ 1, T_SETTINGS, 0x1, 0, "\0\x01\0\0\x10\0", 6, "bad frame size" },
		{ 1, T_SETTINGS, 0, 1, "", 0, "not stream 0" },
		{ 1, T_DATA, 0, 0, "abc", 3, "stream 0" },
		{ 0, T_HEADERS, F_END_HEADERS, 0, "\x82", 1, "stream 0" },
		{ 1, T_DATA, F_PADDED, 1, "\x04" "abc", 4, "bad padding" },
		{ 1, T_DATA, F_PADDED, 1, "", 0, "bad padding" },
		{ 0, T_HEADERS, F_PADDED | F_PRIORITY | F_END_HEADERS, 1, "\x01\0\0\0\0\x10", 6, "bad padding" },
		{ 0, T_HEADERS, F_PRIORITY | F_END_HEADERS, 1, "\0\0\0", 3, "bad frame size" },
		{ 0, T_RST, 0, 1, "\0\0\0\0\0", 5, "bad frame size" },
		{ 0, T_RST, 0, 0, "\0\0\0\x08", 4, "stream 0" },
		{ 1, T_GOAWAY, 0, 0, "\0\0\0\x01", 4, "bad frame size" },
		{ 1, T_GOAWAY, 0, 5, "\0\0\0\x01\0\0\0\0", 8, "not stream 0" },
		{ 0, T_PUSH, F_END_HEADERS, 1, "\0\0\0\x02\x82", 5, "push from client" },
		{ 1, T_PUSH, F_END_HEADERS, 0, "\0\0\0\x02\x82", 5, "stream 0" },
	};
	char want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conv *c = conv_new();
		struct dg_h2_stats st;

		if (cases[i].dir == 0)
			put_preface(c);
		put_frame(c, cases[i].dir, cases[i].type, cases[i].flags, cases[i].stream,
			  cases[i].payload, cases[i].len);
		put_data(c, cases[i].dir, 1, 0, "after");
		snprintf(want, sizeof(want), "%d L %s\n", cases[i].dir, cases[i].why);
		expect(c, want, &st);
		assert_int_equal(st.lost[cases[i].dir], 1);
		assert_true(st.dropped_bytes[cases[i].dir] >= 14);
		conv_free(c);
	}
}

static void test_hpack_error(void **state)
{
	struct conv *c;
	struct dg_h2_stats st;

	(void)state;
	/* index 0 is invalid */
	c = conv_new();
	put_preface(c);
	put_frame(c, 0, T_HEADERS, F_END_HEADERS, 1, "\x82\x80", 2);
	put_headers(c, 1, 1, F_END_STREAM, NVS(RESP_JSON));
	expect(c, "0 L hpack\n" L_JSON(1) "1 E 1\n", &st);
	conv_free(c);

	/* an index past the (empty) dynamic table */
	c = conv_new();
	put_frame(c, 1, T_HEADERS, F_END_HEADERS, 1, "\xbe", 1);
	expect(c, "1 L hpack\n", &st);
	conv_free(c);

	/* a block that ends inside a literal */
	c = conv_new();
	put_frame(c, 1, T_HEADERS, F_END_HEADERS, 1, "\x40\x05" "ab", 4);
	expect(c, "1 L hpack\n", &st);
	conv_free(c);

	/* a table size update in the middle of a block */
	c = conv_new();
	put_frame(c, 1, T_HEADERS, F_END_HEADERS, 1, "\x88\x20", 2);
	expect(c, "1 L hpack\n", &st);
	conv_free(c);
}

/* A DATA and an unknown frame of 2^24-1 bytes: as a header plus a gap, and
 * the unknown one fed for real. Nothing is allocated for them. */
static void test_huge_frames(void **state)
{
	struct conv *c = conv_new();
	struct dg_h2_stats st;
	struct rec r;
	struct dg_h2 *h;
	uint8_t *zeros = calloc(1, 1 << 16);
	const uint32_t max = (1u << 24) - 1;

	(void)state;
	assert_non_null(zeros);
	put_headers(c, 1, 1, 0, NVS(RESP_JSON));
	put_frame_header(c, 1, max, T_DATA, F_END_STREAM, 1);
	put_gap(c, 1, max);
	put_frame_header(c, 1, max, 0xfe, 0, 0);
	put_gap(c, 1, max);
	put_headers(c, 1, 3, F_END_STREAM, NVS(RESP_JSON));
	expect(c, L_JSON(1) "1 G 1 16777215\n" "1 E 1\n" L_JSON(3) "1 E 3\n", &st);
	assert_int_equal(st.unknown_frames[1], 1);
	conv_free(c);

	memset(&r, 0, sizeof(r));
	h = dg_h2_new(on_event, &r);
	assert_non_null(h);
	dg_h2_feed(h, 1, (const uint8_t *)"\xff\xff\xff\xfe\0\0\0\0\0", 9);
	for (uint32_t left = max; left > 0;) {
		uint32_t n = left < (1u << 16) ? left : (1u << 16);

		dg_h2_feed(h, 1, zeros, n);
		left -= n;
	}
	dg_h2_feed(h, 1, (const uint8_t *)"\0\0\x01\x01\x05\0\0\0\x01\x88", 10);
	buf_put(&r.log, "", 1);
	assert_string_equal((char *)r.log.p, "1 H 1 :status=200\n1 E 1\n");
	assert_int_equal(dg_h2_stats(h)->frames[1], 2);
	dg_h2_free(h);
	free(r.log.p);
	free(zeros);
}

static void test_push_promise(void **state)
{
	static const nghttp2_nv promised[] = {
		NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "api.example"),
		NV(":path", "/pushed.css"), NV("x-push-only", "indexed-by-the-server-encoder"),
	};
	static const nghttp2_nv resp[] = {
		NV(":status", "200"), NV("x-push-only", "indexed-by-the-server-encoder"),
	};
	struct conv *c = conv_new();
	struct dg_h2_stats st;
	uint8_t p[256], *blk;
	size_t len;

	(void)state;
	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, NVS(REQ_GET));
	/* padded PUSH_PROMISE promising stream 2, its block split over a CONTINUATION */
	blk = hpack(c, 1, NVS(promised), &len);
	p[0] = 3;
	memcpy(p + 1, "\0\0\0\x02", 4);
	memcpy(p + 5, blk, 4);
	memcpy(p + 9, "\0\0\0", 3);
	put_frame(c, 1, T_PUSH, F_PADDED, 1, p, 12);
	put_frame(c, 1, T_CONT, F_END_HEADERS, 1, blk + 4, len - 4);
	free(blk);
	/* the responses use the entry the promise added to the table */
	put_headers(c, 1, 1, F_END_STREAM, NVS(resp));
	put_headers(c, 1, 2, 0, NVS(resp));
	put_data(c, 1, 2, F_END_STREAM, "body{}");
	expect(c,
	       L_GET(1) "0 E 1\n"
	       "1 H 1 :status=200 x-push-only=indexed-by-the-server-encoder\n" "1 E 1\n"
	       "1 H 2 :status=200 x-push-only=indexed-by-the-server-encoder\n" "1 D 2 body{}\n" "1 E 2\n",
	       &st);
	assert_int_equal(st.push_promises, 1);
	assert_int_equal(st.header_blocks[1], 3);
	conv_free(c);
}

/* ---- Privacy ---- */

struct peek {
	const char *val;
	size_t len;
	int seen;
};

static void on_peek(const struct dg_h2_event *e, void *arg)
{
	struct peek *pk = arg;

	if (e->type != DG_H2_HEADERS)
		return;
	for (size_t i = 0; i < e->n_hdrs; i++) {
		const struct dg_h2_header *f = &e->hdrs[i];

		if (f->name_len == 13 && memcmp(f->name, "authorization", 13) == 0) {
			assert_int_equal(f->value_len, 18);
			assert_memory_equal(f->value, "Bearer sk-test-123", 18);
			pk->val = f->value;
			pk->len = f->value_len;
			pk->seen++;
		}
	}
}

/* The copies the callback saw are wiped once it returns. This peeks at the
 * object's own buffer through the pointer the callback was given (still
 * inside the live object), which is exactly what a wipe must clear. */
static void test_values_wiped(void **state)
{
	struct conv *c = conv_new();
	struct peek pk = { 0 };
	struct dg_h2 *h = dg_h2_new(on_peek, &pk);

	(void)state;
	assert_non_null(h);
	put_preface(c);
	put_headers(c, 0, 1, F_END_STREAM, NVS(REQ_GET));
	feed_conv(h, c, FEED_WHOLE, 0);
	assert_int_equal(pk.seen, 1);
	for (size_t i = 0; i < pk.len; i++)
		assert_int_equal(pk.val[i], 0);
	dg_h2_free(h);
	conv_free(c);
}

static void test_api_edges(void **state)
{
	struct dg_h2 *h = dg_h2_new(NULL, NULL);    /* no callback: events dropped */

	(void)state;
	assert_non_null(h);
	dg_h2_feed(h, 0, (const uint8_t *)PREFACE, 24);
	dg_h2_feed(h, 0, NULL, 0);
	dg_h2_feed(h, -1, (const uint8_t *)"x", 1);
	dg_h2_gap(h, 5, 10);
	dg_h2_gap(h, 0, 0);
	dg_h2_feed(h, 0, (const uint8_t *)"\0\0\x01\x01\x05\0\0\0\x01\x82", 10);
	assert_int_equal(dg_h2_stats(h)->header_blocks[0], 1);
	assert_int_equal(dg_h2_stats(h)->gap_bytes[0], 0);
	dg_h2_free(h);
	dg_h2_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preface_fn),
		cmocka_unit_test(test_get_and_post),
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_padding_and_priority),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_continuation_errors),
		cmocka_unit_test(test_trailers_and_interim),
		cmocka_unit_test(test_sse_response),
		cmocka_unit_test(test_rst_and_goaway),
		cmocka_unit_test(test_table_size),
		cmocka_unit_test(test_header_bounds),
		cmocka_unit_test(test_header_byte_bound),
		cmocka_unit_test(test_gap_in_data),
		cmocka_unit_test(test_gap_lost),
		cmocka_unit_test(test_no_preface_and_junk),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_hpack_error),
		cmocka_unit_test(test_huge_frames),
		cmocka_unit_test(test_push_promise),
		cmocka_unit_test(test_values_wiped),
		cmocka_unit_test(test_api_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
