/* engine.h — the scorer as one thing to drive: request records in, a
 * scoring pass on a tick of record time, the policy's decisions out. The
 * live daemon (`run`) and `replay` drive the same engine, so the same
 * records in the same order give the same decisions; only where the
 * records come from differs.
 *
 * Ticks. A pass runs when a record's timestamp crosses into a new tick
 * (every `tick` seconds of record time), at the boundary it crossed,
 * before that record is counted; dg_engine_finish runs one at the newest
 * record's time; and dg_engine_tick one wherever the caller says (a daemon
 * whose traffic paused journals it, so replay passes there too). Each pass scores every client (dg_clients_snapshot) and
 * hands them to the policy; its views (what `clients`, `client`, the
 * console and /metrics show) stay as they are until the next pass, whatever
 * is read meanwhile. Operators' commands apply at once, at the time given.
 *
 * In the views, `action` is the decision in force (the policy's, or an
 * operator's), not just what the score maps to. */
#ifndef DG_ENGINE_H
#define DG_ENGINE_H

#include <stddef.h>
#include "clients.h"
#include "policy.h"
#include "record.h"

struct dg_engine_config {
	struct dg_score_config score;
	struct dg_policy_config policy;
	size_t max_clients;            /* client table bound (65536) */
	double tick;                   /* record-time seconds between passes (5) */
	int full_passes;               /* keep nothing between passes (tests: 0) */
};

struct dg_engine_stats {
	uint64_t records, ticks;
	double last_tick;              /* record time of the last pass, 0 none */
	double tick_seconds;           /* how long the last pass took (wall) */
	double tick_seconds_total;     /* all passes together (wall) */
	double tick_seconds_max;       /* the slowest pass (wall) */
};

struct dg_engine;

void dg_engine_config_default(struct dg_engine_config *c);
/* Decisions (policy's and operators') go to fn as they are made. */
struct dg_engine *dg_engine_new(const struct dg_engine_config *c, dg_decision_fn fn, void *arg);
void dg_engine_free(struct dg_engine *e);
/* New scoring and policy settings (SIGHUP); the table and decisions stay. */
void dg_engine_reconfigure(struct dg_engine *e, const struct dg_engine_config *c);

void dg_engine_record(struct dg_engine *e, const struct dg_record *r);
/* A pass at the newest record's time if records came since the last one
 * (the end of a replay, a daemon that stops). */
void dg_engine_finish(struct dg_engine *e);
/* A pass at now, outside the ticks: the live daemon's when traffic paused
 * (it journals a {"tick":now} line, and replay runs the same pass there). */
void dg_engine_tick(struct dg_engine *e, double now);
/* Records counted since the last pass. */
uint64_t dg_engine_pending(const struct dg_engine *e);

/* An operator's command (policy.h), at time now. */
const struct dg_decision *dg_engine_command(struct dg_engine *e, double now, const char *client,
					    enum dg_verb verb, double ttl, const char *note,
					    char *err, size_t errlen);
/* A decision line read back from a journal (replay). */
void dg_engine_decision(struct dg_engine *e, const struct dg_decision *d);

/* The last pass's views, highest score first (sorted when first asked);
 * valid until the next pass. */
size_t dg_engine_views(struct dg_engine *e, const struct dg_client_view **v);
/* The view of one client in the last pass, NULL when it is not there. */
const struct dg_client_view *dg_engine_view(const struct dg_engine *e, const char *client);

const struct dg_policy *dg_engine_policy(const struct dg_engine *e);
const struct dg_clients *dg_engine_clients(const struct dg_engine *e);
const struct dg_engine_stats *dg_engine_stats(const struct dg_engine *e);
/* The newest record time seen (the engine's now). */
double dg_engine_now(const struct dg_engine *e);

#endif
