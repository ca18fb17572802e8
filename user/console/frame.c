/* frame.c — rows, trends, sorting, filtering, layout and the plain-text
 * frame of the console (frame.h). */
#include "frame.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct colspec {
	const char *head;
	int w;          /* width (CLIENT: at least; REASONS: at least, then the rest) */
	int right;      /* right-aligned (numbers) */
	int drop;       /* when the width is short, the columns go 1 first; 0 stays */
	int desc;       /* sorts highest first */
} specs[DG_COL__MAX] = {
	[DG_COL_CLIENT]  = { "CLIENT", 16, 0, 0, 0 },
	[DG_COL_CLUSTER] = { "CLUSTER", 10, 0, 1, 0 },
	[DG_COL_SCORE]   = { "SCORE", 6, 1, 0, 1 },
	[DG_COL_RPM]     = { "REQ/M", 5, 1, 5, 1 },
	[DG_COL_TPM]     = { "TOK/M", 5, 1, 4, 1 },
	[DG_COL_KEYS]    = { "KEYS", 4, 1, 3, 1 },
	[DG_COL_IPS]     = { "IPS", 4, 1, 2, 1 },
	[DG_COL_ACTION]  = { "ACTION", 9, 0, 0, 1 },
	[DG_COL_APPLIED] = { "APPLIED", 7, 0, 6, 1 },
	[DG_COL_REASONS] = { "REASONS", 20, 0, 7, 0 },
};

#define CLIENT_MIN 16

const char *dg_con_col_head(enum dg_con_col c)
{
	return c < DG_COL__MAX ? specs[c].head : "?";
}

int dg_con_col_desc(enum dg_con_col c)
{
	return c < DG_COL__MAX && specs[c].desc;
}

void dg_conframe_init(struct dg_conframe *f)
{
	memset(f, 0, sizeof(*f));
	f->sort = DG_COL_SCORE;
}

void dg_conframe_free(struct dg_conframe *f)
{
	free(f->c);
	free(f->rows);
	dg_conframe_init(f);
}

/* ---------- sorting and filtering ---------- */

static int action_rank(const char *a)
{
	return !strcmp(a, "block") ? 3 : !strcmp(a, "ratelimit") ? 2 : !strcmp(a, "none") ? 1 : 0;
}

/* Numbers compared with NAN (unknown) lowest. */
static int cmp_num(double a, double b)
{
	if (isnan(a) || isnan(b))
		return !!isnan(b) - !!isnan(a);
	return (a > b) - (a < b);
}

/* Text compared with "" (none) after every text. */
static int cmp_text(const char *a, const char *b)
{
	if (!a[0] || !b[0])
		return !a[0] - !b[0];
	return strcmp(a, b);
}

static int cmp_col(const struct dg_con_client *a, const struct dg_con_client *b,
		   enum dg_con_col col)
{
	switch (col) {
	case DG_COL_CLIENT: return strcmp(a->name, b->name);
	case DG_COL_CLUSTER: return cmp_text(a->cluster, b->cluster);
	case DG_COL_SCORE: return cmp_num(a->score, b->score);
	case DG_COL_RPM: return cmp_num(a->requests_per_min, b->requests_per_min);
	case DG_COL_TPM: return cmp_num(a->output_tokens_per_min, b->output_tokens_per_min);
	case DG_COL_KEYS: return cmp_num(a->keys, b->keys);
	case DG_COL_IPS: return cmp_num(a->ips, b->ips);
	case DG_COL_ACTION: return action_rank(a->action) - action_rank(b->action);
	case DG_COL_APPLIED: return a->applied - b->applied;
	case DG_COL_REASONS: return cmp_text(a->n_reasons ? a->reasons[0] : "",
					     b->n_reasons ? b->reasons[0] : "");
	default: return 0;
	}
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct dg_conframe *f = arg;
	const struct dg_con_client *a = &f->c[*(const size_t *)pa], *b = &f->c[*(const size_t *)pb];
	int c = cmp_col(a, b, f->sort);

	if (dg_con_col_desc(f->sort))
		c = -c;
	if (f->reverse)
		c = -c;
	if (!c)                      /* the daemon's order: score, requests, name */
		c = (*(const size_t *)pa > *(const size_t *)pb) - (*(const size_t *)pa < *(const size_t *)pb);
	return c;
}

