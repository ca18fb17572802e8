/* test_frame.c — the console's frame: rows sorted by each column and
 * reversed, ties in the daemon's order; the filter on client, cluster and
 * reasons; trend marks across refreshes (and kept within one scoring
 * pass); the layout at 80 and 200 columns in observe and enforce mode and
 * at every width from 1 to 300 (nothing wider than the width, nothing but
 * printable ASCII); the plain-text frame of `top --once`, byte for byte;
 * unknown fields shown as "-". */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

struct spec {
	const char *name, *cluster, *action;
	double score, rpm, tpm, keys, ips;
	const char *reasons[3];
};

static struct dg_con_client *make(const struct spec *s, size_t n)
{
	struct dg_con_client *c = calloc(n ? n : 1, sizeof(*c));

	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		snprintf(c[i].name, sizeof(c[i].name), "%s", s[i].name);
		snprintf(c[i].cluster, sizeof(c[i].cluster), "%s", s[i].cluster ? s[i].cluster : "");
		snprintf(c[i].action, sizeof(c[i].action), "%s", s[i].action ? s[i].action : "");
		c[i].score = s[i].score;
		c[i].requests_per_min = s[i].rpm;
		c[i].output_tokens_per_min = s[i].tpm;
		c[i].keys = s[i].keys;
		c[i].ips = s[i].ips;
		c[i].requests = 10;
		c[i].output_tokens = 1000;
		c[i].applied = -1;
		c[i].trend = ' ';
		for (int r = 0; r < 3 && s[i].reasons[r]; r++)
			snprintf(c[i].reasons[c[i].n_reasons++], DG_CON_REASON, "%s", s[i].reasons[r]);
	}
	return c;
}

static struct dg_con_status status(const char *mode, double last_pass)
{
	struct dg_con_status st = {
		.uptime_s = 723, .records_per_s = 14.4, .output_tokens_per_s = 25602.3,
		.events_per_s = 200, .connections = 11, .events_lost = 0, .bpf_run_ns = 1e9,
		.bpf_cpu = 0.0021, .clients = 3, .decisions_in_force = 1, .last_pass = last_pass,
	};

	snprintf(st.mode, sizeof(st.mode), "%s", mode);
	return st;
}

/* Three clients, in the daemon's order (score, then requests, then name). */
static const struct spec three[] = {
	{ "key:aaaaaaaaaaaa", "c-0fbc9f72", "block", 91.8, 16, 27454, 1, 1,
	  { "20 keys behind 1 address share templates", "100% ask for step-by-step reasoning" } },
	{ "ip:192.0.2.7", NULL, "ratelimit", 70.2, 120.5, 1500000, 20, 1,
	  { "20 keys behind this address" } },
	{ "key:cccccccccccc", NULL, "none", 3, 0.5, 80, 1, 2, { NULL } },
};

static void load(struct dg_conframe *f, const struct spec *s, size_t n, const char *mode,
		 double last_pass)
{
	struct dg_con_status st = status(mode, last_pass);

	dg_conframe_update(f, &st, make(s, n), n);
}

static const char *row_name(const struct dg_conframe *f, size_t i)
{
	const struct dg_con_client *c = dg_conframe_row(f, i);

	return c ? c->name : "(none)";
}

