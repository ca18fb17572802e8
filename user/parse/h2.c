/* h2.c — passive HTTP/2 decoder: frames parsed here, HPACK by libnghttp2's
 * inflater (see h2.h for the contract).
 *
 * Each direction is a byte-at-a-time-safe state machine over one frame:
 *
 *   PREFACE (IN only) -> HEAD -> [PADLEN] -> [FIXED] -> [BODY] -> [PAD] -> HEAD
 *
 * A frame's payload is split, once its header (and pad length) is known,
 * into fixed fields (fixed_need bytes, kept), body (body_left bytes: DATA
 * payload, header-block fragment, SETTINGS entries, or skipped bytes) and
 * padding (pad_left bytes, skipped). advance() moves to the first part with
 * bytes left and, when none is, ends the frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include <sodium.h>

#include "h2.h"

#define FRAME_HEADER_LEN 9
#define SETTINGS_ENTRY_LEN 6
#define HPACK_INITIAL_TABLE 4096     /* RFC 9113 6.5.2 default */
#define SETTINGS_HEADER_TABLE_SIZE 0x1

enum frame_type {
	F_DATA = 0x0,
	F_HEADERS = 0x1,
	F_PRIORITY = 0x2,
	F_RST_STREAM = 0x3,
	F_SETTINGS = 0x4,
	F_PUSH_PROMISE = 0x5,
	F_PING = 0x6,
	F_GOAWAY = 0x7,
	F_WINDOW_UPDATE = 0x8,
	F_CONTINUATION = 0x9,
};

#define FL_END_STREAM  0x01
#define FL_ACK         0x01
#define FL_END_HEADERS 0x04
#define FL_PADDED      0x08
#define FL_PRIORITY    0x20

enum h2_state { ST_PREFACE, ST_HEAD, ST_PADLEN, ST_FIXED, ST_BODY, ST_PAD, ST_LOST };

static const char client_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* Copies of the fields of the header block being decoded. */
struct h2_block {
	struct dg_h2_header hdrs[DG_H2_MAX_HEADERS];
	size_t n;                        /* fields kept */
	size_t used;                     /* bytes of buf in use */
	int pseudo;                      /* a pseudo-header was decoded (kept or not) */
	char buf[DG_H2_MAX_HDR_BYTES];
};

struct h2_dir {
	enum h2_state state;
	size_t preface_got;
	uint8_t head[FRAME_HEADER_LEN];
	size_t head_got;

	/* The frame being read. */
	uint32_t len;                    /* payload length */
	uint8_t type, flags;
	uint32_t stream;
	uint8_t fixed[8];
	size_t fixed_need, fixed_got;
	uint32_t body_left, pad_left;
	uint8_t entry[SETTINGS_ENTRY_LEN];
	size_t entry_got;

	/* The header block being decoded (HEADERS/PUSH_PROMISE + CONTINUATIONs). */
	int in_block;
	uint32_t block_stream;
	int block_end_stream;
	int block_push;
	struct h2_block blk;

	nghttp2_hd_inflater *inf;        /* NULL once the direction is lost */
	size_t table_limit;              /* SETTINGS_HEADER_TABLE_SIZE applied */
	size_t table_want;               /* the largest the other side announced */
};

struct dg_h2 {
	dg_h2_fn fn;
	void *arg;
	struct dg_h2_stats st;
	struct h2_dir d[2];
};

/* ---- An allocator for the inflaters that wipes every block it frees ----
 * The HPACK dynamic table and the inflater's field buffers hold header
 * values (API keys among them); nghttp2 frees them without wiping. Each
 * block carries its size in front so free can wipe it. */

union wipe_hdr {
	size_t size;
	max_align_t align;               /* keeps the user part aligned */
};

static void *wipe_malloc(size_t size, void *ud)
{
	union wipe_hdr *w;

	(void)ud;
	if (size > SIZE_MAX - sizeof(*w))
		return NULL;
	w = malloc(sizeof(*w) + size);
	if (!w)
		return NULL;
	w->size = size;
	return w + 1;
}

static void wipe_free(void *p, void *ud)
{
	union wipe_hdr *w;

	(void)ud;
	if (!p)
		return;
	w = (union wipe_hdr *)p - 1;
	sodium_memzero(p, w->size);
	free(w);
}

static void *wipe_calloc(size_t nmemb, size_t size, void *ud)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	p = wipe_malloc(nmemb * size, ud);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

