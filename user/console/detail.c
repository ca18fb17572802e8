/* detail.c — one client's detail view as lines (detail.h). */
#include "detail.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A feature's or counter's value: whole numbers whole, others to a few
 * digits. */
static void value(char *out, double v)
{
	if (!isfinite(v))
		snprintf(out, 32, "-");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, 32, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(out, 32, "%.0f", v);
	else if (fabs(v) >= 1)
		snprintf(out, 32, "%.2f", v);
	else
		snprintf(out, 32, "%.3f", v);
}

static void title(struct dg_lines *out, const char *t)
{
	dg_lines_add(out, "%s", "");
	dg_lines_add(out, "%s", t);
}

/* name value pairs in a grid of cells of the same width. */
static void pairs(struct dg_lines *out, const struct dg_con_pair *p, int n)
{
	struct dg_flow fl;
	char v[32];

	dg_flow_begin(&fl, out, "   ", 2);
	for (int i = 0; i < n; i++) {
		value(v, p[i].v);
		dg_flow_item(&fl, "%-24s %9s", p[i].name, v);
	}
	dg_flow_end(&fl);
}

static void decision(struct dg_lines *out, const char *lead, const struct dg_con_decision *d,
		     double now)
{
	char at[40], until[40], score[48], id[32];

	dg_text_when(at, d->ts, now);
	dg_text_when(until, d->expires, now);
	score[0] = 0;
	if (isfinite(d->score))           /* an operator's decision has none */
		snprintf(score, sizeof(score), ", score %.1f", d->score);
	value(id, d->id);
	dg_lines_add(out, "%s#%s %s by %s, %s, %s %s%s%s%s", lead, id,
		     d->action[0] ? d->action : "?", d->by[0] ? d->by : "?", at,
		     isfinite(d->expires) && d->expires < now ? "ended" : "ends", until, score,
		     d->why[0] ? ": " : "", d->why);
}

static void head(const struct dg_con_detail *d, double now, struct dg_lines *out)
{
	const struct dg_con_client *c = &d->c;
	char a[40], b[40], e[40];
	struct dg_flow fl;

	dg_text_num(a, c->score, 1, 8);
	dg_lines_add(out, "%s  score %s  action %s", c->name, a, c->action[0] ? c->action : "-");
	for (int r = 0; r < c->n_reasons; r++)
		dg_lines_add(out, "  reason: %s", c->reasons[r]);
	if (!c->n_reasons)
		dg_lines_add(out, "  no reasons");
	dg_flow_begin(&fl, out, "  ", 0);
	if (c->cluster[0]) {
		value(a, d->cluster_members);
		dg_flow_item(&fl, "cluster %s (%s members)", c->cluster, a);
	} else {
		dg_flow_item(&fl, "in no cluster");
	}
	value(a, c->keys);
	value(b, c->ips);
	dg_flow_item(&fl, "keys %s", a);
	dg_flow_item(&fl, "addresses %s", b);
	value(a, c->requests);
	value(b, c->output_tokens);
	dg_flow_item(&fl, "requests %s", a);
	dg_flow_item(&fl, "output tokens %s", b);
	dg_text_num(a, c->requests_per_min, 1, 8);
	dg_text_num(b, c->output_tokens_per_min, 0, 8);
	dg_flow_item(&fl, "%s req/min", a);
	dg_flow_item(&fl, "%s tok/min", b);
	dg_flow_end(&fl);
	dg_flow_begin(&fl, out, "  ", 0);
	dg_text_when(a, d->first_seen, now);
	dg_text_when(b, d->last_seen, now);
	dg_flow_item(&fl, "first seen %s", a);
	dg_flow_item(&fl, "last seen %s", b);
	if (isfinite(d->first_flagged)) {
		dg_text_when(e, d->first_flagged, now);
		value(a, d->requests_to_flag);
		dg_flow_item(&fl, "first flagged %s, after %s request%s", e, a,
			     d->requests_to_flag == 1 ? "" : "s");
	} else {
		dg_flow_item(&fl, "never flagged");
	}
	value(a, d->automation);
	value(b, d->harvest);
	dg_flow_item(&fl, "automation %s", a);
	dg_flow_item(&fl, "harvest %s", b);
	dg_flow_end(&fl);
}

static void enforcement(const struct dg_con_detail *d, const char *mode, double now,
			struct dg_lines *out)
{
	const struct dg_con_enforcement *en = &d->enf;
	char a[40];
	struct dg_flow fl;

	if (d->has_in_force)
		decision(out, "in force: ", &d->in_force, now);
	else
		dg_lines_add(out, "in force: nothing");
	if (!en->present) {
		dg_lines_add(out, "applied: nothing%s", !strcmp(mode, "observe") ?
			     " (observe mode: decisions are shown, not applied)" : "");
		return;
	}
	dg_text_when(a, en->expires, now);
	if (en->applied != 1) {
		dg_lines_add(out, "applied: %s not applied (exempt: %s), ends %s", en->action,
			     en->exempt[0] ? en->exempt : "?", a);
		return;
	}
	dg_lines_add(out, "applied: %s by %s, ends %s", en->action, en->by, a);
	dg_flow_begin(&fl, out, "  ", 2);
	for (int i = 0; i < en->n_counts; i++) {
		value(a, en->counts[i].v);
		dg_flow_item(&fl, "%s %s", en->counts[i].name, a);
	}
	dg_flow_end(&fl);
}

void dg_detail_lines(const struct dg_con_detail *d, const char *mode, double now,
		     struct dg_lines *out)
{
	struct dg_flow fl;

	head(d, now, out);
	enforcement(d, mode ? mode : "", now, out);
	if (d->n_features) {
		title(out, "features");
		pairs(out, d->features, d->n_features);
	}
	if (d->n_evidence) {
		title(out, "evidence (0 to 1)");
		pairs(out, d->evidence, d->n_evidence);
	}
	title(out, "addresses");
	dg_flow_begin(&fl, out, "  ", 2);
	for (int i = 0; i < d->n_addrs; i++)
		dg_flow_item(&fl, "%s", d->addrs[i]);
	if (!d->n_addrs)
		dg_flow_item(&fl, "none known");
	dg_flow_end(&fl);
	if (d->decisions_total > (size_t)d->n_decisions) {
		char t[64];

		snprintf(t, sizeof(t), "decisions: the newest %d of %zu", d->n_decisions,
			 d->decisions_total);
		title(out, t);
	} else {
		title(out, d->n_decisions ? "decisions, newest first" : "decisions: none");
	}
	for (int i = 0; i < d->n_decisions; i++)
		decision(out, "  ", &d->decisions[i], now);
}
