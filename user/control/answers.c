/* answers.c — the daemon's answers to control requests: the last scoring
 * pass's views (clients, client), its state (status), the decisions, and
 * operators' commands. Reading changes nothing: the views are the last
 * pass's, whatever is asked. */
#include "daemon_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "decision_json.h"
#include "jsonw.h"
#include "probes.h"

/* A generator whose output goes to out when it is done. */
static yajl_gen gen_open(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g)
		yajl_gen_config(g, yajl_gen_beautify, 0);
	return g;
}

static void gen_close(yajl_gen g, FILE *out)
{
	const unsigned char *buf;
	size_t len;

	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, out);
	fputc('\n', out);
	yajl_gen_free(g);
}

/* ---------- clients ---------- */

/* What is applied to a client: an object, or null when nothing is (or in
 * observe mode). */
static void gen_enforcement(yajl_gen g, const struct dg_client_view *v, void *arg)
{
	struct dg_daemon *dm = arg;
	const struct dg_decision *d;
	struct dg_applied ap;

	/* The decision in force, whoever made it: an operator's allow shows
	 * here (its action is "none"). */
	dg_jw_key(g, "decision");
	d = dg_policy_in_force(dg_engine_policy(dm->engine), v->name, dg_daemon_wall());
	if (!d) {
		yajl_gen_null(g);
	} else {
		yajl_gen_map_open(g);
		dg_jw_str(g, "verb", dg_verb_name(d->verb));
		dg_jw_str(g, "by", d->by == DG_BY_OPERATOR ? "operator" : "policy");
		dg_jw_num(g, "expires", d->expires, "%.3f");
		yajl_gen_map_close(g);
	}
	dg_jw_key(g, "enforcement");
	if (!dm->enf || !dg_enforcer_applied(dm->enf, v->name, &ap)) {
		yajl_gen_null(g);
		return;
	}
	yajl_gen_map_open(g);
	dg_jw_str(g, "action", dg_verb_name(ap.verb));
	dg_jw_key(g, "applied");
	yajl_gen_bool(g, ap.applied);
	dg_jw_str(g, "by", ap.by_address ? "address" : "connection");
	dg_jw_key(g, "exempt");
	if (ap.applied)
		yajl_gen_null(g);
	else
		dg_jw_string(g, ap.why);
	dg_jw_num(g, "expires", ap.expires, "%.3f");
	dg_jw_u64(g, "packets_dropped", ap.packets_dropped);
	dg_jw_u64(g, "syn_refused", ap.syn_refused);
	dg_jw_u64(g, "connections_cut", ap.conns_cut);
	dg_jw_u64(g, "connections_paced", ap.conns_paced);
	dg_jw_u64(g, "requests_cut", ap.requests_cut);
	yajl_gen_map_close(g);
}

static const char *applied_column(const struct dg_client_view *v, void *arg)
{
	struct dg_daemon *dm = arg;
	struct dg_applied ap;

	if (!dm->enf || !dg_enforcer_applied(dm->enf, v->name, &ap))
		return "-";
	return ap.applied ? "yes" : "exempt";
}

static int answer_clients(struct dg_daemon *dm, const struct dg_ctl_request *req, FILE *out)
{
	const struct dg_client_view *v;
	size_t n = dg_engine_views(dm->engine, &v);

	if (req->top > 0 && (size_t)req->top < n)
		n = (size_t)req->top;
	if (req->json)
		dg_clients_write_json_ex(v, n, out, gen_enforcement, dm);
	else
		dg_clients_write_table_ex(v, n, out, applied_column, dm);
	return 0;
}

/* ---------- one client ---------- */

static size_t cluster_members(struct dg_daemon *dm, const char *cluster)
{
	const struct dg_client_view *v;
	size_t n = dg_engine_views(dm->engine, &v), members = 0;

	for (size_t i = 0; cluster[0] && i < n; i++)
		members += !strcmp(v[i].cluster, cluster);
	return members;
}

