/* test_capture.c — exact or counted: a property test of the capture path.
 *
 * A keep-alive conversation (request bodies and answers of many sizes,
 * Content-Length, chunked and SSE) is cut into calls whose sizes sweep
 * across every capture bound. Each call becomes the pieces the kernel sends
 * (dg_plan_*, dg_event.h), as ring buffer samples with their stream place,
 * through dg_decode and the reassembler; with no loss, and with pieces
 * dropped at random as a full ring buffer would. Then:
 *  - every byte sent is delivered, skipped by design (the middle of a long
 *    response call) or counted in gap_bytes: the three add up exactly;
 *  - with no loss nothing is counted lost, and every record equals what was
 *    sent (fields after a long "messages" array included);
 *  - with loss, a record is right or says it is not (req_truncated,
 *    resp_truncated): never silently wrong.
 * SEEDS=N build/tests/test_capture runs N loss patterns (default 12). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode.h"
#include "reassemble.h"

static const uint8_t secret[16] = "capturecapture!!";

#define C DG_CHUNK
#define T DG_CAP_TAIL
#define MAX_EX 64

enum body_kind { BODY_LENGTH, BODY_CHUNKED, BODY_SSE };

struct exchange {
	char *req, *resp;
	size_t req_len, resp_len, body_len;
	int tokens;
	int req_skipped;          /* a call of the request lost its middle by design */
};

struct run {
	struct exchange ex[MAX_EX];
	int n;
	uint32_t cap_in;
	struct dg_record recs[MAX_EX];
	int nrec;
	uint64_t seq[2], total, skipped;
	uint64_t rng;
	int drop_one_in;          /* 0: no loss; else drop a piece with this odds */
	uint64_t dropped;
	struct dg_data_event *ev;
	const uint32_t *sizes;
	size_t n_sizes, next_size;
};

static uint32_t rnd(struct run *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return (uint32_t)r->rng;
}

static void on_record(const struct dg_record *rec, void *arg)
{
	struct run *r = arg;

	if (r->nrec < MAX_EX)
		r->recs[r->nrec] = *rec;
	r->nrec++;
}

/* A request whose body puts "messages" first, then the fields a harvest
 * shows in (model, stream, max_tokens, logprobs). */