/* Always moves, so the old block can be wiped. */
static void *wipe_realloc(void *p, size_t size, void *ud)
{
	size_t old;
	void *q;

	if (!p)
		return wipe_malloc(size, ud);
	old = ((union wipe_hdr *)p - 1)->size;
	q = wipe_malloc(size, ud);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	wipe_free(p, ud);
	return q;
}

static nghttp2_mem wipe_mem = { NULL, wipe_malloc, wipe_free, wipe_calloc, wipe_realloc };

/* ---- Small helpers ---- */

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int is_block_frame(uint8_t type)
{
	return type == F_HEADERS || type == F_PUSH_PROMISE || type == F_CONTINUATION;
}

static int is_padded(const struct h2_dir *s)
{
	return (s->type == F_DATA || s->type == F_HEADERS || s->type == F_PUSH_PROMISE) &&
	       (s->flags & FL_PADDED);
}

static void wipe_block(struct h2_block *b)
{
	sodium_memzero(b->buf, b->used);
	sodium_memzero(b->hdrs, b->n * sizeof(b->hdrs[0]));
	b->n = 0;
	b->used = 0;
	b->pseudo = 0;
}

static void emit(struct dg_h2 *h, const struct dg_h2_event *e)
{
	if (h->fn)
		h->fn(e, h->arg);
}

static void emit_plain(struct dg_h2 *h, int d, int type, uint32_t stream, uint32_t code)
{
	struct dg_h2_event e = { .type = type, .dir = d, .stream = stream, .error_code = code };

	emit(h, &e);
}

/* The direction can no longer be followed: say so once, forget the block
 * and the HPACK state (wiped by the allocator), drop everything after. */
static void lose(struct dg_h2 *h, int d, const char *why)
{
	struct h2_dir *s = &h->d[d];
	struct dg_h2_event e = { .type = DG_H2_LOST, .dir = d, .why = why };

	if (s->state == ST_LOST)
		return;
	s->state = ST_LOST;
	s->in_block = 0;
	wipe_block(&s->blk);
	if (s->inf) {
		nghttp2_hd_inflate_del(s->inf);
		s->inf = NULL;
	}
	h->st.lost[d]++;
	emit(h, &e);
}

/* ---- Header blocks ---- */

/* Copy one decoded field into the block, within the bounds. */
static void keep_field(struct dg_h2 *h, struct h2_dir *s, const nghttp2_nv *nv)
{
	struct h2_block *b = &s->blk;
	struct dg_h2_header *f;
	size_t vlen = min_size(nv->valuelen, DG_H2_MAX_VALUE);
	size_t room = DG_H2_MAX_HDR_BYTES - b->used;

	if (nv->namelen > 0 && nv->name[0] == ':')
		b->pseudo = 1;
	if (s->block_push)
		return;
	if (b->n == DG_H2_MAX_HEADERS || nv->namelen > room || vlen > room - nv->namelen) {
		h->st.headers_dropped++;
		return;
	}
	if (vlen < nv->valuelen)
		h->st.values_truncated++;
	f = &b->hdrs[b->n++];
	f->name = b->buf + b->used;
	f->name_len = nv->namelen;
	if (nv->namelen)
		memcpy(b->buf + b->used, nv->name, nv->namelen);
	b->used += nv->namelen;
	f->value = b->buf + b->used;
	f->value_len = vlen;
	if (vlen)
		memcpy(b->buf + b->used, nv->value, vlen);
	b->used += vlen;
}

/* Feed header-block bytes to the inflater (final: the block ends here),
 * keeping each field it emits. -1 on an HPACK error. */
static int inflate_bytes(struct dg_h2 *h, int d, const uint8_t *p, size_t n, int final)
{
	struct h2_dir *s = &h->d[d];

	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t r = nghttp2_hd_inflate_hd2(s->inf, &nv, &flags, p, n, final);

		if (r < 0 || (size_t)r > n)
			return -1;
		p += r;
		n -= (size_t)r;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			keep_field(h, s, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(s->inf);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT)) {
			/* All input taken; with final set it must have ended. */
			return n == 0 && !final ? 0 : -1;
		}
	}
}

/* A HEADERS or PUSH_PROMISE frame opens a block. The inflater may only
 * change its table size between blocks, so a raise announced by the other
 * side's SETTINGS is applied here. */
static int begin_block(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];

	if (s->table_want > s->table_limit) {
		if (nghttp2_hd_inflate_change_table_size(s->inf, s->table_want) != 0)
			return -1;
		s->table_limit = s->table_want;
	}
	s->in_block = 1;
	s->block_stream = s->stream;
	s->block_end_stream = s->type == F_HEADERS && (s->flags & FL_END_STREAM);
	s->block_push = s->type == F_PUSH_PROMISE;
	wipe_block(&s->blk);
	return 0;
}