static void gen_features(yajl_gen g, const struct dg_features *f)
{
	dg_jw_key(g, "features");
	yajl_gen_map_open(g);
	dg_jw_int(g, "requests", (long long)f->requests);
	dg_jw_int(g, "output_tokens", (long long)f->out_tokens);
	dg_jw_num(g, "requests_per_min_1m", f->rate_1m, "%.2f");
	dg_jw_num(g, "requests_per_min_1h", f->rate_1h, "%.2f");
	dg_jw_num(g, "output_tokens_per_min_1h", f->tok_rate_1h, "%.1f");
	dg_jw_num(g, "output_input_ratio", f->out_in_ratio, "%.2f");
	dg_jw_num(g, "single_turn_share", f->single_share, "%.3f");
	dg_jw_num(g, "cot_share", f->cot_share, "%.3f");
	dg_jw_num(g, "reasoning_share", f->reasoning_share, "%.3f");
	dg_jw_num(g, "logprob_share", f->logprob_share, "%.3f");
	dg_jw_num(g, "at_cap_share", f->at_cap_share, "%.3f");
	dg_jw_num(g, "template_share", f->template_share, "%.3f");
	dg_jw_num(g, "near_dup_share", f->near_dup_share, "%.3f");
	dg_jw_num(g, "interarrival_cv", f->iat_cv, "%.3f");
	dg_jw_num(g, "duty_1h", f->duty_1h, "%.3f");
	dg_jw_num(g, "peers", f->peers, "%.1f");
	yajl_gen_map_close(g);
}

static void gen_history(yajl_gen g, const struct dg_policy *p, const char *client)
{
	dg_jw_key(g, "decisions");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < dg_policy_history_len(p); i++) {
		const struct dg_decision *d = dg_policy_history(p, i);

		if (!strcmp(d->client, client))
			dg_decision_gen(g, d);
	}
	yajl_gen_array_close(g);
}

static void client_text(struct dg_daemon *dm, const struct dg_client_view *v,
			const struct dg_decision *in_force, FILE *out)
{
	const struct dg_policy *p = dg_engine_policy(dm->engine);

	fprintf(out, "%s  score %.1f  action %s\n", v->name, v->s.score, dg_action_name(v->action));
	for (int r = 0; r < v->s.n_reasons; r++)
		fprintf(out, "  reason: %s\n", v->s.reasons[r]);
	fprintf(out, "  requests %" PRIu64 ", output tokens %" PRIu64 ", addresses %.0f, keys %.0f\n",
		v->f.requests, v->f.out_tokens, v->ips, v->keys);
	for (int k = 0; k < v->n_addrs; k++)
		fprintf(out, "  address: %s\n", v->addrs[k]);
	if (v->cluster[0])
		fprintf(out, "  cluster %s (%zu members)\n", v->cluster, cluster_members(dm, v->cluster));
	fprintf(out, "  automation %.3f, harvest %.3f\n", v->s.automation, v->s.harvest);
	for (int e = 0; e < DG_EV__MAX; e++)
		if (v->s.evidence[e] > 0)
			fprintf(out, "  evidence %-12s %.3f\n", dg_evidence_name(e), v->s.evidence[e]);
	if (in_force)
		fprintf(out, "  in force: %s by %s until %.0f%s%s\n", dg_verb_name(in_force->verb),
			in_force->by == DG_BY_OPERATOR ? "operator" : "policy", in_force->expires,
			in_force->note[0] ? ", note: " : "", in_force->note);
	if (dm->enf) {
		struct dg_applied ap;

		if (!dg_enforcer_applied(dm->enf, v->name, &ap))
			fprintf(out, "  enforcement: nothing applied\n");
		else if (!ap.applied)
			fprintf(out, "  enforcement: %s not applied (exempt: %s)\n", dg_verb_name(ap.verb),
				ap.why);
		else
			fprintf(out, "  enforcement: %s applied by %s: %" PRIu64 " packets dropped, %"
				PRIu64 " SYNs refused, %" PRIu64 " connections cut, %" PRIu64
				" paced, %" PRIu64 " requests cut\n", dg_verb_name(ap.verb),
				ap.by_address ? "address" : "connection", ap.packets_dropped,
				ap.syn_refused, ap.conns_cut, ap.conns_paced, ap.requests_cut);
	}
	for (size_t i = 0; i < dg_policy_history_len(p); i++) {
		const struct dg_decision *d = dg_policy_history(p, i);

		if (!strcmp(d->client, v->name))
			fprintf(out, "  decision %" PRIu64 ": %s by %s at %.0f until %.0f\n", d->id,
				dg_verb_name(d->verb), d->by == DG_BY_OPERATOR ? "operator" : "policy",
				d->ts, d->expires);
	}
}

