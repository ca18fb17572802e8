/* fixture_file.h — a file under tests/unit/fixtures (or $DG_FIXTURES), read
 * whole and NUL-terminated, for the tests that compare against fixtures. */
#ifndef FIXTURE_FILE_H
#define FIXTURE_FILE_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes (free them), with *len set when len is not NULL; NULL
 * when it cannot be read. */
static inline char *fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("DG_FIXTURES") ? getenv("DG_FIXTURES") : "tests/unit/fixtures";
	char path[512];
	char *buf = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1))) {
		size_t got = fread(buf, 1, (size_t)n, f);

		buf[got] = 0;
		if (len)
			*len = got;
	}
	fclose(f);
	return buf;
}

#endif
