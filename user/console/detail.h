/* detail.h — one client in depth, the console's detail view (Enter on a
 * row): `client NAME --json` (snapshot.h) as lines of text cut to a
 * width. In order: the client, its score and the decision in force; its
 * reasons; cluster, volume and times; what is applied (enforce mode);
 * features; evidence; addresses; its decisions, newest first. Times are
 * relative to now ("2m03s ago", "in 9m50s"), so the view reads the same in
 * any time zone. mode is the daemon's ("observe", "enforce"). Pure. */
#ifndef DG_CON_DETAIL_H
#define DG_CON_DETAIL_H

#include "snapshot.h"
#include "text.h"

void dg_detail_lines(const struct dg_con_detail *d, const char *mode, double now,
		     struct dg_lines *out);

#endif
