/* snapshot.c — the daemon's answers parsed and checked (snapshot.h). */
#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

void dg_con_clean(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	if (!size)
		return;
	for (; src && src[i] && i + 1 < size; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[i] = 0;
}

static yajl_val get(yajl_val o, const char *k)
{
	const char *path[] = { k, NULL };

	return o && YAJL_IS_OBJECT(o) ? yajl_tree_get(o, path, yajl_t_any) : NULL;
}

static double num(yajl_val v)
{
	double d;

	if (!v || !YAJL_IS_NUMBER(v))
		return NAN;
	if (YAJL_IS_DOUBLE(v))
		d = YAJL_GET_DOUBLE(v);
	else if (YAJL_IS_INTEGER(v))
		d = (double)YAJL_GET_INTEGER(v);
	else
		return NAN;
	return isfinite(d) ? d : NAN;
}

static double num_of(yajl_val o, const char *k)
{
	return num(get(o, k));
}

static void str_of(yajl_val o, const char *k, char *dst, size_t size)
{
	yajl_val v = get(o, k);

	dg_con_clean(dst, size, v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "");
}

/* The tree of one answer; NULL with a reason when it is not JSON. */
static yajl_val parse(const char *json, char *err, size_t errlen)
{
	char perr[128] = "";
	yajl_val o;

	if (!json) {
		snprintf(err, errlen, "no answer");
		return NULL;
	}
	o = yajl_tree_parse(json, perr, sizeof(perr));
	if (!o) {
		perr[strcspn(perr, "\n")] = 0;
		snprintf(err, errlen, "the daemon's answer is not JSON (%s)", perr[0] ? perr : "?");
	}
	return o;
}

int dg_con_parse_status(const char *json, struct dg_con_status *st, char *err, size_t errlen)
{
	yajl_val o = parse(json, err, errlen);

	memset(st, 0, sizeof(*st));
	st->uptime_s = st->records_per_s = st->output_tokens_per_s = st->events_per_s = NAN;
	st->connections = st->events_lost = st->bpf_run_ns = st->bpf_cpu = NAN;
	st->clients = st->decisions_in_force = st->last_pass = NAN;
	if (!o)
		return -1;
	if (!YAJL_IS_OBJECT(o)) {
		snprintf(err, errlen, "the daemon's status is not a JSON object");
		yajl_tree_free(o);
		return -1;
	}
	str_of(o, "mode", st->mode, sizeof(st->mode));
	st->uptime_s = num_of(o, "uptime_s");
	st->records_per_s = num_of(o, "records_per_s");
	st->output_tokens_per_s = num_of(o, "output_tokens_per_s");
	st->events_per_s = num_of(o, "events_per_s");
	st->connections = num_of(o, "connections");
	st->events_lost = num_of(o, "events_lost");
	st->bpf_run_ns = num_of(o, "bpf_run_ns");
	st->bpf_cpu = num_of(o, "bpf_cpu");
	st->clients = num_of(o, "clients");
	st->decisions_in_force = num_of(o, "decisions_in_force");
	st->last_pass = num_of(o, "last_pass");
	yajl_tree_free(o);
	return 0;
}

/* The numbers of an object ("features", "evidence", counters), in order. */
static int pairs_of(yajl_val o, struct dg_con_pair *p, int max)
{
	int n = 0;

	if (!o || !YAJL_IS_OBJECT(o))
		return 0;
	for (size_t i = 0; i < o->u.object.len && n < max; i++) {
		dg_con_clean(p[n].name, sizeof(p[n].name), o->u.object.keys[i]);
		p[n].v = num(o->u.object.values[i]);
		n++;
	}
	return n;
}

static void enforcement_of(yajl_val e, struct dg_con_enforcement *enf)
{
	static const char *counts[] = { "packets_dropped", "syn_refused", "connections_cut",
					"connections_paced", "requests_cut" };
	yajl_val applied = get(e, "applied");

	memset(enf, 0, sizeof(*enf));
	enf->applied = -1;
	enf->expires = NAN;
	if (!e || !YAJL_IS_OBJECT(e))
		return;
	enf->present = 1;
	str_of(e, "action", enf->action, sizeof(enf->action));
	str_of(e, "by", enf->by, sizeof(enf->by));
	str_of(e, "exempt", enf->exempt, sizeof(enf->exempt));
	enf->applied = applied && YAJL_IS_TRUE(applied) ? 1 : applied && YAJL_IS_FALSE(applied) ? 0 : -1;
	enf->expires = num_of(e, "expires");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct dg_con_pair *p = &enf->counts[enf->n_counts++];

		snprintf(p->name, sizeof(p->name), "%s", counts[i]);
		p->v = num_of(e, counts[i]);
	}
}

