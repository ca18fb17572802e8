/* ctlproto.h — the control socket's protocol. One request per connection:
 * a JSON object on one line,
 *   {"cmd": NAME, "json": true|false, ...}
 * NAME and its arguments:
 *   clients    "top": N (0 or absent: all)
 *   client     "name": CLIENT
 *   status, decisions
 *   block, unblock, allow, ratelimit
 *              "client": CLIENT (key:<12 hex>, ip:<address>, cidr:<prefix>),
 *              "ttl": seconds (absent: the configured default),
 *              "reason": text (at most DG_CTL_REASON - 1 bytes)
 * The answer: a header line, {"ok":true} or {"ok":false,"error":"..."},
 * then the body (JSON when "json" was true, else text for people) until the
 * daemon closes the connection. Requests longer than DG_CTL_LINE_MAX, or
 * not valid, get an error header; unknown keys are ignored. */
#ifndef DG_CTLPROTO_H
#define DG_CTLPROTO_H

#include <stddef.h>
#include "record.h"

#define DG_CTL_LINE_MAX 4096
#define DG_CTL_REASON   128
#define DG_CTL_SOCKET   "/run/distillguard/control.sock"

enum dg_ctl_cmd {
	DG_CTL_CLIENTS = 1, DG_CTL_CLIENT, DG_CTL_STATUS, DG_CTL_DECISIONS,
	DG_CTL_BLOCK, DG_CTL_UNBLOCK, DG_CTL_ALLOW, DG_CTL_RATELIMIT,
};

struct dg_ctl_request {
	enum dg_ctl_cmd cmd;
	int json;
	long top;
	char name[DG_CLIENT_LEN];      /* client / the CLIENT argument */
	double ttl;                    /* 0: default */
	char reason[DG_CTL_REASON];
};

/* Gathering the request line from a socket read by read: feed what came;
 * 1 when the line is whole (in line, NUL-terminated, without its newline),
 * 0 when more is needed, -1 when it grew past DG_CTL_LINE_MAX. */
struct dg_ctl_linebuf {
	char line[DG_CTL_LINE_MAX + 1];
	size_t len;
	int done;
};
int dg_ctl_linebuf_feed(struct dg_ctl_linebuf *b, const char *p, size_t n);

/* The name of a command ("clients") and back (-1 unknown). */
const char *dg_ctl_cmd_name(enum dg_ctl_cmd c);
int dg_ctl_cmd_parse(const char *s);

/* Parse one request line. 0, or -1 with a reason in err. */
int dg_ctl_parse(const char *line, size_t len, struct dg_ctl_request *req, char *err, size_t errlen);
/* The request as a line (no newline). Returns its length, or -1 when size
 * is too small. */
int dg_ctl_format(const struct dg_ctl_request *req, char *buf, size_t size);

#endif
