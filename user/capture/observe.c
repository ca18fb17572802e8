/* observe.c — wire probes, decode and reassembly together. */
#include "observe.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "decode.h"
#include "keyhash.h"
#include "uprobes.h"

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

	o->ring_samples++;
	o->ring_bytes += size;
	switch (dg_decode(data, size, &d)) {
	case DG_DEC_DATA:
		dg_legs_server(o->legs, d.chunk.pid);
		dg_reasm_chunk(o->reasm, &d.chunk);
		break;
	case DG_DEC_CONNECT:
		dg_legs_connect(o->legs, &d.conn);
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

static void to_legs(const struct dg_record *r, void *arg)
{
	struct dg_observer *o = arg;

	dg_legs_record(o->legs, r, (double)dg_mono_ns() / 1e9);
}

static void to_conn(const struct dg_conn_summary *s, void *arg)
{
	struct dg_observer *o = arg;

	if (o->on_conn)
		o->on_conn(s, o->arg);
}

/* The proxy-leg stage learns which servers listen where: records read from
 * packets name no process. */
static void tell_listeners(struct dg_observer *o)
{
	static uint32_t pids[DG_LEGS_PIDS];
	static uint16_t ports[DG_LEGS_PIDS];
	int n = dg_probes_listeners(o->probes, pids, ports, DG_LEGS_PIDS);

	dg_legs_listeners(o->legs, pids, ports, (size_t)n);
}

int dg_observer_open(struct dg_observer *o, const struct dg_config *cfg,
		     dg_record_fn on_record, dg_conn_fn on_conn, void *arg,
		     char *err, size_t errlen)
{
	struct dg_reasm_config rc;
	struct dg_legs_config lc;

	memset(o, 0, sizeof(*o));
	o->on_record = on_record;
	o->on_conn = on_conn;
	o->arg = arg;
	if (dg_secret_load(cfg->secret_file, o->secret, err, errlen))
		return -1;
	dg_reasm_config_default(&rc);
	rc.secret = o->secret;
	rc.mono_to_real = mono_to_real();
	rc.max_conns = cfg->max_conns;
	rc.idle_timeout = cfg->idle_timeout;
	rc.max_body = cfg->max_body;
	memcpy(rc.proxies, cfg->proxies, sizeof(rc.proxies));
	rc.n_proxies = cfg->n_proxies;
	memcpy(rc.front_ports, cfg->front_ports, sizeof(rc.front_ports));
	rc.n_front_ports = cfg->n_front_ports;
	snprintf(rc.client_port_header, sizeof(rc.client_port_header), "%s",
		 cfg->client_port_header);
	dg_legs_config_default(&lc);
	o->legs = dg_legs_new(&lc, on_record, arg);
	o->reasm = dg_reasm_new(&rc, to_legs, to_conn, o);
	if (!o->reasm || !o->legs) {
		snprintf(err, errlen, "out of memory");
		dg_reasm_free(o->reasm);
		dg_legs_free(o->legs);
		o->reasm = NULL;
		o->legs = NULL;
		return -1;
	}
	o->probes = dg_probes_open(cfg, on_sample, o, err, errlen);
	if (!o->probes) {
		dg_reasm_free(o->reasm);
		dg_legs_free(o->legs);
		o->reasm = NULL;
		o->legs = NULL;
		return -1;
	}
	o->last_sweep_ns = o->last_rescan_ns = dg_mono_ns();
	tell_listeners(o);
	return 0;
}

void dg_observer_on_head(struct dg_observer *o, dg_head_fn fn, void *arg)
{
	dg_reasm_on_head(o->reasm, fn, arg);
}

int dg_observer_step(struct dg_observer *o, int timeout_ms)
{
	int n = dg_probes_poll(o->probes, timeout_ms);
	uint64_t now = dg_mono_ns();

	if (now - o->last_sweep_ns > 100000000ULL) {
		dg_reasm_sweep(o->reasm, now);
		dg_legs_tick(o->legs, (double)now / 1e9);
		dg_probes_check_bio(o->probes);
		o->last_sweep_ns = now;
	}
	if (now - o->last_rescan_ns > 5000000000ULL) {
		dg_probes_rescan(o->probes);
		tell_listeners(o);
		o->last_rescan_ns = now;
	}
	return n;
}

void dg_observer_drain(struct dg_observer *o)
{
	if (o->probes) {
		while (dg_probes_poll(o->probes, 0) > 0)
			;
	}
	if (o->reasm)
		dg_reasm_flush(o->reasm);
	if (o->legs)
		dg_legs_flush(o->legs);
}

void dg_observer_close(struct dg_observer *o)
{
	dg_observer_drain(o);
	dg_probes_close(o->probes);
	dg_reasm_free(o->reasm);
	dg_legs_free(o->legs);
	o->probes = NULL;
	o->reasm = NULL;
	o->legs = NULL;
	sodium_memzero(o->secret, sizeof(o->secret));
}

static void count_live(uint64_t conn, const struct dg_conn_stats *st, void *arg)
{
	(void)conn;
	(void)st;
	(*(uint64_t *)arg)++;
}

/* The reassembly counters, by name: one table for every place that prints
 * them. */
#define RS(f) { #f, offsetof(struct dg_reasm_stats, f) }
static const struct {
	const char *name;
	size_t off;
} reasm_counters[] = {
	RS(records), { "partial", offsetof(struct dg_reasm_stats, records_partial) },
	RS(parse_errors), RS(gaps), RS(gap_bytes), RS(skipped_bytes), RS(gaps_framing_lost), RS(overlap_dropped),
	RS(seq_resets), RS(resync_dropped), RS(conns),
	{ "evicted", offsetof(struct dg_reasm_stats, conns_evicted) },
	{ "idle", offsetof(struct dg_reasm_stats, conns_idle) },
	RS(pending_full), RS(orphan_responses), RS(header_truncated), RS(mixed_dropped),
	RS(ja4), RS(ja4_failed), RS(h2_conns), RS(h2_lost), RS(h2_streams_full),
	RS(h2_headers_cut),
	RS(front_tied),
	RS(front_untied),
};
#undef RS

#define LS(f) { #f, offsetof(struct dg_legs_stats, f) }
static const struct {
	const char *name;
	size_t off;
} legs_counters[] = {
	LS(connects), LS(linked), LS(outer_alone), LS(inner_alone), LS(held_full),
};
#undef LS

void dg_observer_counters(struct dg_observer *o, dg_counter_fn fn, void *arg)
{
	uint64_t live = 0, c[DG_C__MAX], ns = 0, runs = 0;
	const struct dg_reasm_stats *s = dg_reasm_stats(o->reasm);
	const struct dg_legs_stats *l = dg_legs_stats(o->legs);

	dg_probes_counters(o->probes, c);
	dg_probes_runtime(o->probes, &ns, &runs);
	dg_probes_conns(o->probes, count_live, &live);
	for (int i = 0; i < DG_C__MAX; i++)
		fn("kernel", dg_counter_name(i), c[i], arg);
	fn("kernel", "bpf_run_ns", ns, arg);
	fn("kernel", "bpf_runs", runs, arg);
	fn("kernel", "conns_live", live, arg);
	{
		const struct dg_probes_stats *ps = dg_probes_stats(o->probes);

		fn("probes", "servers_probed", ps->attached - ps->detached, arg);
		fn("probes", "attached", ps->attached, arg);
		fn("probes", "detached", ps->detached, arg);
		fn("probes", "attach_failed", ps->attach_failed, arg);
		fn("probes", "watched_full", ps->watched_full, arg);
		fn("probes", "servers_over", ps->servers_over, arg);
		fn("probes", "layout_known", ps->layout_known, arg);
		fn("probes", "layout_unknown", ps->layout_unknown, arg);
		fn("probes", "libc_probed", ps->libc_probed, arg);
		fn("probes", "libc_failed", ps->libc_failed, arg);
		fn("probes", "libc_dropped", ps->libc_dropped, arg);
		fn("probes", "syscall_hooks", (uint64_t)dg_probes_syscall_hooks(o->probes), arg);
		fn("probes", "uprobe_links", (uint64_t)dg_probes_uprobe_links(o->probes), arg);
		fn("probes", "uprobe_multi", (uint64_t)dg_uprobe_multi(), arg);
		fn("probes", "cgroups", ps->cgroups, arg);
		fn("probes", "cgroups_over", ps->cgroups_over, arg);
		fn("probes", "cgroup_failed", ps->cgroup_failed, arg);
	}
	for (size_t i = 0; i < sizeof(reasm_counters) / sizeof(reasm_counters[0]); i++)
		fn("reassembly", reasm_counters[i].name,
		   *(const uint64_t *)((const char *)s + reasm_counters[i].off), arg);
	fn("reassembly", "bad_samples", o->bad_samples, arg);
	fn("reassembly", "ring_samples", o->ring_samples, arg);
	fn("reassembly", "ring_bytes", o->ring_bytes, arg);
	for (size_t i = 0; i < sizeof(legs_counters) / sizeof(legs_counters[0]); i++)
		fn("legs", legs_counters[i].name,
		   *(const uint64_t *)((const char *)l + legs_counters[i].off), arg);
}

struct line_printer {
	FILE *out;
	const char *group;
};

static void print_counter(const char *group, const char *name, uint64_t v, void *arg)
{
	struct line_printer *lp = arg;

	if (!lp->group || strcmp(lp->group, group)) {
		fprintf(lp->out, "%s%s:", lp->group ? "\n" : "", group);
		lp->group = group;
	}
	fprintf(lp->out, " %s=%" PRIu64, name, v);
}

void dg_observer_print_stats(struct dg_observer *o, FILE *out)
{
	struct line_printer lp = { out, NULL };

	dg_observer_counters(o, print_counter, &lp);
	fputc('\n', out);
}
