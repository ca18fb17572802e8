/* test_keyhash.c — the per-host secret and the keyed hash that names API
 * keys (keyhash.c): SipHash-2-4 reference values, the key taken out of
 * Authorization and x-api-key headers, and the secret file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "keyhash.h"

static void test_key_hash(void **state)
{
	uint8_t k1[16] = "aaaaaaaaaaaaaaaa", k2[16] = "bbbbbbbbbbbbbbbb";
	char h1[13], h2[13], h3[13];
	const char *key;
	size_t len;

	dg_key_hash(k1, "sk-abc", 6, h1);
	dg_key_hash(k2, "sk-abc", 6, h2);
	dg_key_hash(k1, "sk-abd", 6, h3);
	assert_int_equal(strlen(h1), 12);
	assert_string_not_equal(h1, h2);
	assert_string_not_equal(h1, h3);
	assert_int_equal(dg_key_from_header("Authorization", "Bearer  sk-abc ", 15, &key, &len), 1);
	assert_int_equal(len, 6);
	assert_memory_equal(key, "sk-abc", 6);
	assert_int_equal(dg_key_from_header("x-api-key", "sk-x", 4, &key, &len), 1);
	assert_int_equal(dg_key_from_header("Authorization", "Basic Zm9v", 10, &key, &len), 0);
	assert_int_equal(dg_key_from_header("Authorization", "Bearer ", 7, &key, &len), 0);
}

/* The name is the first 6 bytes of SipHash-2-4 in hex: the reference
 * vectors (key 00..0f, messages 00..n-1) and two keys of our own,
 * computed apart from libsodium. */
static void test_key_hash_known_values(void **state)
{
	uint8_t k[16], msg[15];
	char h[13];

	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	dg_key_hash(k, (const char *)msg, 0, h);
	assert_string_equal(h, "310e0edd47db");
	dg_key_hash(k, (const char *)msg, 1, h);
	assert_string_equal(h, "fd67dc93c539");
	dg_key_hash(k, (const char *)msg, 15, h);
	assert_string_equal(h, "e545be4961ca");
	dg_key_hash((const uint8_t *)"aaaaaaaaaaaaaaaa", "sk-abc", 6, h);
	assert_string_equal(h, "59ebb975ce93");
	dg_key_hash((const uint8_t *)"0123456789abcdef", "sk-live-0123456789abcdef", 24, h);
	assert_string_equal(h, "c0f54b7d4b7e");
	/* Only len bytes are hashed. */
	dg_key_hash((const uint8_t *)"aaaaaaaaaaaaaaaa", "sk-abcdef", 6, h);
	assert_string_equal(h, "59ebb975ce93");
}

/* Which headers carry a key, and which part of the value it is. */
static void test_key_from_header(void **state)
{
	static const struct {
		const char *name, *value, *key;       /* key NULL: none */
	} cases[] = {
		{ "Authorization", "Bearer sk-1", "sk-1" },
		{ "authorization", "bearer sk-1", "sk-1" },
		{ "AUTHORIZATION", "BEARER sk-1", "sk-1" },
		{ "Authorization", "Bearer \t sk-1 \t", "sk-1" },
		{ "Authorization", "Bearer sk 1", "sk 1" },          /* inner spaces stay */
		{ "x-api-key", "sk-ant-api03-x", "sk-ant-api03-x" },
		{ "X-Api-Key", "  sk-2  ", "sk-2" },
		{ "Authorization", "Bearer", NULL },
		{ "Authorization", "Bearer \t ", NULL },
		{ "Authorization", "Bearersk-1", NULL },
		{ "Authorization", " Bearer sk-1", NULL },
		{ "Authorization", "Token sk-1", NULL },
		{ "Authorization", "", NULL },
		{ "x-api-key", "", NULL },
		{ "x-api-key", " \t ", NULL },
		{ "Proxy-Authorization", "Bearer sk-1", NULL },
		{ "x-api-keys", "sk-1", NULL },
		{ "api-key", "sk-1", NULL },
		{ "Cookie", "x-api-key=sk-1", NULL },
	};
	const char *key;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v = cases[i].value;
		int got;

		key = NULL;
		len = 0;
		got = dg_key_from_header(cases[i].name, v, strlen(v), &key, &len);
		if (!cases[i].key) {
			if (got)
				fail_msg("%s: %s gave a key", cases[i].name, v);
			continue;
		}
		if (!got)
			fail_msg("%s: %s gave no key", cases[i].name, v);
		/* The span lies inside the value. */
		assert_true(key >= v && key + len <= v + strlen(v));
		assert_int_equal(len, strlen(cases[i].key));
		assert_memory_equal(key, cases[i].key, len);
	}
	/* Only vlen bytes are read: nothing past them, no NUL needed. */
	assert_int_equal(dg_key_from_header("x-api-key", "sk-3XXXX", 4, &key, &len), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(key, "sk-3", 4);
	assert_int_equal(dg_key_from_header("Authorization", "Bearer sk-4", 6, &key, &len), 0);
}

static void test_secret_file(void **state)
{
	char dir[] = "/tmp/dg-secret-XXXXXX", path[128], err[256];
	uint8_t a[16], b[16];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/secret", dir);
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), 0);
	assert_int_equal(dg_secret_load(path, b, err, sizeof(err)), 0);
	assert_memory_equal(a, b, 16);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* A new secret is private and random; an existing one is read as it is;
 * a file of the wrong size or a path that cannot be one is an error. */
static void test_secret_file_cases(void **state)
{
	char dir[] = "/tmp/dg-secret-XXXXXX", path[160], err[256];
	uint8_t a[16], b[16], zero[16] = { 0 };
	struct stat st;

	assert_non_null(mkdtemp(dir));

	/* Created: mode 0600 in directories of mode 0700, not all zero, and
	 * different each time. */
	snprintf(path, sizeof(path), "%s/x/y/secret", dir);
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 16);
	snprintf(path, sizeof(path), "%s/x/y", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_memory_not_equal(a, zero, 16);
	snprintf(path, sizeof(path), "%s/x/y/other", dir);
	assert_int_equal(dg_secret_load(path, b, err, sizeof(err)), 0);
	assert_memory_not_equal(a, b, 16);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x/y/secret", dir);
	unlink(path);

	/* An existing file: its first 16 bytes, as they are. */
	snprintf(path, sizeof(path), "%s/given", dir);
	write_file(path, "0123456789abcdef", 16);
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), 0);
	assert_memory_equal(a, "0123456789abcdef", 16);

	/* Too short: refused, saying why. */
	write_file(path, "short", 5);
	err[0] = 0;
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected 16 bytes"));
	write_file(path, "", 0);
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), -1);

	/* Under a regular file: neither readable nor creatable. */
	snprintf(path, sizeof(path), "%s/given/secret", dir);
	err[0] = 0;
	assert_int_equal(dg_secret_load(path, a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	snprintf(path, sizeof(path), "%s/given", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x/y", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/x", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_key_hash_known_values),
		cmocka_unit_test(test_key_from_header),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_secret_file_cases),
	};
	return cmocka_run_group_tests_name("keyhash", tests, NULL, NULL);
}
