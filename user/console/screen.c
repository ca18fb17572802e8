/* screen.c — the live console: curses, keys, refreshes (screen.h).
 *
 *   list    header, column heads, one row per client; the status line at
 *           the bottom shows the keys, a prompt, or the daemon's answer
 *   detail  one client in depth (Enter), scrolled with the arrows
 *
 * Keys (list): q quit; up/down, j/k, PgUp/PgDn, Home/End move; Enter the
 * detail; / filter (Enter keeps it, Esc puts the old one back; Esc in the
 * list clears it); < > sort by the column left or right of the sorted
 * one, s n c m t sort by score, name, cluster, requests/min, tokens/min, r
 * reverse; b block, a allow, u unblock the selected client (y confirms).
 * Keys (detail): Esc, q or left go back; up/down, j/k, PgUp/PgDn scroll;
 * b a u as in the list. */
#include "screen.h"

#include <curses.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detail.h"
#include "fetch.h"
#include "frame.h"

#define LINE_MAX_W 1024                /* wider terminals are drawn 1024 columns wide */
#define MSG_SECONDS 8.0
#define NOTE "distillguard top"        /* the note on an operator's decision made here */
#define KEY_ESC 27

enum view { LIST, DETAIL };
enum prompt { NO_PROMPT, FILTER, CONFIRM };
enum { PAIR_BLOCK = 1, PAIR_RATELIMIT, PAIR_APPLIED, PAIR_HEADS };

