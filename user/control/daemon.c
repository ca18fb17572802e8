/* daemon.c — the live daemon's lifecycle and event loop (daemon.h). */
#include "daemon_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "decision_json.h"
#include "settings_json.h"
#include "log.h"
#include "record.h"

#define TIMER_MS 250           /* maintenance: sweeps, rates, timeouts */
#define DRAIN_MS 10            /* enforcing: ring buffers drained at least this often */

double dg_daemon_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double dg_daemon_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int dg_daemon_config(const struct dg_run_args *args, struct dg_config *cfg, char *err,
		     size_t errlen)
{
	const char *path = args->config_path;
	char msg[512];

	dg_config_init(cfg);
	if (!path && !access(DG_CONFIG_FILE, R_OK))
		path = DG_CONFIG_FILE;
	if (path && dg_config_load(cfg, path, err, errlen)) {
		dg_config_free(cfg);
		return -1;
	}
	for (int i = 0; i < args->n; i++) {
		if (dg_config_set(cfg, args->key[i], args->value[i], msg, sizeof(msg))) {
			snprintf(err, errlen, "--%s: %s", args->key[i], msg);
			dg_config_free(cfg);
			return -1;
		}
	}
	return 0;
}

/* ---------- records and decisions ---------- */

static void on_decision(const struct dg_decision *d, void *arg)
{
	struct dg_daemon *dm = arg;
	char line[DG_DECISION_JSON_MAX];
	int n = dg_decision_to_json(d, line, sizeof(line));

	dm->decisions++;
	if (n > 0 && dm->journal)
		dg_journal_line(dm->journal, line, (size_t)n);
	dg_log(DG_LOG_INFO, "decision: %s %s by %s (score %.1f) until %.0f%s%s%s%s",
	       dg_verb_name(d->verb), d->client, d->by == DG_BY_OPERATOR ? "operator" : "policy",
	       d->score, d->expires, d->n_reasons ? ": " : "", d->n_reasons ? d->reasons[0] : "",
	       d->note[0] ? "; note: " : "", d->note);
}

static void on_record(const struct dg_record *r, void *arg)
{
	struct dg_daemon *dm = arg;
	char line[DG_RECORD_JSON_MAX];
	int n = dg_record_to_json(r, line, sizeof(line));

	dm->records++;
	dg_daemon_metrics_record(dm, r);
	if (r->output_tokens > 0)
		dm->output_tokens += (uint64_t)r->output_tokens;
	dm->last_record = dg_daemon_mono();
	if (n > 0 && dm->journal)
		dg_journal_line(dm->journal, line, (size_t)n);
	dg_engine_record(dm->engine, r);
}

/* A pass outside the record-time ticks, at the wall clock (never before
 * the newest record), journaled first so that replay runs the same pass at
 * the same time: what came is scored, rates fall while traffic pauses,
 * decisions end on time. */
static void idle_pass(struct dg_daemon *dm)
{
	char line[64];
	double at = dg_daemon_wall();
	int n;

	if (at < dg_engine_now(dm->engine))
		at = dg_engine_now(dm->engine);
	n = snprintf(line, sizeof(line), "{\"tick\":%.6f}", at);

	if (dm->journal)
		dg_journal_line(dm->journal, line, (size_t)n);
	dg_engine_tick(dm->engine, at);
}

/* The scoring settings, so that replay scores the journal as we did. */
static void journal_settings(struct dg_daemon *dm, int start)
{
	char line[DG_SETTINGS_JSON_MAX];
	int n = dg_settings_to_json(&dm->cfg.engine, start, line, sizeof(line));

	if (n > 0 && dm->journal)
		dg_journal_line(dm->journal, line, (size_t)n);
}

/* ---------- setup and teardown ---------- */

