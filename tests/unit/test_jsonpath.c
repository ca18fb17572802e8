/* test_jsonpath.c — the body parsers' place in a JSON document
 * (jsonpath.h): key lookup, the container stack and its bound, where a
 * value sits, and the bounded copy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "jsonpath.h"

enum { K_MODEL = DG_JK_FIRST, K_MESSAGES, K_N };
enum { KIND_OTHER, KIND_TOP, KIND_MESSAGES };

static const struct dg_jkey keys[] = {
	{ "model", K_MODEL },
	{ "messages", K_MESSAGES },
	{ "n", K_N },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int lookup(const char *s)
{
	return dg_jkey_lookup(keys, NKEYS, (const unsigned char *)s, strlen(s));
}

static void test_key_lookup(void **state)
{
	(void)state;
	assert_int_equal(lookup("model"), K_MODEL);
	assert_int_equal(lookup("messages"), K_MESSAGES);
	assert_int_equal(lookup("n"), K_N);
	assert_int_equal(lookup("mode"), DG_JK_OTHER);      /* a prefix is not the key */
	assert_int_equal(lookup("models"), DG_JK_OTHER);
	assert_int_equal(lookup(""), DG_JK_OTHER);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(dg_jkey_lookup(keys, NKEYS, (const unsigned char *)"nx", 1), K_N);
}

/* {"messages": [ {...} ]} walked as yajl would call back. */
static void test_where(void **state)
{
	struct dg_jpath p = { 0 };
	int kind, key;

	(void)state;
	assert_int_equal(dg_jpath_where(&p, &kind, &key), 0);
	assert_int_equal(kind, 0);
	assert_int_equal(key, DG_JK_NONE);
	assert_int_equal(dg_jpath_push(&p, KIND_TOP, 1), 1);
	assert_int_equal(dg_jpath_where(&p, &kind, &key), 1);
	assert_int_equal(kind, KIND_TOP);
	assert_int_equal(key, DG_JK_NONE);                  /* no key read yet */
	dg_jpath_top(&p)->key = K_MESSAGES;
	assert_int_equal(dg_jpath_where(&p, &kind, &key), 1);
	assert_int_equal(key, K_MESSAGES);
	assert_int_equal(dg_jpath_push(&p, KIND_MESSAGES, 0), 1);
	assert_int_equal(dg_jpath_where(&p, &kind, &key), 1);
	assert_int_equal(kind, KIND_MESSAGES);
	assert_int_equal(key, DG_JK_ELEM);                  /* in an array */
	assert_int_equal(dg_jpath_push(&p, KIND_OTHER, 1), 1);
	assert_int_equal(p.depth, 3);
	assert_int_equal(dg_jpath_pop(&p), KIND_OTHER);
	assert_int_equal(dg_jpath_pop(&p), KIND_MESSAGES);
	assert_int_equal(dg_jpath_top(&p)->key, K_MESSAGES); /* the map's key is kept */
	assert_int_equal(dg_jpath_pop(&p), KIND_TOP);
	assert_int_equal(p.depth, 0);
}

static void test_depth_bound(void **state)
{
	struct dg_jpath p = { 0 };

	(void)state;
	for (int i = 0; i < DG_JSON_MAX_DEPTH; i++)
		assert_int_equal(dg_jpath_push(&p, KIND_OTHER, i % 2), 1);
	assert_int_equal(dg_jpath_push(&p, KIND_OTHER, 0), 0);
	assert_int_equal(p.depth, DG_JSON_MAX_DEPTH);
	assert_int_equal(dg_jpath_pop(&p), KIND_OTHER);
	assert_int_equal(dg_jpath_push(&p, KIND_TOP, 0), 1);
}

static void test_copy(void **state)
{
	char dst[6];

	(void)state;
	memset(dst, 'x', sizeof(dst));
	dg_jcopy(dst, sizeof(dst), "abc", 3);
	assert_string_equal(dst, "abc");
	dg_jcopy(dst, sizeof(dst), "abcdefgh", 8);          /* cut to fit */
	assert_string_equal(dst, "abcde");
	dg_jcopy(dst, sizeof(dst), "abcdef", 5);
	assert_string_equal(dst, "abcde");
	dg_jcopy(dst, sizeof(dst), "zz", 0);
	assert_string_equal(dst, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_lookup),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
