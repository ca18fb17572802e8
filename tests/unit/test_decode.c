/* test_decode.c — what the kernel sends is checked before it is trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode.h"

static struct dg_data_event *make(uint32_t len, uint16_t head, uint16_t tail, uint8_t flags,
				  size_t *size)
{
	struct dg_data_event *e = calloc(1, sizeof(*e));

	e->type = DG_EV_DATA;
	e->len = len;
	e->head_len = head;
	e->tail_len = tail;
	e->flags = flags;
	e->dir = DG_DIR_OUT;
	e->conn = 77;
	memset(e->data, 'x', head);
	memset(e->data + head, 'y', tail);
	*size = DG_DATA_HDR_SIZE + head + tail;
	return e;
}

static void test_whole_call(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100, 100, 0, DG_F_TIED, &size);
	struct dg_decoded d;

	assert_int_equal(dg_decode(e, size, &d), DG_DEC_DATA);
	assert_int_equal(d.chunk.head_len, 100);
	assert_int_equal(d.chunk.gap, 0);
	assert_int_equal(d.chunk.tail_len, 0);
	assert_int_equal(d.chunk.conn, 77);
	assert_true(d.chunk.tied);
	assert_int_equal(d.chunk.dir, DG_DIR_OUT);
	free(e);
}

static void test_cut_call(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100000, DG_CAP_HEAD, DG_CAP_TAIL, DG_F_CUT, &size);
	struct dg_decoded d;

	assert_int_equal(dg_decode(e, size, &d), DG_DEC_DATA);
	assert_int_equal(d.chunk.gap, 100000 - DG_CAP_HEAD - DG_CAP_TAIL);
	assert_int_equal(d.chunk.tail[0], 'y');
	free(e);
}

static void test_refuses_bad(void **state)
{
	size_t size;
	struct dg_data_event *e = make(100, 100, 0, 0, &size);
	struct dg_decoded d;
	struct dg_conn_event ce = { .type = DG_EV_CLOSE, .conn = 5, .srtt_us = 9 };
	uint32_t odd = 42;

	assert_int_equal(dg_decode(e, size - 1, &d), DG_DEC_BAD);      /* sample shorter than it says */
	assert_int_equal(dg_decode(e, 3, &d), DG_DEC_BAD);
	e->len = 50;                                                    /* captured more than moved */
	assert_int_equal(dg_decode(e, size, &d), DG_DEC_BAD);
	e->len = 100;
	e->tail_len = 10;                                               /* tail without the cut flag */
	assert_int_equal(dg_decode(e, size + 10, &d), DG_DEC_BAD);
	e->tail_len = 0;
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
		cmocka_unit_test(test_cut_call),
		cmocka_unit_test(test_refuses_bad),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
