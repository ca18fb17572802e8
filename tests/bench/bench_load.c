/* bench_load.c — a small keep-alive HTTPS load generator for `make bench`
 * (scripts/bench.sh), in C so that the client costs little next to the
 * server it loads (scripts/load.py is Python).
 *
 *   bench_load [-c CONNS] [-d SECONDS] [-r RATE] [-s] [-t TOKENS]
 *              [-p PROMPT_BYTES] [-k KEYS] [-a SOURCE_ADDR] [-P] HOST PORT
 *
 * CONNS connections (one thread each, default 8) send chat completion
 * requests (POST /v1/chat/completions, `Authorization: Bearer
 * sk-bench-<i % KEYS>`, a body of about PROMPT_BYTES, max_tokens TOKENS,
 * "stream": true with -s) one after another for SECONDS (default 5): as
 * fast as answers come (RATE 0, the default), or at RATE requests/s in all,
 * each connection on its own fixed schedule. -P: plain HTTP instead of TLS.
 * Answers are read whole (Content-Length or chunked); for SSE the `data: `
 * lines are counted as events.
 *
 * Prints one line:
 *   LOAD requests=N failed=N seconds=S rps=R events=N cpu_s=S
 * cpu_s is this process's own CPU time (user + system), for the caller to
 * take out of host totals. Asserts nothing. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct opts {
	const char *host, *port, *source;
	int conns, stream, tokens, prompt, keys, plain;
	double seconds, rate;
};

struct conn {
	const struct opts *o;
	SSL_CTX *ctx;
	int id;
	unsigned long ok, failed, events;
	pthread_t th;
};

static double t_start, t_end;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

struct io {
	int fd;
	SSL *ssl;
	char *buf;          /* bytes read, not yet consumed: buf[pos..len) */
	size_t pos, len, cap;
};

