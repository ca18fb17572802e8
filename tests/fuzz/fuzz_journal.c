/* fuzz_journal.c — the journal reader on arbitrary files: gzip or not,
 * damaged anywhere. Every line handed out is NUL-terminated, has no
 * newline and is within the bound; nothing crashes or leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "journal.h"

static int on_line(const char *line, size_t len, const char *file, unsigned long lineno, void *arg)
{
	if (strlen(line) != len || memchr(line, '\n', len) || len > DG_JOURNAL_LINE_MAX)
		__builtin_trap();
	(*(size_t *)arg)++;
	return 0;
}

static void on_warn(const char *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("journal", 0);
	char path[64], err[256];
	size_t lines = 0;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		dg_journal_read(path, on_line, on_warn, &lines, err, sizeof(err));
	}
	close(fd);
	return 0;
}