static int answer_client(struct dg_daemon *dm, const struct dg_ctl_request *req, FILE *out,
			 char *err, size_t errlen)
{
	const struct dg_client_view *v = dg_engine_view(dm->engine, req->name);
	const struct dg_policy *p = dg_engine_policy(dm->engine);
	const struct dg_decision *d = dg_policy_in_force(p, req->name, dg_daemon_wall());
	yajl_gen g;

	if (!v) {
		snprintf(err, errlen, "%s: not in the client table (as of the last scoring pass)",
			 req->name);
		return -1;
	}
	if (!req->json) {
		client_text(dm, v, d, out);
		return 0;
	}
	if (!(g = gen_open()))
		return -1;
	yajl_gen_map_open(g);
	dg_jw_key(g, "view");
	dg_clients_gen_view_ex(g, v, gen_enforcement, dm);
	gen_features(g, &v->f);
	dg_jw_key(g, "addresses");
	yajl_gen_array_open(g);
	for (int k = 0; k < v->n_addrs; k++)
		dg_jw_string(g, v->addrs[k]);
	yajl_gen_array_close(g);
	dg_jw_int_or_null(g, "cluster_members", (long long)cluster_members(dm, v->cluster),
			  v->cluster[0] != 0);
	dg_jw_key(g, "in_force");
	if (d)
		dg_decision_gen(g, d);
	else
		yajl_gen_null(g);
	gen_history(g, p, v->name);
	yajl_gen_map_close(g);
	gen_close(g, out);
	return 0;
}

/* ---------- status ---------- */

struct counters_gen {
	yajl_gen g;
	const char *group;
	FILE *text;
};

static void gen_counter(const char *group, const char *name, uint64_t v, void *arg)
{
	struct counters_gen *cg = arg;

	if (cg->text) {
		if (!cg->group || strcmp(cg->group, group))
			fprintf(cg->text, "%s%s:", cg->group ? "\n  " : "  ", group);
		cg->group = group;
		fprintf(cg->text, " %s=%" PRIu64, name, v);
		return;
	}
	if (!cg->group || strcmp(cg->group, group)) {
		if (cg->group)
			yajl_gen_map_close(cg->g);
		dg_jw_key(cg->g, group);
		yajl_gen_map_open(cg->g);
		cg->group = group;
	}
	dg_jw_u64(cg->g, name, v);
}

static void gen_program(const char *name, uint64_t run_ns, uint64_t runs, void *arg)
{
	struct counters_gen *cg = arg;

	if (cg->text) {
		fprintf(cg->text, "  program %-24s runs %-10" PRIu64 " run time %.3f s\n", name, runs,
			(double)run_ns / 1e9);
		return;
	}
	yajl_gen_map_open(cg->g);
	dg_jw_str(cg->g, "name", name);
	dg_jw_u64(cg->g, "runs", runs);
	dg_jw_u64(cg->g, "run_ns", run_ns);
	yajl_gen_map_close(cg->g);
}

/* Events the kernel could not hand us (the ring buffers were full). */
static uint64_t events_lost(struct dg_daemon *dm)
{
	uint64_t c[DG_C__MAX];

	if (!dm->obs.probes)
		return 0;
	dg_probes_counters(dm->obs.probes, c);
	return c[DG_C_RB_FULL];
}

uint64_t dg_daemon_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void count_in_force(const struct dg_decision *d, void *arg)
{
	(void)d;
	(*(size_t *)arg)++;
}

struct enf_counter {
	dg_counter_fn fn;
	void *arg;
};

static void enf_counter(const char *name, uint64_t v, void *arg)
{
	struct enf_counter *ec = arg;

	ec->fn("enforce", name, v, ec->arg);
}

