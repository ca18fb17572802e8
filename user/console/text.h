/* text.h — text for a screen of fixed width, shared by the console's
 * frame (frame.h) and its detail view (detail.h): cells cut to a width,
 * compact numbers, durations, and a list of lines no wider than the
 * screen. Every function takes printable ASCII (snapshot.h makes sure of
 * that) and writes printable ASCII, so one byte is one column and nothing
 * can wrap: what does not fit is cut, and a cut text ends with '~'.
 * Pure: no I/O. */
#ifndef DG_CON_TEXT_H
#define DG_CON_TEXT_H

#include <stddef.h>

/* s into a cell of w columns (w + 1 bytes in out): left-aligned and padded
 * with spaces, or right-aligned when right; cut with '~' when longer. */
void dg_text_cell(char *out, const char *s, int w, int right);

/* v in at most w columns: with `decimals` digits when that fits (0 is
 * "0"), else rounded, else with a k, M, G or T suffix ("25.6k", "3M").
 * "-" when v is not a number (unknown). out holds at least 32 bytes. */
void dg_text_num(char *out, double v, int decimals, int w);

/* A duration in seconds as "45s", "12m03s", "3h05m", "2d04h"; "-" when
 * unknown or negative. out holds at least 32 bytes. */
void dg_text_duration(char *out, double s);

/* A moment relative to now: "12s ago", "in 9m50s"; "-" when unknown (not a
 * number, or 0). out holds at least 40 bytes. */
void dg_text_when(char *out, double ts, double now);

/* Lines of text, each cut to the width given when the list was started. */
struct dg_lines {
	char **v;
	size_t n, cap;
	int width;
	int failed;                 /* an allocation failed: some lines are missing */
};

void dg_lines_init(struct dg_lines *l, int width);
void dg_lines_free(struct dg_lines *l);
/* Append one line, cut to the width (a newline in the text cuts it too). */
void dg_lines_add(struct dg_lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flow items onto lines, each line indented by `indent` spaces: an item
 * goes on the current line after `sep` when it fits, else on a new line;
 * an item wider than the width is cut. Start a flow with dg_flow_begin and end it
 * with dg_flow_end (which adds the last line). The line buffer bounds a
 * line at 1023 bytes, whatever the width. */
struct dg_flow {
	struct dg_lines *l;
	char line[1024];
	int len, items, indent;
	const char *sep;
};
void dg_flow_begin(struct dg_flow *f, struct dg_lines *l, const char *sep, int indent);
void dg_flow_item(struct dg_flow *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dg_flow_end(struct dg_flow *f);

#endif