struct screen {
	const struct dg_screen_opts *o;
	struct dg_conframe f;
	int colour;
	enum view view;
	/* the list: the selected row (followed by name across refreshes) and
	 * the first row shown */
	long sel, first;
	char sel_name[DG_CON_NAME];
	/* the detail view */
	char detail_name[DG_CON_NAME];
	struct dg_con_detail d;
	int have_detail, scroll;
	/* the prompt on the status line */
	enum prompt prompt;
	char input[DG_CON_FILTER], old_filter[DG_CON_FILTER];
	enum dg_ctl_cmd cmd;
	char target[DG_CON_NAME];
	/* what the status line says when there is no prompt */
	char msg[512];
	int msg_bad;
	double msg_until;
	char fetch_err[512];                  /* the last refresh's failure; "" */
	double next_refresh;
	int quit;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(struct screen *s, int bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct screen *s, int bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->msg_bad = bad;
	s->msg_until = mono() + MSG_SECONDS;
}

/* ---------- data ---------- */

/* Keep the selection on the same client when the rows move. */
static void reselect(struct screen *s)
{
	long i = s->sel_name[0] ? dg_conframe_find(&s->f, s->sel_name) : -1;
	const struct dg_con_client *c;

	if (i >= 0)
		s->sel = i;
	if (s->sel >= (long)s->f.n_rows)
		s->sel = (long)s->f.n_rows - 1;
	if (s->sel < 0)
		s->sel = 0;
	c = dg_conframe_row(&s->f, (size_t)s->sel);
	snprintf(s->sel_name, sizeof(s->sel_name), "%s", c ? c->name : "");
}

static void refresh_data(struct screen *s)
{
	struct dg_con_status st;
	struct dg_con_client *c;
	size_t n;
	char err[512];

	if (dg_fetch_status(s->o->sock, &st, err, sizeof(err)) ||
	    dg_fetch_clients(s->o->sock, s->o->top, &c, &n, err, sizeof(err))) {
		snprintf(s->fetch_err, sizeof(s->fetch_err), "%s", err);
		return;
	}
	s->fetch_err[0] = 0;
	dg_conframe_update(&s->f, &st, c, n);
	reselect(s);
	if (s->view != DETAIL)
		return;
	if (dg_fetch_detail(s->o->sock, s->detail_name, &s->d, err, sizeof(err))) {
		if (!s->have_detail) {          /* nothing to show: back to the list */
			s->view = LIST;
			say(s, 1, "%s", err);
		} else {
			snprintf(s->fetch_err, sizeof(s->fetch_err), "%s", err);
		}
		return;
	}
	s->have_detail = 1;
}

static void refresh_soon(struct screen *s)
{
	s->next_refresh = 0;
}

/* ---------- drawing ---------- */

static int width(void)
{
	return COLS < LINE_MAX_W ? COLS : LINE_MAX_W;
}

static void put_line(int y, const char *text, attr_t attr)
{
	int w = width() - (y == LINES - 1);   /* the last cell of the screen scrolls it */

	if (y < 0 || y >= LINES || w <= 0)
		return;
	wattrset(stdscr, attr);
	mvwaddnstr(stdscr, y, 0, text, w);
	wattrset(stdscr, A_NORMAL);
}

static void colour_span(struct screen *s, int y, int x, int w, short pair, attr_t attr)
{
	if (!s->colour || y < 0 || y >= LINES || x >= COLS || w <= 0)
		return;
	if (x + w > COLS)
		w = COLS - x;
	mvwchgat(stdscr, y, x, w, attr, pair, NULL);
}

static const char *help_list =
	"q:quit j/k:move Enter:detail /:filter <>:sort r:rev b:block a:allow u:unblock";
static const char *help_detail = "Esc/q:back j/k:scroll b:block a:allow u:unblock";

static void draw_status(struct screen *s)
{
	char line[LINE_MAX_W + 64];
	attr_t attr = A_NORMAL;
	int y = LINES - 1;

	if (s->prompt == FILTER) {
		snprintf(line, sizeof(line), "filter: %s", s->input);
	} else if (s->prompt == CONFIRM) {
		snprintf(line, sizeof(line), "%s %s (for the daemon's default TTL)? y/n",
			 dg_ctl_cmd_name(s->cmd), s->target);
		attr = A_BOLD;
	} else if (s->msg[0] && mono() < s->msg_until) {
		snprintf(line, sizeof(line), "%s", s->msg);
		attr = s->msg_bad ? A_BOLD : A_NORMAL;
	} else if (s->fetch_err[0]) {
		snprintf(line, sizeof(line), "%s", s->fetch_err);
		attr = A_BOLD;
	} else {
		snprintf(line, sizeof(line), "%s", s->view == LIST ? help_list : help_detail);
	}
	put_line(y, line, attr);
	if (s->colour && attr == A_BOLD && s->prompt != CONFIRM)
		colour_span(s, y, 0, (int)strlen(line), PAIR_BLOCK, A_BOLD);
	if (s->prompt == FILTER) {
		int x = 8 + (int)strlen(s->input);

		if (x < COLS - 1)
			wmove(stdscr, y, x);
	}
}

static void colour_row(struct screen *s, const struct dg_con_layout *lo, int y,
		       const struct dg_con_client *c)
{
	int a = dg_con_layout_index(lo, DG_COL_ACTION), sc = dg_con_layout_index(lo, DG_COL_SCORE);
	int ap = dg_con_layout_index(lo, DG_COL_APPLIED);
	short pair = !strcmp(c->action, "block") ? PAIR_BLOCK :
		     !strcmp(c->action, "ratelimit") ? PAIR_RATELIMIT : 0;

	if (pair && a >= 0)
		colour_span(s, y, lo->x[a], lo->w[a], pair, A_BOLD);
	if (pair && sc >= 0)
		colour_span(s, y, lo->x[sc], lo->w[sc], pair, A_NORMAL);
	if (ap >= 0 && c->applied > 0)
		colour_span(s, y, lo->x[ap], lo->w[ap], PAIR_APPLIED, A_NORMAL);
}

static void draw_list(struct screen *s)
{
	char line[LINE_MAX_W + 1];
	struct dg_con_layout lo;
	struct dg_lines head;
	int y = 0, rows;
	long i;

	dg_lines_init(&head, width());
	dg_conframe_header(&s->f, &head);
	for (size_t k = 0; k < head.n && y < LINES - 2; k++)
		put_line(y++, head.v[k], k == 0 ? A_BOLD : A_NORMAL);
	dg_lines_free(&head);

	dg_conframe_layout(&s->f, width(), &lo);
	dg_conframe_heads(&lo, line, sizeof(line));
	put_line(y, line, A_REVERSE);
	if (s->colour)
		colour_span(s, y, 0, COLS, PAIR_HEADS, A_NORMAL);
	i = dg_con_layout_index(&lo, s->f.sort);
	if (i >= 0)
		mvwchgat(stdscr, y, lo.x[i], lo.w[i], A_REVERSE | A_BOLD | A_UNDERLINE,
			 s->colour ? PAIR_HEADS : 0, NULL);
	y++;

	rows = LINES - y - 1;
	if (rows < 0)
		rows = 0;
	if (s->sel < s->first)
		s->first = s->sel;
	if (rows && s->sel >= s->first + rows)
		s->first = s->sel - rows + 1;
	if (s->first > (long)s->f.n_rows - rows)
		s->first = (long)s->f.n_rows - rows;
	if (s->first < 0)
		s->first = 0;
	for (i = s->first; i < (long)s->f.n_rows && y < LINES - 1; i++, y++) {
		dg_conframe_line(&s->f, &lo, (size_t)i, line, sizeof(line));
		if (i == s->sel) {          /* the whole width, so the bar shows */
			size_t len = strlen(line);

			memset(line + len, ' ', (size_t)width() - len);
			line[width()] = 0;
		}
		put_line(y, line, i == s->sel ? A_REVERSE : A_NORMAL);
		if (i != s->sel)
			colour_row(s, &lo, y, dg_conframe_row(&s->f, (size_t)i));
	}
	if (!s->f.n_rows && y < LINES - 1)
		put_line(y, s->f.n ? "(no client matches the filter)" :
			 s->f.refreshes ? "(no clients yet)" : "(waiting for the daemon)", A_NORMAL);
}

static void draw_detail(struct screen *s)
{
	struct dg_lines l;
	char title[LINE_MAX_W + 64];
	int rows = LINES - 2, y = 1;

	snprintf(title, sizeof(title), "client %s  (distillguard, %s mode)", s->detail_name,
		 s->f.st.mode[0] ? s->f.st.mode : "?");
	put_line(0, title, A_REVERSE | A_BOLD);
	dg_lines_init(&l, width());
	if (s->have_detail)
		dg_detail_lines(&s->d, s->f.st.mode, wall(), &l);
	else
		dg_lines_add(&l, "(asking the daemon)");
	if (s->scroll > (int)l.n - rows)
		s->scroll = (int)l.n - rows;
	if (s->scroll < 0)
		s->scroll = 0;
	for (size_t k = (size_t)s->scroll; k < l.n && y < LINES - 1; k++, y++)
		put_line(y, l.v[k], A_NORMAL);
	dg_lines_free(&l);
}

static void draw(struct screen *s)
{
	werase(stdscr);
	curs_set(s->prompt == FILTER ? 1 : 0);
	if (s->view == LIST)
		draw_list(s);
	else
		draw_detail(s);
	draw_status(s);
	wnoutrefresh(stdscr);
	doupdate();
}

/* ---------- keys ---------- */

static void sort_key(struct screen *s, int ch)
{
	enum dg_con_col col = s->f.sort;
	struct dg_con_layout lo;
	int i;

	switch (ch) {
	case 's': col = DG_COL_SCORE; break;
	case 'n': col = DG_COL_CLIENT; break;
	case 'c': col = DG_COL_CLUSTER; break;
	case 'm': col = DG_COL_RPM; break;
	case 't': col = DG_COL_TPM; break;
	case '<': case '>':
		dg_conframe_layout(&s->f, width(), &lo);
		i = dg_con_layout_index(&lo, col);
		i = i < 0 ? 0 : ch == '<' ? (i + lo.n - 1) % lo.n : (i + 1) % lo.n;
		col = lo.n ? lo.col[i] : DG_COL_SCORE;
		break;
	}
	if (ch == 'r')
		dg_conframe_sort(&s->f, s->f.sort, !s->f.reverse);
	else
		dg_conframe_sort(&s->f, col, 0);
	reselect(s);
}

static void ask_confirm(struct screen *s, enum dg_ctl_cmd cmd, const char *name)
{
	if (!name[0]) {
		say(s, 1, "no client selected");
		return;
	}
	s->prompt = CONFIRM;
	s->cmd = cmd;
	snprintf(s->target, sizeof(s->target), "%s", name);
}

static void key_prompt(struct screen *s, int ch)
{
	size_t len = strlen(s->input);

	if (s->prompt == CONFIRM) {
		s->prompt = NO_PROMPT;
		if (ch == 'y' || ch == 'Y') {
			char answer[512];
			int rc = dg_fetch_command(s->o->sock, s->cmd, s->target, NOTE, answer,
						  sizeof(answer));

			say(s, rc != 0, "%s%s", rc ? "refused: " : "", answer);
			refresh_soon(s);
		} else {
			say(s, 0, "%s %s: cancelled", dg_ctl_cmd_name(s->cmd), s->target);
		}
		return;
	}
	switch (ch) {
	case '\n': case '\r': case KEY_ENTER:
		s->prompt = NO_PROMPT;
		return;
	case KEY_ESC:
		s->prompt = NO_PROMPT;
		dg_conframe_filter(&s->f, s->old_filter);
		reselect(s);
		return;
	case KEY_BACKSPACE: case 127: case 8:
		if (len)
			s->input[len - 1] = 0;
		break;
	case 21:                              /* ^U */
		s->input[0] = 0;
		break;
	default:
		if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof(s->input)) {
			s->input[len] = (char)ch;
			s->input[len + 1] = 0;
		}
	}
	dg_conframe_filter(&s->f, s->input);    /* as it is typed */
	reselect(s);
}

