/* test_detail.c — one client's detail view: a real `client --json` answer
 * (tests/unit/fixtures/console_client.json: a policy's block, then an
 * operator's) drawn at 80 and 200 columns at a fixed now; what is applied
 * in enforce mode, applied or exempt; bounds said; and an answer with
 * nothing but a name drawn without trouble. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixture_file.h"

#include "detail.h"

#define NOW 1796062600.0             /* 81.6 s after the operator's block */

static char *slurp(const char *name)
{
	char *buf = fixture_read(name, NULL);

	assert_non_null(buf);
	return buf;
}

/* The index of the first line that starts with prefix, or -1. */
static long find(const struct dg_lines *l, const char *prefix)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strncmp(l->v[i], prefix, strlen(prefix)))
			return (long)i;
	return -1;
}

static void assert_fit(const struct dg_lines *l, int width)
{
	assert_int_equal(l->failed, 0);
	for (size_t i = 0; i < l->n; i++) {
		assert_true((int)strlen(l->v[i]) <= width);
		for (const char *p = l->v[i]; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void parse(const char *json, struct dg_con_detail *d)
{
	char err[256];

	assert_int_equal(dg_con_parse_detail(json, d, err, sizeof(err)), 0);
}

static void test_real_answer(void **state)
{
	char *json = slurp("console_client.json");
	struct dg_con_detail *d = calloc(1, sizeof(*d));
	struct dg_lines l, wide;
	long i;

	assert_non_null(d);
	parse(json, d);
	dg_lines_init(&l, 80);
	dg_detail_lines(d, "observe", NOW, &l);
	assert_fit(&l, 80);
	assert_string_equal(l.v[0], "key:8916471ac341  score 94.4  action block");
	assert_string_equal(l.v[1], "  reason: 20 keys behind 1 address in 1 subnet share templates");
	assert_string_equal(l.v[3], "  reason: 100% of requests share one template");
	assert_true(find(&l, "cluster c-0fbc9f72 (20 members)  keys 1  addresses 1") == 4);
	assert_true(find(&l, "in force: #21 block by operator, 1m22s ago, ends in 58m38s: "
			 "distillguard top") > 4);
	assert_true(find(&l, "applied: nothing (observe mode") > 4);
	i = find(&l, "features");
	assert_true(i > 0);
	assert_non_null(strstr(l.v[i + 1], "requests"));
	assert_non_null(strstr(l.v[i + 1], "17"));
	assert_true(find(&l, "evidence (0 to 1)") > i);
	i = find(&l, "addresses");
	assert_true(i > 0);
	assert_string_equal(l.v[i + 1], "  127.17.191.12");
	i = find(&l, "decisions, newest first");
	assert_true(i > 0);
	assert_string_equal(l.v[i + 1],
			    "  #21 block by operator, 1m22s ago, ends in 58m38s: distillguard top");
	assert_true(find(&l, "  #8 block by policy, 7m56s ago, ends in 2m04s, score 91.8: 20 keys") ==
		    i + 2);
	assert_int_equal(l.n, (size_t)i + 3);

	/* Wider: the same lines, the grids take fewer of them. */
	dg_lines_init(&wide, 200);
	dg_detail_lines(d, "observe", NOW, &wide);
	assert_fit(&wide, 200);
	assert_true(wide.n < l.n);
	assert_string_equal(wide.v[0], l.v[0]);
	dg_lines_free(&wide);
	dg_lines_free(&l);
	/* Narrow: cut, never wrapped. */
	dg_lines_init(&l, 24);
	dg_detail_lines(d, "observe", NOW, &l);
	assert_fit(&l, 24);
	dg_lines_free(&l);
	free(d);
	free(json);
}

static void test_enforced(void **state)
{
	struct dg_con_detail *d = calloc(1, sizeof(*d));
	struct dg_lines l;
	long i;

	assert_non_null(d);
	parse("{\"view\": {\"client\": \"ip:192.0.2.9\", \"score\": 70, \"action\": \"ratelimit\","
	      " \"enforcement\": {\"action\": \"ratelimit\", \"applied\": true, \"by\": \"address\","
	      " \"exempt\": null, \"expires\": 1796063200, \"packets_dropped\": 12,"
	      " \"syn_refused\": 3, \"connections_cut\": 1, \"connections_paced\": 4,"
	      " \"requests_cut\": 0}}}", d);
	dg_lines_init(&l, 80);
	dg_detail_lines(d, "enforce", NOW, &l);
	assert_fit(&l, 80);
	i = find(&l, "applied: ratelimit by address, ends in 10m00s");
	assert_true(i > 0);
	assert_string_equal(l.v[i + 1],
			    "  packets_dropped 12  syn_refused 3  connections_cut 1  connections_paced 4");
	assert_string_equal(l.v[i + 2], "  requests_cut 0");
	dg_lines_free(&l);

	parse("{\"view\": {\"client\": \"ip:10.0.0.1\", \"enforcement\": {\"action\": \"block\","
	      " \"applied\": false, \"exempt\": \"an SSH peer\", \"expires\": 1796063200}}}", d);
	dg_lines_init(&l, 80);
	dg_detail_lines(d, "enforce", NOW, &l);
	assert_true(find(&l, "applied: block not applied (exempt: an SSH peer), ends in 10m00s") > 0);
	assert_true(find(&l, "applied: nothing") < 0);
	dg_lines_free(&l);
	free(d);
}

static void test_bare_and_bounded(void **state)
{
	struct dg_con_detail *d = calloc(1, sizeof(*d));
	struct dg_lines l;
	char *json, *p;

	assert_non_null(d);
	parse("{\"view\": {\"client\": \"ip:192.0.2.9\"}}", d);
	dg_lines_init(&l, 80);
	dg_detail_lines(d, NULL, NAN, &l);
	assert_fit(&l, 80);
	assert_string_equal(l.v[0], "ip:192.0.2.9  score -  action -");
	assert_string_equal(l.v[1], "  no reasons");
	assert_true(find(&l, "in no cluster  keys -  addresses -  requests -") == 2);
	assert_true(find(&l, "first seen -  last seen -  never flagged") == 4);
	assert_true(find(&l, "in force: nothing") > 0);
	assert_true(find(&l, "applied: nothing") > 0);
	assert_true(find(&l, "  none known") > 0);
	assert_true(find(&l, "decisions: none") > 0);
	assert_true(find(&l, "features") < 0);
	dg_lines_free(&l);

	json = malloc(1 << 15);
	assert_non_null(json);
	p = json + sprintf(json, "{\"view\": {\"client\": \"key:0123456789ab\"}, \"decisions\": [");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s{\"id\": %d, \"action\": \"ratelimit\", \"by\": \"policy\"}",
			     i ? "," : "", i);
	sprintf(p, "]}");
	parse(json, d);
	dg_lines_init(&l, 80);
	dg_detail_lines(d, "observe", NOW, &l);
	assert_fit(&l, 80);
	assert_true(find(&l, "decisions: the newest 32 of 100") > 0);
	assert_true(find(&l, "  #99 ratelimit by policy, -, ends -") > 0);
	assert_true(find(&l, "  #68 ") > 0);
	assert_true(find(&l, "  #67 ") < 0);
	dg_lines_free(&l);
	free(json);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_answer),
		cmocka_unit_test(test_enforced),
		cmocka_unit_test(test_bare_and_bounded),
	};
	return cmocka_run_group_tests_name("detail", tests, NULL, NULL);
}
