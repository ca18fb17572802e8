/* httpd.h — the daemon's /metrics endpoint: libmicrohttpd driven from the
 * daemon's event loop (its epoll fd is watched by the loop, no thread of
 * its own), answering GET /metrics with what fn writes. Bounded: 16
 * connections at once, 10 s each, a small request. Anything else is 404
 * (another path) or 405 (another method). */
#ifndef DG_HTTPD_H
#define DG_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DG_METRICS_ADDR "127.0.0.1:9847"   /* the default: loopback only */

/* Write the body of /metrics. 0, or -1 (the scrape gets a 500). */
typedef int (*dg_httpd_fn)(FILE *out, void *arg);

struct dg_httpd_stats {
	uint64_t scrapes, not_found, errors;
	double seconds;                /* spent writing bodies, all scrapes */
};

struct dg_httpd;

/* Listen on "ADDR:PORT" ("127.0.0.1:9847", "[::1]:9847"; port 0 picks
 * one). NULL with a reason in err. */
struct dg_httpd *dg_httpd_open(const char *addr_port, dg_httpd_fn fn, void *arg, char *err,
			       size_t errlen);
/* Readable when a connection needs attention: then call dg_httpd_step. */
int dg_httpd_fd(const struct dg_httpd *h);
/* Serve what can be served now (and time out idle connections). */
void dg_httpd_step(struct dg_httpd *h);
/* The port it listens on. */
uint16_t dg_httpd_port(const struct dg_httpd *h);
void dg_httpd_close(struct dg_httpd *h);
const struct dg_httpd_stats *dg_httpd_stats(const struct dg_httpd *h);

/* Parse "ADDR:PORT" into a socket address. 0, or -1. */
struct sockaddr_storage;
int dg_httpd_parse_addr(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen);

#endif
