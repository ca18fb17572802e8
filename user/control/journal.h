/* journal.h — the daemon's journal: every request record and every
 * decision, as JSON lines, in a directory of gzip files.
 *
 * Writing. Lines are buffered and written as one gzip member at each
 * dg_journal_flush (the daemon flushes every second, and whenever the
 * buffer holds DG_JOURNAL_BUFFER bytes), so concatenated members make each
 * file, `zcat` reads it, and a crash loses at most the lines since the last
 * flush. A file is closed and a new one started once it reaches
 * file_bytes; files are named dg-<unix seconds>-<sequence>.json.gz, so
 * their names sort in time order. When the directory's journal files
 * exceed total_bytes, the oldest are deleted first (counted). A failed
 * write is counted and the lines are dropped, never retried forever: the
 * daemon goes on.
 *
 * Reading (replay). A path is a directory (its dg-*.json.gz and *.jsonl
 * files in name order), a file (gzip or plain, by its first bytes) or "-"
 * (standard input, either). Lines are handed to a callback one by one. A
 * truncated or corrupt gzip tail ends that file with a message naming it
 * and the line count so far; the next file is read. Lines longer than
 * DG_JOURNAL_LINE_MAX are skipped and counted. */
#ifndef DG_JOURNAL_H
#define DG_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DG_JOURNAL_BUFFER   (1u << 20)
#define DG_JOURNAL_LINE_MAX (1u << 20)
#define DG_JOURNAL_DIR      "/var/lib/distillguard/journal"

struct dg_journal_config {
	char dir[256];
	uint64_t file_bytes;           /* rotate at this size (64 MiB) */
	uint64_t total_bytes;          /* keep at most this much (1 GiB) */
	int level;                     /* zlib level (1) */
};

struct dg_journal_stats {
	uint64_t lines, members, bytes_written, files, files_deleted;
	uint64_t write_errors, lines_dropped;
};

struct dg_journal;

void dg_journal_config_default(struct dg_journal_config *c);
/* Create the directory (0700) if needed and start a new file. NULL with a
 * reason in err. */
struct dg_journal *dg_journal_open(const struct dg_journal_config *c, char *err, size_t errlen);
/* One line (no newline in it). */
void dg_journal_line(struct dg_journal *j, const char *line, size_t len);
/* Write what is buffered as one gzip member. 0, or -1 (counted). */
int dg_journal_flush(struct dg_journal *j);
/* Flush and close. */
void dg_journal_close(struct dg_journal *j);
const struct dg_journal_stats *dg_journal_stats(const struct dg_journal *j);

/* Read path; fn gets each line (NUL-terminated, no newline) with where it
 * came from. Returns 0, or -1 when nothing could be read (message in err).
 * Damaged tails are reported through warn (one line each), not fatal. */
typedef int (*dg_journal_line_fn)(const char *line, size_t len, const char *file,
				  unsigned long lineno, void *arg);
typedef void (*dg_journal_warn_fn)(const char *msg, void *arg);
int dg_journal_read(const char *path, dg_journal_line_fn fn, dg_journal_warn_fn warn, void *arg,
		    char *err, size_t errlen);

#endif
