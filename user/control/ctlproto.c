/* ctlproto.c — control requests to and from one JSON line (ctlproto.h). */
#include "ctlproto.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"

static const char *names[] = {
	[DG_CTL_CLIENTS] = "clients", [DG_CTL_CLIENT] = "client", [DG_CTL_STATUS] = "status",
	[DG_CTL_DECISIONS] = "decisions", [DG_CTL_BLOCK] = "block", [DG_CTL_UNBLOCK] = "unblock",
	[DG_CTL_ALLOW] = "allow", [DG_CTL_RATELIMIT] = "ratelimit",
};
#define N_NAMES (int)(sizeof(names) / sizeof(names[0]))

const char *dg_ctl_cmd_name(enum dg_ctl_cmd c)
{
	return (int)c > 0 && (int)c < N_NAMES ? names[c] : "?";
}

int dg_ctl_cmd_parse(const char *s)
{
	for (int i = 1; i < N_NAMES; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static yajl_val field(yajl_val o, const char *k)
{
	const char *path[] = { k, NULL };

	return yajl_tree_get(o, path, yajl_t_any);
}

/* A string field into out (size); absent is fine. -1 when not a string or
 * too long. */
static int str_field(yajl_val o, const char *k, char *out, size_t size, char *err, size_t errlen)
{
	yajl_val v = field(o, k);
	const char *s = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

	if (!v)
		return 0;
	if (!s || strlen(s) >= size) {
		snprintf(err, errlen, "\"%s\" must be a string shorter than %zu bytes", k, size);
		return -1;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int num_field(yajl_val o, const char *k, double lo, double hi, double *out, char *err,
		     size_t errlen)
{
	yajl_val v = field(o, k);

	if (!v)
		return 0;
	if (!YAJL_IS_NUMBER(v) || !isfinite(YAJL_GET_DOUBLE(v)) || YAJL_GET_DOUBLE(v) < lo ||
	    YAJL_GET_DOUBLE(v) > hi) {
		snprintf(err, errlen, "\"%s\" must be a number from %g to %g", k, lo, hi);
		return -1;
	}
	*out = YAJL_GET_DOUBLE(v);
	return 0;
}

/* The arguments each command needs. */
static int check(struct dg_ctl_request *r, char *err, size_t errlen)
{
	if (r->cmd == DG_CTL_CLIENT && !r->name[0]) {
		snprintf(err, errlen, "client: \"name\" is required");
		return -1;
	}
	if (r->cmd >= DG_CTL_BLOCK && !r->name[0]) {
		snprintf(err, errlen, "%s: \"client\" is required", dg_ctl_cmd_name(r->cmd));
		return -1;
	}
	return 0;
}

int dg_ctl_parse(const char *line, size_t len, struct dg_ctl_request *req, char *err, size_t errlen)
{
	char buf[DG_CTL_LINE_MAX + 1], perr[128], cmd[32] = "";
	yajl_val o, v;
	double top = 0;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	if (len > DG_CTL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", DG_CTL_LINE_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	o = yajl_tree_parse(buf, perr, sizeof(perr));
	if (!o || !YAJL_IS_OBJECT(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (str_field(o, "cmd", cmd, sizeof(cmd), err, errlen))
		goto out;
	if (dg_ctl_cmd_parse(cmd) < 0) {
		snprintf(err, errlen, "unknown command \"%.32s\"", cmd);
		goto out;
	}
	req->cmd = (enum dg_ctl_cmd)dg_ctl_cmd_parse(cmd);
	v = field(o, "json");
	req->json = v && YAJL_IS_TRUE(v);
	if (num_field(o, "top", 0, 1e9, &top, err, errlen) ||
	    num_field(o, "ttl", 0, 365.0 * 86400, &req->ttl, err, errlen) ||
	    str_field(o, req->cmd == DG_CTL_CLIENT ? "name" : "client", req->name,
		      sizeof(req->name), err, errlen) ||
	    str_field(o, "reason", req->reason, sizeof(req->reason), err, errlen))
		goto out;
	req->top = (long)top;
	rc = check(req, err, errlen);
out:
	yajl_tree_free(o);
	return rc;
}

int dg_ctl_format(const struct dg_ctl_request *req, char *buf, size_t size)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return -1;
	yajl_gen_map_open(g);
	dg_jw_str(g, "cmd", dg_ctl_cmd_name(req->cmd));
	dg_jw_key(g, "json");
	yajl_gen_bool(g, req->json);
	if (req->top)
		dg_jw_int(g, "top", req->top);
	if (req->name[0])
		dg_jw_str(g, req->cmd == DG_CTL_CLIENT ? "name" : "client", req->name);
	if (req->ttl > 0) {
		dg_jw_key(g, "ttl");
		yajl_gen_double(g, req->ttl);
	}
	if (req->reason[0])
		dg_jw_str(g, "reason", req->reason);
	yajl_gen_map_close(g);
	return dg_jw_take(g, buf, size);
}

int dg_ctl_linebuf_feed(struct dg_ctl_linebuf *b, const char *p, size_t n)
{
	const char *nl;
	size_t take;

	if (b->done)
		return 1;
	nl = memchr(p, '\n', n);
	take = nl ? (size_t)(nl - p) : n;
	if (b->len + take > DG_CTL_LINE_MAX)
		return -1;
	memcpy(b->line + b->len, p, take);
	b->len += take;
	b->line[b->len] = 0;
	if (!nl)
		return 0;
	if (b->len && b->line[b->len - 1] == '\r')
		b->line[--b->len] = 0;
	b->done = 1;
	return 1;
}
