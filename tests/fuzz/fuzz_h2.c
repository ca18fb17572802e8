/* fuzz_h2.c — libFuzzer harness for the passive HTTP/2 decoder.
 * Input: byte 0 the mode, bytes 1-2 (big-endian) how many of the remaining
 * bytes are IN (the rest is OUT), bytes 3 and 4 a split point in IN and in
 * OUT (as fractions), byte 5 a gap size (bit 7: large, up to 16 MiB), then
 * the bytes. Mode bit 0: prepend the client preface to IN; bit 1: a gap in
 * IN at its split point; bit 2: one in OUT; bit 3: interleave the pieces of
 * IN and OUT (else all of OUT, then all of IN); bit 4: a byte at a time.
 * Events are checked (nothing after LOST, bounds, no empty DATA) and hashed,
 * DATA pieces of one stream in a row joined. Without a gap or interleaving,
 * feeding each direction whole must give the same hash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

#define HDR_LEN 6

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct ctx {
	uint64_t hash;
	int data_open;       /* the last event was DATA of (dir, stream) */
	int dir;
	uint32_t stream;
	int lost[2];
};

static void mix(struct ctx *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		c->hash ^= b[i];
		c->hash *= 0x100000001b3ull;
	}
}

static void mix_u64(struct ctx *c, uint64_t v)
{
	mix(c, &v, sizeof(v));
}

static void check_headers(struct ctx *c, const struct dg_h2_event *e)
{
	size_t bytes = 0;

	if (e->n_hdrs > DG_H2_MAX_HEADERS)
		__builtin_trap();
	mix_u64(c, e->n_hdrs);
	mix_u64(c, (uint64_t)e->trailers);
	for (size_t i = 0; i < e->n_hdrs; i++) {
		const struct dg_h2_header *f = &e->hdrs[i];

		if (f->value_len > DG_H2_MAX_VALUE)
			__builtin_trap();
		bytes += f->name_len + f->value_len;
		mix_u64(c, f->name_len);
		mix(c, f->name, f->name_len);
		mix_u64(c, f->value_len);
		mix(c, f->value, f->value_len);
	}
	if (bytes > DG_H2_MAX_HDR_BYTES)
		__builtin_trap();
}

static void on_event(const struct dg_h2_event *e, void *arg)
{
	struct ctx *c = arg;

	if ((e->dir != 0 && e->dir != 1) || c->lost[e->dir])
		__builtin_trap();
	if (e->type == DG_H2_DATA) {
		if (e->len == 0)
			__builtin_trap();
		if (!(c->data_open && c->dir == e->dir && c->stream == e->stream)) {
			mix_u64(c, DG_H2_DATA);
			mix_u64(c, (uint64_t)e->dir << 32 | e->stream);
		}
		mix(c, e->data, e->len);
		c->data_open = 1;
		c->dir = e->dir;
		c->stream = e->stream;
		return;
	}
	c->data_open = 0;
	mix_u64(c, (uint64_t)e->type);
	mix_u64(c, (uint64_t)e->dir << 32 | e->stream);
	switch (e->type) {
	case DG_H2_HEADERS:
		check_headers(c, e);
		break;
	case DG_H2_DATA_GAP:
		mix_u64(c, e->gap);
		break;
	case DG_H2_RESET:
	case DG_H2_GOAWAY:
		mix_u64(c, e->error_code);
		break;
	case DG_H2_LOST:
		if (!e->why)
			__builtin_trap();
		mix(c, e->why, strlen(e->why));
		c->lost[e->dir] = 1;
		break;
	case DG_H2_END:
		break;
	default:
		__builtin_trap();
	}
}

static void feed(struct dg_h2 *h, int dir, const uint8_t *p, size_t n, int bytewise)
{
	if (!bytewise) {
		dg_h2_feed(h, dir, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dg_h2_feed(h, dir, p + i, 1);
}

struct plan {
	const uint8_t *p[2];   /* IN, OUT */
	size_t len[2];
	size_t cut[2];         /* each direction is fed as [0, cut) and [cut, len) */
	uint64_t gap[2];       /* missing bytes at the cut (0: none) */
	int interleave, bytewise;
};

static void feed_piece(struct dg_h2 *h, const struct plan *pl, int d, int piece)
{
	size_t from = piece == 0 ? 0 : pl->cut[d];
	size_t to = piece == 0 ? pl->cut[d] : pl->len[d];

	if (piece == 1 && pl->gap[d])
		dg_h2_gap(h, d, pl->gap[d]);
	feed(h, d, pl->p[d] + from, to - from, pl->bytewise);
}

static uint64_t run(const struct plan *pl)
{
	struct ctx c = { .hash = 0xcbf29ce484222325ull };
	struct dg_h2 *h = dg_h2_new(on_event, &c);
	const struct dg_h2_stats *st;

	if (!h)
		return 0;
	if (pl->interleave) {
		for (int piece = 0; piece < 2; piece++)
			for (int d = 0; d < 2; d++)
				feed_piece(h, pl, d, piece);
	} else {
		/* OUT first: the server's SETTINGS usually precede the client's
		 * requests, and a fixed order keeps table-size raises in place */
		for (int d = 1; d >= 0; d--) {
			feed_piece(h, pl, d, 0);
			feed_piece(h, pl, d, 1);
		}
	}
	st = dg_h2_stats(h);
	for (int d = 0; d < 2; d++)
		if (st->lost[d] > 1 || (!st->lost[d] && st->dropped_bytes[d]))
			__builtin_trap();
	dg_h2_free(h);
	return c.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan pl;
	uint8_t *in = NULL;
	uint8_t mode, g;
	size_t rest, in_len;

	if (size < HDR_LEN)
		return 0;
	memset(&pl, 0, sizeof(pl));
	mode = data[0];
	rest = size - HDR_LEN;
	in_len = (size_t)data[1] << 8 | data[2];
	if (in_len > rest)
		in_len = rest;
	pl.p[0] = data + HDR_LEN;
	pl.len[0] = in_len;
	pl.p[1] = data + HDR_LEN + in_len;
	pl.len[1] = rest - in_len;
	if (mode & 1) {
		in = malloc(24 + in_len + 1);
		if (!in)
			return 0;
		memcpy(in, PREFACE, 24);
		memcpy(in + 24, pl.p[0], in_len);
		pl.p[0] = in;
		pl.len[0] += 24;
	}
	pl.cut[0] = pl.len[0] * data[3] / 255;
	pl.cut[1] = pl.len[1] * data[4] / 255;
	g = data[5];
	for (int d = 0; d < 2; d++)
		if (mode & (2 << d))
			pl.gap[d] = (g & 0x80) ? ((uint64_t)(g & 0x7f) << 17) + g : g;
	pl.interleave = (mode & 8) != 0;
	pl.bytewise = (mode & 16) != 0;

	uint64_t a = run(&pl);
	if (!pl.gap[0] && !pl.gap[1] && !pl.interleave) {
		/* the split never changes the events */
		pl.cut[0] = pl.len[0];
		pl.cut[1] = pl.len[1];
		pl.bytewise = 0;
		if (run(&pl) != a)
			__builtin_trap();
	}
	free(in);
	return 0;
}
