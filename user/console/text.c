/* text.c — cells, numbers, durations and lines for a fixed-width screen
 * (text.h). */
#include "text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dg_text_cell(char *out, const char *s, int w, int right)
{
	int len = (int)strlen(s);

	if (w <= 0) {
		out[0] = 0;
		return;
	}
	if (len > w) {
		memcpy(out, s, (size_t)w - 1);
		out[w - 1] = '~';
		out[w] = 0;
		return;
	}
	if (right) {
		memset(out, ' ', (size_t)(w - len));
		memcpy(out + w - len, s, (size_t)len);
	} else {
		memcpy(out, s, (size_t)len);
		memset(out + len, ' ', (size_t)(w - len));
	}
	out[w] = 0;
}

void dg_text_num(char *out, double v, int decimals, int w)
{
	static const char units[] = "kMGT";
	double a = fabs(v);

	if (!isfinite(v)) {
		snprintf(out, 32, "-");
		return;
	}
	if (v == 0 || a >= 1e18)     /* "0", not "0.0"; nonsense whole */
		decimals = 0;
	if (snprintf(out, 32, "%.*f", decimals, v) <= w)
		return;
	if (snprintf(out, 32, "%.0f", v) <= w)
		return;
	for (int u = 0; units[u]; u++) {
		v /= 1000;
		if (fabs(v) >= 999.5 && units[u + 1])
			continue;             /* "1.5M", not "1500k" */
		if (snprintf(out, 32, "%.1f%c", v, units[u]) <= w)
			return;
		if (snprintf(out, 32, "%.0f%c", v, units[u]) <= w)
			return;
	}
	/* Does not fit at all: the cell cuts it. */
}

void dg_text_duration(char *out, double s)
{
	long t;

	if (!isfinite(s) || s < 0 || s > 1e12) {
		snprintf(out, 32, "-");
		return;
	}
	t = (long)(s + 0.5);
	if (t < 60)
		snprintf(out, 32, "%lds", t);
	else if (t < 3600)
		snprintf(out, 32, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(out, 32, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(out, 32, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

void dg_text_when(char *out, double ts, double now)
{
	char d[32];

	if (!isfinite(ts) || ts <= 0 || !isfinite(now)) {
		snprintf(out, 40, "-");
		return;
	}
	dg_text_duration(d, fabs(now - ts));
	if (ts <= now)
		snprintf(out, 40, "%s ago", d);
	else
		snprintf(out, 40, "in %s", d);
}

/* ---------- lines ---------- */

void dg_lines_init(struct dg_lines *l, int width)
{
	memset(l, 0, sizeof(*l));
	l->width = width < 0 ? 0 : width;
}

void dg_lines_free(struct dg_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void add_cut(struct dg_lines *l, const char *s)
{
	size_t len = strcspn(s, "\n");
	char *line;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->failed = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	if (len > (size_t)l->width)
		len = (size_t)l->width;
	if (!(line = malloc(len + 1))) {
		l->failed = 1;
		return;
	}
	memcpy(line, s, len);
	line[len] = 0;
	if (len < strcspn(s, "\n") && len > 0)
		line[len - 1] = '~';
	l->v[l->n++] = line;
}

void dg_lines_add(struct dg_lines *l, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_cut(l, buf);
}

/* ---------- flowing items onto lines ---------- */

void dg_flow_begin(struct dg_flow *f, struct dg_lines *l, const char *sep, int indent)
{
	f->l = l;
	f->sep = sep;
	f->indent = indent > 0 && indent < (int)sizeof(f->line) / 2 ? indent : 0;
	f->len = f->indent;
	f->items = 0;
	memset(f->line, ' ', (size_t)f->len);
	f->line[f->len] = 0;
}

void dg_flow_item(struct dg_flow *f, const char *fmt, ...)
{
	char item[512];
	int n, sep = (int)strlen(f->sep), room = (int)sizeof(f->line) - 1;
	va_list ap;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if (n > (int)sizeof(item) - 1)
		n = (int)sizeof(item) - 1;
	if (f->items && f->len + sep + n > f->l->width) {
		add_cut(f->l, f->line);
		f->len = f->indent;
		memset(f->line, ' ', (size_t)f->len);
		f->items = 0;
	}
	if (f->items && f->len + sep <= room) {
		memcpy(f->line + f->len, f->sep, (size_t)sep);
		f->len += sep;
	}
	if (f->len + n > room)
		n = room - f->len;
	memcpy(f->line + f->len, item, (size_t)n);
	f->len += n;
	f->line[f->len] = 0;
	f->items++;
}

void dg_flow_end(struct dg_flow *f)
{
	if (f->items)
		add_cut(f->l, f->line);
	f->len = f->indent;
	f->items = 0;
	f->line[f->len] = 0;
}
