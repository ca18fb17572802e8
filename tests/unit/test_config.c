/* test_config.c — settings and config file errors (config.c), and the
 * record JSON round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "record.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/dg-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults_and_ports(void **state)
{
	struct dg_config c;
	char err[256];

	dg_config_init(&c);
	assert_int_equal(c.n_ports, 4);
	assert_int_equal(c.ports[0], 443);
	assert_int_equal(dg_config_set(&c, "port", "9443", err, sizeof(err)), 0);
	assert_int_equal(dg_config_set(&c, "port", "443", err, sizeof(err)), 0);
	assert_int_equal(c.n_ports, 5);
	assert_int_equal(c.ports[4], 9443);
	assert_int_equal(dg_config_set(&c, "port", "70000", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "70000"));
	assert_int_equal(dg_config_set(&c, "port", "12abc", err, sizeof(err)), -1);
	dg_config_free(&c);
}

static void test_file(void **state)
{
	struct dg_config c;
	char err[256];
	char *ok = write_tmp("# distillguard\nport 9000\n  trusted_proxy = 10.0.0.0/8  # lb\n"
			     "libssl /usr/lib/x86_64-linux-gnu/libssl.so.3\n\n");
	char *bad = write_tmp("port 9000\ntrusted_proxy 10.0.0.0/33\n");
	char *unknown = write_tmp("prot 9000\n");
	char *score = write_tmp("score.block_at 92\nscore.weight.template 0.25\n");
	char *badscore = write_tmp("score.weight.template 7\n");

	dg_config_init(&c);
	assert_int_equal(dg_config_load(&c, ok, err, sizeof(err)), 0);
	assert_int_equal(c.n_proxies, 1);
	assert_int_equal(c.n_libssl, 1);
	assert_int_equal(c.ports[c.n_ports - 1], 9000);
	assert_int_equal(dg_config_load(&c, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2:"));
	assert_int_equal(dg_config_load(&c, unknown, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting 'prot'"));
	assert_int_equal(dg_config_load(&c, "/nonexistent/dg.conf", err, sizeof(err)), -1);
	assert_int_equal(dg_config_load(&c, score, err, sizeof(err)), 0);
	assert_true(c.engine.score.block_at == 92);
	assert_true(c.engine.score.weight[DG_EV_TEMPLATE] == 0.25);
	assert_int_equal(dg_config_load(&c, badscore, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: score.weight.template"));
	unlink(score); unlink(badscore);
	free(score); free(badscore);
	dg_config_free(&c);
	unlink(ok); unlink(bad); unlink(unknown);
	free(ok); free(bad); free(unknown);
}

/* The example config lists every setting: commented, it changes nothing;
 * with every setting line uncommented, it loads, at the defaults. */