static int io_write(struct io *io, const char *p, size_t n)
{
	while (n) {
		int w = io->ssl ? SSL_write(io->ssl, p, (int)n) : (int)write(io->fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes onto the buffer. */
static int io_fill(struct io *io)
{
	int r;

	if (io->pos == io->len)
		io->pos = io->len = 0;
	if (io->len == io->cap) {
		if (io->pos) {
			memmove(io->buf, io->buf + io->pos, io->len - io->pos);
			io->len -= io->pos;
			io->pos = 0;
		} else {
			char *nb = realloc(io->buf, io->cap * 2);

			if (!nb)
				return -1;
			io->buf = nb;
			io->cap *= 2;
		}
	}
	r = io->ssl ? SSL_read(io->ssl, io->buf + io->len, (int)(io->cap - io->len))
		    : (int)read(io->fd, io->buf + io->len, io->cap - io->len);
	if (r <= 0)
		return -1;
	io->len += (size_t)r;
	return 0;
}

/* A line ending in CRLF at pos (returned without it, NUL-terminated in
 * place), or NULL on a closed connection. */
static char *io_line(struct io *io)
{
	for (;;) {
		char *s = io->buf + io->pos, *e = memmem(s, io->len - io->pos, "\r\n", 2);

		if (e) {
			*e = 0;
			io->pos = (size_t)(e - io->buf) + 2;
			return s;
		}
		if (io_fill(io))
			return NULL;
	}
}

/* Consumes n bytes, counting `data: ` at the start of lines in them. */
static int io_body(struct io *io, size_t n, unsigned long *events, int *bol)
{
	while (n) {
		size_t have = io->len - io->pos, k = have < n ? have : n;

		for (size_t i = 0; i < k; i++) {
			char ch = io->buf[io->pos + i];

			if (*bol && ch == 'd' && k - i >= 5 && !memcmp(io->buf + io->pos + i, "data:", 5))
				(*events)++;
			*bol = ch == '\n';
		}
		io->pos += k;
		n -= k;
		if (n && io_fill(io))
			return -1;
	}
	return 0;
}

/* Reads one response whole. 0 on a 2xx answer. */
static int read_response(struct io *io, unsigned long *events)
{
	char *l = io_line(io);
	long clen = -1;
	int chunked = 0, status, bol = 1;

	if (!l || sscanf(l, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	while ((l = io_line(io)) && *l) {
		if (!strncasecmp(l, "content-length:", 15))
			clen = atol(l + 15);
		else if (!strncasecmp(l, "transfer-encoding:", 18) && strcasestr(l, "chunked"))
			chunked = 1;
	}
	if (!l)
		return -1;
	if (chunked) {
		for (;;) {
			unsigned long sz;

			if (!(l = io_line(io)))
				return -1;
			sz = strtoul(l, NULL, 16);
			if (sz == 0) {
				while ((l = io_line(io)) && *l)   /* trailers */
					;
				break;
			}
			if (io_body(io, sz, events, &bol) || !io_line(io))
				return -1;
		}
	} else if (clen > 0 && io_body(io, (size_t)clen, events, &bol)) {
		return -1;
	}
	return status >= 200 && status < 300 ? 0 : -1;
}

static int dial(const struct opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;
	struct timeval tv = { .tv_sec = 10 };

	if (getaddrinfo(o->host, o->port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && o->source) {
		struct sockaddr_in sa = { .sin_family = AF_INET };

		if (inet_pton(AF_INET, o->source, &sa.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

static int open_io(struct conn *c, struct io *io)
{
	io->fd = dial(c->o);
	io->ssl = NULL;
	io->pos = io->len = 0;
	if (io->fd < 0)
		return -1;
	if (c->o->plain)
		return 0;
	io->ssl = SSL_new(c->ctx);
	if (!io->ssl || !SSL_set_fd(io->ssl, io->fd) || SSL_connect(io->ssl) != 1) {
		SSL_free(io->ssl);
		io->ssl = NULL;
		close(io->fd);
		io->fd = -1;
		return -1;
	}
	return 0;
}

static void close_io(struct io *io)
{
	if (io->ssl) {
		SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
	}
	if (io->fd >= 0)
		close(io->fd);
	io->ssl = NULL;
	io->fd = -1;
}

static void *run(void *arg)
{
	struct conn *c = arg;
	const struct opts *o = c->o;
	struct io io = { .fd = -1, .cap = 65536 };
	char *body, *req;
	size_t fill;
	int bl, rl;
	double interval = o->rate > 0 ? (double)o->conns / o->rate : 0,
	       next = t_start + interval * c->id / o->conns;

	io.buf = malloc(io.cap);
	body = malloc((size_t)o->prompt + 512);
	req = malloc((size_t)o->prompt + 1024);
	if (!io.buf || !body || !req)
		return NULL;
	fill = o->prompt > 200 ? (size_t)o->prompt - 200 : 16;
	{
		static const char words[] = "Explain each step of the proof below. ";
		char *content = malloc(fill + 1);

		for (size_t i = 0; i < fill; i++)
			content[i] = words[i % (sizeof(words) - 1)];
		content[fill] = 0;
		bl = snprintf(body, (size_t)o->prompt + 512,
			      "{\"model\":\"dg-large\",\"stream\":%s,\"max_tokens\":%d,\"messages\":"
			      "[{\"role\":\"system\",\"content\":\"You are a careful assistant.\"},"
			      "{\"role\":\"user\",\"content\":\"%s\"}]}",
			      o->stream ? "true" : "false", o->tokens, content);
		free(content);
	}
	rl = snprintf(req, (size_t)o->prompt + 1024,
		      "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer "
		      "sk-bench-%d\r\nContent-Type: application/json\r\nUser-Agent: bench_load\r\n"
		      "Content-Length: %d\r\n\r\n%s", o->host, c->id % o->keys, bl, body);
	while (now() < t_end) {
		if (io.fd < 0 && open_io(c, &io)) {
			c->failed++;
			usleep(10000);
			continue;
		}
		if (interval > 0) {
			next += interval;
			if (next > t_end)
				break;
			sleep_until(next);
		}
		if (io_write(&io, req, (size_t)rl) || read_response(&io, &c->events)) {
			c->failed++;
			close_io(&io);
			continue;
		}
		c->ok++;
	}
	close_io(&io);
	free(io.buf);
	free(body);
	free(req);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_load [-c CONNS] [-d SECONDS] [-r RATE] [-s] [-t TOKENS] "
			"[-p PROMPT_BYTES] [-k KEYS] [-a SOURCE_ADDR] [-P] HOST PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .conns = 8, .seconds = 5, .tokens = 64, .prompt = 500, .keys = 8 };
	struct conn *cs;
	struct rusage ru;
	unsigned long ok = 0, failed = 0, events = 0;
	SSL_CTX *ctx;
	double dt;
	int ch;

	while ((ch = getopt(argc, argv, "c:d:r:st:p:k:a:P")) != -1) {
		switch (ch) {
		case 'c': o.conns = atoi(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 's': o.stream = 1; break;
		case 't': o.tokens = atoi(optarg); break;
		case 'p': o.prompt = atoi(optarg); break;
		case 'k': o.keys = atoi(optarg); break;
		case 'a': o.source = optarg; break;
		case 'P': o.plain = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || o.conns < 1 || o.keys < 1 || o.prompt < 0 || o.seconds <= 0)
		usage();
	o.host = argv[optind];
	o.port = argv[optind + 1];
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	cs = calloc((size_t)o.conns, sizeof(*cs));
	if (!cs)
		return 1;
	t_start = now();
	t_end = t_start + o.seconds;
	for (int i = 0; i < o.conns; i++) {
		cs[i] = (struct conn){ .o = &o, .ctx = ctx, .id = i };
		if (pthread_create(&cs[i].th, NULL, run, &cs[i])) {
			fprintf(stderr, "bench_load: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < o.conns; i++) {
		pthread_join(cs[i].th, NULL);
		ok += cs[i].ok;
		failed += cs[i].failed;
		events += cs[i].events;
	}
	dt = now() - t_start;
	getrusage(RUSAGE_SELF, &ru);
	printf("LOAD requests=%lu failed=%lu seconds=%.3f rps=%.1f events=%lu cpu_s=%.3f\n", ok, failed,
	       dt, (double)ok / dt, events,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	free(cs);
	SSL_CTX_free(ctx);
	return 0;
}
