/* fetch.h — the console's questions to the running daemon, over its
 * control socket like the CLI's (ctlsock.h), with the answers parsed
 * (snapshot.h). The console reads nothing else. Each returns as
 * dg_ctl_call does: 0; 1 when the daemon said no or its answer is not
 * understood; -1 when no daemon answers; with the reason in err. */
#ifndef DG_CON_FETCH_H
#define DG_CON_FETCH_H

#include <stddef.h>
#include "ctlproto.h"
#include "snapshot.h"

/* The most clients one refresh asks for (the highest scores): a bound on
 * what a refresh costs the daemon and the console on a host with tens of
 * thousands of clients. */
#define DG_FETCH_MAX_CLIENTS 5000

int dg_fetch_status(const char *sock, struct dg_con_status *st, char *err, size_t errlen);
/* The top clients by score (all up to DG_FETCH_MAX_CLIENTS when top is 0);
 * *c is allocated (free() it). */
int dg_fetch_clients(const char *sock, long top, struct dg_con_client **c, size_t *n, char *err,
		     size_t errlen);
/* One client in depth; *d is left as it was when this fails. */
int dg_fetch_detail(const char *sock, const char *name, struct dg_con_detail *d, char *err,
		    size_t errlen);
/* An operator's decision (DG_CTL_BLOCK, DG_CTL_ALLOW, DG_CTL_UNBLOCK, ...)
 * on client name, for the daemon's default TTL, with reason as its note.
 * The daemon's answer, one line of text, in answer; or why not in answer. */
int dg_fetch_command(const char *sock, enum dg_ctl_cmd cmd, const char *name, const char *reason,
		     char *answer, size_t anslen);

#endif
