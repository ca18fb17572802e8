/* httpd.c — /metrics over libmicrohttpd, in the daemon's loop (httpd.h). */
#include "httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <microhttpd.h>

struct dg_httpd {
	struct MHD_Daemon *d;
	dg_httpd_fn fn;
	void *arg;
	uint16_t port;
	struct dg_httpd_stats st;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int dg_httpd_parse_addr(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[64];
	const char *colon;
	char *end;
	long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			goto bad;
		n = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (n >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, n);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		n = (size_t)(colon - s);
		if (n >= sizeof(host) || memchr(s, ':', n))
			goto bad;
		memcpy(host, s, n);
	}
	host[n] = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		goto bad;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return 0;
	}
bad:
	snprintf(err, errlen, "'%s' is not ADDRESS:PORT (127.0.0.1:9847, [::1]:9847)", s);
	return -1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", status == MHD_HTTP_OK ?
				"text/plain; version=0.0.4; charset=utf-8" : "text/plain");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct dg_httpd *h = cls;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	double t0;
	int rc;

	(void)version;
	(void)upload;
	if (!*state) {                 /* first call: headers only */
		*state = h;
		return MHD_YES;
	}
	if (*upload_size) {            /* a body: not for us */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics")) {
		h->st.not_found++;
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", 24,
			     MHD_RESPMEM_PERSISTENT);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		h->st.not_found++;
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n", 9, MHD_RESPMEM_PERSISTENT);
	}
	if (!(out = open_memstream(&buf, &len)))
		return MHD_NO;
	t0 = mono();
	rc = h->fn(out, h->arg);
	fclose(out);
	h->st.seconds += mono() - t0;
	if (rc) {
		free(buf);
		h->st.errors++;
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "error\n", 6, MHD_RESPMEM_PERSISTENT);
	}
	h->st.scrapes++;
	return reply(c, MHD_HTTP_OK, buf, len, MHD_RESPMEM_MUST_FREE);
}

struct dg_httpd *dg_httpd_open(const char *addr_port, dg_httpd_fn fn, void *arg, char *err,
			       size_t errlen)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct dg_httpd *h;
	unsigned flags = MHD_USE_EPOLL;

	if (dg_httpd_parse_addr(addr_port, &ss, err, errlen))
		return NULL;
	if (!(h = calloc(1, sizeof(*h)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fn = fn;
	h->arg = arg;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this host)",
			 addr_port);
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	return h;
}

int dg_httpd_fd(const struct dg_httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

void dg_httpd_step(struct dg_httpd *h)
{
	MHD_run(h->d);
}

uint16_t dg_httpd_port(const struct dg_httpd *h)
{
	return h->port;
}

void dg_httpd_close(struct dg_httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

const struct dg_httpd_stats *dg_httpd_stats(const struct dg_httpd *h)
{
	return &h->st;
}
