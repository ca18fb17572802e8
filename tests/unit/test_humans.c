/* test_humans.c — signs of people (humans.c): browsers' JA4s, and the
 * factor for one client and for a cluster, with known values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "humans.h"

static void test_browsers(void **state)
{
	assert_true(dg_ja4_browser("t13d1516h2_8daaf6152771_02713d6af862"));   /* Chrome */
	assert_true(dg_ja4_browser("t13d1516h2_8daaf6152771_e5627efa2ab1"));   /* another version */
	assert_true(dg_ja4_browser("t13d1715h2_5b57614c22b0_3d5424432f57"));   /* Firefox */
	assert_true(dg_ja4_browser("t13d1516h2_8daaf6152771"));                /* a_b only */
	assert_false(dg_ja4_browser("t13d1711h1_5b57614c22b0_d0a1c8e1b4f2"));  /* Node: Firefox's ciphers */
	assert_false(dg_ja4_browser("t13d1812h1_85036bcba153_b26ce05bbdd6"));  /* Python */
	assert_false(dg_ja4_browser("t13d1516h2_8daaf6152771x"));
	assert_false(dg_ja4_browser("t13d1516h2_8daaf615"));
	assert_false(dg_ja4_browser(""));
	assert_false(dg_ja4_browser(NULL));
}

/* One client: pacing as far as shown, times a half, or up to one on a browser. */
static void test_client_factor(void **state)
{
	struct dg_features f;

	memset(&f, 0, sizeof(f));
	assert_true(dg_human_factor(&f) == 0);          /* one request: nothing shown */
	f.follow_share = 0.9;
	f.paced_share = 1;
	assert_float_equal(dg_human_factor(&f), 0.5, 1e-9);       /* TLS client unknown */
	f.ja4_share = 1;
	f.browser_share = 1;
	assert_float_equal(dg_human_factor(&f), 1, 1e-9);
	f.browser_share = 0.35;                         /* half way up 0.2 -> 0.5 */
	assert_float_equal(dg_human_factor(&f), 0.75, 1e-9);
	f.paced_share = 0.75;                           /* half way up 0.6 -> 0.9 */
	assert_float_equal(dg_human_factor(&f), 0.375, 1e-9);
	f.follow_share = 0.675;                         /* half shown (0.5 -> 0.85) */
	assert_float_equal(dg_human_factor(&f), 0.1875, 1e-9);
	f.single_share = 1;                             /* conversation not asked of one key */
	assert_float_equal(dg_human_factor(&f), 0.1875, 1e-9);
}

/* A cluster: browsers x pacing x conversation, parts not yet shown count
 * as present, an unknown TLS client only as far as the others have shown. */
static void test_cluster_factor(void **state)
{
	struct dg_features f;

	memset(&f, 0, sizeof(f));
	f.crowd_keys = 28;
	f.single_share = 1;
	f.ja4_share = 1;
	f.browser_share = 0.9;
	assert_float_equal(dg_human_factor(&f), 1, 1e-9);   /* first questions, browsers */
	f.browser_share = 0.1;
	assert_true(dg_human_factor(&f) == 0);                /* a scraper's client */
	f.ja4_share = 0;
	assert_true(dg_human_factor(&f) == 0);                /* unknown, nothing shown */

	f.ja4_share = 1;
	f.browser_share = 0.9;
	f.follow_share = 0.9;                                 /* shown in full */
	f.paced_share = 1;
	f.single_share = 0.6;                                 /* 40% follow-ups */
	assert_float_equal(dg_human_factor(&f), 1, 1e-9);
	f.single_share = 0.75;                                /* 25%: half way */
	assert_float_equal(dg_human_factor(&f), 0.5, 1e-9);
	f.single_share = 0.95;                                /* a fake turn now and then */
	assert_true(dg_human_factor(&f) == 0);
	f.single_share = 0.6;
	f.paced_share = 0.5;                                  /* does not read its answers */
	assert_true(dg_human_factor(&f) == 0);
	f.paced_share = 1;
	f.ja4_share = 0;                                      /* plain HTTP: the others speak */
	assert_float_equal(dg_human_factor(&f), 1, 1e-9);
	f.follow_share = 0.675;                               /* half shown */
	f.single_share = 1;
	assert_float_equal(dg_human_factor(&f), 0.5 * 1 * 0.5, 1e-9);
}

/* A reader on a browser: pacing as shown times browsers; nothing for an
 * unknown TLS client or an app's. */
static void test_reader(void **state)
{
	struct dg_features f;

	memset(&f, 0, sizeof(f));
	f.follow_share = 0.9;
	f.paced_share = 1;
	assert_true(dg_human_reader(&f) == 0);          /* TLS client unknown */
	f.ja4_share = 1;
	assert_true(dg_human_reader(&f) == 0);          /* an app's client */
	f.browser_share = 1;
	assert_float_equal(dg_human_reader(&f), 1, 1e-9);
	f.paced_share = 0.75;
	assert_float_equal(dg_human_reader(&f), 0.5, 1e-9);
	f.follow_share = 0.675;
	assert_float_equal(dg_human_reader(&f), 0.25, 1e-9);
	f.crowd_keys = 5;                               /* the same for a crowd's features */
	assert_float_equal(dg_human_reader(&f), 0.25, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_browsers),
		cmocka_unit_test(test_client_factor),
		cmocka_unit_test(test_cluster_factor),
		cmocka_unit_test(test_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
