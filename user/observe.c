/* observe.c — wire probes, decode and reassembly together. */
#include "observe.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "decode.h"
#include "keyhash.h"

uint64_t dg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double mono_to_real(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((double)r.tv_sec + r.tv_nsec / 1e9) - ((double)m.tv_sec + m.tv_nsec / 1e9);
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct dg_observer *o = ctx;
	struct dg_decoded d;

	switch (dg_decode(data, size, &d)) {
	case DG_DEC_DATA:
		dg_reasm_chunk(o->reasm, &d.chunk);
		break;
	case DG_DEC_OPEN:
		dg_reasm_open(o->reasm, &d.conn);
		break;
	case DG_DEC_CLOSE:
		dg_reasm_close(o->reasm, &d.conn);
		break;
	case DG_DEC_HELLO:
		dg_reasm_hello(o->reasm, d.hello);
		break;
	default:
		o->bad_samples++;
		break;
	}
	return 0;
}

int dg_observer_open(struct dg_observer *o, const struct dg_config *cfg,
		     dg_record_fn on_record, dg_conn_fn on_conn, void *arg,
		     char *err, size_t errlen)
{
	struct dg_reasm_config rc;

	memset(o, 0, sizeof(*o));
	if (dg_secret_load(cfg->secret_file, o->secret, err, errlen))
		return -1;
	dg_reasm_config_default(&rc);
	rc.secret = o->secret;
	rc.mono_to_real = mono_to_real();
	rc.max_conns = cfg->max_conns;
	rc.idle_timeout = cfg->idle_timeout;
	memcpy(rc.proxies, cfg->proxies, sizeof(rc.proxies));
	rc.n_proxies = cfg->n_proxies;
	o->reasm = dg_reasm_new(&rc, on_record, on_conn, arg);
	if (!o->reasm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->probes = dg_probes_open(cfg, on_sample, o, err, errlen);
	if (!o->probes) {
		dg_reasm_free(o->reasm);
		o->reasm = NULL;
		return -1;
	}
	o->last_sweep_ns = o->last_rescan_ns = dg_mono_ns();
	return 0;
}

int dg_observer_step(struct dg_observer *o, int timeout_ms)
{
	int n = dg_probes_poll(o->probes, timeout_ms);
	uint64_t now = dg_mono_ns();

	if (now - o->last_sweep_ns > 100000000ULL) {
		dg_reasm_sweep(o->reasm, now);
		o->last_sweep_ns = now;
	}
	if (now - o->last_rescan_ns > 5000000000ULL) {
		dg_probes_rescan(o->probes);
		o->last_rescan_ns = now;
	}
	return n;
}

void dg_observer_close(struct dg_observer *o)
{
	if (o->probes) {
		/* Drain what is already in the ring buffers. */
		while (dg_probes_poll(o->probes, 0) > 0)
			;
	}
	if (o->reasm)
		dg_reasm_flush(o->reasm);
	dg_probes_close(o->probes);
	dg_reasm_free(o->reasm);
	o->probes = NULL;
	o->reasm = NULL;
	sodium_memzero(o->secret, sizeof(o->secret));
}

static void count_live(uint64_t conn, const struct dg_conn_stats *st, void *arg)
{
	(void)conn;
	(void)st;
	(*(uint64_t *)arg)++;
}

void dg_observer_print_stats(struct dg_observer *o, FILE *out)
{
	uint64_t live = 0;

	uint64_t c[DG_C__MAX], ns = 0, runs = 0;
	const struct dg_reasm_stats *s = dg_reasm_stats(o->reasm);

	dg_probes_counters(o->probes, c);
	dg_probes_runtime(o->probes, &ns, &runs);
	fprintf(out, "kernel:");
	for (int i = 0; i < DG_C__MAX; i++)
		fprintf(out, " %s=%" PRIu64, dg_counter_name(i), c[i]);
	dg_probes_conns(o->probes, count_live, &live);
	fprintf(out, " bpf_run_ns=%" PRIu64 " bpf_runs=%" PRIu64 " conns_live=%" PRIu64 "\n",
		ns, runs, live);
	fprintf(out, "reassembly: records=%" PRIu64 " partial=%" PRIu64 " parse_errors=%" PRIu64
		" gaps=%" PRIu64 " gaps_framing_lost=%" PRIu64 " resync_dropped=%" PRIu64
		" conns=%" PRIu64 " evicted=%" PRIu64 " idle=%" PRIu64 " pending_full=%" PRIu64
		" orphan_responses=%" PRIu64 " client_side=%" PRIu64 " header_truncated=%" PRIu64
		" mixed_dropped=%" PRIu64 " ja4=%" PRIu64 " ja4_failed=%" PRIu64
		" bad_samples=%" PRIu64 "\n",
		s->records, s->records_partial, s->parse_errors, s->gaps, s->gaps_framing_lost,
		s->resync_dropped, s->conns, s->conns_evicted, s->conns_idle, s->pending_full,
		s->orphan_responses, s->client_side, s->header_truncated, s->mixed_dropped, s->ja4,
		s->ja4_failed,
		o->bad_samples);
}