static void test_sort(void **state)
{
	static const struct spec s[] = {
		{ "key:b", "c-2", "none", 50, 3, 100, 1, 1, { "zeta" } },
		{ "key:a", NULL, "block", 90, NAN, 50, 1, 4, { "alpha" } },
		{ "key:d", "c-1", "ratelimit", 50, 9, 900, 7, 1, { NULL } },   /* ties key:b on score */
		{ "key:c", "c-1", "", NAN, 1, NAN, 2, 1, { "beta" } },
	};
	struct dg_conframe f;

	dg_conframe_init(&f);
	load(&f, s, 4, "observe", 1);
	assert_int_equal(f.n_rows, 4);
	/* Score, highest first; a tie in the daemon's order; unknown last. */
	assert_string_equal(row_name(&f, 0), "key:a");
	assert_string_equal(row_name(&f, 1), "key:b");
	assert_string_equal(row_name(&f, 2), "key:d");
	assert_string_equal(row_name(&f, 3), "key:c");
	dg_conframe_sort(&f, DG_COL_SCORE, 1);
	assert_string_equal(row_name(&f, 0), "key:c");
	assert_string_equal(row_name(&f, 3), "key:a");
	dg_conframe_sort(&f, DG_COL_CLIENT, 0);
	assert_string_equal(row_name(&f, 0), "key:a");
	assert_string_equal(row_name(&f, 3), "key:d");
	dg_conframe_sort(&f, DG_COL_CLIENT, 1);
	assert_string_equal(row_name(&f, 0), "key:d");
	/* Cluster A to Z, none last; ties by the daemon's order. */
	dg_conframe_sort(&f, DG_COL_CLUSTER, 0);
	assert_string_equal(row_name(&f, 0), "key:d");
	assert_string_equal(row_name(&f, 1), "key:c");
	assert_string_equal(row_name(&f, 2), "key:b");
	assert_string_equal(row_name(&f, 3), "key:a");
	dg_conframe_sort(&f, DG_COL_RPM, 0);
	assert_string_equal(row_name(&f, 0), "key:d");
	assert_string_equal(row_name(&f, 3), "key:a");          /* unknown last */
	dg_conframe_sort(&f, DG_COL_TPM, 0);
	assert_string_equal(row_name(&f, 0), "key:d");
	assert_string_equal(row_name(&f, 3), "key:c");
	dg_conframe_sort(&f, DG_COL_KEYS, 0);
	assert_string_equal(row_name(&f, 0), "key:d");
	dg_conframe_sort(&f, DG_COL_IPS, 0);
	assert_string_equal(row_name(&f, 0), "key:a");
	dg_conframe_sort(&f, DG_COL_ACTION, 0);
	assert_string_equal(row_name(&f, 0), "key:a");
	assert_string_equal(row_name(&f, 1), "key:d");
	assert_string_equal(row_name(&f, 2), "key:b");
	assert_string_equal(row_name(&f, 3), "key:c");          /* unknown action last */
	dg_conframe_sort(&f, DG_COL_REASONS, 0);
	assert_string_equal(row_name(&f, 0), "key:a");          /* alpha, beta, zeta, none */
	assert_string_equal(row_name(&f, 1), "key:c");
	assert_string_equal(row_name(&f, 2), "key:b");
	assert_string_equal(row_name(&f, 3), "key:d");
	/* The sort holds across a refresh. */
	load(&f, s, 4, "observe", 2);
	assert_int_equal(f.sort, DG_COL_REASONS);
	assert_string_equal(row_name(&f, 0), "key:a");
	assert_string_equal(row_name(&f, 3), "key:d");
	assert_int_equal(dg_conframe_find(&f, "key:d"), 3);
	assert_int_equal(dg_conframe_find(&f, "key:zz"), -1);
	assert_null(dg_conframe_row(&f, 4));
	dg_conframe_free(&f);
}

static void test_filter(void **state)
{
	struct dg_conframe f;

	dg_conframe_init(&f);
	load(&f, three, 3, "observe", 1);
	dg_conframe_filter(&f, "192.0.2");         /* the client */
	assert_int_equal(f.n_rows, 1);
	assert_string_equal(row_name(&f, 0), "ip:192.0.2.7");
	dg_conframe_filter(&f, "C-0FBC");          /* the cluster, any case */
	assert_int_equal(f.n_rows, 1);
	assert_string_equal(row_name(&f, 0), "key:aaaaaaaaaaaa");
	dg_conframe_filter(&f, "keys behind");     /* a reason */
	assert_int_equal(f.n_rows, 2);
	dg_conframe_filter(&f, "step-by-step");    /* not the first reason */
	assert_int_equal(f.n_rows, 1);
	/* It holds across a refresh. */
	load(&f, three, 3, "observe", 2);
	assert_int_equal(f.n_rows, 1);
	assert_string_equal(f.filter, "step-by-step");
	dg_conframe_filter(&f, "nobody");
	assert_int_equal(f.n_rows, 0);
	assert_null(dg_conframe_row(&f, 0));
	dg_conframe_filter(&f, "");
	assert_int_equal(f.n_rows, 3);
	dg_conframe_filter(&f, NULL);
	assert_int_equal(f.n_rows, 3);
	dg_conframe_free(&f);
}

static char trend(const struct dg_conframe *f, const char *name)
{
	long i = dg_conframe_find(f, name);

	assert_true(i >= 0);
	return dg_conframe_row(f, (size_t)i)->trend;
}

