/* test_journal.c — gzip members that zcat reads, rotation and the size
 * bound, and a reader that takes a damaged tail in its stride: cut at
 * every byte, it delivers whole lines only, in order, and says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "journal.h"

struct got {
	char lines[4096][64];
	int n, warnings;
};

static int on_line(const char *line, size_t len, const char *file, unsigned long lineno,
		   void *arg)
{
	struct got *g = arg;

	if (g->n < 4096)
		snprintf(g->lines[g->n], sizeof(g->lines[0]), "%.*s", (int)len, line);
	g->n++;
	return 0;
}

static void on_warn(const char *msg, void *arg)
{
	((struct got *)arg)->warnings++;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/dg-journal-test.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rmdir_all(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static struct dg_journal *open_in(const char *dir, uint64_t file_bytes, uint64_t total)
{
	struct dg_journal_config c;
	char err[256];
	struct dg_journal *j;

	dg_journal_config_default(&c);
	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	if (file_bytes)
		c.file_bytes = file_bytes;
	if (total)
		c.total_bytes = total;
	j = dg_journal_open(&c, err, sizeof(err));
	assert_non_null(j);
	return j;
}

static void put(struct dg_journal *j, int i)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"ts\":%d.5,\"client\":\"ip:10.0.0.%d\"}", i, i % 250);

	dg_journal_line(j, line, (size_t)n);
}

static void test_members_in_order(void **state)
{
	char *dir = tmpdir();
	struct dg_journal *j = open_in(dir, 0, 0);
	struct got *g = calloc(1, sizeof(*g));
	char err[256], cmd[512];

	for (int i = 0; i < 300; i++) {
		put(j, i);
		if (i % 100 == 99)
			assert_int_equal(dg_journal_flush(j), 0);
	}
	dg_journal_close(j);
	assert_int_equal(dg_journal_read(dir, on_line, on_warn, g, err, sizeof(err)), 0);
	assert_int_equal(g->n, 300);
	assert_int_equal(g->warnings, 0);
	assert_string_equal(g->lines[299], "{\"ts\":299.5,\"client\":\"ip:10.0.0.49\"}");
	/* zcat reads it: concatenated members are one gzip file. */
	snprintf(cmd, sizeof(cmd), "zcat %s/dg-*.json.gz | wc -l | grep -qx 300", dir);
	assert_int_equal(system(cmd), 0);
	rmdir_all(dir);
	free(dir);
	free(g);
}

/* Small files rotate; over the total bound the oldest go first. */
static void test_rotation_and_bound(void **state)
{
	char *dir = tmpdir();
	struct dg_journal *j = open_in(dir, 400, 2000);
	struct got *g = calloc(1, sizeof(*g));
	char err[256];

	for (int i = 0; i < 2000; i++) {
		put(j, i);
		if (i % 10 == 9)
			dg_journal_flush(j);
	}
	assert_true(dg_journal_stats(j)->files > 5);
	assert_true(dg_journal_stats(j)->files_deleted > 0);
	dg_journal_close(j);
	assert_int_equal(dg_journal_read(dir, on_line, on_warn, g, err, sizeof(err)), 0);
	/* What is left is the newest lines, in order, ending with the last. */
	assert_true(g->n > 0 && g->n < 2000);
	assert_string_equal(g->lines[g->n - 1], "{\"ts\":1999.5,\"client\":\"ip:10.0.0.249\"}");
	for (int i = 1; i < g->n; i++)
		assert_true(atof(g->lines[i] + 6) > atof(g->lines[i - 1] + 6));
	rmdir_all(dir);
	free(dir);
	free(g);
}

/* A file cut at every byte: whole lines only, a prefix of what was
 * written, and a warning when the cut fell inside a member. */
static void test_cut_at_every_byte(void **state)
{
	char *dir = tmpdir();
	struct dg_journal *j = open_in(dir, 0, 0);
	struct got *g = calloc(1, sizeof(*g));
	char err[256], path[512], cut[512];
	unsigned char *data;
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd;

	for (int i = 0; i < 40; i++) {
		put(j, i);
		if (i % 8 == 7)
			dg_journal_flush(j);
	}
	dg_journal_close(j);
	d = opendir(dir);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
	closedir(d);
	assert_int_equal(stat(path, &st), 0);
	data = malloc((size_t)st.st_size);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	snprintf(cut, sizeof(cut), "%s/cut.jsonl", dir);
	for (off_t k = 0; k <= st.st_size; k++) {
		memset(g, 0, sizeof(*g));
		fd = open(cut, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_int_equal(write(fd, data, (size_t)k), k);
		close(fd);
		dg_journal_read(cut, on_line, on_warn, g, err, sizeof(err));
		assert_true(g->n <= 40);
		for (int i = 0; i < g->n; i++) {
			char want[64];

			snprintf(want, sizeof(want), "{\"ts\":%d.5,\"client\":\"ip:10.0.0.%d\"}", i, i);
			assert_string_equal(g->lines[i], want);
		}
		if (k > 0 && k < st.st_size && g->n < 40)
			assert_true(g->warnings >= 1 || g->n % 8 == 0);
	}
	unlink(cut);
	free(data);
	rmdir_all(dir);
	free(dir);
	free(g);
}

/* Plain JSON lines read too; a line over the bound is skipped, counted. */
static void test_plain_and_overlong(void **state)
{
	char *dir = tmpdir();
	struct got *g = calloc(1, sizeof(*g));
	char err[256], path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/records.jsonl", dir);
	f = fopen(path, "w");
	fputs("{\"a\":1}\n", f);
	for (unsigned i = 0; i < DG_JOURNAL_LINE_MAX + 10; i++)
		fputc('x', f);
	fputs("\n{\"a\":2}\n{\"a\":3}", f);
	fclose(f);
	assert_int_equal(dg_journal_read(path, on_line, on_warn, g, err, sizeof(err)), 0);
	assert_int_equal(g->n, 3);
	assert_string_equal(g->lines[2], "{\"a\":3}");
	assert_int_equal(g->warnings, 1);
	assert_int_equal(dg_journal_read("/nonexistent/x", on_line, on_warn, g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x"));
	unlink(path);
	rmdir_all(dir);
	free(dir);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_in_order),
		cmocka_unit_test(test_rotation_and_bound),
		cmocka_unit_test(test_cut_at_every_byte),
		cmocka_unit_test(test_plain_and_overlong),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