static int matches(const struct dg_con_client *c, const char *text)
{
	if (!text[0] || strcasestr(c->name, text) || strcasestr(c->cluster, text))
		return 1;
	for (int r = 0; r < c->n_reasons; r++)
		if (strcasestr(c->reasons[r], text))
			return 1;
	return 0;
}

static void make_rows(struct dg_conframe *f)
{
	f->n_rows = 0;
	for (size_t i = 0; f->rows && i < f->n; i++)
		if (matches(&f->c[i], f->filter))
			f->rows[f->n_rows++] = i;
	if (f->n_rows)
		qsort_r(f->rows, f->n_rows, sizeof(*f->rows), cmp_rows, f);
}

void dg_conframe_sort(struct dg_conframe *f, enum dg_con_col col, int reverse)
{
	f->sort = col < DG_COL__MAX ? col : DG_COL_SCORE;
	f->reverse = !!reverse;
	make_rows(f);
}

void dg_conframe_filter(struct dg_conframe *f, const char *text)
{
	snprintf(f->filter, sizeof(f->filter), "%s", text ? text : "");
	make_rows(f);
}

const struct dg_con_client *dg_conframe_row(const struct dg_conframe *f, size_t i)
{
	return i < f->n_rows ? &f->c[f->rows[i]] : NULL;
}

long dg_conframe_find(const struct dg_conframe *f, const char *name)
{
	for (size_t i = 0; i < f->n_rows; i++)
		if (!strcmp(f->c[f->rows[i]].name, name))
			return (long)i;
	return -1;
}

/* ---------- a refresh: trends ---------- */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct dg_con_client *)a)->name, ((const struct dg_con_client *)b)->name);
}

static void mark_trends(struct dg_conframe *f, const struct dg_con_status *st,
			struct dg_con_client *c, size_t n)
{
	int same_pass = isfinite(st->last_pass) && st->last_pass == f->st.last_pass;

	/* The previous clients by name, for bsearch (their order is not needed
	 * any more: they are about to go). */
	if (f->n)
		qsort(f->c, f->n, sizeof(*f->c), cmp_name);
	for (size_t i = 0; i < n; i++) {
		const struct dg_con_client *was =
			f->c ? bsearch(&c[i], f->c, f->n, sizeof(*f->c), cmp_name) : NULL;

		if (!f->refreshes)
			c[i].trend = ' ';
		else if (!was)
			c[i].trend = '+';
		else if (same_pass)
			c[i].trend = was->trend;
		else if (isnan(c[i].score) || isnan(was->score))
			c[i].trend = ' ';
		else
			c[i].trend = c[i].score > was->score + 0.05 ? '^' :
				     c[i].score < was->score - 0.05 ? 'v' : '=';
	}
}

void dg_conframe_update(struct dg_conframe *f, const struct dg_con_status *st,
			struct dg_con_client *c, size_t n)
{
	size_t *rows = n ? malloc(n * sizeof(*rows)) : NULL;

	if (n && !rows) {             /* keep the last frame rather than show half of one */
		free(c);
		return;
	}
	mark_trends(f, st, c, n);
	free(f->c);
	free(f->rows);
	f->c = c;
	f->n = n;
	f->rows = rows;
	f->st = *st;
	f->refreshes++;
	make_rows(f);
}

/* ---------- layout ---------- */

int dg_con_layout_index(const struct dg_con_layout *lo, enum dg_con_col col)
{
	for (int i = 0; i < lo->n; i++)
		if (lo->col[i] == col)
			return i;
	return -1;
}