static void key_list(struct screen *s, int ch)
{
	long page = LINES > 6 ? LINES - 6 : 1;
	const struct dg_con_client *c;

	switch (ch) {
	case 'q': case 'Q': s->quit = 1; return;
	case KEY_UP: case 'k': s->sel--; break;
	case KEY_DOWN: case 'j': s->sel++; break;
	case KEY_PPAGE: s->sel -= page; break;
	case KEY_NPAGE: case ' ': s->sel += page; break;
	case KEY_HOME: case 'g': s->sel = 0; break;
	case KEY_END: case 'G': s->sel = (long)s->f.n_rows - 1; break;
	case '\n': case '\r': case KEY_ENTER:
		if (!(c = dg_conframe_row(&s->f, (size_t)s->sel)))
			return;
		snprintf(s->detail_name, sizeof(s->detail_name), "%s", c->name);
		s->view = DETAIL;
		s->have_detail = 0;
		s->scroll = 0;
		refresh_soon(s);
		return;
	case '/':
		s->prompt = FILTER;
		snprintf(s->old_filter, sizeof(s->old_filter), "%s", s->f.filter);
		snprintf(s->input, sizeof(s->input), "%s", s->f.filter);
		return;
	case KEY_ESC:
		dg_conframe_filter(&s->f, "");
		break;
	case 's': case 'n': case 'c': case 'm': case 't': case '<': case '>': case 'r':
		sort_key(s, ch);
		return;
	case 'b': ask_confirm(s, DG_CTL_BLOCK, s->sel_name); return;
	case 'a': ask_confirm(s, DG_CTL_ALLOW, s->sel_name); return;
	case 'u': ask_confirm(s, DG_CTL_UNBLOCK, s->sel_name); return;
	default: return;
	}
	if (s->sel >= (long)s->f.n_rows)
		s->sel = (long)s->f.n_rows - 1;
	if (s->sel < 0)
		s->sel = 0;
	c = dg_conframe_row(&s->f, (size_t)s->sel);
	snprintf(s->sel_name, sizeof(s->sel_name), "%s", c ? c->name : "");
}

