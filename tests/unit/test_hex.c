/* test_hex.c — values and bytes as lowercase hex (hex.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"

static void test_hex16(void **state)
{
	char out[DG_HEX16_LEN + 1];

	(void)state;
	assert_string_equal(dg_hex16(0x0123456789abcdefULL, out), "0123456789abcdef");
	assert_string_equal(dg_hex16(0, out), "0000000000000000");
	assert_string_equal(dg_hex16(UINT64_MAX, out), "ffffffffffffffff");
	assert_string_equal(dg_hex16(0xabcULL, out), "0000000000000abc");
}

static void test_hex_bytes(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff, 0x12 };
	char out[2 * sizeof(b) + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_string_equal(dg_hex_bytes(b, 6, out), "00017f80abff");
	assert_int_equal(out[13], 'x');            /* 2n + 1 bytes written, no more */
	assert_string_equal(dg_hex_bytes(b, sizeof(b), out), "00017f80abff12");
	assert_string_equal(dg_hex_bytes(b, 0, out), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex16),
		cmocka_unit_test(test_hex_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
