/* test_ja4.c — JA4 of ClientHellos recorded from curl, openssl s_client,
 * Python ssl and Node (fixtures/record_hellos.py, with an independent
 * reference implementation); every truncation of them is refused cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ja4.h"

static uint8_t *slurp(const char *name, size_t *len)
{
	const char *dir = getenv("DG_FIXTURES") ? getenv("DG_FIXTURES") : "tests/unit/fixtures";
	char path[512];
	FILE *f;
	uint8_t *buf = malloc(65536);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static void test_recorded_hellos(void **state)
{
	size_t elen, checked = 0;
	char *exp = (char *)slurp("hello_expected.txt", &elen), *line, *save = NULL;

	exp[elen] = 0;
	for (line = strtok_r(exp, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], want[DG_JA4_LEN], file[96], got[DG_JA4_LEN];
		size_t len;
		uint8_t *rec;

		assert_int_equal(sscanf(line, "%63s %39s", name, want), 2);
		snprintf(file, sizeof(file), "hello_%s.bin", name);
		rec = slurp(file, &len);
		assert_int_equal(dg_ja4(rec, len, got), 0);
		assert_string_equal(got, want);
		/* Every truncation is refused (or still parses the same), never read past. */
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			memcpy(copy, rec, cut);
			if (dg_ja4(copy, cut, got) == 0)
				assert_true(cut >= len);
			free(copy);
		}
		free(rec);
		checked++;
	}
	assert_int_equal(checked, 4);
	free(exp);
}

/* A minimal hand-made hello: GREASE everywhere, no SNI, no ALPN. */
static void test_grease_and_absent_fields(void **state)
{
	static const uint8_t hello[] = {
		0x16, 0x03, 0x01, 0x00, 0x39,                 /* record, 57 bytes */
		0x01, 0x00, 0x00, 0x35,                       /* ClientHello, 53 bytes */
		0x03, 0x03,                                   /* legacy version 1.2 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* random */
		0x00,                                         /* no session id */
		0x00, 0x04, 0x1a, 0x1a, 0x13, 0x01,           /* GREASE, TLS_AES_128_GCM_SHA256 */
		0x01, 0x00,                                   /* compression: null */
		0x00, 0x08,                                   /* extensions: 8 bytes */
		0x2a, 0x2a, 0x00, 0x00,                       /* GREASE extension */
		0x00, 0x17, 0x00, 0x00,                       /* extended_master_secret */
	};
	char got[DG_JA4_LEN];

	assert_int_equal(dg_ja4(hello, sizeof(hello), got), 0);
	assert_int_equal(strncmp(got, "t12i010100_", 11), 0);
	/* Not a hello at all. */
	assert_int_equal(dg_ja4((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, got), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_hellos),
		cmocka_unit_test(test_grease_and_absent_fields),
	};
	return cmocka_run_group_tests_name("ja4", tests, NULL, NULL);
}
