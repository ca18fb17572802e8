/* ctlsock.h — the daemon's control socket: a unix stream socket (default
 * /run/distillguard/control.sock, in a 0700 directory, the socket 0600),
 * one request per connection (ctlproto.h). Only root may ask: a caller
 * whose credentials (SO_PEERCRED) are not uid 0 gets an error header.
 *
 * Non-blocking throughout, on an epoll fd of its own that the daemon's
 * loop watches: a slow or silent caller never holds the loop up. At most
 * DG_CTL_CONNS callers at once (one more is refused), each has
 * DG_CTL_TIMEOUT seconds to send its request, and an answer is written as
 * the caller reads it. The answer is built by the handler into a memory
 * stream: header from its return value, body from what it writes. */
#ifndef DG_CTLSOCK_H
#define DG_CTLSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ctlproto.h"

#define DG_CTL_CONNS   16
#define DG_CTL_TIMEOUT 5.0

/* Answer req: write the body to out; return 0, or -1 with a reason in err. */
typedef int (*dg_ctl_handler)(const struct dg_ctl_request *req, FILE *out, char *err,
			      size_t errlen, void *arg);

struct dg_ctlsock_stats {
	uint64_t requests, refused_uid, refused_full, bad_requests, timeouts;
};

struct dg_ctlsock;

/* Bind path. Fails (with a reason) when another daemon answers there; a
 * stale socket left by a dead one is replaced. */
struct dg_ctlsock *dg_ctlsock_open(const char *path, dg_ctl_handler fn, void *arg, char *err,
				   size_t errlen);
/* Readable when a caller needs attention: then call dg_ctlsock_step. */
int dg_ctlsock_fd(const struct dg_ctlsock *s);
/* Accept, read, answer and write what can be done without blocking; now is
 * monotonic seconds (for the timeouts). */
void dg_ctlsock_step(struct dg_ctlsock *s, double now);
/* Close every connection and the socket, and remove the socket file. */
void dg_ctlsock_close(struct dg_ctlsock *s);
const struct dg_ctlsock_stats *dg_ctlsock_stats(const struct dg_ctlsock *s);

/* The client side (the CLI): send req to path, write the answer's body to
 * out. Returns 0 (ok), 1 (the daemon said no: its reason in err) or -1
 * (no daemon, or the socket refused us: the reason in err). */
int dg_ctl_call(const char *path, const struct dg_ctl_request *req, FILE *out, char *err,
		size_t errlen);

#endif