void dg_conframe_layout(const struct dg_conframe *f, int width, struct dg_con_layout *lo)
{
	int shown[DG_COL__MAX], w[DG_COL__MAX], name = (int)strlen(specs[DG_COL_CLIENT].head);

	for (size_t i = 0; i < f->n; i++)
		if ((int)strlen(f->c[i].name) > name)
			name = (int)strlen(f->c[i].name);
	for (int c = 0; c < DG_COL__MAX; c++) {
		shown[c] = 1;
		w[c] = specs[c].w;
	}
	shown[DG_COL_APPLIED] = !strcmp(f->st.mode, "enforce");
	w[DG_COL_CLIENT] = name;
	for (;;) {
		int used = -1, drop = -1;

		for (int c = 0; c < DG_COL__MAX; c++)
			if (shown[c])
				used += w[c] + 1;
		if (used <= width)
			break;
		if (w[DG_COL_CLIENT] > CLIENT_MIN) {
			w[DG_COL_CLIENT] -= used - width;
			if (w[DG_COL_CLIENT] < CLIENT_MIN)
				w[DG_COL_CLIENT] = CLIENT_MIN;
			continue;
		}
		for (int c = 0; c < DG_COL__MAX; c++)
			if (shown[c] && specs[c].drop && (drop < 0 || specs[c].drop < specs[drop].drop))
				drop = c;
		if (drop < 0)
			break;              /* the lines are cut at the width */
		shown[drop] = 0;
	}
	memset(lo, 0, sizeof(*lo));
	lo->width = width < 0 ? 0 : width;
	for (int c = 0, x = 0; c < DG_COL__MAX; c++) {
		if (!shown[c])
			continue;
		lo->col[lo->n] = (enum dg_con_col)c;
		lo->x[lo->n] = x;
		lo->w[lo->n] = w[c];
		x += w[c] + 1;
		lo->n++;
	}
	/* REASONS, the last, takes what is left. */
	if (lo->n && lo->col[lo->n - 1] == DG_COL_REASONS && lo->x[lo->n - 1] + lo->w[lo->n - 1] < width)
		lo->w[lo->n - 1] = width - lo->x[lo->n - 1];
}

/* ---------- text ---------- */

#define CELL_MAX 512                  /* one cell's text, before it is cut to its width */

static void cell_text(const struct dg_con_client *c, enum dg_con_col col, int w, char *out)
{
	char buf[32];
	size_t len;

	switch (col) {
	case DG_COL_CLIENT: snprintf(out, CELL_MAX, "%s", c->name); break;
	case DG_COL_CLUSTER: snprintf(out, CELL_MAX, "%s", c->cluster[0] ? c->cluster : "-"); break;
	case DG_COL_SCORE:
		if (isfinite(c->score) && c->score > -100 && c->score < 1000)
			snprintf(buf, sizeof(buf), "%.1f", c->score);
		else
			dg_text_num(buf, c->score, 1, w - 1);
		snprintf(out, CELL_MAX, "%s%c", buf, c->trend ? c->trend : ' ');
		break;
	case DG_COL_RPM: dg_text_num(out, c->requests_per_min, 1, w); break;
	case DG_COL_TPM: dg_text_num(out, c->output_tokens_per_min, 0, w); break;
	case DG_COL_KEYS: dg_text_num(out, c->keys, 0, w); break;
	case DG_COL_IPS: dg_text_num(out, c->ips, 0, w); break;
	case DG_COL_ACTION: snprintf(out, CELL_MAX, "%s", c->action[0] ? c->action : "-"); break;
	case DG_COL_APPLIED:
		snprintf(out, CELL_MAX, "%s", c->applied > 0 ? "yes" : c->applied == 0 ? "exempt" : "-");
		break;
	case DG_COL_REASONS:
		out[0] = 0;
		for (int r = 0; r < c->n_reasons; r++) {
			len = strlen(out);
			snprintf(out + len, CELL_MAX - len, "%s%s", r ? "; " : "", c->reasons[r]);
		}
		break;
	default: out[0] = 0;
	}
}

/* Cells into buf, one space apart, cut at the width, no trailing spaces. */
static void join_cells(const struct dg_con_layout *lo, const char *cells[], char *buf, size_t size)
{
	char cell[1024];
	size_t len = 0;

	if (!size)
		return;
	buf[0] = 0;
	for (int i = 0; i < lo->n; i++) {
		int w = lo->w[i] < (int)sizeof(cell) - 1 ? lo->w[i] : (int)sizeof(cell) - 1;

		dg_text_cell(cell, cells[i], w, specs[lo->col[i]].right);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", cell);
		if (len >= size) {
			len = size - 1;
			break;
		}
	}
	if (len > (size_t)lo->width)
		len = (size_t)lo->width;
	while (len && buf[len - 1] == ' ')
		len--;
	buf[len] = 0;
}