static void test_trend(void **state)
{
	struct spec s[3] = { three[0], three[1], three[2] };
	struct dg_conframe f;

	dg_conframe_init(&f);
	load(&f, s, 3, "observe", 100);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), ' ');     /* nothing to compare with */
	/* The next pass: one up, one down, one gone, one new. */
	s[0].score = 95;
	s[1].score = 60;
	s[2].name = "key:dddddddddddd";
	load(&f, s, 3, "observe", 105);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '^');
	assert_int_equal(trend(&f, "ip:192.0.2.7"), 'v');
	assert_int_equal(trend(&f, "key:dddddddddddd"), '+');
	/* A refresh within the same pass keeps the marks. */
	load(&f, s, 3, "observe", 105);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '^');
	assert_int_equal(trend(&f, "ip:192.0.2.7"), 'v');
	assert_int_equal(trend(&f, "key:dddddddddddd"), '+');
	/* The next pass, nothing moved (less than 0.05). */
	s[0].score = 95.04;
	load(&f, s, 3, "observe", 110);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '=');
	assert_int_equal(trend(&f, "ip:192.0.2.7"), '=');
	assert_int_equal(trend(&f, "key:dddddddddddd"), '=');
	/* No pass time from the daemon: each refresh compares with the last. */
	s[1].score = NAN;
	s[0].score = 96;
	load(&f, s, 3, "observe", NAN);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '^');
	assert_int_equal(trend(&f, "ip:192.0.2.7"), ' ');         /* unknown score */
	load(&f, s, 3, "observe", NAN);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '=');
	/* An empty refresh, then one again: everyone is new. */
	load(&f, s, 0, "observe", 120);
	assert_int_equal(f.n_rows, 0);
	load(&f, s, 3, "observe", 125);
	assert_int_equal(trend(&f, "key:aaaaaaaaaaaa"), '+');
	dg_conframe_free(&f);
}

