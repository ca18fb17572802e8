/* test_decode.c — what the kernel sends is checked before it is trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode.h"

/* A data event carrying cap bytes at off of a call of len bytes. */
static struct dg_data_event *make(uint32_t len, uint32_t off, uint32_t cap, uint64_t seq,
				  size_t *size)
{
	struct dg_data_event *e = calloc(1, sizeof(*e));

	e->type = DG_EV_DATA;
	e->len = len;
	e->off = off;
	e->cap = cap;
	e->seq = seq;
	e->bound = DG_CHUNK;
	e->flags = DG_F_TIED;
	e->dir = DG_DIR_OUT;
	e->conn = 77;
	memset(e->data, 'x', cap);
	*size = DG_DATA_HDR_SIZE + cap;
	return e;
}

static void test_whole_call(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100, 0, 100, 5000, &size);
	struct dg_decoded d;

	assert_int_equal(dg_decode(e, size, &d), DG_DEC_DATA);
	assert_int_equal(d.chunk.len, 100);
	assert_int_equal(d.chunk.off, 0);
	assert_int_equal(d.chunk.call_len, 100);
	assert_int_equal(d.chunk.seq, 5000);
	assert_int_equal(d.chunk.conn, 77);
	assert_true(d.chunk.tied);
	assert_int_equal(d.chunk.dir, DG_DIR_OUT);
	free(e);
}

/* The tail piece of a long call: its place, and the bound it was cut at. */
static void test_tail_piece(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100000, 100000 - DG_CAP_TAIL, DG_CAP_TAIL, DG_SEQ_NONE, &size);
	struct dg_decoded d;

	e->flags |= DG_F_CUT;
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_DATA);
	assert_int_equal(d.chunk.off, 100000 - DG_CAP_TAIL);
	assert_int_equal(d.chunk.bound, DG_CHUNK);
	assert_true(d.chunk.seq == DG_SEQ_NONE);
	assert_int_equal(d.chunk.data[0], 'x');
	free(e);
}

static void test_refuses_bad(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100, 0, 100, 0, &size);
	struct dg_decoded d;
	struct dg_conn_event ce = { .type = DG_EV_CLOSE, .conn = 5, .srtt_us = 9 };
	uint32_t odd = 42;

	assert_int_equal(dg_decode(e, size - 1, &d), DG_DEC_BAD);      /* sample shorter than it says */
	assert_int_equal(dg_decode(e, 3, &d), DG_DEC_BAD);
	e->len = 50;                                                    /* captured more than moved */
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_BAD);
	e->len = 100;
	e->off = 1;                                                     /* a piece past the call's end */
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_BAD);
	e->off = 0;
	e->cap = 0;                                                     /* an empty piece */
	assert_int_equal(dg_decode(e, DG_DATA_HDR_SIZE, &d), DG_DEC_BAD);
	e->cap = DG_CHUNK + 1;                                          /* more than a piece holds */
	e->len = DG_CHUNK + 1;
	assert_int_equal(dg_decode(e, sizeof(*e) + 1, &d), DG_DEC_BAD);
	e->cap = 100;
	e->len = 100;
	e->seq = 1ULL << 63;                                            /* a place no stream reaches */
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_BAD);
	e->seq = 0;
	e->dir = 7;
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_BAD);
	assert_int_equal(dg_decode(&odd, sizeof(odd), &d), DG_DEC_BAD);
	assert_non_null(d.why);
	assert_int_equal(dg_decode(&ce, sizeof(ce), &d), DG_DEC_CLOSE);
	assert_int_equal(d.conn.srtt_us, 9);
	assert_int_equal(dg_decode(&ce, sizeof(ce) - 1, &d), DG_DEC_BAD);
	free(e);
}

static void test_hello(void **state)
{
	struct dg_hello_event *h = calloc(1, sizeof(*h));
	struct dg_decoded d;

	h->type = DG_EV_HELLO;
	h->record_len = 600;
	h->len = 500;
	h->conn = 3;
	assert_int_equal(dg_decode(h, DG_HELLO_HDR_SIZE + 500, &d), DG_DEC_HELLO);
	assert_int_equal(d.hello->conn, 3);
	assert_int_equal(dg_decode(h, DG_HELLO_HDR_SIZE + 499, &d), DG_DEC_BAD);
	h->len = DG_HELLO_MAX + 1;
	assert_int_equal(dg_decode(h, sizeof(*h) + 8, &d), DG_DEC_BAD);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_call),
		cmocka_unit_test(test_tail_piece),
		cmocka_unit_test(test_refuses_bad),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