/* The daemon's own counters, after the observer's. */
void dg_daemon_own_counters(struct dg_daemon *dm, dg_counter_fn fn, void *arg)
{
	const struct dg_journal_stats *js = dg_journal_stats(dm->journal);
	const struct dg_clients_stats *cs = dg_clients_stats(dg_engine_clients(dm->engine));
	const struct dg_policy_stats *ps = dg_policy_stats(dg_engine_policy(dm->engine));
	const struct dg_ctlsock_stats *ks = dg_ctlsock_stats(dm->ctl);

	fn("journal", "lines", js->lines, arg);
	fn("journal", "bytes_written", js->bytes_written, arg);
	fn("journal", "files_deleted", js->files_deleted, arg);
	fn("journal", "write_errors", js->write_errors, arg);
	fn("journal", "lines_dropped", js->lines_dropped, arg);
	fn("clients", "records", cs->records, arg);
	fn("clients", "clients_evicted", cs->clients_evicted, arg);
	fn("clients", "addrs_evicted", cs->addrs_evicted, arg);
	fn("clients", "models_evicted", cs->models_evicted, arg);
	fn("clients", "out_of_order", cs->out_of_order, arg);
	fn("policy", "decisions", ps->decisions, arg);
	fn("policy", "by_operator", ps->by_operator, arg);
	fn("policy", "table_full", ps->table_full, arg);
	fn("control", "requests", ks->requests, arg);
	fn("control", "refused_uid", ks->refused_uid, arg);
	fn("control", "refused_full", ks->refused_full, arg);
	fn("control", "bad_requests", ks->bad_requests, arg);
	if (dm->httpd) {
		const struct dg_httpd_stats *hs = dg_httpd_stats(dm->httpd);

		fn("metrics", "scrapes", hs->scrapes, arg);
		fn("metrics", "not_found", hs->not_found, arg);
		fn("metrics", "errors", hs->errors, arg);
	}
	if (dm->enf) {
		struct enf_counter ec = { fn, arg };

		dg_enforcer_counters(dm->enf, enf_counter, &ec);
	}
}

static void status_text(struct dg_daemon *dm, size_t in_force, FILE *out)
{
	const struct dg_engine_stats *es = dg_engine_stats(dm->engine);
	const struct dg_policy_config *pc = dg_policy_get_config(dg_engine_policy(dm->engine));
	struct counters_gen cg = { .text = out };

	fprintf(out, "distillguard: %s mode, up %.0f s, pid %d\n", dm->enf ? "enforce" : "observe",
		dg_daemon_mono() - dm->started_mono, (int)getpid());
	fprintf(out, "  records %" PRIu64 " (%.1f/s), output tokens %.0f/s, ring events %.1f/s, "
		"%zu connections, events lost %" PRIu64 "\n", dm->records, dm->records_per_s,
		dm->tokens_per_s, dm->samples_per_s, dg_reasm_conns(dm->obs.reasm), events_lost(dm));
	fprintf(out, "  clients %zu, decisions in force %zu, memory %.1f MiB, BPF %.2f%% of a core\n",
		dg_clients_count(dg_engine_clients(dm->engine)), in_force,
		(double)dg_daemon_rss() / 1048576, 100 * dm->bpf_cpu);
	fprintf(out, "  last scoring pass at %.0f (%.3f s), %" PRIu64 " passes\n", es->last_tick,
		es->tick_seconds, es->ticks);
	fprintf(out, "  config %s, journal %s\n", dm->config_used[0] ? dm->config_used : "(none)",
		dm->cfg.journal_dir);
	fprintf(out, "  policy: ratelimit at score %.0f, block at %.0f, leave %.0f below; "
		"decisions last %.0f s (renewed), an operator's %.0f s; allow list %d\n",
		pc->ratelimit_at, pc->block_at, pc->hysteresis, pc->ttl, pc->manual_ttl, pc->n_allow);
	if (dm->enf) {
		const char *cgs[DG_HOST_CGROUPS];
		size_t n = dg_enforcer_cgroups(dm->enf, cgs, DG_HOST_CGROUPS);

		fprintf(out, "  enforcing on cgroup%s", n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++)
			fprintf(out, " %s", cgs[i]);
		fprintf(out, "%s\n", n ? "" : " (none yet: no server listens on a watched port)");
	}
	dg_probes_programs(dm->obs.probes, gen_program, &cg);
	if (dm->enf)
		dg_enforcer_programs(dm->enf, gen_program, &cg);
	dg_observer_counters(&dm->obs, gen_counter, &cg);
	dg_daemon_own_counters(dm, gen_counter, &cg);
	fputc('\n', out);
}