/* Every line no wider than width, printable ASCII only. */
static void assert_fits(const char *line, int width)
{
	assert_true((int)strlen(line) <= width);
	for (const char *p = line; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static int shown(const struct dg_con_layout *lo, enum dg_con_col c)
{
	return dg_con_layout_index(lo, c) >= 0;
}

static void test_layout_80(void **state)
{
	struct dg_conframe f;
	struct dg_con_layout lo;
	char line[256];

	dg_conframe_init(&f);
	load(&f, three, 3, "observe", 1);
	dg_conframe_layout(&f, 80, &lo);
	/* Everything but the cluster id, and no APPLIED in observe mode. */
	assert_int_equal(lo.n, 8);
	assert_false(shown(&lo, DG_COL_CLUSTER));
	assert_false(shown(&lo, DG_COL_APPLIED));
	assert_true(shown(&lo, DG_COL_KEYS) && shown(&lo, DG_COL_IPS));
	assert_int_equal(lo.col[lo.n - 1], DG_COL_REASONS);
	assert_int_equal(lo.x[lo.n - 1] + lo.w[lo.n - 1], 80);
	assert_true(lo.w[lo.n - 1] >= 20);
	dg_conframe_heads(&lo, line, sizeof(line));
	assert_string_equal(line, "CLIENT            SCORE REQ/M TOK/M KEYS  IPS ACTION    REASONS");
	dg_conframe_line(&f, &lo, 0, line, sizeof(line));
	assert_string_equal(line,
		"key:aaaaaaaaaaaa  91.8   16.0 27454    1    1 block     20 keys behind 1 addres~");
	dg_conframe_line(&f, &lo, 1, line, sizeof(line));
	assert_string_equal(line,
		"ip:192.0.2.7      70.2  120.5  1.5M   20    1 ratelimit 20 keys behind this add~");
	dg_conframe_line(&f, &lo, 2, line, sizeof(line));
	assert_string_equal(line, "key:cccccccccccc   3.0    0.5    80    1    2 none");
	dg_conframe_line(&f, &lo, 3, line, sizeof(line));         /* past the rows */
	assert_string_equal(line, "");

	/* Enforce mode: APPLIED shows, IPS goes to make room. */
	load(&f, three, 3, "enforce", 2);
	f.c[0].applied = 1;
	f.c[1].applied = 0;
	dg_conframe_layout(&f, 80, &lo);
	assert_true(shown(&lo, DG_COL_APPLIED));
	assert_false(shown(&lo, DG_COL_IPS));
	assert_true(shown(&lo, DG_COL_KEYS));
	dg_conframe_heads(&lo, line, sizeof(line));
	assert_string_equal(line, "CLIENT            SCORE REQ/M TOK/M KEYS ACTION    APPLIED REASONS");
	dg_conframe_line(&f, &lo, 0, line, sizeof(line));
	assert_string_equal(line,
		"key:aaaaaaaaaaaa  91.8=  16.0 27454    1 block     yes     20 keys behind 1 add~");
	dg_conframe_line(&f, &lo, 1, line, sizeof(line));
	assert_non_null(strstr(line, "ratelimit exempt "));
	dg_conframe_line(&f, &lo, 2, line, sizeof(line));
	assert_non_null(strstr(line, "none      -"));
	dg_conframe_free(&f);
}

static void test_layout_200(void **state)
{
	static const struct spec s[] = {
		{ "ip:2001:db8:85a3:1234:5678:8a2e:370:7334", "c-0fbc9f72", "block", 99, 1, 1, 1, 1,
		  { "a reason" } },
		{ "key:aaaaaaaaaaaa", NULL, "none", 1, 1, 1, 1, 1, { "x" } },
	};
	struct dg_conframe f;
	struct dg_con_layout lo;
	char line[512];

	dg_conframe_init(&f);
	load(&f, three, 3, "enforce", 1);
	dg_conframe_layout(&f, 200, &lo);
	assert_int_equal(lo.n, DG_COL__MAX);                    /* every column */
	assert_int_equal(lo.x[lo.n - 1] + lo.w[lo.n - 1], 200);
	dg_conframe_heads(&lo, line, sizeof(line));
	assert_string_equal(line, "CLIENT           CLUSTER     SCORE REQ/M TOK/M KEYS  IPS "
			    "ACTION    APPLIED REASONS");
	dg_conframe_line(&f, &lo, 0, line, sizeof(line));
	assert_string_equal(line, "key:aaaaaaaaaaaa c-0fbc9f72  91.8   16.0 27454    1    1 block     "
			    "-       20 keys behind 1 address share templates; 100% ask for "
			    "step-by-step reasoning");
	dg_conframe_line(&f, &lo, 1, line, sizeof(line));
	assert_non_null(strstr(line, "ip:192.0.2.7     -           70.2 "));

	/* A long name: whole at 200, cut with '~' at 80. */
	load(&f, s, 2, "observe", 2);
	dg_conframe_layout(&f, 200, &lo);
	assert_int_equal(lo.w[0], (int)strlen(s[0].name));
	dg_conframe_line(&f, &lo, 0, line, sizeof(line));
	assert_memory_equal(line, s[0].name, strlen(s[0].name));
	dg_conframe_layout(&f, 80, &lo);
	assert_int_equal(lo.w[0], 16);
	dg_conframe_line(&f, &lo, 0, line, sizeof(line));
	assert_memory_equal(line, "ip:2001:db8:85a~ ", 17);
	dg_conframe_free(&f);
}

static void test_every_width(void **state)
{
	struct dg_conframe f;
	struct dg_con_layout lo;
	char line[512];

	dg_conframe_init(&f);
	for (int mode = 0; mode < 2; mode++) {
		load(&f, three, 3, mode ? "enforce" : "observe", mode);
		for (int w = 1; w <= 300; w++) {
			struct dg_lines head;

			dg_conframe_layout(&f, w, &lo);
			assert_true(shown(&lo, DG_COL_CLIENT) && shown(&lo, DG_COL_SCORE) &&
				    shown(&lo, DG_COL_ACTION));
			dg_conframe_heads(&lo, line, sizeof(line));
			assert_fits(line, w);
			for (size_t i = 0; i < 3; i++) {
				dg_conframe_line(&f, &lo, i, line, sizeof(line));
				assert_fits(line, w);
			}
			dg_lines_init(&head, w);
			dg_conframe_header(&f, &head);
			for (size_t i = 0; i < head.n; i++)
				assert_fits(head.v[i], w);
			if (w >= 80)
				assert_int_equal(head.n, 2);
			dg_lines_free(&head);
			/* Columns only go as the width shrinks. */
			if (w >= 90 && !mode)
				assert_true(shown(&lo, DG_COL_CLUSTER));
		}
	}
	dg_conframe_free(&f);
}

static char *once(const struct dg_conframe *f, int width, size_t top)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	dg_conframe_text(f, width, top, out);
	fclose(out);
	return buf;
}

static void test_once(void **state)
{
	struct dg_conframe f;
	char *text, *line, *save;

	dg_conframe_init(&f);
	load(&f, three, 3, "observe", 1);
	text = once(&f, 80, 2);
	assert_string_equal(text,
		"distillguard  observe mode  up 12m03s  clients 3  in force 1\n"
		"req/s 14.4  out tok/s 25602  conns 11  events lost 0  bpf cpu 0.21%\n"
		"\n"
		"CLIENT            SCORE REQ/M TOK/M KEYS  IPS ACTION    REASONS\n"
		"key:aaaaaaaaaaaa  91.8   16.0 27454    1    1 block     20 keys behind 1 addres~\n"
		"ip:192.0.2.7      70.2  120.5  1.5M   20    1 ratelimit 20 keys behind this add~\n"
		"(1 more)\n");
	assert_null(strchr(text, 0x1b));
	free(text);

	/* All rows (top 0), sorted and filtered as the frame is, at 200. */
	dg_conframe_sort(&f, DG_COL_CLIENT, 0);
	text = once(&f, 200, 0);
	assert_non_null(strstr(text, "sort CLIENT asc"));
	assert_non_null(strstr(text, "\nip:192.0.2.7 "));
	assert_null(strstr(text, "more)"));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_fits(line, 200);
	free(text);
	dg_conframe_filter(&f, "nobody");
	text = once(&f, 80, 20);
	assert_non_null(strstr(text, "filter \"nobody\": 0 of 3"));
	assert_non_null(strstr(text, "(no client matches the filter)\n"));
	free(text);

	/* No clients at all. */
	dg_conframe_filter(&f, "");
	load(&f, three, 0, "observe", 2);
	text = once(&f, 80, 20);
	assert_non_null(strstr(text, "REASONS\n(no clients yet)\n"));
	free(text);
	dg_conframe_free(&f);
}

/* What the daemon did not say is "-", and nothing breaks. */
static void test_unknown_fields(void **state)
{
	struct dg_conframe f;
	struct dg_con_status st;
	struct dg_con_client *c = calloc(2, sizeof(*c));
	char *text;

	assert_non_null(c);
	snprintf(c[0].name, sizeof(c[0].name), "ip:192.0.2.1");
	snprintf(c[1].name, sizeof(c[1].name), "ip:192.0.2.2");
	for (int i = 0; i < 2; i++) {
		c[i].score = c[i].requests_per_min = c[i].output_tokens_per_min = NAN;
		c[i].keys = c[i].ips = c[i].requests = c[i].output_tokens = NAN;
		c[i].applied = -1;
	}
	memset(&st, 0, sizeof(st));
	st.uptime_s = st.records_per_s = st.output_tokens_per_s = st.events_per_s = NAN;
	st.connections = st.events_lost = st.bpf_run_ns = st.bpf_cpu = NAN;
	st.clients = st.decisions_in_force = st.last_pass = NAN;
	dg_conframe_init(&f);
	dg_conframe_update(&f, &st, c, 2);
	text = once(&f, 80, 0);
	assert_string_equal(text,
		"distillguard  ? mode  up -  clients -  in force -\n"
		"req/s -  out tok/s -  conns -  events lost -  bpf cpu -\n"
		"\n"
		"CLIENT        SCORE REQ/M TOK/M KEYS  IPS ACTION    REASONS\n"
		"ip:192.0.2.1     -      -     -    -    - -\n"
		"ip:192.0.2.2     -      -     -    -    - -\n");
	free(text);
	/* Every column sorts unknown values without trouble. */
	for (int col = 0; col < DG_COL__MAX; col++) {
		dg_conframe_sort(&f, (enum dg_con_col)col, col % 2);
		assert_int_equal(f.n_rows, 2);
	}
	dg_conframe_sort(&f, DG_COL__MAX, 0);                  /* out of range: score */
	assert_int_equal(f.sort, DG_COL_SCORE);
	dg_conframe_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_layout_80),
		cmocka_unit_test(test_layout_200),
		cmocka_unit_test(test_every_width),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_unknown_fields),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
