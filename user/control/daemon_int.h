/* daemon_int.h — the daemon's state, shared by its loop (daemon.c) and the
 * answers to control requests (answers.c). Not an interface. */
#ifndef DG_DAEMON_INT_H
#define DG_DAEMON_INT_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "ctlsock.h"
#include "daemon.h"
#include "enforce.h"
#include "engine.h"
#include "httpd.h"
#include "promtext.h"
#include "journal.h"
#include "observe.h"

struct dg_daemon {
	struct dg_run_args args;
	struct dg_config cfg;
	char config_used[256];         /* the file read, "" none */
	struct dg_observer obs;
	int obs_open;
	struct dg_engine *engine;
	struct dg_enforcer *enf;       /* enforce mode only */
	uint64_t enf_synced_ticks, enf_synced_decisions;
	double enf_synced_at;
	double last_drain;             /* monotonic: rings last drained (enforcing) */
	struct dg_journal *journal;
	struct dg_ctlsock *ctl;
	int epfd, sigfd, timerfd;
	int stop;
	double started_mono, started_wall;
	uint64_t records, decisions, reloads, reload_errors;
	/* Rates over the last second. */
	double rate_at;
	uint64_t rate_records, rate_samples, rate_tokens, rate_bpf_ns;
	double records_per_s, samples_per_s, tokens_per_s;
	double bpf_cpu;                /* BPF run time per second of wall time (cores) */
	uint64_t output_tokens;        /* in all records */
	/* /metrics */
	struct dg_httpd *httpd;
	struct dg_histo h_duration, h_ttfb, h_tokens;
	double last_flush;
	double last_record;            /* monotonic time of the last record */
};

/* Wall-clock seconds (Unix) and monotonic seconds. */
double dg_daemon_wall(void);
double dg_daemon_mono(void);

/* enforcing.c: the enforcer in the daemon's life. */
int dg_daemon_enforce_open(struct dg_daemon *dm, char *err, size_t errlen);
void dg_daemon_enforce_reconfigure(struct dg_daemon *dm);
void dg_daemon_enforce_sync(struct dg_daemon *dm, int force);
void dg_daemon_enforce_step(struct dg_daemon *dm);
void dg_daemon_enforce_conn(const struct dg_conn_summary *s, void *arg);
void dg_daemon_enforce_close(struct dg_daemon *dm);

/* The run time of every program of ours (capture and enforcement), ns. */
uint64_t dg_daemon_bpf_ns(struct dg_daemon *dm);

/* metrics.c: /metrics. */
void dg_daemon_metrics_init(struct dg_daemon *dm);
void dg_daemon_metrics_record(struct dg_daemon *dm, const struct dg_record *r);
int dg_daemon_metrics(FILE *out, void *arg);

/* answers.c: the daemon's own counters (journal, clients, policy, control
 * socket, enforcement), by group and name; its resident memory. */
void dg_daemon_own_counters(struct dg_daemon *dm, dg_counter_fn fn, void *arg);
uint64_t dg_daemon_rss(void);

/* answers.c: a control request answered from the daemon's state. */
int dg_daemon_answer(const struct dg_ctl_request *req, FILE *out, char *err, size_t errlen,
		     void *arg);

#endif