/* END_HEADERS reached: finish decoding, report, wipe the copies. */
static void finish_block(struct dg_h2 *h, int d)
{
	static const uint8_t none[1];
	struct h2_dir *s = &h->d[d];
	struct dg_h2_event e = { .type = DG_H2_HEADERS, .dir = d };

	if (inflate_bytes(h, d, none, 0, 1) < 0) {
		lose(h, d, "hpack");
		return;
	}
	s->in_block = 0;
	h->st.header_blocks[d]++;
	if (s->block_push) {
		h->st.push_promises++;
		wipe_block(&s->blk);
		return;
	}
	e.stream = s->block_stream;
	e.hdrs = s->blk.hdrs;
	e.n_hdrs = s->blk.n;
	e.trailers = !s->blk.pseudo;
	emit(h, &e);
	wipe_block(&s->blk);
	if (s->block_end_stream)
		emit_plain(h, d, DG_H2_END, s->block_stream, 0);
}

/* ---- SETTINGS ---- */

/* Only the table size matters here: it bounds what the OTHER direction's
 * encoder may use. Raised, capped, never lowered (see h2.h). */
static void settings_entry(struct dg_h2 *h, int d, const uint8_t *e)
{
	struct h2_dir *peer = &h->d[!d];
	unsigned id = (unsigned)e[0] << 8 | e[1];
	uint32_t v = rd32(e + 2);

	if (id != SETTINGS_HEADER_TABLE_SIZE)
		return;
	if (v > DG_H2_TABLE_MAX) {
		v = DG_H2_TABLE_MAX;
		h->st.table_capped++;
	}
	if (v > peer->table_want)
		peer->table_want = v;
}

static void settings_bytes(struct dg_h2 *h, int d, const uint8_t *p, size_t n)
{
	struct h2_dir *s = &h->d[d];

	while (n > 0) {
		size_t k = min_size(n, SETTINGS_ENTRY_LEN - s->entry_got);

		memcpy(s->entry + s->entry_got, p, k);
		s->entry_got += k;
		p += k;
		n -= k;
		if (s->entry_got == SETTINGS_ENTRY_LEN) {
			s->entry_got = 0;
			settings_entry(h, d, s->entry);
		}
	}
}

/* ---- Frames ---- */

static void end_frame(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];

	s->state = ST_HEAD;
	if (s->type == F_DATA && (s->flags & FL_END_STREAM))
		emit_plain(h, d, DG_H2_END, s->stream, 0);
	else if (is_block_frame(s->type) && (s->flags & FL_END_HEADERS))
		finish_block(h, d);
}

/* Go to the first part of the payload with bytes left, or end the frame. */
static void advance(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];

	if (s->state == ST_LOST)
		return;
	if (s->fixed_got < s->fixed_need)
		s->state = ST_FIXED;
	else if (s->body_left > 0)
		s->state = ST_BODY;
	else if (s->pad_left > 0)
		s->state = ST_PAD;
	else
		end_frame(h, d);
}

static size_t fixed_len(const struct h2_dir *s)
{
	switch (s->type) {
	case F_HEADERS:
		return (s->flags & FL_PRIORITY) ? 5 : 0;   /* stream dependency + weight */
	case F_PUSH_PROMISE:
		return 4;                                   /* promised stream id */
	case F_RST_STREAM:
		return 4;                                   /* error code */
	case F_GOAWAY:
		return 8;                                   /* last stream id + error code */
	default:
		return 0;
	}
}

/* Pad length known (0 if not padded): split the payload into its parts. */
static void layout(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];
	uint32_t avail = s->len - (is_padded(s) ? 1 : 0);
	size_t fixed = fixed_len(s);

	if (fixed + s->pad_left > avail) {
		lose(h, d, is_padded(s) ? "bad padding" : "bad frame size");
		return;
	}
	s->fixed_need = fixed;
	s->body_left = avail - (uint32_t)fixed - s->pad_left;
	advance(h, d);
}