static int answer_status(struct dg_daemon *dm, const struct dg_ctl_request *req, FILE *out)
{
	const struct dg_engine_stats *es = dg_engine_stats(dm->engine);
	const struct dg_policy_config *pc = dg_policy_get_config(dg_engine_policy(dm->engine));
	size_t in_force = 0;
	struct counters_gen cg = { 0 };
	yajl_gen g;

	dg_policy_each_in_force(dg_engine_policy(dm->engine), dg_daemon_wall(), count_in_force,
				&in_force);
	if (!req->json) {
		status_text(dm, in_force, out);
		return 0;
	}
	if (!(g = gen_open()))
		return -1;
	cg.g = g;
	yajl_gen_map_open(g);
	dg_jw_str(g, "mode", dm->enf ? "enforce" : "observe");
	dg_jw_key(g, "applied");
	yajl_gen_bool(g, dm->enf != NULL);
	dg_jw_key(g, "enforcing_cgroups");
	yajl_gen_array_open(g);
	if (dm->enf) {
		const char *cgs[DG_HOST_CGROUPS];
		size_t n = dg_enforcer_cgroups(dm->enf, cgs, DG_HOST_CGROUPS);

		for (size_t i = 0; i < n; i++)
			dg_jw_string(g, cgs[i]);
	}
	yajl_gen_array_close(g);
	dg_jw_int(g, "pid", getpid());
	dg_jw_num(g, "uptime_s", dg_daemon_mono() - dm->started_mono, "%.1f");
	dg_jw_num(g, "started", dm->started_wall, "%.3f");
	dg_jw_str(g, "config", dm->config_used);
	dg_jw_str(g, "journal", dm->cfg.journal_dir);
	dg_jw_u64(g, "records", dm->records);
	dg_jw_num(g, "records_per_s", dm->records_per_s, "%.2f");
	dg_jw_num(g, "events_per_s", dm->samples_per_s, "%.2f");
	dg_jw_u64(g, "output_tokens", dm->output_tokens);
	dg_jw_num(g, "output_tokens_per_s", dm->tokens_per_s, "%.1f");
	dg_jw_int(g, "connections", (long long)dg_reasm_conns(dm->obs.reasm));
	dg_jw_u64(g, "events_lost", events_lost(dm));
	dg_jw_u64(g, "bpf_run_ns", dg_daemon_bpf_ns(dm));
	dg_jw_num(g, "bpf_cpu", dm->bpf_cpu, "%.4f");
	dg_jw_int(g, "clients", (long long)dg_clients_count(dg_engine_clients(dm->engine)));
	dg_jw_int(g, "decisions_in_force", (long long)in_force);
	dg_jw_num(g, "last_pass", es->last_tick, "%.3f");
	dg_jw_num(g, "last_pass_seconds", es->tick_seconds, "%.4f");
	dg_jw_u64(g, "passes", es->ticks);
	dg_jw_u64(g, "memory_rss_bytes", dg_daemon_rss());
	dg_jw_key(g, "policy");
	yajl_gen_map_open(g);
	dg_jw_num(g, "ratelimit_at", pc->ratelimit_at, "%g");
	dg_jw_num(g, "block_at", pc->block_at, "%g");
	dg_jw_num(g, "hysteresis", pc->hysteresis, "%g");
	dg_jw_num(g, "ttl_s", pc->ttl, "%g");
	dg_jw_num(g, "manual_ttl_s", pc->manual_ttl, "%g");
	dg_jw_int(g, "allow_list", pc->n_allow);
	yajl_gen_map_close(g);
	dg_jw_u64(g, "reloads", dm->reloads);
	dg_jw_u64(g, "reload_errors", dm->reload_errors);
	dg_jw_key(g, "programs");
	yajl_gen_array_open(g);
	dg_probes_programs(dm->obs.probes, gen_program, &cg);
	if (dm->enf)
		dg_enforcer_programs(dm->enf, gen_program, &cg);
	yajl_gen_array_close(g);
	dg_jw_key(g, "counters");
	yajl_gen_map_open(g);
	dg_observer_counters(&dm->obs, gen_counter, &cg);
	dg_daemon_own_counters(dm, gen_counter, &cg);
	if (cg.group)
		yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	gen_close(g, out);
	return 0;
}

/* ---------- decisions ---------- */

