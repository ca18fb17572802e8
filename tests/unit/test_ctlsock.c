/* test_ctlsock.c — the control socket both ways, in one process: a client
 * thread asks, the test steps the server. Answers with a body, errors,
 * garbage, a caller that never asks (timeout), a second daemon refused,
 * and the socket file gone at close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctlsock.h"

static char dir[64], path[96];

static int handler(const struct dg_ctl_request *req, FILE *out, char *err, size_t errlen, void *arg)
{
	if (req->cmd == DG_CTL_BLOCK) {
		snprintf(err, errlen, "no such client %s", req->name);
		return -1;
	}
	/* A body bigger than a socket buffer: written as it is read. */
	for (int i = 0; i < 20000; i++)
		fprintf(out, "line %d of %s%s\n", i, dg_ctl_cmd_name(req->cmd), req->json ? " json" : "");
	return 0;
}

struct call {
	struct dg_ctl_request req;
	char *body;
	size_t len;
	char err[256];
	int rc, done;
};

static void *client(void *arg)
{
	struct call *c = arg;
	FILE *out = open_memstream(&c->body, &c->len);

	c->rc = dg_ctl_call(path, &c->req, out, c->err, sizeof(c->err));
	fclose(out);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one call against s, stepping the server until the client is done. */
static void ask(struct dg_ctlsock *s, struct call *c)
{
	pthread_t t;

	pthread_create(&t, NULL, client, c);
	for (int i = 0; i < 20000 && !__atomic_load_n(&c->done, __ATOMIC_ACQUIRE); i++) {
		dg_ctlsock_step(s, now());
		usleep(100);
	}
	pthread_join(t, NULL);
}

static void test_ask_and_answer(void **state)
{
	struct dg_ctlsock *s, *second;
	struct call c = { .req = { .cmd = DG_CTL_STATUS, .json = 1 } };
	struct call e = { .req = { .cmd = DG_CTL_BLOCK } };
	char err[256];
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/dg-ctlsock.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/control.sock", dir);
	s = dg_ctlsock_open(path, handler, NULL, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second daemon on the same socket is refused. */
	second = dg_ctlsock_open(path, handler, NULL, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "another distillguard daemon"));

	ask(s, &c);
	if (getuid() != 0) {
		/* Not root: the socket answers no, which is what it must do. */
		assert_int_equal(c.rc, 1);
		assert_non_null(strstr(c.err, "root only"));
		free(c.body);
		dg_ctlsock_close(s);
		return;
	}
	assert_int_equal(c.rc, 0);
	assert_non_null(strstr(c.body, "line 0 of status json\n"));
	assert_non_null(strstr(c.body, "line 19999 of status json\n"));
	free(c.body);
	snprintf(e.req.name, sizeof(e.req.name), "key:0123456789ab");
	ask(s, &e);
	assert_int_equal(e.rc, 1);
	assert_string_equal(e.err, "no such client key:0123456789ab");
	free(e.body);
	assert_int_equal(dg_ctlsock_stats(s)->requests, 2);

	dg_ctlsock_close(s);
	assert_int_equal(stat(path, &st), -1);   /* the socket file is gone */
	c.done = 0;
	c.body = NULL;
	client(&c);
	assert_int_equal(c.rc, -1);
	assert_non_null(strstr(c.err, "no distillguard daemon is running"));
	free(c.body);
}

/* Garbage gets an error header; a caller that never asks is dropped after
 * the timeout and does not hold the others up. */
static void test_garbage_and_timeout(void **state)
{
	struct dg_ctlsock *s;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char err[256], buf[256];
	int silent, junk;
	ssize_t n;

	s = dg_ctlsock_open(path, handler, NULL, err, sizeof(err));
	assert_non_null(s);
	memcpy(a.sun_path, path, strlen(path) + 1);
	silent = socket(AF_UNIX, SOCK_STREAM, 0);
	junk = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(silent, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(connect(junk, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(junk, "\x01\x02 not json\n", 12), 12);
	for (int i = 0; i < 50; i++) {
		dg_ctlsock_step(s, now());
		usleep(1000);
	}
	n = read(junk, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "{\"ok\":false,\"error\":\"not a JSON object\"}"));
	dg_ctlsock_step(s, now() + DG_CTL_TIMEOUT + 1);
	assert_int_equal(dg_ctlsock_stats(s)->timeouts, 1);
	assert_int_equal(read(silent, buf, sizeof(buf)), 0);     /* closed */
	close(silent);
	close(junk);
	dg_ctlsock_close(s);
	rmdir(strcat(strcpy(buf, dir), "/run"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ask_and_answer),
		cmocka_unit_test(test_garbage_and_timeout),
	};
	return cmocka_run_group_tests_name("ctlsock", tests, NULL, NULL);
}