static void make_request(struct exchange *x, int i, size_t body_len)
{
	char tailf[160];
	size_t hlen, tl, pad;
	char *body;

	tl = (size_t)snprintf(tailf, sizeof(tailf),
			      "\"}],\"model\":\"m%d\",\"stream\":false,\"max_tokens\":%d,\"logprobs\":true}",
			      i, i + 1);
	if (body_len < tl + 48)
		body_len = tl + 48;
	body = malloc(body_len + 1);
	static const char head[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"";
	const size_t hl = sizeof(head) - 1;

	pad = body_len - tl - hl;
	memcpy(body, head, hl);
	memset(body + hl, 'q', pad);
	memcpy(body + hl + pad, tailf, tl + 1);
	x->req = malloc(body_len + 256);
	hlen = (size_t)snprintf(x->req, 256, "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\n"
				"Authorization: Bearer sk-cap-%d\r\nContent-Length: %zu\r\n\r\n",
				i % 3, body_len);
	memcpy(x->req + hlen, body, body_len);
	x->req_len = hlen + body_len;
	x->body_len = body_len;
	free(body);
}

/* An answer of about body_len bytes whose usage says x->tokens. */
static void make_response(struct exchange *x, enum body_kind kind, size_t body_len)
{
	char *body, usage[96];
	size_t ul, pad, n = 0, cap;

	ul = (size_t)snprintf(usage, sizeof(usage), "\"}}],\"usage\":{\"completion_tokens\":%d}}",
			      x->tokens);
	if (body_len < ul + 64)
		body_len = ul + 64;
	cap = body_len * 2 + 4096;
	x->resp = malloc(cap);
	if (kind == BODY_SSE) {
		/* One event per call, as servers write them; a usage event last. */
		n = (size_t)snprintf(x->resp, cap, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t done = 0; done < body_len; done += 60) {
			char ev[128];
			int el = snprintf(ev, sizeof(ev),
					  "data: {\"choices\":[{\"delta\":{\"content\":\"t%zu \"}}]}\n\n", done);
			n += (size_t)snprintf(x->resp + n, cap - n, "%x\r\n%s\r\n", el, ev);
		}
		{
			char ev[128];
			int el = snprintf(ev, sizeof(ev), "data: {\"choices\":[],\"usage\":"
					  "{\"completion_tokens\":%d}}\n\n", x->tokens);
			n += (size_t)snprintf(x->resp + n, cap - n, "%x\r\n%s\r\n0\r\n\r\n", el, ev);
		}
		x->resp_len = n;
		return;
	}
	static const char head[] = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"";
	const size_t hl = sizeof(head) - 1;

	body = malloc(body_len + 1);
	pad = body_len - ul - hl;
	memcpy(body, head, hl);
	memset(body + hl, 'a', pad);
	memcpy(body + hl + pad, usage, ul + 1);
	if (kind == BODY_LENGTH) {
		n = (size_t)snprintf(x->resp, cap, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: %zu\r\n\r\n", body_len);
		memcpy(x->resp + n, body, body_len);
		n += body_len;
	} else {
		/* Chunks of up to 3 * C, each written with its framing. */
		n = (size_t)snprintf(x->resp, cap, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t done = 0; done < body_len;) {
			size_t k = body_len - done < 3 * C ? body_len - done : 3 * C;
			n += (size_t)snprintf(x->resp + n, cap - n, "%zx\r\n", k);
			memcpy(x->resp + n, body + done, k);
			n += k;
			memcpy(x->resp + n, "\r\n", 2);
			n += 2;
			done += k;
		}
		memcpy(x->resp + n, "0\r\n\r\n", 5);
		n += 5;
	}
	x->resp_len = n;
	free(body);
}

/* One call of len bytes: the kernel's pieces, some dropped when lossy. */
static void kernel_call(struct run *r, struct dg_reasm *ra, int dir, const char *p, uint32_t len)
{
	uint32_t bound = dir == DG_DIR_IN ? r->cap_in : C, np = dg_plan_count(len, bound);
	struct dg_decoded d;

	if (len > bound + T)
		r->skipped += len - T - bound;
	for (uint32_t i = 0; i < np; i++) {
		uint32_t off, n;

		dg_plan_piece(len, bound, i, &off, &n);
		assert_true(n > 0 && n <= C && off + n <= len);
		if (r->drop_one_in && rnd(r) % (uint32_t)r->drop_one_in == 0) {
			r->dropped += n;
			continue;
		}
		memset(r->ev, 0, DG_DATA_HDR_SIZE);
		r->ev->type = DG_EV_DATA;
		r->ev->dir = (uint8_t)dir;
		r->ev->src = DG_SRC_TLS;
		r->ev->flags = DG_F_TIED | (len > bound ? DG_F_CUT : 0);
		r->ev->conn = 42;
		r->ev->ts_ns = 1000000 + r->seq[0] + r->seq[1];
		r->ev->t.family = 2;
		r->ev->t.lport = 443;
		r->ev->seq = r->seq[dir];
		r->ev->other_seq = r->seq[!dir];
		r->ev->len = len;
		r->ev->off = off;
		r->ev->cap = n;
		r->ev->bound = bound;
		memcpy(r->ev->data, p + off, n);
		assert_int_equal(dg_decode(r->ev, DG_DATA_HDR_SIZE + n, &d), DG_DEC_DATA);
		dg_reasm_chunk(ra, &d.chunk);
	}
	r->seq[dir] += len;
	r->total += len;
}

/* A message as calls whose sizes cycle through the sweep. */
static int send_message(struct run *r, struct dg_reasm *ra, int dir, const char *p, size_t len)
{
	int skipped = 0;

	for (size_t done = 0; done < len;) {
		uint32_t want = r->sizes[r->next_size++ % r->n_sizes];
		uint32_t n = (uint32_t)(len - done < want ? len - done : want);
		uint32_t bound = dir == DG_DIR_IN ? r->cap_in : C;

		skipped |= n > bound + T;
		kernel_call(r, ra, dir, p + done, n);
		done += n;
	}
	return skipped;
}

static void build(struct run *r, const size_t *req_sizes, size_t nreq, const size_t *resp_sizes,
		  size_t nresp, int n)
{
	for (int i = 0; i < n; i++) {
		struct exchange *x = &r->ex[i];

		x->tokens = 1000 + i;
		make_request(x, i, req_sizes[(size_t)i % nreq]);
		make_response(x, (enum body_kind)(i % 3), resp_sizes[((size_t)i / 3) % nresp]);
	}
	r->n = n;
}

static void run_once(struct run *r)
{
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	struct dg_conn_event close;

	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	cfg.max_body = r->cap_in;
	ra = dg_reasm_new(&cfg, on_record, NULL, r);
	assert_non_null(ra);
	/* A connection opened while watched: its start is its start. */
	memset(&close, 0, sizeof(close));
	close.type = DG_EV_OPEN;
	close.conn = 42;
	close.ts_ns = 1000;
	close.t.family = 2;
	close.t.lport = 443;
	dg_reasm_open(ra, &close);
	r->nrec = 0;
	r->seq[0] = r->seq[1] = r->total = r->skipped = r->dropped = 0;
	for (int i = 0; i < r->n; i++) {
		r->ex[i].req_skipped = send_message(r, ra, DG_DIR_IN, r->ex[i].req, r->ex[i].req_len);
		send_message(r, ra, DG_DIR_OUT, r->ex[i].resp, r->ex[i].resp_len);
	}
	/* The close carries the kernel's byte counts: lost last pieces show. */
	memset(&close, 0, sizeof(close));
	close.type = DG_EV_CLOSE;
	close.conn = 42;
	close.ts_ns = 2000000000ULL;
	close.st.app_in = r->seq[0];
	close.st.app_out = r->seq[1];
	dg_reasm_close(ra, &close);
	dg_reasm_flush(ra);
	{
		const struct dg_reasm_stats *st = dg_reasm_stats(ra);

		/* Every byte: delivered, skipped by design, or counted lost. */
		assert_int_equal(st->overlap_dropped, 0);
		assert_int_equal(st->bytes + st->skipped_bytes + st->gap_bytes, r->total);
		assert_int_equal(st->skipped_bytes + st->gap_bytes, r->skipped + r->dropped);
		if (!r->drop_one_in) {
			assert_int_equal(st->gap_bytes, 0);
			assert_int_equal(st->gaps, 0);
			assert_int_equal(st->skipped_bytes, r->skipped);
			assert_int_equal(st->parse_errors, 0);
		}
	}
	dg_reasm_free(ra);
}

/* A record is the exchange it names, or says it is not whole. */
static void check_records(struct run *r)
{
	int right = 0;

	if (!r->drop_one_in)
		assert_int_equal(r->nrec, r->n);
	assert_true(r->nrec <= r->n);
	for (int k = 0; k < r->nrec && k < MAX_EX; k++) {
		const struct dg_record *rec = &r->recs[k];
		int i = -1, ok = 1;

		if (!rec->req_truncated) {
			assert_true(sscanf(rec->model, "m%d", &i) == 1);
			assert_true(i >= 0 && i < r->n);
			assert_int_equal(rec->max_tokens, i + 1);
			assert_int_equal(rec->logprobs, 1);
			assert_int_equal(rec->stream, 0);
			assert_int_equal(rec->req_bytes, (int64_t)r->ex[i].body_len);
		} else {
			ok = 0;
			/* Without loss, only a body past the bound is cut. */
			if (!r->drop_one_in && sscanf(rec->model, "m%d", &i) == 1)
				assert_true(r->ex[i].body_len > r->cap_in || r->ex[i].req_skipped);
		}
		if (!rec->resp_truncated && i >= 0) {
			assert_int_equal(rec->status, 200);
			assert_int_equal(rec->output_tokens, r->ex[i].tokens);
		} else {
			ok = 0;
		}
		right += ok;
	}
	/* Without loss, only bodies past a bound (by design) are not whole. */
	if (!r->drop_one_in)
		assert_true(right >= r->n / 3);
}

static void free_run(struct run *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->ex[i].req);
		free(r->ex[i].resp);
	}
	free(r->ev);
	free(r);
}

