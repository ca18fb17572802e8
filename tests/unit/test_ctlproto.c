/* test_ctlproto.c — control requests: each command parsed, formatted and
 * parsed back, refused when wrong, and the request line gathered from a
 * socket at every split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"

static int parse(const char *s, struct dg_ctl_request *r, char *err)
{
	return dg_ctl_parse(s, strlen(s), r, err, 200);
}

static void test_commands(void **state)
{
	struct dg_ctl_request r, back;
	char err[200], line[DG_CTL_LINE_MAX];

	assert_int_equal(parse("{\"cmd\":\"clients\",\"top\":20,\"json\":true}", &r, err), 0);
	assert_int_equal(r.cmd, DG_CTL_CLIENTS);
	assert_int_equal(r.top, 20);
	assert_int_equal(r.json, 1);
	assert_int_equal(parse("{\"cmd\":\"client\",\"name\":\"key:0123456789ab\"}", &r, err), 0);
	assert_string_equal(r.name, "key:0123456789ab");
	assert_int_equal(r.json, 0);
	assert_int_equal(parse("{\"cmd\":\"block\",\"client\":\"ip:192.0.2.1\",\"ttl\":60,"
			       "\"reason\":\"ticket 7\",\"extra\":[1,2]}", &r, err), 0);
	assert_int_equal(r.cmd, DG_CTL_BLOCK);
	assert_true(r.ttl == 60);
	assert_string_equal(r.reason, "ticket 7");
	/* Every command formats and parses back to itself. */
	for (int c = DG_CTL_CLIENTS; c <= DG_CTL_RATELIMIT; c++) {
		memset(&r, 0, sizeof(r));
		r.cmd = (enum dg_ctl_cmd)c;
		r.json = c % 2;
		r.top = c == DG_CTL_CLIENTS ? 5 : 0;
		if (c == DG_CTL_CLIENT || c >= DG_CTL_BLOCK)
			snprintf(r.name, sizeof(r.name), "cidr:10.0.0.0/8");
		if (c >= DG_CTL_BLOCK) {
			r.ttl = 30;
			snprintf(r.reason, sizeof(r.reason), "say \"why\"\n");
		}
		assert_true(dg_ctl_format(&r, line, sizeof(line)) > 0);
		assert_null(strchr(line, '\n'));
		assert_int_equal(parse(line, &back, err), 0);
		assert_memory_equal(&r, &back, sizeof(r));
	}
	assert_int_equal(dg_ctl_format(&r, line, 8), -1);
}

static void test_refused(void **state)
{
	struct dg_ctl_request r;
	char err[200], big[DG_CTL_LINE_MAX + 10];

	assert_int_equal(parse("", &r, err), -1);
	assert_int_equal(parse("[1]", &r, err), -1);
	assert_int_equal(parse("{\"cmd\":\"rm -rf\"}", &r, err), -1);
	assert_non_null(strstr(err, "unknown command"));
	assert_int_equal(parse("{\"cmd\":7}", &r, err), -1);
	assert_int_equal(parse("{\"cmd\":\"block\"}", &r, err), -1);
	assert_non_null(strstr(err, "client"));
	assert_int_equal(parse("{\"cmd\":\"client\"}", &r, err), -1);
	assert_int_equal(parse("{\"cmd\":\"block\",\"client\":\"ip:1.2.3.4\",\"ttl\":\"1h\"}", &r, err), -1);
	assert_int_equal(parse("{\"cmd\":\"block\",\"client\":\"ip:1.2.3.4\",\"ttl\":-5}", &r, err), -1);
	assert_int_equal(parse("{\"cmd\":\"clients\",\"top\":1e300}", &r, err), -1);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = 0;
	assert_int_equal(parse(big, &r, err), -1);
	snprintf(big, sizeof(big), "{\"cmd\":\"block\",\"client\":\"ip:1.2.3.4\",\"reason\":\"%0200d\"}", 0);
	assert_int_equal(parse(big, &r, err), -1);
}

/* The line, fed at every split, gives the same request; too long is -1. */
static void test_linebuf_every_split(void **state)
{
	const char *req = "{\"cmd\":\"status\",\"json\":true}\r\nleftover";
	size_t n = strlen(req);
	char big[DG_CTL_LINE_MAX + 2];

	for (size_t cut = 0; cut <= n; cut++) {
		struct dg_ctl_linebuf b = { .len = 0 };
		int rc = dg_ctl_linebuf_feed(&b, req, cut);

		if (rc == 0)
			rc = dg_ctl_linebuf_feed(&b, req + cut, n - cut);
		assert_int_equal(rc, 1);
		assert_string_equal(b.line, "{\"cmd\":\"status\",\"json\":true}");
	}
	{
		struct dg_ctl_linebuf b = { .len = 0 };

		for (size_t i = 0; i < n; i++)
			if (dg_ctl_linebuf_feed(&b, req + i, 1) == 1)
				break;
		assert_string_equal(b.line, "{\"cmd\":\"status\",\"json\":true}");
	}
	{
		struct dg_ctl_linebuf b = { .len = 0 };

		memset(big, 'a', sizeof(big));
		assert_int_equal(dg_ctl_linebuf_feed(&b, big, sizeof(big) / 2), 0);
		assert_int_equal(dg_ctl_linebuf_feed(&b, big, sizeof(big) / 2 + 1), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_linebuf_every_split),
	};
	return cmocka_run_group_tests_name("ctlproto", tests, NULL, NULL);
}
