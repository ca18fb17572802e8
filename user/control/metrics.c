/* metrics.c — what /metrics says (Prometheus text 0.0.4), built from the
 * daemon's state when scraped: the last scoring pass's views (nothing is
 * scored for a scrape), the totals and histograms kept as records come,
 * every counter of every stage, and the run time of every BPF program.
 * Per-client series only for the `metrics.top_clients` highest scores, so
 * the number of series is bounded whatever the traffic. */
#include "daemon_int.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "promtext.h"
#include "version.h"

static const double duration_le[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
static const double ttfb_le[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
static const double tokens_le[] = { 16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768 };

void dg_daemon_metrics_init(struct dg_daemon *dm)
{
	dg_histo_init(&dm->h_duration, duration_le, (int)(sizeof(duration_le) / sizeof(double)));
	dg_histo_init(&dm->h_ttfb, ttfb_le, (int)(sizeof(ttfb_le) / sizeof(double)));
	dg_histo_init(&dm->h_tokens, tokens_le, (int)(sizeof(tokens_le) / sizeof(double)));
}

void dg_daemon_metrics_record(struct dg_daemon *dm, const struct dg_record *r)
{
	if (r->duration_ms >= 0)
		dg_histo_add(&dm->h_duration, r->duration_ms / 1e3);
	if (r->ttfb_ms >= 0)
		dg_histo_add(&dm->h_ttfb, r->ttfb_ms / 1e3);
	if (r->output_tokens >= 0)
		dg_histo_add(&dm->h_tokens, (double)r->output_tokens);
}

/* ---------- every counter, by stage ---------- */

struct counter_out {
	FILE *out;
};

/* distillguard_<group>_<name>_total, or a gauge for the few that are
 * levels (…_last, …_max). Durations counted in ns or ms are exported in
 * seconds, as Prometheus names them. */
static void one_counter(const char *group, const char *name, uint64_t v, void *arg)
{
	struct counter_out *co = arg;
	char metric[128], help[160], base[96];
	const char *unit;
	double scale = 1;
	size_t n = strlen(name);
	int gauge = (n > 5 && !strcmp(name + n - 5, "_last")) || (n > 4 && !strcmp(name + n - 4, "_max"));

	snprintf(base, sizeof(base), "%s", name);
	if ((unit = strstr(base, "_ns")) && (unit[3] == 0 || unit[3] == '_'))
		scale = 1e-9;
	else if ((unit = strstr(base, "_ms")) && (unit[3] == 0 || unit[3] == '_'))
		scale = 1e-3;
	if (scale != 1) {
		char rest[96];

		snprintf(rest, sizeof(rest), "%s", unit + 3);
		snprintf(base + (unit - base), sizeof(base) - (size_t)(unit - base), "_seconds%s", rest);
	}
	snprintf(metric, sizeof(metric), "distillguard_%s_%s%s", group, base, gauge ? "" : "_total");
	for (char *p = metric; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '_';
	if (!dg_prom_name_ok(metric))
		return;
	snprintf(help, sizeof(help), "The %s counter %s (README: \"Counters\").", group, name);
	dg_prom_family(co->out, metric, gauge ? "gauge" : "counter", help);
	if (scale != 1)
		dg_prom_sample(co->out, metric, (double)v * scale, NULL);
	else
		dg_prom_sample_u64(co->out, metric, v, NULL);
}

/* ---------- BPF programs ---------- */

struct prog_out {
	FILE *out;
	int count;                     /* 0: run time, 1: run count */
};

static void one_prog(const char *name, uint64_t run_ns, uint64_t runs, void *arg)
{
	struct prog_out *po = arg;

	if (po->count)
		dg_prom_sample_u64(po->out, "distillguard_bpf_run_count_total", runs, "program", name,
				   NULL);
	else
		dg_prom_sample(po->out, "distillguard_bpf_run_time_seconds_total", (double)run_ns / 1e9,
			       "program", name, NULL);
}

static void programs(struct dg_daemon *dm, FILE *out, int count)
{
	struct prog_out po = { out, count };

	if (dm->obs.probes)
		dg_probes_programs(dm->obs.probes, one_prog, &po);
	if (dm->enf)
		dg_enforcer_programs(dm->enf, one_prog, &po);
}

/* ---------- decisions ---------- */

static void count_verb(const struct dg_decision *d, void *arg)
{
	uint64_t *n = arg;

	if ((int)d->verb >= 0 && d->verb <= DG_DO_UNBLOCK)
		n[d->verb]++;
}

static void decisions(struct dg_daemon *dm, FILE *out)
{
	const struct dg_policy *p = dg_engine_policy(dm->engine);
	const struct dg_policy_stats *ps = dg_policy_stats(p);
	uint64_t n[DG_DO_UNBLOCK + 1] = { 0 };
	static const enum dg_verb verbs[] = { DG_DO_RATELIMIT, DG_DO_BLOCK, DG_DO_ALLOW, DG_DO_UNBLOCK };

	dg_policy_each_in_force(p, dg_daemon_wall(), count_verb, n);
	dg_prom_family(out, "distillguard_decisions_in_force", "gauge",
		       "Decisions in force now, by action.");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		dg_prom_sample_u64(out, "distillguard_decisions_in_force", n[verbs[i]], "action",
				   dg_verb_name(verbs[i]), NULL);
	dg_prom_family(out, "distillguard_decisions_total", "counter",
		       "Decisions made, by who made them.");
	dg_prom_sample_u64(out, "distillguard_decisions_total", ps->decisions - ps->by_operator,
			   "by", "policy", NULL);
	dg_prom_sample_u64(out, "distillguard_decisions_total", ps->by_operator, "by", "operator",
			   NULL);
}

/* ---------- enforcement ---------- */

struct enf_sum {
	uint64_t drop, syn, cut, paced, req_cut;
};

static void enf_counter(const char *name, uint64_t v, void *arg)
{
	struct enf_sum *s = arg;

	if (!strcmp(name, "dropped_blocked"))
		s->drop = v;
	else if (!strcmp(name, "dropped_syn_budget"))
		s->syn = v;
	else if (!strcmp(name, "conns_cut"))
		s->cut = v;
	else if (!strcmp(name, "conns_paced") || !strcmp(name, "conns_paced_at_open"))
		s->paced += v;
	else if (!strcmp(name, "requests_cut_at_head") || !strcmp(name, "requests_cut_over_budget"))
		s->req_cut += v;
}

static void enforcement(struct dg_daemon *dm, FILE *out)
{
	struct enf_sum s = { 0 };
	const char *m = "distillguard_enforcement_actions_total";

	if (dm->enf)
		dg_enforcer_counters(dm->enf, enf_counter, &s);
	dg_prom_family(out, m, "counter", "What enforcement did: packets dropped, new connections "
		       "refused, connections cut and paced, requests whose connection was cut.");
	dg_prom_sample_u64(out, m, s.drop, "action", "drop_packet", NULL);
	dg_prom_sample_u64(out, m, s.syn, "action", "refuse_connection", NULL);
	dg_prom_sample_u64(out, m, s.cut, "action", "cut_connection", NULL);
	dg_prom_sample_u64(out, m, s.paced, "action", "pace_connection", NULL);
	dg_prom_sample_u64(out, m, s.req_cut, "action", "cut_request", NULL);
}

/* ---------- loss ---------- */

static void losses(struct dg_daemon *dm, FILE *out)
{
	uint64_t c[DG_C__MAX];
	const struct dg_reasm_stats *rs = dg_reasm_stats(dm->obs.reasm);
	const char *m = "distillguard_events_lost_total";

	memset(c, 0, sizeof(c));
	if (dm->obs.probes)
		dg_probes_counters(dm->obs.probes, c);
	dg_prom_family(out, m, "counter", "Events the kernel could not hand to user space, or "
		       "calls it could not capture, by reason.");
	dg_prom_sample_u64(out, m, c[DG_C_RB_FULL], "reason", "ringbuf_full", NULL);
	dg_prom_sample_u64(out, m, c[DG_C_MAP_FULL], "reason", "map_full", NULL);
	dg_prom_sample_u64(out, m, c[DG_C_READ_FAIL], "reason", "read_failed", NULL);
	dg_prom_sample_u64(out, m, c[DG_C_TLS_UNTIED], "reason", "tls_untied", NULL);
	dg_prom_sample_u64(out, m, c[DG_C_NO_SEQ], "reason", "no_seq", NULL);
	dg_prom_family(out, "distillguard_stream_bytes_lost_total", "counter",
		       "Bytes of watched streams that were not captured (gaps).");
	dg_prom_sample_u64(out, "distillguard_stream_bytes_lost_total", rs ? rs->gap_bytes : 0, NULL);
}

/* ---------- clients ---------- */

static void clients(struct dg_daemon *dm, FILE *out)
{
	const struct dg_client_view *v;
	size_t n = dg_engine_views(dm->engine, &v), top = dm->cfg.metrics_top;
	uint64_t acted[DG_ACT_BLOCK + 1] = { 0 };

	for (size_t i = 0; i < n; i++)
		if ((int)v[i].action >= 0 && v[i].action <= DG_ACT_BLOCK)
			acted[v[i].action]++;
	dg_prom_family(out, "distillguard_clients", "gauge",
		       "Clients in the table at the last scoring pass, by the action in force.");
	for (int a = DG_ACT_NONE; a <= DG_ACT_BLOCK; a++)
		dg_prom_sample_u64(out, "distillguard_clients", acted[a], "action",
				   dg_action_name((enum dg_action)a), NULL);
	if (top > n)
		top = n;
	dg_prom_family(out, "distillguard_client_score", "gauge",
		       "Score (0-100) of the clients with the highest scores (metrics.top_clients).");
	for (size_t i = 0; i < top; i++)
		dg_prom_sample(out, "distillguard_client_score", v[i].s.score, "client", v[i].name,
			       "action", dg_action_name(v[i].action), NULL);
	dg_prom_family(out, "distillguard_client_requests_per_minute", "gauge",
		       "Requests in the last minute of the same clients.");
	for (size_t i = 0; i < top; i++)
		dg_prom_sample(out, "distillguard_client_requests_per_minute", v[i].f.rate_1m,
			       "client", v[i].name, NULL);
	dg_prom_family(out, "distillguard_client_output_tokens_per_minute", "gauge",
		       "Output tokens in the last minute of the same clients.");
	for (size_t i = 0; i < top; i++)
		dg_prom_sample(out, "distillguard_client_output_tokens_per_minute", v[i].f.tok_rate_1m,
			       "client", v[i].name, NULL);
}

/* ---------- all of it ---------- */

int dg_daemon_metrics(FILE *out, void *arg)
{
	struct dg_daemon *dm = arg;
	const struct dg_engine_stats *es = dg_engine_stats(dm->engine);
	struct counter_out co = { out };

	dg_prom_family(out, "distillguard_build_info", "gauge", "The running version.");
	dg_prom_sample(out, "distillguard_build_info", 1, "version", DG_VERSION, NULL);
	dg_prom_family(out, "distillguard_enforcing", "gauge",
		       "1 when decisions are applied (enforce mode), 0 when only shown.");
	dg_prom_sample(out, "distillguard_enforcing", dm->enf ? 1 : 0, NULL);
	dg_prom_family(out, "distillguard_uptime_seconds", "gauge", "Since the daemon started.");
	dg_prom_sample(out, "distillguard_uptime_seconds", dg_daemon_mono() - dm->started_mono, NULL);
	dg_prom_family(out, "distillguard_requests_total", "counter",
		       "Inference requests observed (request records).");
	dg_prom_sample_u64(out, "distillguard_requests_total", dm->records, NULL);
	dg_prom_family(out, "distillguard_output_tokens_total", "counter",
		       "Output tokens of the requests observed.");
	dg_prom_sample_u64(out, "distillguard_output_tokens_total", dm->output_tokens, NULL);
	dg_prom_histo(out, "distillguard_request_duration_seconds",
		      "From a request's first byte to its answer's last.", &dm->h_duration);
	dg_prom_histo(out, "distillguard_time_to_first_byte_seconds",
		      "From a request's first byte to its answer's first.", &dm->h_ttfb);
	dg_prom_histo(out, "distillguard_output_tokens", "Output tokens per request.", &dm->h_tokens);
	dg_prom_family(out, "distillguard_connections", "gauge", "Connections followed now.");
	dg_prom_sample_u64(out, "distillguard_connections", dg_reasm_conns(dm->obs.reasm), NULL);
	clients(dm, out);
	decisions(dm, out);
	enforcement(dm, out);
	losses(dm, out);
	dg_prom_family(out, "distillguard_bpf_run_time_seconds_total", "counter",
		       "Time the kernel spent in each of our BPF programs (bpf_stats).");
	programs(dm, out, 0);
	dg_prom_family(out, "distillguard_bpf_run_count_total", "counter",
		       "Runs of each of our BPF programs.");
	programs(dm, out, 1);
	dg_prom_family(out, "distillguard_scoring_passes_total", "counter", "Scoring passes run.");
	dg_prom_sample_u64(out, "distillguard_scoring_passes_total", es->ticks, NULL);
	dg_prom_family(out, "distillguard_scoring_pass_seconds", "gauge",
		       "How long the last scoring pass took.");
	dg_prom_sample(out, "distillguard_scoring_pass_seconds", es->tick_seconds, NULL);
	dg_prom_family(out, "distillguard_memory_rss_bytes", "gauge", "Resident memory of the daemon.");
	dg_prom_sample_u64(out, "distillguard_memory_rss_bytes", dg_daemon_rss(), NULL);
	dg_observer_counters(&dm->obs, one_counter, &co);
	dg_daemon_own_counters(dm, one_counter, &co);
	return ferror(out) ? -1 : 0;
}