static struct run *new_run(uint32_t cap_in, const uint32_t *sizes, size_t n_sizes)
{
	struct run *r = calloc(1, sizeof(*r));

	r->ev = calloc(1, sizeof(*r->ev));
	r->cap_in = cap_in;
	r->sizes = sizes;
	r->n_sizes = n_sizes;
	r->rng = 0x9e3779b97f4a7c15ULL;
	return r;
}

#define B (64u << 10)   /* a small request bound keeps the sweep quick */
static const uint32_t sweep[] = {
	1, 2, 100, C - 1, C, C + 1, C + T - 1, C + T, C + T + 1, 2 * C - 1, 2 * C, 2 * C + 1,
	B - 1, B, B + 1, B + T - 1, B + T, B + T + 1, B + T + 4097, 3 * C + 5, 4 * B,
};
static const size_t req_sizes[] = {
	60, C - 300, C + 200, C + T + 50, 3 * C, B - 400, B + 10, B + T + 50, 3 * B,
};
static const size_t resp_sizes[] = {
	90, C - 150, C + 10, C + T - 200, C + T + 500, 2 * C + 7, 6 * C,
};
#define NA(a) (sizeof(a) / sizeof(a[0]))

static void test_sweep_no_loss(void **state)
{
	struct run *r = new_run(B, sweep, NA(sweep));

	build(r, req_sizes, NA(req_sizes), resp_sizes, NA(resp_sizes), 42);
	/* Every rotation of the sweep, so each size meets every part of a message. */
	for (size_t rot = 0; rot < NA(sweep); rot += 3) {
		r->next_size = rot;
		run_once(r);
		check_records(r);
	}
	free_run(r);
}

