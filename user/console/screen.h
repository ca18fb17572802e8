/* screen.h — the live console of `distillguard top` (ncursesw): the frame
 * (frame.h) drawn every refresh, the keys, the detail view (detail.h) and
 * operators' decisions with a y/n confirmation, all through the control
 * socket (fetch.h).
 *
 * Drawing: erase, draw, wnoutrefresh, doupdate (never clear), so curses
 * sends only what changed and nothing flickers, over ssh too. Every line
 * is cut at the width (COLS - 1 for the last line), so nothing wraps at
 * any size; KEY_RESIZE lays the frame out again. NO_COLOR set (not empty)
 * means no colour at all: reverse and bold only. The terminal is restored
 * on q, and on SIGINT, SIGTERM and SIGHUP, which are then raised again with
 * their default action. A refresh that fails (the daemon went away) keeps
 * the last frame and says why on the status line, and the next one tries
 * again. */
#ifndef DG_CON_SCREEN_H
#define DG_CON_SCREEN_H

struct dg_screen_opts {
	const char *sock;              /* the control socket */
	double interval;               /* seconds between refreshes */
	long top;                      /* clients asked for (0: DG_FETCH_MAX_CLIENTS) */
};

/* Run until q or a signal. 0, or 1 when the terminal cannot be used (the
 * reason on stderr). */
int dg_screen_run(const struct dg_screen_opts *o);

#endif
