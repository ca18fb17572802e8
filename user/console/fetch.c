/* fetch.c — the console's control requests and their answers (fetch.h). */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"

/* Ask; the body (NUL-terminated, free() it) in *body when the answer is 0. */
static int ask(const char *sock, const struct dg_ctl_request *req, char **body, char *err,
	       size_t errlen)
{
	size_t len = 0;
	FILE *out = open_memstream(body, &len);
	int rc;

	*body = NULL;
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	rc = dg_ctl_call(sock, req, out, err, errlen);
	fclose(out);
	if (rc) {
		free(*body);
		*body = NULL;
	}
	return rc;
}

int dg_fetch_status(const char *sock, struct dg_con_status *st, char *err, size_t errlen)
{
	struct dg_ctl_request req = { .cmd = DG_CTL_STATUS, .json = 1 };
	char *body;
	int rc = ask(sock, &req, &body, err, errlen);

	if (!rc && dg_con_parse_status(body, st, err, errlen))
		rc = 1;
	free(body);
	return rc;
}

int dg_fetch_clients(const char *sock, long top, struct dg_con_client **c, size_t *n, char *err,
		     size_t errlen)
{
	struct dg_ctl_request req = { .cmd = DG_CTL_CLIENTS, .json = 1 };
	size_t skipped;
	char *body;
	int rc;

	*c = NULL;
	*n = 0;
	req.top = top > 0 && top < DG_FETCH_MAX_CLIENTS ? top : DG_FETCH_MAX_CLIENTS;
	rc = ask(sock, &req, &body, err, errlen);
	if (!rc && dg_con_parse_clients(body, (size_t)req.top, c, n, &skipped, err, errlen))
		rc = 1;
	free(body);
	return rc;
}

int dg_fetch_detail(const char *sock, const char *name, struct dg_con_detail *d, char *err,
		    size_t errlen)
{
	struct dg_ctl_request req = { .cmd = DG_CTL_CLIENT, .json = 1 };
	struct dg_con_detail *got = malloc(sizeof(*got));
	char *body = NULL;
	int rc;

	snprintf(req.name, sizeof(req.name), "%s", name);
	if (!got) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	rc = ask(sock, &req, &body, err, errlen);
	if (!rc && dg_con_parse_detail(body, got, err, errlen))
		rc = 1;
	if (!rc)                          /* d is left as it was unless all went well */
		*d = *got;
	free(got);
	free(body);
	return rc;
}

int dg_fetch_command(const char *sock, enum dg_ctl_cmd cmd, const char *name, const char *reason,
		     char *answer, size_t anslen)
{
	struct dg_ctl_request req = { .cmd = cmd };
	char *body, err[512];
	int rc;

	snprintf(req.name, sizeof(req.name), "%s", name);
	snprintf(req.reason, sizeof(req.reason), "%s", reason ? reason : "");
	rc = ask(sock, &req, &body, err, sizeof(err));
	if (body)
		body[strcspn(body, "\n")] = 0;      /* one line: it goes on the status line */
	dg_con_clean(answer, anslen, rc ? err : body ? body : "");
	free(body);
	return rc;
}