static void test_sweep_with_loss(void **state)
{
	struct run *r = new_run(B, sweep, NA(sweep));

	build(r, req_sizes, NA(req_sizes), resp_sizes, NA(resp_sizes), 42);
	for (int seed = 1; seed <= (getenv("SEEDS") ? atoi(getenv("SEEDS")) : 12); seed++) {
		r->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)seed;
		r->drop_one_in = 2 + seed % 9;
		r->next_size = (size_t)seed * 7;
		run_once(r);
		check_records(r);
		assert_true(r->dropped > 0);
	}
	free_run(r);
}

/* The default request bound (1 MiB): calls around it, bodies up to it whole. */
static void test_default_bound(void **state)
{
	static const uint32_t big_sweep[] = {
		C, DG_CAP_IN_DEFAULT - 1, DG_CAP_IN_DEFAULT, DG_CAP_IN_DEFAULT + 1,
		DG_CAP_IN_DEFAULT + T + 1, 77777,
	};
	static const size_t big_req[] = { 300000, DG_CAP_IN_DEFAULT - 500, DG_CAP_IN_DEFAULT + 300 };
	static const size_t big_resp[] = { 200, 40000 };
	struct run *r = new_run(DG_CAP_IN_DEFAULT, big_sweep, NA(big_sweep));

	build(r, big_req, NA(big_req), big_resp, NA(big_resp), 6);
	run_once(r);
	check_records(r);
	/* The 300000- and (1 MiB - 500)-byte bodies are whole. */
	assert_int_equal(r->recs[0].req_truncated, 0);
	assert_int_equal(r->recs[1].req_truncated, 0);
	assert_int_equal(r->recs[1].max_tokens, 2);
	assert_int_equal(r->recs[2].req_truncated, 1);
	free_run(r);
}

/* The plan itself: pieces tile [0, min(len, bound)) and the tail, in order,
 * none empty or over DG_CHUNK, for every length around every bound. */
static void test_plan(void **state)
{
	static const uint32_t bounds[] = { 1, 100, C, C + 1, 3 * C, B, DG_CAP_IN_DEFAULT };

	for (size_t b = 0; b < NA(bounds); b++) {
		uint32_t bound = bounds[b];
		uint32_t lens[] = { 1, bound - 1, bound, bound + 1, bound + T - 1, bound + T,
				    bound + T + 1, bound + C, 2 * bound + 3 * T + 1, C - 1, C, C + 1 };

		for (size_t l = 0; l < NA(lens); l++) {
			uint32_t len = lens[l], np, covered = 0, prev_end = 0;

			if (!len)
				continue;
			np = dg_plan_count(len, bound);
			for (uint32_t i = 0; i < np; i++) {
				uint32_t off, n;

				dg_plan_piece(len, bound, i, &off, &n);
				assert_true(n >= 1 && n <= C);
				assert_true(off >= prev_end);
				prev_end = off + n;
				covered += n;
			}
			assert_int_equal(prev_end, len);
			if (len <= bound + T)
				assert_int_equal(covered, len);
			else
				assert_int_equal(covered, bound + T);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_sweep_no_loss),
		cmocka_unit_test(test_sweep_with_loss),
		cmocka_unit_test(test_default_bound),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