static int watch(struct dg_daemon *dm, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(dm->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_loop(struct dg_daemon *dm)
{
	sigset_t mask;
	struct itimerspec it = { .it_interval = { 0, TIMER_MS * 1000000L },
				 .it_value = { 0, TIMER_MS * 1000000L } };

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	dm->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	dm->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	dm->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dm->sigfd < 0 || dm->timerfd < 0 || dm->epfd < 0 ||
	    timerfd_settime(dm->timerfd, 0, &it, NULL) || watch(dm, dm->sigfd) ||
	    watch(dm, dm->timerfd) || watch(dm, dg_ctlsock_fd(dm->ctl)) ||
	    watch(dm, dg_probes_epoll_fd(dm->obs.probes)) ||
	    (dm->httpd && watch(dm, dg_httpd_fd(dm->httpd))))
		return -1;
	return 0;
}

static int start(struct dg_daemon *dm)
{
	struct dg_journal_config jc;
	char err[512];

	dm->engine = dg_engine_new(&dm->cfg.engine, on_decision, dm);
	if (!dm->engine) {
		dg_log(DG_LOG_ERR, "out of memory");
		return -1;
	}
	dg_journal_config_default(&jc);
	snprintf(jc.dir, sizeof(jc.dir), "%s", dm->cfg.journal_dir);
	jc.file_bytes = dm->cfg.journal_file_bytes;
	jc.total_bytes = dm->cfg.journal_total_bytes;
	if (!(dm->journal = dg_journal_open(&jc, err, sizeof(err)))) {
		dg_log(DG_LOG_ERR, "journal: %s", err);
		return -1;
	}
	journal_settings(dm, 1);
	if (!(dm->ctl = dg_ctlsock_open(dm->cfg.control_socket, dg_daemon_answer, dm, err,
					sizeof(err)))) {
		dg_log(DG_LOG_ERR, "control socket: %s", err);
		return -1;
	}
	dg_daemon_metrics_init(dm);
	if (dm->cfg.metrics[0] &&
	    !(dm->httpd = dg_httpd_open(dm->cfg.metrics, dg_daemon_metrics, dm, err, sizeof(err)))) {
		if (dm->cfg.metrics_set) {
			dg_log(DG_LOG_ERR, "metrics: %s", err);
			return -1;
		}
		dg_log(DG_LOG_WARN, "metrics: %s; running without /metrics (set `metrics` to "
		       "another ADDR:PORT, or off)", err);
	}
	if (dm->httpd)
		dg_log(DG_LOG_INFO, "metrics on %s (port %u), path /metrics", dm->cfg.metrics,
		       (unsigned)dg_httpd_port(dm->httpd));
	if (dg_observer_open(&dm->obs, &dm->cfg, on_record, dg_daemon_enforce_conn, dm, err,
			     sizeof(err))) {
		dg_log(DG_LOG_ERR, "%s", err);
		return -1;
	}
	dm->obs_open = 1;
	if (dg_daemon_enforce_open(dm, err, sizeof(err))) {
		dg_log(DG_LOG_ERR, "%s; not starting (run without --enforce to observe only)", err);
		return -1;
	}
	if (open_loop(dm)) {
		dg_log(DG_LOG_ERR, "event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void stop_all(struct dg_daemon *dm)
{
	dg_daemon_enforce_close(dm);       /* first: lift everything, detach */
	if (dm->obs_open) {
		dg_observer_close(&dm->obs);   /* drains: the last records are scored */
		dm->obs_open = 0;
	}
	if (dm->engine && dg_engine_pending(dm->engine))
		idle_pass(dm);
	dg_journal_close(dm->journal);
	dg_ctlsock_close(dm->ctl);
	dg_httpd_close(dm->httpd);
	dg_engine_free(dm->engine);
	if (dm->epfd >= 0)
		close(dm->epfd);
	if (dm->sigfd >= 0)
		close(dm->sigfd);
	if (dm->timerfd >= 0)
		close(dm->timerfd);
	dg_config_free(&dm->cfg);
}

/* ---------- events ---------- */

/* SIGHUP: the file again, over defaults, with the command line on top. */
static void reload(struct dg_daemon *dm)
{
	struct dg_config fresh;
	char err[512];

	if (dg_daemon_config(&dm->args, &fresh, err, sizeof(err))) {
		dm->reload_errors++;
		dg_log(DG_LOG_ERR, "reload: %s; the running config stays", err);
		return;
	}
	dg_engine_reconfigure(dm->engine, &fresh.engine);
	if (fresh.n_ports != dm->cfg.n_ports || memcmp(fresh.ports, dm->cfg.ports, sizeof(fresh.ports)) ||
	    strcmp(fresh.journal_dir, dm->cfg.journal_dir) ||
	    strcmp(fresh.control_socket, dm->cfg.control_socket) || fresh.enforce != dm->cfg.enforce)
		dg_log(DG_LOG_WARN, "reload: ports, journal, control socket and mode changes take "
		       "effect at the next start");
	/* Keep what is running; take scoring, policy, allow list and limits. */
	dm->cfg.engine = fresh.engine;
	dm->cfg.enf = fresh.enf;
	dg_daemon_enforce_reconfigure(dm);
	dg_config_free(&fresh);
	journal_settings(dm, 0);
	dm->reloads++;
	dg_log(DG_LOG_INFO, "reload: scoring, policy, allow list and limits from %s applied",
	       dm->args.config_path ? dm->args.config_path : DG_CONFIG_FILE);
}

static void on_signal(struct dg_daemon *dm)
{
	struct signalfd_siginfo si;

	while (read(dm->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(dm);
		} else {
			dg_log(DG_LOG_INFO, "signal %u: stopping", si.ssi_signo);
			dm->stop = 1;
		}
	}
}

static void add_run_ns(const char *name, uint64_t run_ns, uint64_t runs, void *arg)
{
	(void)name;
	(void)runs;
	*(uint64_t *)arg += run_ns;
}

uint64_t dg_daemon_bpf_ns(struct dg_daemon *dm)
{
	uint64_t ns = 0;

	if (dm->obs.probes)
		dg_probes_programs(dm->obs.probes, add_run_ns, &ns);
	if (dm->enf)
		dg_enforcer_programs(dm->enf, add_run_ns, &ns);
	return ns;
}

static void rates(struct dg_daemon *dm, double now)
{
	double dt = now - dm->rate_at;

	if (dt < 1)
		return;
	uint64_t bpf_ns = dg_daemon_bpf_ns(dm);

	dm->records_per_s = (double)(dm->records - dm->rate_records) / dt;
	dm->samples_per_s = (double)(dm->obs.ring_samples - dm->rate_samples) / dt;
	dm->tokens_per_s = (double)(dm->output_tokens - dm->rate_tokens) / dt;
	dm->bpf_cpu = bpf_ns >= dm->rate_bpf_ns ? (double)(bpf_ns - dm->rate_bpf_ns) / 1e9 / dt : 0;
	dm->rate_records = dm->records;
	dm->rate_samples = dm->obs.ring_samples;
	dm->rate_tokens = dm->output_tokens;
	dm->rate_bpf_ns = bpf_ns;
	dm->rate_at = now;
}

static void on_timer(struct dg_daemon *dm)
{
	uint64_t ticks;
	double now = dg_daemon_mono();

	while (read(dm->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks))
		;
	dg_observer_step(&dm->obs, 0);   /* sweeps idle connections, finds new servers */
	/* Traffic paused: what came is scored now, not at the next record,
	 * and then a pass every tick while it stays paused. */
	if (now - dm->last_record >= dm->cfg.engine.tick &&
	    (dg_engine_pending(dm->engine) ||
	     (dg_clients_count(dg_engine_clients(dm->engine)) &&
	      dg_daemon_wall() - dg_engine_stats(dm->engine)->last_tick >= dm->cfg.engine.tick)))
		idle_pass(dm);
	dg_ctlsock_step(dm->ctl, now);   /* timeouts */
	if (dm->httpd)
		dg_httpd_step(dm->httpd);
	rates(dm, now);
	if (now - dm->last_flush >= 1.0) {
		if (dg_journal_flush(dm->journal))
			dg_log_limited("journal", 60, DG_LOG_WARN, "journal: a write failed (%s)",
				       strerror(errno));
		dm->last_flush = now;
	}
	if (dm->obs.probes) {
		uint64_t c[DG_C__MAX];

		dg_probes_counters(dm->obs.probes, c);
		if (c[DG_C_RB_FULL])
			dg_log_limited("ringbuf", 60, DG_LOG_WARN, "ring buffer full: %lu events "
				       "lost so far (user space is behind)", (unsigned long)c[DG_C_RB_FULL]);
	}
}

static void loop(struct dg_daemon *dm)
{
	struct epoll_event ev[8];

	while (!dm->stop) {
		/* Enforcing, the rings are drained every DRAIN_MS: the kernel
		 * wakes us only when a lot is waiting, and a request head with a
		 * blocked key must be seen within milliseconds. */
		int n = epoll_wait(dm->epfd, ev, 8, dm->enf ? DRAIN_MS : 1000);

		if (n < 0 && errno != EINTR) {
			dg_log(DG_LOG_ERR, "epoll: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == dm->sigfd)
				on_signal(dm);
			else if (fd == dm->timerfd)
				on_timer(dm);
			else if (fd == dg_ctlsock_fd(dm->ctl))
				dg_ctlsock_step(dm->ctl, dg_daemon_mono());
			else if (dm->httpd && fd == dg_httpd_fd(dm->httpd))
				dg_httpd_step(dm->httpd);
			else
				dg_probes_poll(dm->obs.probes, 0);
		}
		if (dm->enf && dg_daemon_mono() - dm->last_drain >= DRAIN_MS / 1e3) {
			dg_probes_poll(dm->obs.probes, 0);
			dm->last_drain = dg_daemon_mono();
		}
		dg_daemon_enforce_step(dm);    /* new decisions, cuts pending */
	}
}

int dg_daemon_run(const struct dg_run_args *args)
{
	struct dg_daemon *dm = calloc(1, sizeof(*dm));
	char err[512];
	int rc = 1;

	if (!dm) {
		dg_log(DG_LOG_ERR, "out of memory");
		return 1;
	}
	dm->args = *args;
	dm->epfd = dm->sigfd = dm->timerfd = -1;
	if (dg_daemon_config(args, &dm->cfg, err, sizeof(err))) {
		dg_log(DG_LOG_ERR, "%s", err);
		free(dm);
		return 2;
	}
	snprintf(dm->config_used, sizeof(dm->config_used), "%s",
		 args->config_path ? args->config_path : !access(DG_CONFIG_FILE, R_OK) ? DG_CONFIG_FILE : "");
	dm->started_mono = dm->rate_at = dm->last_flush = dg_daemon_mono();
	dm->started_wall = dg_daemon_wall();
	if (!start(dm)) {
		dg_log(DG_LOG_INFO, "running in %s mode; journal %s; control socket %s",
		       dm->cfg.enforce ? "enforce" : "observe", dm->cfg.journal_dir,
		       dm->cfg.control_socket);
		loop(dm);
		rc = 0;
	}
	stop_all(dm);
	if (!rc)
		dg_log(DG_LOG_INFO, "stopped");
	free(dm);
	return rc;
}
