/* ctlsock.c — the control socket, both sides (ctlsock.h). */
#include "ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "jsonw.h"

struct conn {
	int fd;                        /* -1: free */
	int refused;                   /* not root: answered no once it has asked */
	double since;
	struct dg_ctl_linebuf in;
	char *out;                     /* the answer, being written */
	size_t out_len, out_off;
};

struct dg_ctlsock {
	int lfd, epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dg_ctl_handler fn;
	void *arg;
	struct conn conns[DG_CTL_CONNS];
	struct dg_ctlsock_stats st;
};

static int set_addr(struct sockaddr_un *a, const char *path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return -1;
	}
	memcpy(a->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Is a daemon answering at path already? */
static int someone_listens(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = !connect(fd, (const struct sockaddr *)a, sizeof(*a));
	close(fd);
	return ok;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

struct dg_ctlsock *dg_ctlsock_open(const char *path, dg_ctl_handler fn, void *arg, char *err,
				   size_t errlen)
{
	struct dg_ctlsock *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_un a;
	mode_t old;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->lfd = s->epfd = -1;
	for (int i = 0; i < DG_CTL_CONNS; i++)
		s->conns[i].fd = -1;
	s->fn = fn;
	s->arg = arg;
	if (set_addr(&a, path, err, errlen) || make_dir(path, err, errlen))
		goto fail;
	if (someone_listens(&a)) {
		snprintf(err, errlen, "%s: another distillguard daemon is running", path);
		goto fail;
	}
	unlink(path);                  /* a stale socket of a daemon that died */
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	old = umask(0177);             /* the socket is born 0600 */
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, DG_CTL_CONNS)) {
		umask(old);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	chmod(path, 0600);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = s->lfd;
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	dg_ctlsock_close(s);
	return NULL;
}

int dg_ctlsock_fd(const struct dg_ctlsock *s)
{
	return s->epfd;
}

static void drop(struct dg_ctlsock *s, struct conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* The answer: a header line, then the body. */
static void answer(struct conn *c, int ok, const char *error, const char *body, size_t body_len)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *hdr = NULL;
	size_t hlen = 0;

	if (g) {
		yajl_gen_map_open(g);
		dg_jw_key(g, "ok");
		yajl_gen_bool(g, ok);
		if (!ok)
			dg_jw_str(g, "error", error);
		yajl_gen_map_close(g);
		yajl_gen_get_buf(g, &hdr, &hlen);
	}
	c->out = malloc(hlen + 1 + body_len);
	if (c->out) {
		memcpy(c->out, hdr, hlen);
		c->out[hlen] = '\n';
		if (body_len)
			memcpy(c->out + hlen + 1, body, body_len);
		c->out_len = hlen + 1 + body_len;
	}
	if (g)
		yajl_gen_free(g);
}

static void handle(struct dg_ctlsock *s, struct conn *c)
{
	struct dg_ctl_request req;
	char err[256] = "";
	char *body = NULL;
	size_t body_len = 0;
	FILE *out;
	int rc;

	if (dg_ctl_parse(c->in.line, c->in.len, &req, err, sizeof(err))) {
		s->st.bad_requests++;
		answer(c, 0, err, NULL, 0);
		return;
	}
	s->st.requests++;
	out = open_memstream(&body, &body_len);
	if (!out) {
		answer(c, 0, "out of memory", NULL, 0);
		return;
	}
	rc = s->fn(&req, out, err, sizeof(err), s->arg);
	fclose(out);
	answer(c, rc == 0, err[0] ? err : "failed", rc == 0 ? body : NULL, rc == 0 ? body_len : 0);
	free(body);
}

static void accept_all(struct dg_ctlsock *s, double now)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct conn *c = NULL;
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (fd < 0)
			return;
		for (int i = 0; i < DG_CTL_CONNS && !c; i++)
			if (s->conns[i].fd < 0)
				c = &s->conns[i];
		if (!c) {
			s->st.refused_full++;
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->since = now;
		ev.data.fd = fd;
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
		/* Answered no after its request is read: closing on unread
		 * bytes would reset the connection before the answer arrives. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
			s->st.refused_uid++;
			c->refused = 1;
		}
	}
}

/* Read the request, answer it, write the answer: as far as it goes now. */
static void serve(struct dg_ctlsock *s, struct conn *c, double now)
{
	char buf[1024];
	ssize_t n;

	while (!c->out) {
		int rc;

		n = read(c->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(s, c);
			return;
		}
		if (n < 0)
			break;
		rc = dg_ctl_linebuf_feed(&c->in, buf, (size_t)n);
		if (rc < 0) {
			s->st.bad_requests++;
			answer(c, 0, "request line too long", NULL, 0);
		} else if (rc == 1 && c->refused) {
			answer(c, 0, "refused: the control socket answers root only", NULL, 0);
		} else if (rc == 1) {
			handle(s, c);
		}
	}
	while (c->out && c->out_off < c->out_len) {
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The caller reads slowly: wake when it can take more. */
			struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };

			epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (n <= 0) {
			drop(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out && c->out_off >= c->out_len)
		drop(s, c);
	else if (!c->out && now - c->since > DG_CTL_TIMEOUT) {
		s->st.timeouts++;
		drop(s, c);
	}
}

void dg_ctlsock_step(struct dg_ctlsock *s, double now)
{
	struct epoll_event ev[DG_CTL_CONNS + 1];
	int n = epoll_wait(s->epfd, ev, DG_CTL_CONNS + 1, 0);

	for (int i = 0; i < n; i++)
		if (ev[i].data.fd == s->lfd)
			accept_all(s, now);
	for (int i = 0; i < DG_CTL_CONNS; i++)
		if (s->conns[i].fd >= 0)
			serve(s, &s->conns[i], now);
}

void dg_ctlsock_close(struct dg_ctlsock *s)
{
	if (!s)
		return;
	for (int i = 0; i < DG_CTL_CONNS; i++)
		if (s->conns[i].fd >= 0)
			drop(s, &s->conns[i]);
	if (s->lfd >= 0) {
		close(s->lfd);
		if (s->path[0])
			unlink(s->path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}

const struct dg_ctlsock_stats *dg_ctlsock_stats(const struct dg_ctlsock *s)
{
	return &s->st;
}

/* ---------- the client side ---------- */

static int write_line(int fd, const char *line, size_t len)
{
	while (len) {
		ssize_t n = write(fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The header: {"ok":true} or {"ok":false,"error":"..."}. */
static int read_header(FILE *in, char *err, size_t errlen)
{
	char line[DG_CTL_LINE_MAX], *e;

	if (!fgets(line, sizeof(line), in)) {
		snprintf(err, errlen, "the daemon closed the connection without an answer");
		return -1;
	}
	if (strstr(line, "\"ok\":true"))
		return 0;
	e = strstr(line, "\"error\":\"");
	if (!e) {
		snprintf(err, errlen, "an answer that is not understood");
		return -1;
	}
	e += 9;
	snprintf(err, errlen, "%.*s", (int)strcspn(e, "\""), e);
	return 1;
}

int dg_ctl_call(const char *path, const struct dg_ctl_request *req, FILE *out, char *err,
		size_t errlen)
{
	struct sockaddr_un a;
	char line[DG_CTL_LINE_MAX + 2], buf[65536];
	int fd, len, rc;
	FILE *in;
	size_t n;

	if (set_addr(&a, path, err, errlen))
		return -1;
	len = dg_ctl_format(req, line, sizeof(line) - 1);
	if (len < 0) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	line[len++] = '\n';
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "%s: permission denied (the control socket is root's)", path);
		else
			snprintf(err, errlen, "no distillguard daemon is running (%s: %s)", path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write_line(fd, line, (size_t)len) || !(in = fdopen(fd, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	rc = read_header(in, err, errlen);
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return rc;
}
