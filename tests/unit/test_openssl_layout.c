/* test_openssl_layout.c — the OpenSSL version read from a library's text,
 * and the struct layouts known for it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openssl_layout.h"

static int version(const char *s, struct dg_openssl_version *v)
{
	return dg_openssl_version_in(s, strlen(s), v);
}

static void test_version_in_text(void **state)
{
	static const char bin[] = "junk\0OpenSSL 3.0.19 27 Jan 2026\0more";
	struct dg_openssl_version v;

	(void)state;
	assert_int_equal(dg_openssl_version_in(bin, sizeof(bin), &v), 0);
	assert_int_equal(v.major, 3);
	assert_int_equal(v.minor, 0);
	assert_int_equal(v.patch, 19);
	/* A patch letter (1.1.1w) and text before it. */
	assert_int_equal(version("built with OpenSSL 1.1.1w  11 Sep 2023", &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 1);
	assert_int_equal(v.patch, 1);
	/* "OpenSSL " followed by no version is passed over for the next. */
	assert_int_equal(version("OpenSSL error\nOpenSSL 3.1.4 24 Oct 2023", &v), 0);
	assert_int_equal(v.minor, 1);
	assert_int_equal(v.patch, 4);
	assert_int_equal(version("OpenSSL 3.", &v), -1);
	assert_int_equal(version("OpenSSL 3.0", &v), -1);
	assert_int_equal(version("LibreSSL 3.8.2", &v), -1);
	assert_int_equal(version("", &v), -1);
	assert_int_equal(dg_openssl_version_in("OpenSSL 3.0.1x", 13, &v), 0);  /* ends at the buffer */
	assert_int_equal(v.patch, 1);
	assert_int_equal(dg_openssl_version_in("OpenSSL 3.0.1", 12, &v), -1);  /* cut: "3.0." */
}

static void test_version_of_file(void **state)
{
	char path[] = "/tmp/dg-osslXXXXXX";
	int fd = mkstemp(path);
	struct dg_openssl_version v;
	static const char body[] = "\x7f" "ELF....OpenSSL 3.0.11 19 Sep 2023....";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, sizeof(body)), (int)sizeof(body));
	close(fd);
	assert_int_equal(dg_openssl_version_of(path, &v), 0);
	assert_int_equal(v.patch, 11);
	unlink(path);
	assert_int_equal(dg_openssl_version_of(path, &v), -1);         /* gone */
	assert_int_equal(dg_openssl_version_of("/proc", &v), -1);      /* not a file */
}

static void test_layouts(void **state)
{
	struct dg_openssl_version v = { 3, 0, 19 };
	struct dg_ssl_layout l;

	(void)state;
	assert_int_equal(dg_openssl_layout(&v, &l), 0);
	assert_int_equal(l.ssl_rbio, 0x10);
	assert_int_equal(l.bio_method, 0x8);
	assert_int_equal(l.bio_num, 0x38);
	v.minor = 1;
	assert_int_equal(dg_openssl_layout(&v, &l), 0);
	assert_int_equal(l.bio_num, 0x38);
	v = (struct dg_openssl_version){ 1, 1, 1 };
	assert_int_equal(dg_openssl_layout(&v, &l), 0);
	assert_int_equal(l.ssl_rbio, 0x10);
	assert_int_equal(l.bio_method, 0);
	assert_int_equal(l.bio_num, 0x30);
	/* 3.2 moved the connection out of struct ssl_st; 1.1.0 had no
	 * callback_ex; 1.0.2 another struct again: none is guessed. */
	v = (struct dg_openssl_version){ 3, 2, 0 };
	assert_int_equal(dg_openssl_layout(&v, &l), -1);
	v = (struct dg_openssl_version){ 1, 1, 0 };
	assert_int_equal(dg_openssl_layout(&v, &l), -1);
	v = (struct dg_openssl_version){ 1, 0, 2 };
	assert_int_equal(dg_openssl_layout(&v, &l), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_in_text),
		cmocka_unit_test(test_version_of_file),
		cmocka_unit_test(test_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
