/* bench_reasm.c — user-space cost of turning captured calls into records:
 * decode + HTTP reassembly + body parsing + fingerprints, for non-streamed
 * and SSE exchanges. Prints numbers; asserts nothing.
 *
 * Then the whole user-space path as the daemon runs it, per core: ring
 * buffer samples laid out as the kernel sends them (data events of at most
 * DG_CHUNK bytes, with their place in the stream), through dg_decode, the
 * proxy-leg stage and reassembly to a record; and the same plus what the
 * daemon does with each record (its JSON line, the gzip journal, the
 * scoring engine's ingest), for small prompts and for 32 KiB ones, in
 * records per second of this process's CPU time. The PATH lines are for
 * scripts/bench.sh. `bench_reasm N path` runs the daemon's path alone,
 * `bench_reasm N daemon` the path with the daemon's per-record work (both
 * for perf record). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <unistd.h>

#include "decode.h"
#include "engine.h"
#include "journal.h"
#include "legs.h"
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

/* This process's CPU time: the path's rates are per core, and on a busy
 * host wall time would also count the time others ran instead of us. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* --- the daemon's path, from ring buffer samples ------------------------- */

#define PATH_CONNS 64
#define MAX_PIECES 8

struct call_tpl {                  /* one captured call, as its samples */
	struct dg_data_event *ev[MAX_PIECES];
	size_t size[MAX_PIECES];
	int n;
	uint32_t len;
};

struct path {
	struct dg_reasm *ra;
	struct dg_legs *legs;
	struct dg_engine *engine;
	struct dg_journal *journal;
	int daemon;                    /* also JSON line + journal + engine */
	unsigned long records, bytes_prompt;
};

static void path_record(const struct dg_record *r, void *arg)
{
	struct path *p = arg;
	char line[DG_RECORD_JSON_MAX];
	int n;

	p->records++;
	if (r->prompt_bytes > 0)
		p->bytes_prompt += (unsigned long)r->prompt_bytes;
	if (!p->daemon)
		return;
	n = dg_record_to_json(r, line, sizeof(line));
	if (n > 0)
		dg_journal_line(p->journal, line, (size_t)n);
	if (p->records % 1000 == 0)
		dg_journal_flush(p->journal);
	dg_engine_record(p->engine, r);
}

static void path_to_legs(const struct dg_record *r, void *arg)
{
	struct path *p = arg;

	dg_legs_record(p->legs, r, 0);
}

/* The samples the kernel sends for a call of len bytes under bound. */
static void tpl_make(struct call_tpl *t, int dir, const char *data, uint32_t len, uint32_t bound)
{
	t->n = (int)dg_plan_count(len, bound);
	t->len = len;
	for (int i = 0; i < t->n && i < MAX_PIECES; i++) {
		uint32_t off, cap;
		struct dg_data_event *e;

		dg_plan_piece(len, bound, (uint32_t)i, &off, &cap);
		t->size[i] = DG_DATA_HDR_SIZE + cap;
		e = calloc(1, t->size[i]);
		e->type = DG_EV_DATA;
		e->dir = (uint8_t)dir;
		e->src = DG_SRC_TLS;
		e->flags = DG_F_TIED;
		e->pid = 4242;
		e->tid = 4242;
		e->t.family = AF_INET;
		e->t.lport = 443;
		e->t.laddr[0] = 127;
		e->t.laddr[3] = 1;
		e->t.raddr[0] = 10;
		e->len = len;
		e->off = off;
		e->cap = cap;
		e->bound = bound;
		memcpy(e->comm, "python3", 8);
		memcpy(e->data, data + off, cap);
		t->ev[i] = e;
	}
}

static void tpl_free(struct call_tpl *t)
{
	for (int i = 0; i < t->n && i < MAX_PIECES; i++)
		free(t->ev[i]);
}

static void feed(struct path *p, struct dg_data_event *e, size_t size)
{
	struct dg_decoded d;

	if (dg_decode(e, size, &d) == DG_DEC_DATA) {
		dg_legs_server(p->legs, d.chunk.pid);
		dg_reasm_chunk(p->ra, &d.chunk);
	}
}

/* Sends call t on conn at its place in the stream (seq: this side's bytes
 * so far, other: the other side's). */
static void send_call(struct path *p, struct call_tpl *t, uint64_t conn, uint64_t *seq,
		      uint64_t other, uint64_t ts)
{
	for (int i = 0; i < t->n; i++) {
		struct dg_data_event *e = t->ev[i];

		e->conn = conn;
		e->t.rport = (uint16_t)(40000 + conn);
		e->t.raddr[3] = (uint8_t)conn;
		e->seq = *seq;
		e->other_seq = other;
		e->ts_ns = ts;
		feed(p, e, t->size[i]);
	}
	*seq += t->len;
}

