/* frame.h — the console's model of one screen (`distillguard top`): the
 * daemon's status and clients of the last refresh (snapshot.h) in, rows
 * out, filtered, sorted and laid out for a width. The curses screen
 * (screen.h) draws it; `top --once` prints it as plain text
 * (dg_conframe_text). The console reads and never computes a score: what is
 * shown is what the daemon answered.
 *
 * - Trend: each client's score against the previous refresh: '^' up, 'v'
 *   down, '=' the same, '+' not there at the previous refresh, ' ' at the
 *   first. Scores change only at scoring passes (every few seconds), so a
 *   refresh that shows the same pass as the one before (status
 *   "last_pass") keeps the previous marks: the mark says how the score
 *   moved at the last pass the console saw.
 * - Rows: the clients whose name, cluster or a reason contains the filter
 *   (any case), sorted by one column (numbers highest first, text A to Z;
 *   reversed on request), ties in the daemon's order (score, requests,
 *   name).
 * - Layout: one space between columns; REASONS takes what is left, at
 *   least 20 columns. When the width is short, CLIENT shrinks to 16
 *   columns, then columns go in this order: CLUSTER (an opaque id; the
 *   detail view and the filter still have it), IPS, KEYS, TOK/M, REQ/M,
 *   APPLIED, REASONS. At 80 columns all but CLUSTER show. CLIENT,
 *   SCORE and ACTION stay; a text longer than its cell is cut with '~',
 *   and every line is cut at the width, so nothing wraps. APPLIED (yes,
 *   exempt, -) is a column only in enforce mode.
 * Pure: no I/O but the FILE * dg_conframe_text writes to. */
#ifndef DG_CON_FRAME_H
#define DG_CON_FRAME_H

#include <stdio.h>
#include "snapshot.h"
#include "text.h"

enum dg_con_col {
	DG_COL_CLIENT, DG_COL_CLUSTER, DG_COL_SCORE, DG_COL_RPM, DG_COL_TPM, DG_COL_KEYS,
	DG_COL_IPS, DG_COL_ACTION, DG_COL_APPLIED, DG_COL_REASONS, DG_COL__MAX
};

#define DG_CON_FILTER 64

struct dg_conframe {
	struct dg_con_status st;
	struct dg_con_client *c;       /* the last refresh's clients, in the daemon's order */
	size_t n;
	size_t refreshes;              /* dg_conframe_update calls so far */
	size_t *rows, n_rows;          /* the rows shown: indices into c */
	enum dg_con_col sort;          /* DG_COL_SCORE at first */
	int reverse;
	char filter[DG_CON_FILTER];
};

struct dg_con_layout {
	int width;
	int n;                         /* the columns shown, left to right */
	enum dg_con_col col[DG_COL__MAX];
	int x[DG_COL__MAX], w[DG_COL__MAX];
};

void dg_conframe_init(struct dg_conframe *f);
void dg_conframe_free(struct dg_conframe *f);

/* A refresh: the frame takes c (allocated; n clients) and frees the
 * previous ones, marks the trends, and filters and sorts again. */
void dg_conframe_update(struct dg_conframe *f, const struct dg_con_status *st,
			struct dg_con_client *c, size_t n);
void dg_conframe_sort(struct dg_conframe *f, enum dg_con_col col, int reverse);
/* Keep the rows that contain text (cut to DG_CON_FILTER - 1 bytes); ""
 * keeps all. */
void dg_conframe_filter(struct dg_conframe *f, const char *text);

/* Row i (0 .. n_rows - 1), NULL past the end. */
const struct dg_con_client *dg_conframe_row(const struct dg_conframe *f, size_t i);
/* The row showing client name, or -1. */
long dg_conframe_find(const struct dg_conframe *f, const char *name);

/* A column's head ("SCORE"), and whether it sorts highest first. */
const char *dg_con_col_head(enum dg_con_col c);
int dg_con_col_desc(enum dg_con_col c);
/* Whether the layout shows col; its index there, or -1. */
int dg_con_layout_index(const struct dg_con_layout *lo, enum dg_con_col col);

void dg_conframe_layout(const struct dg_conframe *f, int width, struct dg_con_layout *lo);
/* The header: host totals, mode, decisions in force, the sort and the
 * filter, flowed onto as many lines as the width needs (two at 80). */
void dg_conframe_header(const struct dg_conframe *f, struct dg_lines *out);
/* The column heads, and row i, as a line of at most lo->width columns with
 * no trailing spaces; buf holds lo->width + 1 bytes at least. */
void dg_conframe_heads(const struct dg_con_layout *lo, char *buf, size_t size);
void dg_conframe_line(const struct dg_conframe *f, const struct dg_con_layout *lo, size_t i,
		      char *buf, size_t size);

/* One plain-text frame (`top --once`): the header, an empty line, the
 * column heads, the first `top` rows (all when 0) and, when rows were left
 * out, a line saying how many. No escape codes, nothing wider than width. */
void dg_conframe_text(const struct dg_conframe *f, int width, size_t top, FILE *out);

#endif
