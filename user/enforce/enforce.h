/* enforce.h — applying the decisions in force, in the kernel
 * (bpf/enforce.bpf.c; dg_enforce.h is the contract with it).
 *
 * What a decision does depends on what it names:
 *  - an address or prefix (`cidr:`, an operator's `ip:`, the policy's
 *    `ip:` for an address that carries no legitimate-looking keys): a rule
 *    in the kernel. Block: its packets to the watched ports are dropped and
 *    its open connections cut. Rate limit: its answers are paced at
 *    `ratelimit.pace` bytes per second, and it gets
 *    `ratelimit.requests_per_minute` new connections and requests a
 *    minute; over that a new connection is refused at SYN and a request
 *    on an open one has its connection cut;
 *  - a key (`key:`), or the key-less requests of an address that also
 *    carries legitimate keys: keys are not in packets, so it is acted on
 *    by connection. Block: the connections that carried it are cut, and a
 *    connection is cut as soon as a request's head names it. Rate limit:
 *    its connections are paced, and a request over its budget has its
 *    connection cut.
 * Never acted on: the allow list, the peers of the host's SSH sessions,
 * loopback and the host's own addresses (unless `enforce.loopback`), and
 * ports that are not watched. A decision on an exempt address is shown
 * as not applied, with the reason.
 *
 * The programs go on the cgroups of the processes listening on the
 * watched ports (found by hostinfo.c, rescanned), or on the cgroups the
 * config names, through bpf_links that die with the daemon. Every rule
 * holds its expiry in kernel time, so it ends on time whatever becomes of
 * the daemon; nothing is pinned, so a restart starts clean. */
#ifndef DG_ENFORCE_ENF_H
#define DG_ENFORCE_ENF_H

#include "progstats.h"
#include <stddef.h>
#include <stdint.h>
#include "dg_event.h"
#include "enforce_config.h"
#include "hostinfo.h"
#include "policy.h"

/* What is applied to one client, for `clients`, `client` and /metrics. */
struct dg_applied {
	enum dg_verb verb;             /* DG_DO_BLOCK or DG_DO_RATELIMIT */
	int applied;                   /* 0: exempt (why says why) */
	int by_address;                /* a kernel rule on the address or prefix */
	char why[64];                  /* "ssh peer", "loopback", "allow list", "" */
	double expires;                /* Unix */
	uint64_t packets_dropped, syn_refused, conns_cut, conns_paced;
	uint64_t requests_cut;         /* requests whose connection was cut at their head */
};

struct dg_enforce_stats {
	uint64_t applied, lifted, exempt;  /* decisions applied, lifted, not applied */
	uint64_t sweeps;                   /* sweep runs */
	double sweep_seconds;              /* all together */
	uint64_t heads, heads_cut, budget_cut;
	uint64_t rules_full, conns_full, slots_full;  /* bounds hit */
	uint64_t attach_failed;
	/* From a request's start (its first byte seen) to its connection cut,
	 * for requests cut at their head: the last one and the slowest. */
	double cut_ms_last, cut_ms_max;
	int cgroups;                       /* cgroups the programs are attached to */
};

/* A request's head, as soon as it is parsed (reassemble.h's dg_head). */
struct dg_head;

struct dg_enforcer;

/* Load the programs and attach them. NULL with a reason in err. */
struct dg_enforcer *dg_enforcer_open(const struct dg_enforce_config *c, char *err, size_t errlen);
/* Detach, unload, forget. */
void dg_enforcer_close(struct dg_enforcer *e);
/* New settings (SIGHUP): limits, exemptions; ports and cgroups stay. */
void dg_enforcer_reconfigure(struct dg_enforcer *e, const struct dg_enforce_config *c);

/* Make the kernel match the decisions in force at now (Unix): apply new
 * ones, update renewed ones, lift those that ended. legit_keys tells how
 * many legitimate-looking keys an ip: client's address carries (the
 * engine's view; NULL: none known). Call after every scoring pass and
 * operator's command, and on a timer. */
typedef uint32_t (*dg_legit_keys_fn)(const char *client, void *arg);
void dg_enforcer_sync(struct dg_enforcer *e, const struct dg_policy *p, double now,
		      dg_legit_keys_fn legit_keys, void *arg);
/* A request's head: cut or pace its connection if its client is acted on. */
void dg_enforcer_head(struct dg_enforcer *e, const struct dg_head *h);
/* A connection ended (forget what was known of it). */
void dg_enforcer_conn_closed(struct dg_enforcer *e, uint64_t conn);
/* Run what is pending (a sweep), and every few seconds rescan the host
 * (new servers' cgroups, SSH sessions). Call from the event loop; now is
 * CLOCK_MONOTONIC seconds. */
void dg_enforcer_step(struct dg_enforcer *e, double now);

/* What is applied to client; 0 when nothing is. */
int dg_enforcer_applied(const struct dg_enforcer *e, const char *client, struct dg_applied *out);
const struct dg_enforce_stats *dg_enforcer_stats(const struct dg_enforcer *e);
/* Kernel counters (dg_enforce.h), by name, and the cgroups attached. */
typedef void (*dg_enf_counter_fn)(const char *name, uint64_t value, void *arg);
void dg_enforcer_counters(const struct dg_enforcer *e, dg_enf_counter_fn fn, void *arg);
size_t dg_enforcer_cgroups(const struct dg_enforcer *e, const char **paths, size_t max);
/* Its BPF programs, each with its run time (bpf_stats) and runs. */
void dg_enforcer_programs(const struct dg_enforcer *e, dg_prog_fn fn, void *arg);

#endif