/* One client object; 0, or -1 when it is not one (not an object, no name). */
static int client_of(yajl_val o, struct dg_con_client *c)
{
	struct dg_con_enforcement enf;
	yajl_val r = get(o, "reasons");

	memset(c, 0, sizeof(*c));
	c->trend = ' ';
	if (!o || !YAJL_IS_OBJECT(o))
		return -1;
	str_of(o, "client", c->name, sizeof(c->name));
	if (!c->name[0])
		return -1;
	str_of(o, "cluster", c->cluster, sizeof(c->cluster));
	str_of(o, "action", c->action, sizeof(c->action));
	c->score = num_of(o, "score");
	c->requests_per_min = num_of(o, "requests_per_min");
	c->output_tokens_per_min = num_of(o, "output_tokens_per_min");
	c->keys = num_of(o, "keys");
	c->ips = num_of(o, "ips");
	c->requests = num_of(o, "requests");
	c->output_tokens = num_of(o, "output_tokens");
	for (size_t i = 0; r && YAJL_IS_ARRAY(r) && i < r->u.array.len && c->n_reasons < DG_CON_REASONS;
	     i++) {
		yajl_val s = r->u.array.values[i];

		if (s && YAJL_IS_STRING(s) && YAJL_GET_STRING(s)[0])
			dg_con_clean(c->reasons[c->n_reasons++], DG_CON_REASON, YAJL_GET_STRING(s));
	}
	enforcement_of(get(o, "enforcement"), &enf);
	c->applied = enf.applied;
	return 0;
}

int dg_con_parse_clients(const char *json, size_t max, struct dg_con_client **out, size_t *n,
			 size_t *skipped, char *err, size_t errlen)
{
	yajl_val o = parse(json, err, errlen);
	size_t len;

	*out = NULL;
	*n = *skipped = 0;
	if (!o)
		return -1;
	if (!YAJL_IS_ARRAY(o)) {
		snprintf(err, errlen, "the daemon's client list is not a JSON array");
		yajl_tree_free(o);
		return -1;
	}
	len = o->u.array.len;
	if (len && !(*out = calloc(len < max ? len : max, sizeof(**out)))) {
		snprintf(err, errlen, "out of memory");
		yajl_tree_free(o);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (*n < max && !client_of(o->u.array.values[i], &(*out)[*n]))
			(*n)++;
		else
			(*skipped)++;
	}
	yajl_tree_free(o);
	return 0;
}

static void decision_of(yajl_val o, struct dg_con_decision *d)
{
	yajl_val r = get(o, "reasons");

	memset(d, 0, sizeof(*d));
	d->id = num_of(o, "id");
	str_of(o, "action", d->action, sizeof(d->action));
	str_of(o, "by", d->by, sizeof(d->by));
	d->score = num_of(o, "score");
	d->ts = num_of(o, "ts");
	d->expires = num_of(o, "expires");
	str_of(o, "note", d->why, sizeof(d->why));
	if (!d->why[0] && r && YAJL_IS_ARRAY(r) && r->u.array.len && YAJL_IS_STRING(r->u.array.values[0]))
		dg_con_clean(d->why, sizeof(d->why), YAJL_GET_STRING(r->u.array.values[0]));
}

int dg_con_parse_detail(const char *json, struct dg_con_detail *d, char *err, size_t errlen)
{
	yajl_val o = parse(json, err, errlen), view, v;

	memset(d, 0, sizeof(*d));
	d->first_seen = d->last_seen = d->first_flagged = d->requests_to_flag = NAN;
	d->automation = d->harvest = d->cluster_members = NAN;
	enforcement_of(NULL, &d->enf);
	if (!o)
		return -1;
	view = get(o, "view");
	if (!YAJL_IS_OBJECT(o) || client_of(view, &d->c)) {
		snprintf(err, errlen, "the daemon's answer names no client");
		yajl_tree_free(o);
		return -1;
	}
	d->first_seen = num_of(view, "first_seen");
	d->last_seen = num_of(view, "last_seen");
	d->first_flagged = num_of(view, "first_flagged");
	d->requests_to_flag = num_of(view, "requests_to_flag");
	d->automation = num_of(view, "automation");
	d->harvest = num_of(view, "harvest");
	d->cluster_members = num_of(o, "cluster_members");
	d->n_features = pairs_of(get(o, "features"), d->features, DG_CON_PAIRS);
	d->n_evidence = pairs_of(get(view, "evidence"), d->evidence, DG_CON_PAIRS);
	enforcement_of(get(view, "enforcement"), &d->enf);
	v = get(o, "addresses");
	for (size_t i = 0; v && YAJL_IS_ARRAY(v) && i < v->u.array.len && d->n_addrs < DG_CON_ADDRS; i++)
		if (YAJL_IS_STRING(v->u.array.values[i]))
			dg_con_clean(d->addrs[d->n_addrs++], DG_CON_NAME, YAJL_GET_STRING(v->u.array.values[i]));
	v = get(o, "in_force");
	if (v && YAJL_IS_OBJECT(v)) {
		d->has_in_force = 1;
		decision_of(v, &d->in_force);
	}
	v = get(o, "decisions");            /* oldest first: keep the newest, newest first */
	for (size_t i = v && YAJL_IS_ARRAY(v) ? v->u.array.len : 0; i > 0; i--) {
		yajl_val e = v->u.array.values[i - 1];

		if (!e || !YAJL_IS_OBJECT(e))
			continue;
		d->decisions_total++;
		if (d->n_decisions < DG_CON_DECISIONS)
			decision_of(e, &d->decisions[d->n_decisions++]);
	}
	yajl_tree_free(o);
	return 0;
}