static int answer_decisions(struct dg_daemon *dm, const struct dg_ctl_request *req, FILE *out)
{
	const struct dg_policy *p = dg_engine_policy(dm->engine);
	size_t n = dg_policy_history_len(p);
	double now = dg_daemon_wall();
	yajl_gen g;

	if (!req->json) {
		fprintf(out, "%6s  %-9s %-8s %-42s %6s  %-19s  %s\n", "ID", "ACTION", "BY", "CLIENT",
			"SCORE", "UNTIL", "WHY");
		for (size_t i = 0; i < n; i++) {
			const struct dg_decision *d = dg_policy_history(p, i);
			char until[32];
			time_t t = (time_t)d->expires;
			struct tm tmv;

			strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tmv));
			fprintf(out, "%6" PRIu64 "  %-9s %-8s %-42s %6.1f  %-19s  %s%s\n", d->id,
				dg_verb_name(d->verb), d->by == DG_BY_OPERATOR ? "operator" : "policy",
				d->client, d->score < 0 ? 0 : d->score, until,
				d->by == DG_BY_OPERATOR ? d->note : d->n_reasons ? d->reasons[0] : "",
				now < d->expires ? "" : " (ended)");
		}
		return 0;
	}
	if (!(g = gen_open()))
		return -1;
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		dg_decision_gen(g, dg_policy_history(p, i));
	yajl_gen_array_close(g);
	gen_close(g, out);
	return 0;
}

/* ---------- operators' commands ---------- */

static int answer_command(struct dg_daemon *dm, const struct dg_ctl_request *req, FILE *out,
			  char *err, size_t errlen)
{
	enum dg_verb verb = req->cmd == DG_CTL_BLOCK ? DG_DO_BLOCK :
			    req->cmd == DG_CTL_RATELIMIT ? DG_DO_RATELIMIT :
			    req->cmd == DG_CTL_ALLOW ? DG_DO_ALLOW : DG_DO_UNBLOCK;
	const struct dg_decision *d = dg_engine_command(dm->engine, dg_daemon_wall(), req->name, verb,
							req->ttl, req->reason, err, errlen);
	char line[DG_DECISION_JSON_MAX];

	if (!d)
		return -1;
	dg_journal_flush(dm->journal);      /* an operator's decision is on disk at once */
	dg_daemon_enforce_sync(dm, 1);      /* ... then applied */
	dg_daemon_enforce_step(dm);
	if (req->json) {
		if (dg_decision_to_json(d, line, sizeof(line)) > 0)
			fprintf(out, "%s\n", line);
	} else {
		struct dg_applied ap;
		char how[96] = "observe mode, not applied";

		if (dm->enf && (d->verb == DG_DO_BLOCK || d->verb == DG_DO_RATELIMIT) &&
		    dg_enforcer_applied(dm->enf, d->client, &ap) && !ap.applied)
			snprintf(how, sizeof(how), "not applied: exempt, %s", ap.why);
		else if (dm->enf)
			snprintf(how, sizeof(how), "applied");
		char until[48], span[32];
		time_t t = (time_t)d->expires, now = (time_t)dg_daemon_wall();
		struct tm tmv, today;
		double left = d->expires - (double)now;

		localtime_r(&now, &today);
		localtime_r(&t, &tmv);
		strftime(until, sizeof(until), tmv.tm_yday == today.tm_yday &&
			 tmv.tm_year == today.tm_year ? "%H:%M %Z" : "%b %d %H:%M %Z", &tmv);
		if (left >= 86400)
			snprintf(span, sizeof(span), "%.0fd", left / 86400);
		else if (left >= 3600)
			snprintf(span, sizeof(span), "%.0fh%s", floor(left / 3600),
				 fmod(left, 3600) >= 60 ? "+" : "");
		else if (left >= 60)
			snprintf(span, sizeof(span), "%.0fm", floor(left / 60));
		else
			snprintf(span, sizeof(span), "%.0fs", left > 0 ? left : 0);
		fprintf(out, "%s %s for %s, until %s (%s)\n", dg_verb_name(d->verb), d->client, span,
			until, how);
	}
	return 0;
}

int dg_daemon_answer(const struct dg_ctl_request *req, FILE *out, char *err, size_t errlen,
		     void *arg)
{
	struct dg_daemon *dm = arg;

	switch (req->cmd) {
	case DG_CTL_CLIENTS:
		return answer_clients(dm, req, out);
	case DG_CTL_CLIENT:
		return answer_client(dm, req, out, err, errlen);
	case DG_CTL_STATUS:
		return answer_status(dm, req, out);
	case DG_CTL_DECISIONS:
		return answer_decisions(dm, req, out);
	default:
		return answer_command(dm, req, out, err, errlen);
	}
}
