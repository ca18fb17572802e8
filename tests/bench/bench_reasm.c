/* bench_reasm.c — user-space cost of turning captured calls into records:
 * decode + HTTP reassembly + body parsing + fingerprints, for non-streamed
 * and SSE exchanges. Prints numbers; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "reassemble.h"

static const uint8_t secret[16] = "bench-secret-key";
static unsigned long records;

static void on_record(const struct dg_record *r, void *arg)
{
	(void)r;
	(void)arg;
	records++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put(struct dg_reasm *ra, uint64_t conn, int dir, const char *p, size_t len, uint64_t ts)
{
	struct dg_chunk c = dg_chunk_call(conn, dir, p, len);

	c.src = DG_SRC_TLS;
	c.t.family = AF_INET;
	c.t.lport = 443;
	c.ts_ns = ts;
	dg_reasm_chunk(ra, &c);
}

static void run(const char *name, int stream, int n)
{
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	char req[4096], body[2048], resp[4096], ev[256];
	size_t bytes = 0;
	double t0;
	int rl, hl, el;

	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	ra = dg_reasm_new(&cfg, on_record, NULL, NULL);
	snprintf(body, sizeof(body),
		 "{\"model\":\"bench-model\",\"stream\":%s,\"max_tokens\":256,\"temperature\":0.7,"
		 "\"messages\":[{\"role\":\"system\",\"content\":\"You are a careful assistant who "
		 "answers in detail.\"},{\"role\":\"user\",\"content\":\"Think step by step and explain "
		 "how a hash table handles collisions, with an example in C and its complexity.\"}]}",
		 stream ? "true" : "false");
	rl = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\n"
		      "Authorization: Bearer sk-bench-0123456789\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	if (stream)
		hl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n");
	else
		hl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: 230\r\n\r\n{\"id\":\"x\",\"object\":\"chat.completion\","
			      "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
			      "\"assistant\",\"content\":\"tok tok tok tok tok tok tok tok tok tok tok tok "
			      "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":40,"
			      "\"completion_tokens\":12,\"total_tokens\":52}}");
	{
		const char *e = "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
				"\"delta\":{\"content\":\"tok \"}}]}\n\n";
		el = snprintf(ev, sizeof(ev), "%zx\r\n%s\r\n", strlen(e), e);
	}
	records = 0;
	t0 = now();
	for (int i = 0; i < n; i++) {
		uint64_t conn = (uint64_t)(i % 64) + 1, ts = (uint64_t)i * 1000;

		put(ra, conn, DG_DIR_IN, req, (size_t)rl, ts);
		put(ra, conn, DG_DIR_OUT, resp, (size_t)hl, ts + 1);
		bytes += (size_t)(rl + hl);
		if (stream) {
			for (int k = 0; k < 64; k++)
				put(ra, conn, DG_DIR_OUT, ev, (size_t)el, ts + 2);
			put(ra, conn, DG_DIR_OUT, "0\r\n\r\n", 5, ts + 3);
			bytes += (size_t)(64 * el + 5);
		}
	}
	{
		double dt = now() - t0;
		printf("%-22s %8d exchanges  %7.3f s  %9.0f records/s  %7.1f MB/s  (%lu records)\n",
		       name, n, dt, records / dt, bytes / dt / 1e6, records);
	}
	dg_reasm_free(ra);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;

	run("json (non-streamed)", 0, n);
	run("sse (64 events each)", 1, n / 4);
	return 0;
}