/* Frame rules that matter to an observer; NULL if the frame is acceptable. */
static const char *check_frame(const struct h2_dir *s, int d)
{
	if (s->in_block && (s->type != F_CONTINUATION || s->stream != s->block_stream))
		return "continuation expected";
	switch (s->type) {
	case F_DATA:
	case F_HEADERS:
		return s->stream == 0 ? "stream 0" : NULL;
	case F_PUSH_PROMISE:
		if (d == 0)
			return "push from client";
		return s->stream == 0 ? "stream 0" : NULL;
	case F_CONTINUATION:
		return s->in_block ? NULL : "unexpected CONTINUATION";
	case F_RST_STREAM:
		if (s->stream == 0)
			return "stream 0";
		return s->len != 4 ? "bad frame size" : NULL;
	case F_SETTINGS:
		if (s->stream != 0)
			return "not stream 0";
		if (s->flags & FL_ACK)
			return s->len != 0 ? "bad frame size" : NULL;
		return s->len % SETTINGS_ENTRY_LEN ? "bad frame size" : NULL;
	case F_GOAWAY:
		if (s->stream != 0)
			return "not stream 0";
		return s->len < 8 ? "bad frame size" : NULL;
	default:
		return NULL;
	}
}

/* The 9-byte frame header is complete. */
static void start_frame(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];
	const uint8_t *b = s->head;
	const char *why;

	s->head_got = 0;
	s->len = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
	s->type = b[3];
	s->flags = b[4];
	s->stream = rd32(b + 5) & 0x7fffffffu;
	s->fixed_need = s->fixed_got = 0;
	s->body_left = s->pad_left = 0;
	s->entry_got = 0;
	h->st.frames[d]++;
	if (s->type > F_CONTINUATION)
		h->st.unknown_frames[d]++;
	why = check_frame(s, d);
	if (!why && is_padded(s) && s->len == 0)
		why = "bad padding";
	if (why) {
		lose(h, d, why);
		return;
	}
	if ((s->type == F_HEADERS || s->type == F_PUSH_PROMISE) && begin_block(h, d) < 0) {
		lose(h, d, "hpack");
		return;
	}
	if (is_padded(s))
		s->state = ST_PADLEN;
	else
		layout(h, d);
}

/* The fixed fields are complete: report the control frames we follow. */
static void fixed_done(struct dg_h2 *h, int d)
{
	struct h2_dir *s = &h->d[d];

	if (s->type == F_RST_STREAM)
		emit_plain(h, d, DG_H2_RESET, s->stream, rd32(s->fixed));
	else if (s->type == F_GOAWAY)
		emit_plain(h, d, DG_H2_GOAWAY, rd32(s->fixed) & 0x7fffffffu, rd32(s->fixed + 4));
}

/* ---- Byte consumers, one per state; each takes at least one byte ---- */

static size_t read_preface(struct dg_h2 *h, int d, const uint8_t *p, size_t len)
{
	struct h2_dir *s = &h->d[d];
	size_t n = min_size(len, DG_H2_PREFACE_LEN - s->preface_got);

	if (memcmp(p, client_preface + s->preface_got, n) != 0) {
		lose(h, d, "no preface");
		return n;
	}
	s->preface_got += n;
	if (s->preface_got == DG_H2_PREFACE_LEN)
		s->state = ST_HEAD;
	return n;
}

static size_t read_head(struct dg_h2 *h, int d, const uint8_t *p, size_t len)
{
	struct h2_dir *s = &h->d[d];
	size_t n = min_size(len, FRAME_HEADER_LEN - s->head_got);

	memcpy(s->head + s->head_got, p, n);
	s->head_got += n;
	if (s->head_got == FRAME_HEADER_LEN)
		start_frame(h, d);
	return n;
}

static size_t read_fixed(struct dg_h2 *h, int d, const uint8_t *p, size_t len)
{
	struct h2_dir *s = &h->d[d];
	size_t n = min_size(len, s->fixed_need - s->fixed_got);

	memcpy(s->fixed + s->fixed_got, p, n);
	s->fixed_got += n;
	if (s->fixed_got == s->fixed_need) {
		fixed_done(h, d);
		advance(h, d);
	}
	return n;
}

static size_t read_body(struct dg_h2 *h, int d, const uint8_t *p, size_t len)
{
	struct h2_dir *s = &h->d[d];
	size_t n = min_size(len, s->body_left);
	struct dg_h2_event e = { .type = DG_H2_DATA, .dir = d, .stream = s->stream,
				 .data = p, .len = n };

	switch (s->type) {
	case F_DATA:
		h->st.data_bytes[d] += n;
		emit(h, &e);
		break;
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
		if (inflate_bytes(h, d, p, n, 0) < 0) {
			lose(h, d, "hpack");
			return n;
		}
		break;
	case F_SETTINGS:
		settings_bytes(h, d, p, n);
		break;
	default:
		break;   /* PRIORITY, PING, WINDOW_UPDATE, GOAWAY debug data, unknown */
	}
	s->body_left -= (uint32_t)n;
	if (s->body_left == 0)
		advance(h, d);
	return n;
}