static void key_detail(struct screen *s, int ch)
{
	int page = LINES > 4 ? LINES - 4 : 1;

	switch (ch) {
	case KEY_ESC: case 'q': case 'Q': case KEY_LEFT: case KEY_BACKSPACE: case 127: case 'h':
		s->view = LIST;
		break;
	case KEY_UP: case 'k': s->scroll--; break;
	case KEY_DOWN: case 'j': s->scroll++; break;
	case KEY_PPAGE: s->scroll -= page; break;
	case KEY_NPAGE: case ' ': s->scroll += page; break;
	case KEY_HOME: case 'g': s->scroll = 0; break;
	case KEY_END: case 'G': s->scroll = 1 << 20; break;   /* draw clamps it */
	case 'b': ask_confirm(s, DG_CTL_BLOCK, s->detail_name); break;
	case 'a': ask_confirm(s, DG_CTL_ALLOW, s->detail_name); break;
	case 'u': ask_confirm(s, DG_CTL_UNBLOCK, s->detail_name); break;
	}
}

static void key(struct screen *s, int ch)
{
	if (ch == KEY_RESIZE)
		return;                       /* the next draw lays out for the new size */
	if (s->prompt != NO_PROMPT)
		key_prompt(s, ch);
	else if (s->view == LIST)
		key_list(s, ch);
	else
		key_detail(s, ch);
}