static double run_path(const char *name, size_t prompt, int n, int daemon, const char *jdir)
{
	static char content[40000], body[41000], req[42000], resp[4096], rbody[2048];
	struct dg_reasm_config cfg;
	struct dg_legs_config lc;
	struct dg_engine_config ec;
	struct dg_journal_config jc;
	struct path p = { .daemon = daemon };
	struct call_tpl tq, th, tb;
	uint64_t in_seq[PATH_CONNS + 1] = { 0 }, out_seq[PATH_CONNS + 1] = { 0 };
	size_t base;
	int bl, rl, hl, rbl;
	double t0, dt;
	char err[256];

	/* A chat request whose body is `prompt` bytes, answered by a
	 * non-streamed JSON of 64 tokens (headers and body in two writes, as
	 * the demo endpoint does). */
	base = (size_t)snprintf(body, sizeof(body),
				"{\"model\":\"dg-large\",\"stream\":false,\"max_tokens\":64,"
				"\"messages\":[{\"role\":\"system\",\"content\":\"You are a careful "
				"assistant.\"},{\"role\":\"user\",\"content\":\"\"}]}");
	{
		size_t want = prompt > base ? prompt - base : 1, i = 0;
		static const char words[] = "Think step by step about the notes below and explain each "
					    "point with an example. ";

		while (i < want && i < sizeof(content) - 1) {
			content[i] = words[i % (sizeof(words) - 1)];
			i++;
		}
		content[i] = 0;
	}
	bl = snprintf(body, sizeof(body),
		      "{\"model\":\"dg-large\",\"stream\":false,\"max_tokens\":64,"
		      "\"messages\":[{\"role\":\"system\",\"content\":\"You are a careful "
		      "assistant.\"},{\"role\":\"user\",\"content\":\"%s\"}]}", content);
	rl = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		      "Authorization: Bearer sk-bench-0123456789\r\nContent-Type: application/json\r\n"
		      "User-Agent: bench\r\nContent-Length: %d\r\n\r\n%s", bl, body);
	{
		int k = 0;

		k += snprintf(rbody + k, sizeof(rbody) - (size_t)k,
			      "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"dg-large\","
			      "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
			      "\"content\":\"");
		for (int i = 0; i < 64; i++)
			k += snprintf(rbody + k, sizeof(rbody) - (size_t)k, "tok%d ", i);
		k += snprintf(rbody + k, sizeof(rbody) - (size_t)k,
			      "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%d,"
			      "\"completion_tokens\":64,\"total_tokens\":%d}}", bl / 4, bl / 4 + 64);
		rbl = k;
	}
	hl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nServer: bench\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", rbl);
	tpl_make(&tq, DG_DIR_IN, req, (uint32_t)rl, DG_CAP_IN_DEFAULT);
	tpl_make(&th, DG_DIR_OUT, resp, (uint32_t)hl, DG_CHUNK);
	tpl_make(&tb, DG_DIR_OUT, rbody, (uint32_t)rbl, DG_CHUNK);

	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	dg_legs_config_default(&lc);
	p.legs = dg_legs_new(&lc, path_record, &p);
	p.ra = dg_reasm_new(&cfg, path_to_legs, NULL, &p);
	if (daemon) {
		dg_engine_config_default(&ec);
		p.engine = dg_engine_new(&ec, NULL, NULL);
		dg_journal_config_default(&jc);
		snprintf(jc.dir, sizeof(jc.dir), "%s", jdir);
		p.journal = dg_journal_open(&jc, err, sizeof(err));
		if (!p.journal) {
			fprintf(stderr, "bench_reasm: journal: %s\n", err);
			exit(1);
		}
	}
	t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		uint64_t c = (uint64_t)(i % PATH_CONNS) + 1, ts = 1000000000ULL + (uint64_t)i * 1000;

		send_call(&p, &tq, c, &in_seq[c], out_seq[c], ts);
		send_call(&p, &th, c, &out_seq[c], in_seq[c], ts + 1);
		send_call(&p, &tb, c, &out_seq[c], in_seq[c], ts + 2);
	}
	dt = cpu_now() - t0;
	printf("%-40s %7d requests  %6.3f s  %8.0f records/s  %6.1f MB/s of prompts  (%lu records, "
	       "%d samples each)\n", name, n, dt, p.records / dt, p.bytes_prompt / dt / 1e6, p.records,
	       tq.n + th.n + tb.n);
	if (daemon) {
		dg_journal_close(p.journal);
		dg_engine_free(p.engine);
	}
	dg_reasm_free(p.ra);
	dg_legs_free(p.legs);
	tpl_free(&tq);
	tpl_free(&th);
	tpl_free(&tb);
	return p.records / dt;
}

static void rm_dir(const char *dir)
{
	char cmd[320];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench_reasm: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	const char *tmp = getenv("TMPDIR");
	char jdir[256];
	double r[4];

	if (argc > 2 && !strcmp(argv[2], "path")) {   /* the daemon's path alone (perf) */
		run_path("small prompts (500 B bodies)", 500, n, 0, NULL);
		run_path("32 KiB prompts", 32768, n / 8, 0, NULL);
		return 0;
	}
	/* The journal goes under $TMPDIR (scripts/bench.sh: its work directory). */
	snprintf(jdir, sizeof(jdir), "%s/dg-bench-journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(jdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc > 2 && !strcmp(argv[2], "daemon")) {   /* with the daemon's work (perf) */
		run_path("small prompts (500 B bodies)", 500, n, 1, jdir);
		run_path("32 KiB prompts", 32768, n / 8, 1, jdir);
		rm_dir(jdir);
		return 0;
	}
	run("json (non-streamed)", 0, n);
	run("sse (64 events each)", 1, n / 4);
	printf("the daemon's user-space path, one core: ring buffer samples -> decode -> legs -> "
	       "reassembly -> record\n");
	r[0] = run_path("small prompts (500 B bodies)", 500, n, 0, jdir);
	r[1] = run_path("32 KiB prompts", 32768, n / 8, 0, jdir);
	printf("... plus each record's JSON line, the gzip journal and the engine's ingest\n");
	r[2] = run_path("small prompts (500 B bodies)", 500, n, 1, jdir);
	r[3] = run_path("32 KiB prompts", 32768, n / 8, 1, jdir);
	printf("PATH small=%.0f big=%.0f small_daemon=%.0f big_daemon=%.0f\n", r[0], r[1], r[2], r[3]);
	rm_dir(jdir);
	return 0;
}
