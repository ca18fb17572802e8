/* test_log.c — one line per event, levels, journald priorities, and
 * repeats held back and counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* What the calls in fn wrote to stderr. */
static char *captured(void (*fn)(void))
{
	char path[] = "/tmp/dg-log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text = calloc(1, 8192);

	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	assert_true(read(fd, text, 8191) >= 0);
	close(fd);
	unlink(path);
	return text;
}

static void lines(void)
{
	unsetenv("JOURNAL_STREAM");
	dg_log(DG_LOG_WARN, "two\nlines become %d", 1);
	dg_log(DG_LOG_DEBUG, "not shown at the default level");
	setenv("JOURNAL_STREAM", "8:1234", 1);
	dg_log(DG_LOG_ERR, "for journald");
	unsetenv("JOURNAL_STREAM");
}

static void repeats(void)
{
	for (int i = 0; i < 10; i++)
		dg_log_limited("test-key", 3600, DG_LOG_WARN, "ring buffer full %d", i);
	dg_log_limited("other-key", 3600, DG_LOG_WARN, "another");
	dg_log_limited("test-key", 0, DG_LOG_WARN, "ring buffer full again");
}

static void test_lines(void **state)
{
	char *t = captured(lines);

	assert_string_equal(t, "distillguard: warning: two lines become 1\n<3>for journald\n");
	free(t);
}

static void test_rate_limited(void **state)
{
	char *t = captured(repeats);

	assert_string_equal(t, "distillguard: warning: ring buffer full 0\n"
			       "distillguard: warning: another\n"
			       "distillguard: warning: ring buffer full again (9 more like it held back)\n");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_rate_limited),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