static size_t read_pad(struct dg_h2 *h, int d, size_t len)
{
	struct h2_dir *s = &h->d[d];
	size_t n = min_size(len, s->pad_left);

	s->pad_left -= (uint32_t)n;
	if (s->pad_left == 0)
		advance(h, d);
	return n;
}

static size_t step(struct dg_h2 *h, int d, const uint8_t *p, size_t len)
{
	struct h2_dir *s = &h->d[d];

	switch (s->state) {
	case ST_PREFACE:
		return read_preface(h, d, p, len);
	case ST_HEAD:
		return read_head(h, d, p, len);
	case ST_PADLEN:
		s->pad_left = p[0];
		layout(h, d);
		return 1;
	case ST_FIXED:
		return read_fixed(h, d, p, len);
	case ST_BODY:
		return read_body(h, d, p, len);
	case ST_PAD:
		return read_pad(h, d, len);
	case ST_LOST:
		break;
	}
	return len;
}

/* ---- Gaps ---- */

/* Can len missing bytes be skipped without losing the frame structure or
 * HPACK state? Only within the current frame's opaque remainder. */
static int gap_fits(const struct h2_dir *s, uint64_t len)
{
	if (s->state != ST_BODY && s->state != ST_PAD)
		return 0;
	if (len > (uint64_t)s->body_left + s->pad_left)
		return 0;
	if (s->state == ST_PAD)
		return 1;
	switch (s->type) {
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
	case F_SETTINGS:
		return 0;
	default:
		return 1;   /* DATA, PRIORITY, PING, WINDOW_UPDATE, GOAWAY debug data, unknown */
	}
}

void dg_h2_gap(struct dg_h2 *h, int dir, uint64_t len)
{
	struct h2_dir *s;
	uint64_t in_body;

	if (!h || (dir != 0 && dir != 1) || len == 0)
		return;
	s = &h->d[dir];
	h->st.gap_bytes[dir] += len;
	if (s->state == ST_LOST)
		return;
	if (!gap_fits(s, len)) {
		lose(h, dir, "gap");
		return;
	}
	in_body = len < s->body_left ? len : s->body_left;
	if (s->type == F_DATA && in_body > 0) {
		struct dg_h2_event e = { .type = DG_H2_DATA_GAP, .dir = dir, .stream = s->stream,
					 .gap = in_body };

		h->st.data_gap_bytes[dir] += in_body;
		emit(h, &e);
	}
	s->body_left -= (uint32_t)in_body;
	s->pad_left -= (uint32_t)(len - in_body);
	if (s->body_left == 0)
		advance(h, dir);
}

/* ---- API ---- */

void dg_h2_feed(struct dg_h2 *h, int dir, const uint8_t *p, size_t len)
{
	struct h2_dir *s;

	if (!h || (dir != 0 && dir != 1) || !p)
		return;
	s = &h->d[dir];
	while (len > 0 && s->state != ST_LOST) {
		size_t n = step(h, dir, p, len);

		p += n;
		len -= n;
	}
	h->st.dropped_bytes[dir] += len;
}

struct dg_h2 *dg_h2_new(dg_h2_fn fn, void *arg)
{
	struct dg_h2 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fn = fn;
	h->arg = arg;
	for (int d = 0; d < 2; d++) {
		if (nghttp2_hd_inflate_new2(&h->d[d].inf, &wipe_mem) != 0) {
			dg_h2_free(h);
			return NULL;
		}
		h->d[d].table_limit = HPACK_INITIAL_TABLE;
		h->d[d].table_want = HPACK_INITIAL_TABLE;
	}
	h->d[0].state = ST_PREFACE;
	h->d[1].state = ST_HEAD;
	return h;
}

void dg_h2_free(struct dg_h2 *h)
{
	if (!h)
		return;
	for (int d = 0; d < 2; d++) {
		wipe_block(&h->d[d].blk);
		if (h->d[d].inf)
			nghttp2_hd_inflate_del(h->d[d].inf);   /* wiped by wipe_free */
	}
	free(h);
}

int dg_h2_preface(const uint8_t *p, size_t len)
{
	if (!p || len < 4)
		return 0;
	return memcmp(p, client_preface, min_size(len, DG_H2_PREFACE_LEN)) == 0;
}

const struct dg_h2_stats *dg_h2_stats(const struct dg_h2 *h)
{
	return &h->st;
}
