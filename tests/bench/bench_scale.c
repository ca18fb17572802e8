/* bench_scale.c — what many clients and many connections cost user space:
 *   - a scoring pass (dg_engine_tick) over N clients (default 100,000),
 *     each with a record of realistic-ish fields: a few prompt templates,
 *     models and TLS stacks, addresses shared by several keys, some
 *     clients without a key (named by address); the pass when every
 *     client has a new record (the worst case), and the steady state: a
 *     minute of 5 s ticks with new records from 5% of the clients before
 *     each;
 *   - memory per idle client in the engine (RSS delta / clients);
 *   - memory per idle connection in the reassembler (dg_reasm_open and one
 *     whole request awaiting its answer, per connection), at the default
 *     bound (max_conns 16,384) and at the kernel's (DG_MAX_CONNS), and
 *     what happens past the bound (connections evicted).
 * Prints numbers; asserts nothing. Lines starting with SCALE are for
 * scripts/bench.sh. `bench_scale N score` runs the scoring part alone
 * (for perf record). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "engine.h"
#include "reassemble.h"

static const uint8_t secret[16] = "bench-secret-key";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (double)res * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

/* Heap bytes in use (malloc'd, mmap'd blocks included). */
static double heap_mib(void)
{
	struct mallinfo2 m = mallinfo2();

	return (double)(m.uordblks + m.hblkhd) / 1048576.0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb93ca63fe49bULL;
	x ^= x >> 33;
	return x;
}

static unsigned long decisions;

static void on_decision(const struct dg_decision *d, void *arg)
{
	(void)d;
	(void)arg;
	decisions++;
}

/* Client i's record at time ts: 90% carry a key (4 keys per address on
 * average, 5 templates, 3 models, 4 TLS stacks), 10% none (ip:). */
static void fill(struct dg_record *r, long i, long n, double ts)
{
	static const char *models[] = { "dg-large", "dg-small", "gpt-4o-mini" };
	static const char *ja4s[] = { "t13d1516h2_8daaf6152771_02713d6af862",
				      "t13d1715h2_5b57614c22b0_3d5424432f57",
				      "t13d311200_e8f1e7e78f70_1f22a2ca17c4",
				      "t13d1812h1_85036bcba153_b26ce05bbdd6" };
	long keyed = n - n / 10;
	int tpl = (int)(mix((uint64_t)i) % 5);

	dg_record_init(r);
	r->ts = ts;
	r->conn = (uint64_t)i + 1;
	if (i < keyed) {
		snprintf(r->key, sizeof(r->key), "%012llx",
			 (unsigned long long)(mix((uint64_t)i + 77) & 0xffffffffffffULL));
		snprintf(r->client, sizeof(r->client), "key:%s", r->key);
		snprintf(r->ip, sizeof(r->ip), "10.%ld.%ld.%ld", (i / 4) >> 16 & 255, (i / 4) >> 8 & 255,
			 (i / 4) & 255);
	} else {
		long j = i - keyed;

		snprintf(r->ip, sizeof(r->ip), "172.16.%ld.%ld", j >> 8 & 255, j & 255);
		snprintf(r->client, sizeof(r->client), "ip:%s", r->ip);
	}
	snprintf(r->ja4, sizeof(r->ja4), "%s", ja4s[mix((uint64_t)i + 5) % 4]);
	snprintf(r->method, sizeof(r->method), "POST");
	snprintf(r->path, sizeof(r->path), "/v1/chat/completions");
	r->status = 200;
	snprintf(r->model, sizeof(r->model), "%s", models[mix((uint64_t)i + 9) % 3]);
	r->stream = (int)(rnd() & 1);
	r->messages = 2 + (int)(rnd() % 5);
	r->prompt_bytes = 200 + (int64_t)(rnd() % 4000);
	r->req_bytes = r->prompt_bytes + 150;
	r->has_system_fp = 1;
	r->system_fp = mix(1000 + (uint64_t)tpl);
	r->has_prompt_fp = 1;
	r->prompt_fp = rnd();
	r->prompt_simhash = mix(2000 + (uint64_t)tpl) ^ (1ULL << (rnd() % 64)) ^ (1ULL << (rnd() % 64));
	r->max_tokens = (int64_t[]){ 256, 1024, 4096 }[rnd() % 3];
	r->n = 1;
	r->has_temperature = 1;
	r->temperature = 0.7;
	r->logprobs = 0;
	r->logit_bias = 0;
	r->reasoning_param = 0;
	r->cot_prompt = rnd() % 20 == 0;
	r->output_tokens = 20 + (int64_t)(rnd() % 1000);
	r->output_bytes = r->output_tokens * 5;
	r->ttfb_ms = 50 + (double)(rnd() % 200);
	r->duration_ms = r->ttfb_ms + (double)r->output_tokens * 8;
	r->tls = 1;
	r->port = 443;
}

