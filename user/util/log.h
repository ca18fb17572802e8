/* log.h — one line per event on stderr, with a level. Under systemd
 * (JOURNAL_STREAM set) each line starts with the syslog priority ("<4>")
 * that journald reads; on a terminal with "distillguard: warning: ".
 * A message given a key is rate-limited: at most once per interval, and
 * the next one that passes says how many were held back. */
#ifndef DG_LOG_H
#define DG_LOG_H

enum dg_log_level { DG_LOG_ERR = 3, DG_LOG_WARN = 4, DG_LOG_INFO = 6, DG_LOG_DEBUG = 7 };

/* Messages above this level are not written (default DG_LOG_INFO). */
void dg_log_set_level(enum dg_log_level max);
void dg_log(enum dg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Rate-limited by key (a short constant string): once per interval seconds. */
void dg_log_limited(const char *key, double interval, enum dg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
