/* enforcing.c — the daemon's side of enforcement: the enforcer opened in
 * enforce mode, kept in step with the decisions in force, told of request
 * heads and closed connections, and closed (everything lifted) at the end. */
#include "daemon_int.h"

#include <string.h>

#include "log.h"

/* The enforcer's settings: the config's, with the ports watched and the
 * allow list of the policy. */
static void enforce_config(const struct dg_config *cfg, struct dg_enforce_config *ec)
{
	const struct dg_policy_config *pc = &cfg->engine.policy;

	*ec = cfg->enf;
	ec->n_ports = 0;
	for (int i = 0; i < cfg->n_ports && ec->n_ports < DG_MAX_PORTS; i++)
		ec->ports[ec->n_ports++] = cfg->ports[i];
	/* Upstream mode: the clients' own connections are on the front ports. */
	for (int i = 0; i < cfg->n_front_ports && ec->n_ports < DG_MAX_PORTS; i++)
		ec->ports[ec->n_ports++] = cfg->front_ports[i];
	ec->n_allow = pc->n_allow;
	for (int i = 0; i < pc->n_allow && i < DG_POLICY_ALLOW; i++)
		memcpy(ec->allow[i], pc->allow[i], DG_CLIENT_LEN);
}

static uint32_t legit_keys(const char *client, void *arg)
{
	struct dg_daemon *dm = arg;
	const struct dg_client_view *v = dg_engine_view(dm->engine, client);

	return v ? v->legit_keys : 0;
}

static void on_head(const struct dg_head *h, void *arg)
{
	struct dg_daemon *dm = arg;

	dg_enforcer_head(dm->enf, h);
}

int dg_daemon_enforce_open(struct dg_daemon *dm, char *err, size_t errlen)
{
	struct dg_enforce_config ec;

	if (!dm->cfg.enforce)
		return 0;
	enforce_config(&dm->cfg, &ec);
	if (!(dm->enf = dg_enforcer_open(&ec, err, errlen)))
		return -1;
	dg_observer_on_head(&dm->obs, on_head, dm);
	return 0;
}

void dg_daemon_enforce_reconfigure(struct dg_daemon *dm)
{
	struct dg_enforce_config ec;

	if (!dm->enf)
		return;
	enforce_config(&dm->cfg, &ec);
	dg_enforcer_reconfigure(dm->enf, &ec);
	dm->enf_synced_ticks = (uint64_t)-1;  /* sync at the next step */
}

/* Make the kernel match the decisions in force: after a scoring pass, an
 * operator's command, and every second (expiries). A new decision is on
 * disk in the journal before it is applied. */
void dg_daemon_enforce_sync(struct dg_daemon *dm, int force)
{
	const struct dg_engine_stats *es;
	double now;

	if (!dm->enf)
		return;
	es = dg_engine_stats(dm->engine);
	now = dg_daemon_mono();
	if (!force && es->ticks == dm->enf_synced_ticks && now - dm->enf_synced_at < 1.0)
		return;
	if (dm->decisions != dm->enf_synced_decisions && dg_journal_flush(dm->journal))
		dg_log_limited("journal", 60, DG_LOG_WARN, "journal: a write failed before applying "
			       "a decision");
	dg_enforcer_sync(dm->enf, dg_engine_policy(dm->engine), dg_daemon_wall(), legit_keys, dm);
	dm->enf_synced_ticks = es->ticks;
	dm->enf_synced_at = now;
	dm->enf_synced_decisions = dm->decisions;
}

void dg_daemon_enforce_step(struct dg_daemon *dm)
{
	if (!dm->enf)
		return;
	dg_daemon_enforce_sync(dm, 0);
	dg_enforcer_step(dm->enf, dg_daemon_mono());
}

void dg_daemon_enforce_conn(const struct dg_conn_summary *s, void *arg)
{
	struct dg_daemon *dm = arg;

	if (dm->enf)
		dg_enforcer_conn_closed(dm->enf, s->conn);
}

void dg_daemon_enforce_close(struct dg_daemon *dm)
{
	if (!dm->enf)
		return;
	dg_enforcer_close(dm->enf);
	dm->enf = NULL;
	dg_log(DG_LOG_INFO, "enforce: everything lifted and detached");
}