/* ---------- the terminal ---------- */

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;        /* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);         /* a daemon gone mid-request is an error, not death */
}

static void start_colour(struct screen *s)
{
	const char *no = getenv("NO_COLOR");
	short bg = -1;

	s->colour = !(no && no[0]) && has_colors();
	if (!s->colour)
		return;
	start_color();
	if (use_default_colors() != OK)
		bg = COLOR_BLACK;
	init_pair(PAIR_BLOCK, COLOR_RED, bg);
	init_pair(PAIR_RATELIMIT, COLOR_YELLOW, bg);
	init_pair(PAIR_APPLIED, COLOR_GREEN, bg);
	init_pair(PAIR_HEADS, COLOR_BLACK, COLOR_CYAN);
}

int dg_screen_run(const struct dg_screen_opts *o)
{
	struct screen *s = calloc(1, sizeof(*s));
	SCREEN *term;
	int sig;

	if (!s) {
		fprintf(stderr, "distillguard: out of memory\n");
		return 1;
	}
	s->o = o;
	dg_conframe_init(&s->f);
	catch_signals();
	setlocale(LC_ALL, "");
	if (!(term = newterm(NULL, stdout, stdin))) {
		fprintf(stderr, "distillguard: top: cannot use this terminal (TERM=%s); "
			"`top --once` prints one frame\n", getenv("TERM") ? getenv("TERM") : "");
		free(s);
		return 1;
	}
	set_term(term);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	start_colour(s);
	while (!got_signal && !s->quit) {
		double wait;
		int ch;

		if (mono() >= s->next_refresh) {
			refresh_data(s);
			s->next_refresh = mono() + o->interval;
		}
		draw(s);
		wait = s->next_refresh - mono();
		if (s->msg[0] && s->msg_until > mono() && s->msg_until - mono() < wait)
			wait = s->msg_until - mono();
		wtimeout(stdscr, wait > 0 ? (int)(wait * 1000) + 1 : 0);
		ch = wgetch(stdscr);
		if (ch != ERR)
			key(s, ch);
	}
	endwin();
	delscreen(term);
	sig = got_signal;
	dg_conframe_free(&s->f);
	free(s);
	if (sig) {                            /* die of it, as the shell expects */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return 0;
}