void dg_conframe_heads(const struct dg_con_layout *lo, char *buf, size_t size)
{
	const char *cells[DG_COL__MAX];

	for (int i = 0; i < lo->n; i++)
		cells[i] = specs[lo->col[i]].head;
	join_cells(lo, cells, buf, size);
}

void dg_conframe_line(const struct dg_conframe *f, const struct dg_con_layout *lo, size_t i,
		      char *buf, size_t size)
{
	const struct dg_con_client *c = dg_conframe_row(f, i);
	char text[DG_COL__MAX][CELL_MAX];
	const char *cells[DG_COL__MAX];

	if (!c) {
		if (size)
			buf[0] = 0;
		return;
	}
	for (int k = 0; k < lo->n; k++) {
		cell_text(c, lo->col[k], lo->w[k], text[k]);
		cells[k] = text[k];
	}
	join_cells(lo, cells, buf, size);
}

void dg_conframe_header(const struct dg_conframe *f, struct dg_lines *out)
{
	const struct dg_con_status *st = &f->st;
	struct dg_flow fl;
	char a[32], b[32];

	dg_flow_begin(&fl, out, "  ", 0);
	dg_flow_item(&fl, "distillguard");
	dg_flow_item(&fl, "%s mode", st->mode[0] ? st->mode : "?");
	dg_text_duration(a, st->uptime_s);
	dg_flow_item(&fl, "up %s", a);
	dg_text_num(a, st->clients, 0, 8);
	dg_flow_item(&fl, "clients %s", a);
	dg_text_num(a, st->decisions_in_force, 0, 8);
	dg_flow_item(&fl, "in force %s", a);
	if (f->sort != DG_COL_SCORE || f->reverse)
		dg_flow_item(&fl, "sort %s %s", specs[f->sort].head,
			     specs[f->sort].desc != f->reverse ? "desc" : "asc");
	if (f->filter[0])
		dg_flow_item(&fl, "filter \"%s\": %zu of %zu", f->filter, f->n_rows, f->n);
	dg_flow_end(&fl);

	dg_flow_begin(&fl, out, "  ", 0);
	dg_text_num(a, st->records_per_s, 1, 7);
	dg_flow_item(&fl, "req/s %s", a);
	dg_text_num(a, st->output_tokens_per_s, 1, 6);
	dg_flow_item(&fl, "out tok/s %s", a);
	dg_text_num(a, st->connections, 0, 7);
	dg_flow_item(&fl, "conns %s", a);
	dg_text_num(a, st->events_lost, 0, 7);
	dg_flow_item(&fl, "events lost %s", a);
	dg_text_num(b, isnan(st->bpf_cpu) ? NAN : 100 * st->bpf_cpu, 2, 7);
	dg_flow_item(&fl, "bpf cpu %s%s", b, isnan(st->bpf_cpu) ? "" : "%");
	dg_flow_end(&fl);
}

void dg_conframe_text(const struct dg_conframe *f, int width, size_t top, FILE *out)
{
	struct dg_con_layout lo;
	struct dg_lines head;
	size_t size = (size_t)(width > 0 ? width : 0) + 1, n = f->n_rows;
	char *line = malloc(size);

	if (!line)
		return;
	dg_lines_init(&head, width);
	dg_conframe_header(f, &head);
	for (size_t i = 0; i < head.n; i++)
		fprintf(out, "%s\n", head.v[i]);
	dg_lines_free(&head);
	fputc('\n', out);
	dg_conframe_layout(f, width, &lo);
	dg_conframe_heads(&lo, line, size);
	fprintf(out, "%s\n", line);
	if (top && top < n)
		n = top;
	for (size_t i = 0; i < n; i++) {
		dg_conframe_line(f, &lo, i, line, size);
		fprintf(out, "%s\n", line);
	}
	if (!f->n_rows)
		fprintf(out, "%.*s\n", width, f->n ? "(no client matches the filter)" :
			"(no clients yet)");
	if (n < f->n_rows) {
		char more[64];

		snprintf(more, sizeof(more), "(%zu more)", f->n_rows - n);
		fprintf(out, "%.*s\n", width, more);
	}
	free(line);
}
