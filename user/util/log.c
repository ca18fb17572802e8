/* log.c — leveled, rate-limited lines on stderr (log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIMITED 64             /* keys remembered for rate limiting */

static enum dg_log_level max_level = DG_LOG_INFO;
static struct {
	const char *key;
	double last;
	unsigned long held;
} limited[LIMITED];

void dg_log_set_level(enum dg_log_level max)
{
	max_level = max;
}

static const char *level_name(enum dg_log_level l)
{
	switch (l) {
	case DG_LOG_ERR: return "error";
	case DG_LOG_WARN: return "warning";
	case DG_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void vlog(enum dg_log_level level, unsigned long held, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s", level, msg);
	else
		fprintf(stderr, "distillguard: %s: %s", level_name(level), msg);
	if (held)
		fprintf(stderr, " (%lu more like it held back)", held);
	fputc('\n', stderr);
	fflush(stderr);
}

void dg_log(enum dg_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void dg_log_limited(const char *key, double interval, enum dg_log_level level, const char *fmt, ...)
{
	double now = mono();
	int slot = -1;
	unsigned long held;
	va_list ap;

	if (level > max_level)
		return;
	for (int i = 0; i < LIMITED && slot < 0; i++)
		if (limited[i].key == key || !limited[i].key || !strcmp(limited[i].key, key))
			slot = i;
	if (slot < 0)
		slot = 0;              /* table full: share the first slot */
	if (limited[slot].key && limited[slot].last && now - limited[slot].last < interval) {
		limited[slot].held++;
		return;
	}
	held = limited[slot].held;
	limited[slot].key = key;
	limited[slot].last = now;
	limited[slot].held = 0;
	va_start(ap, fmt);
	vlog(level, held, fmt, ap);
	va_end(ap);
}