/* A record from every step-th client from first on, spread over the 4 s
 * after ts. */
static void feed(struct dg_engine *e, long n, long first, long step, double ts)
{
	struct dg_record r;

	for (long i = first; i < n; i += step) {
		fill(&r, i, n, ts + 4.0 * (double)i / (double)n);
		dg_engine_record(e, &r);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The steady state: 1 client in STEADY_EVERY with new records at each of
 * STEADY_TICKS passes. */
#define STEADY_EVERY 20
#define STEADY_TICKS 12

static void scoring(long n)
{
	struct dg_engine_config cfg;
	struct dg_engine *e;
	double t0 = 1800000000.0, rss0, rss1, h0, h1, ms[3], w;   /* a multiple of the 5 s tick */
	double steady[STEADY_TICKS];
	size_t nv;
	const struct dg_client_view *v;

	dg_engine_config_default(&cfg);
	if ((size_t)n > cfg.max_clients)
		cfg.max_clients = (size_t)n;   /* the default bound is 65,536 */
	rss0 = rss_mib();
	h0 = heap_mib();
	e = dg_engine_new(&cfg, on_decision, NULL);
	w = now();
	feed(e, n, 0, 1, t0 + 0.5);
	w = now() - w;
	rss1 = rss_mib();
	h1 = heap_mib();
	printf("engine: %ld clients, one record each: %.0f records/s ingested; RSS +%.1f MiB = %.0f "
	       "bytes per idle client (heap +%.1f MiB); table bound max_clients %zu (default 65,536)\n",
	       n, (double)n / w, rss1 - rss0, (rss1 - rss0) * 1048576.0 / (double)n, h1 - h0,
	       cfg.max_clients);
	/* Pass 1: every client new; pass 2: the same clients, no new record;
	 * pass 3: after a second record from every client (the worst case:
	 * every client changed since the last pass). */
	w = now();
	dg_engine_tick(e, t0 + 5);
	ms[0] = (now() - w) * 1e3;
	w = now();
	dg_engine_tick(e, t0 + 10);
	ms[1] = (now() - w) * 1e3;
	feed(e, n, 0, 1, t0 + 10.5);
	w = now();
	dg_engine_tick(e, t0 + 15);
	ms[2] = (now() - w) * 1e3;
	nv = dg_engine_views(e, &v);
	printf("scoring pass over %zu clients: %.0f ms (first), %.0f ms (idle), %.0f ms (after a second "
	       "record each); RSS after the passes +%.1f MiB = %.0f bytes per client; %lu decisions\n",
	       nv, ms[0], ms[1], ms[2], rss_mib() - rss0, (rss_mib() - rss0) * 1048576.0 / (double)n,
	       decisions);
	/* Steady state: a minute of 5 s ticks (one crosses the minute's
	 * edge, where every client's windows move on), before each a new
	 * record from a different 1 in STEADY_EVERY of the clients. */
	for (int k = 0; k < STEADY_TICKS; k++) {
		double at = t0 + 20 + 5.0 * k;

		feed(e, n, k % STEADY_EVERY, STEADY_EVERY, at - 4.5);
		w = now();
		dg_engine_tick(e, at);
		steady[k] = (now() - w) * 1e3;
	}
	qsort(steady, STEADY_TICKS, sizeof(steady[0]), cmp_double);
	printf("scoring pass over %zu clients, %.0f%% of them with new records since the last pass: "
	       "%.0f ms (median of %d passes, a minute of ticks), %.0f ms (slowest: the minute's edge)\n",
	       nv, 100.0 / STEADY_EVERY, steady[STEADY_TICKS / 2], STEADY_TICKS,
	       steady[STEADY_TICKS - 1]);
	fflush(stdout);
	{
		double a = ms[0], b = ms[1], c = ms[2], med = a > b ? (b > c ? b : (a > c ? c : a))
							      : (a > c ? a : (b > c ? c : b));

		printf("SCALE pass_ms=%.1f pass_all_ms=%.1f pass_steady_ms=%.1f pass_steady_max_ms=%.1f "
		       "steady_pct=%.0f clients=%zu client_bytes=%.0f\n", med, ms[2],
		       steady[STEADY_TICKS / 2], steady[STEADY_TICKS - 1], 100.0 / STEADY_EVERY, nv,
		       (rss1 - rss0) * 1048576.0 / (double)n);
	}
	dg_engine_free(e);
}

static void record_cb(const struct dg_record *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* n connections opened, each with one whole request awaiting its answer. */
static void conns(size_t max_conns, size_t n, int print_scale)
{
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	const struct dg_reasm_stats *st;
	char req[1024], body[512];
	int rl;
	double rss0, rss1, h0, h1, per;

	snprintf(body, sizeof(body),
		 "{\"model\":\"dg-large\",\"stream\":true,\"max_tokens\":1024,\"messages\":[{\"role\":"
		 "\"user\",\"content\":\"Summarise the attached notes in three bullet points.\"}]}");
	rl = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\n"
		      "Authorization: Bearer sk-bench-0123456789\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	cfg.max_conns = max_conns;
	rss0 = rss_mib();
	h0 = heap_mib();
	ra = dg_reasm_new(&cfg, record_cb, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		struct dg_conn_event ev;
		struct dg_chunk c;
		uint32_t a = htonl(0x0a000000u + (uint32_t)i);

		memset(&ev, 0, sizeof(ev));
		ev.type = DG_EV_OPEN;
		ev.ts_ns = 1000000000ULL + i;
		ev.conn = 1000 + i;
		ev.t.family = AF_INET;
		ev.t.lport = 443;
		ev.t.rport = (uint16_t)(1024 + i % 60000);
		memcpy(ev.t.raddr, &a, 4);
		ev.t.laddr[0] = 127;
		ev.t.laddr[3] = 1;
		dg_reasm_open(ra, &ev);
		c = dg_chunk_call(ev.conn, DG_DIR_IN, req, (size_t)rl);
		c.src = DG_SRC_TLS;
		c.tied = 1;
		c.t = ev.t;
		c.ts_ns = ev.ts_ns + 1;
		dg_reasm_chunk(ra, &c);
	}
	rss1 = rss_mib();
	h1 = heap_mib();
	st = dg_reasm_stats(ra);
	per = (rss1 - rss0) * 1048576.0 / (double)dg_reasm_conns(ra);
	printf("reassembler: max_conns %zu, %zu connections opened (each with a request awaiting "
	       "its answer): %zu tracked, %llu evicted; RSS +%.1f MiB = %.0f bytes per connection "
	       "(heap +%.1f MiB)\n",
	       max_conns, n, dg_reasm_conns(ra), (unsigned long long)st->conns_evicted, rss1 - rss0,
	       per, h1 - h0);
	if (print_scale)
		printf("SCALE conn_bytes=%.0f conns_mib=%.1f max_conns=%zu\n", per, rss1 - rss0, max_conns);
	fflush(stdout);
	dg_reasm_free(ra);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;

	if (argc > 2 && !strcmp(argv[2], "score")) {   /* the scoring pass alone (perf) */
		scoring(n);
		return 0;
	}

	/* Each measurement in a fresh process, so RSS deltas are its own. */
	for (int k = 0; k < 4; k++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (k == 0)
				scoring(n);
			else if (k == 1)
				conns(16384, 16384, 1);
			else if (k == 2)
				conns(16384, 16384 + 1000, 0);
			else
				conns(DG_MAX_CONNS, DG_MAX_CONNS, 0);
			fflush(stdout);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return 0;
}