static void test_example_file(void **state)
{
	FILE *in = fopen("config/distillguard.conf", "r");
	char line[512], err[256], *path, *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct dg_config c, d;
	int settings = 0;

	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			fputs(line + 1, out);
			settings++;
		}
	}
	fclose(in);
	fclose(out);
	assert_true(settings > 40);
	dg_config_init(&c);
	assert_int_equal(dg_config_load(&c, "config/distillguard.conf", err, sizeof(err)), 0);
	assert_int_equal(c.n_ports, 4);
	dg_config_free(&c);
	path = write_tmp(text);
	dg_config_init(&c);
	dg_config_init(&d);
	if (dg_config_load(&c, path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(c.engine.score.block_at == d.engine.score.block_at);
	assert_memory_equal(&c.engine.score, &d.engine.score, sizeof(c.engine.score));
	assert_true(c.engine.policy.ttl == d.engine.policy.ttl);
	assert_int_equal(c.engine.policy.n_allow, 3);
	assert_int_equal(c.enforce, 0);
	assert_string_equal(c.journal_dir, d.journal_dir);
	dg_config_free(&c);
	dg_config_free(&d);
	unlink(path);
	free(path);
	free(text);
}

/* The daemon's settings: each checked, a bad value named. */
static void test_daemon_settings(void **state)
{
	struct dg_config c;
	char err[256];

	dg_config_init(&c);
	assert_int_equal(dg_config_set(&c, "enforce", "yes", err, sizeof(err)), 0);
	assert_int_equal(c.enforce, 1);
	assert_int_equal(dg_config_set(&c, "enforce", "maybe", err, sizeof(err)), -1);
	assert_int_equal(c.syscall_hooks, 0);               /* off unless said */
	assert_int_equal(dg_config_set(&c, "syscall_hooks", "yes", err, sizeof(err)), 0);
	assert_int_equal(c.syscall_hooks, 1);
	assert_int_equal(dg_config_set(&c, "syscall_hooks", "off-ish", err, sizeof(err)), -1);
	assert_int_equal(c.cgroup_scope_root, 0);           /* the servers' cgroups */
	assert_int_equal(dg_config_set(&c, "cgroup_scope", "root", err, sizeof(err)), 0);
	assert_int_equal(c.cgroup_scope_root, 1);
	assert_int_equal(dg_config_set(&c, "cgroup_scope", "servers", err, sizeof(err)), 0);
	assert_int_equal(c.cgroup_scope_root, 0);
	assert_int_equal(dg_config_set(&c, "cgroup_scope", "host", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cgroup_scope"));
	assert_int_equal(dg_config_set(&c, "journal_max_size", "2g", err, sizeof(err)), 0);
	assert_true(c.journal_total_bytes == 2ull << 30);
	assert_int_equal(dg_config_set(&c, "journal_file_size", "1", err, sizeof(err)), -1);
	assert_int_equal(dg_config_set(&c, "tick", "0", err, sizeof(err)), -1);
	assert_int_equal(dg_config_set(&c, "tick", "2.5", err, sizeof(err)), 0);
	assert_true(c.engine.tick == 2.5);
	assert_int_equal(dg_config_set(&c, "allow", "10.0.0.0/8", err, sizeof(err)), 0);
	assert_string_equal(c.engine.policy.allow[0], "cidr:10.0.0.0/8");
	assert_int_equal(dg_config_set(&c, "allow", "nobody", err, sizeof(err)), -1);
	assert_int_equal(dg_config_set(&c, "policy.ttl", "-1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "policy.ttl"));
	assert_int_equal(dg_config_set(&c, "max_body", "2m", err, sizeof(err)), 0);
	assert_int_equal(c.max_body, 2u << 20);
	dg_config_free(&c);
}

static void test_record_roundtrip(void **state)
{
	struct dg_record r, back;
	char buf[DG_RECORD_JSON_MAX], err[128];
	int n;

	dg_record_init(&r);
	r.ts = 1764000000.123456;
	r.conn = 12345678901234ULL;
	strcpy(r.client, "key:0123456789ab");
	strcpy(r.key, "0123456789ab");
	strcpy(r.ip, "10.0.0.1");
	strcpy(r.method, "POST");
	strcpy(r.path, "/v1/chat/completions");
	strcpy(r.model, "m\"odel\\x");
	r.status = 200;
	r.stream = 1;
	r.messages = 3;
	r.prompt_bytes = 99;
	r.has_system_fp = 1;
	r.system_fp = 0xdeadbeef00112233ULL;
	r.has_prompt_fp = 1;
	r.prompt_fp = 0x1;
	r.prompt_simhash = 0xffffffffffffffffULL;
	r.has_temperature = 1;
	r.temperature = 0.7;
	r.logprobs = 1;
	r.output_tokens = 512;
	r.ttfb_ms = 12.5;
	n = dg_record_to_json(&r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"system_fp\":\"deadbeef00112233\""));
	assert_non_null(strstr(buf, "\"max_tokens\":null"));
	assert_int_equal(dg_record_from_json(buf, (size_t)n, &back, err, sizeof(err)), 0);
	assert_string_equal(back.model, r.model);
	assert_int_equal(back.conn, r.conn);
	assert_int_equal(back.system_fp, r.system_fp);
	assert_int_equal(back.prompt_simhash, r.prompt_simhash);
	assert_int_equal(back.output_tokens, 512);
	assert_int_equal(back.max_tokens, -1);
	assert_int_equal(back.stream, 1);
	assert_true(back.ts > 1764000000.12 && back.ts < 1764000000.13);
	assert_int_equal(dg_record_from_json("{\"ts\":", 6, &back, err, sizeof(err)), -1);
	assert_int_equal(dg_record_from_json("[1]", 3, &back, err, sizeof(err)), -1);
	assert_int_equal(dg_record_from_json("{\"x\":1}", 7, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ts"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_ports),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_daemon_settings),
		cmocka_unit_test(test_record_roundtrip),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
