/* engine.c — records in, scoring passes on record-time ticks, decisions out
 * (engine.h). */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dg_engine {
	struct dg_engine_config cfg;
	struct dg_clients *t;
	struct dg_policy *p;
	const struct dg_client_view *views;
	size_t n_views;
	struct dg_policy_input *in;
	size_t in_cap;
	double newest;
	double next_tick;              /* the boundary whose crossing runs a pass */
	uint64_t pending;              /* records since the last pass */
	struct dg_engine_stats st;
};

void dg_engine_config_default(struct dg_engine_config *c)
{
	memset(c, 0, sizeof(*c));
	dg_score_config_default(&c->score);
	dg_policy_config_default(&c->policy);
	c->max_clients = 65536;
	c->tick = 5;
}

/* The policy acts on the score's own thresholds. */
static void sync_thresholds(struct dg_engine_config *c)
{
	c->policy.ratelimit_at = c->score.ratelimit_at;
	c->policy.block_at = c->score.block_at;
}

struct dg_engine *dg_engine_new(const struct dg_engine_config *c, dg_decision_fn fn, void *arg)
{
	struct dg_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = *c;
	if (e->cfg.tick <= 0)
		e->cfg.tick = 5;
	sync_thresholds(&e->cfg);
	e->t = dg_clients_new(&e->cfg.score, e->cfg.max_clients);
	e->p = dg_policy_new(&e->cfg.policy, fn, arg);
	if (!e->t || !e->p) {
		dg_engine_free(e);
		return NULL;
	}
	dg_clients_set_full(e->t, e->cfg.full_passes);
	return e;
}

void dg_engine_free(struct dg_engine *e)
{
	if (!e)
		return;
	dg_clients_free(e->t);
	dg_policy_free(e->p);
	free(e->in);
	free(e);
}

void dg_engine_reconfigure(struct dg_engine *e, const struct dg_engine_config *c)
{
	struct dg_engine_config n = *c;

	if (n.tick <= 0)
		n.tick = 5;
	sync_thresholds(&n);
	n.max_clients = e->cfg.max_clients;   /* the table's size stays */
	e->cfg = n;
	dg_clients_set_config(e->t, &n.score);
	dg_policy_reconfigure(e->p, &n.policy);
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Score everyone at now, let the policy decide, and put what is in force
 * into the views. */
static void pass(struct dg_engine *e, double now)
{
	double t0 = wall();
	size_t n = dg_clients_snapshot_unsorted(e->t, now, &e->views);

	if (n > e->in_cap) {
		free(e->in);
		e->in_cap = n + n / 2 + 16;
		e->in = calloc(e->in_cap, sizeof(*e->in));
		if (!e->in) {
			e->in_cap = 0;
			n = 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct dg_client_view *v = &e->views[i];
		struct dg_policy_input *in = &e->in[i];

		memset(in, 0, sizeof(*in));
		in->client = v->name;
		in->score = v->s.score;
		in->action = v->action;
		in->n_reasons = v->s.n_reasons;
		in->reasons = v->s.reasons;
		for (int k = 0; k < v->n_addrs && k < 4; k++)
			in->addrs[in->n_addrs++] = v->addrs[k];
	}
	dg_policy_tick(e->p, now, e->in, n);
	for (size_t i = 0; i < n; i++)
		dg_clients_set_action(e->t, i, dg_policy_action(e->p, e->views[i].name, now));
	e->n_views = n;
	e->pending = 0;
	e->st.ticks++;
	e->st.last_tick = now;
	e->st.tick_seconds = wall() - t0;
	e->st.tick_seconds_total += e->st.tick_seconds;
	if (e->st.tick_seconds > e->st.tick_seconds_max)
		e->st.tick_seconds_max = e->st.tick_seconds;
}

void dg_engine_record(struct dg_engine *e, const struct dg_record *r)
{
	double boundary = floor(r->ts / e->cfg.tick) * e->cfg.tick;

	if (!e->next_tick) {
		e->next_tick = boundary + e->cfg.tick;
	} else if (r->ts >= e->next_tick) {
		pass(e, boundary);
		e->next_tick = boundary + e->cfg.tick;
	}
	dg_clients_ingest(e->t, r);
	if (r->ts > e->newest)
		e->newest = r->ts;
	e->pending++;
	e->st.records++;
}

void dg_engine_finish(struct dg_engine *e)
{
	if (e->pending)
		pass(e, e->newest);
}

void dg_engine_tick(struct dg_engine *e, double now)
{
	pass(e, now);
	e->next_tick = floor(now / e->cfg.tick) * e->cfg.tick + e->cfg.tick;
}

uint64_t dg_engine_pending(const struct dg_engine *e)
{
	return e->pending;
}

const struct dg_decision *dg_engine_command(struct dg_engine *e, double now, const char *client,
					    enum dg_verb verb, double ttl, const char *note,
					    char *err, size_t errlen)
{
	return dg_policy_command(e->p, now, client, verb, ttl, note, err, errlen);
}

void dg_engine_decision(struct dg_engine *e, const struct dg_decision *d)
{
	dg_policy_replay(e->p, d);
}

size_t dg_engine_views(struct dg_engine *e, const struct dg_client_view **v)
{
	dg_clients_sort_views(e->t);      /* in place: the contents stay */
	*v = e->views;
	return e->n_views;
}

const struct dg_client_view *dg_engine_view(const struct dg_engine *e, const char *client)
{
	for (size_t i = 0; i < e->n_views; i++)
		if (!strcmp(e->views[i].name, client))
			return &e->views[i];
	return NULL;
}

const struct dg_policy *dg_engine_policy(const struct dg_engine *e)
{
	return e->p;
}

const struct dg_clients *dg_engine_clients(const struct dg_engine *e)
{
	return e->t;
}

const struct dg_engine_stats *dg_engine_stats(const struct dg_engine *e)
{
	return &e->st;
}

double dg_engine_now(const struct dg_engine *e)
{
	return e->newest;
}
