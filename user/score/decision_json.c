/* decision_json.c — decisions to and from JSON (decision_json.h). */
#include "decision_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"

void dg_decision_gen(yajl_gen g, const struct dg_decision *d)
{
	yajl_gen_map_open(g);
	dg_jw_u64(g, "id", d->id);
	dg_jw_str(g, "client", d->client);
	dg_jw_str(g, "action", dg_verb_name(d->verb));
	dg_jw_str(g, "by", d->by == DG_BY_OPERATOR ? "operator" : "policy");
	dg_jw_num_or_null(g, "score", d->score, d->score >= 0, "%.1f");
	dg_jw_key(g, "reasons");
	yajl_gen_array_open(g);
	for (int i = 0; i < d->n_reasons && i < DG_MAX_REASONS; i++)
		dg_jw_string(g, d->reasons[i]);
	yajl_gen_array_close(g);
	dg_jw_str(g, "note", d->note);
	dg_jw_num(g, "ts", d->ts, "%.3f");
	dg_jw_num(g, "expires", d->expires, "%.3f");
	yajl_gen_map_close(g);
}

int dg_decision_to_json(const struct dg_decision *d, char *buf, size_t size)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return -1;
	yajl_gen_map_open(g);
	dg_jw_key(g, "decision");
	dg_decision_gen(g, d);
	yajl_gen_map_close(g);
	return dg_jw_take(g, buf, size);
}

static yajl_val get(yajl_val o, const char *k)
{
	const char *path[] = { k, NULL };

	return yajl_tree_get(o, path, yajl_t_any);
}

static int get_str(yajl_val o, const char *k, char *out, size_t size)
{
	yajl_val v = get(o, k);
	const char *s = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

	if (!s || strlen(s) >= size)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int get_num(yajl_val o, const char *k, double *out)
{
	yajl_val v = get(o, k);

	if (!v || !YAJL_IS_NUMBER(v) || !isfinite(YAJL_GET_DOUBLE(v)))
		return -1;
	*out = YAJL_GET_DOUBLE(v);
	return 0;
}

/* The fields of the inner object. */
static int fields(yajl_val o, struct dg_decision *d, char *err, size_t errlen)
{
	char verb[16], by[16];
	yajl_val v = get(o, "reasons");
	double id = 0;
	int vb;

	if (get_str(o, "client", d->client, sizeof(d->client)) ||
	    get_str(o, "action", verb, sizeof(verb)) || (vb = dg_verb_parse(verb)) < 0 ||
	    get_str(o, "by", by, sizeof(by)) || get_num(o, "ts", &d->ts) ||
	    get_num(o, "expires", &d->expires)) {
		snprintf(err, errlen, "a decision needs client, action, by, ts and expires");
		return -1;
	}
	if (strcmp(by, "operator") && strcmp(by, "policy")) {
		snprintf(err, errlen, "a decision's by is policy or operator, not '%s'", by);
		return -1;
	}
	d->verb = (enum dg_verb)vb;
	d->by = !strcmp(by, "operator") ? DG_BY_OPERATOR : DG_BY_POLICY;
	if (get_num(o, "score", &d->score))
		d->score = -1;
	if (!get_num(o, "id", &id) && id > 0)
		d->id = (uint64_t)id;
	get_str(o, "note", d->note, sizeof(d->note));
	for (size_t i = 0; v && YAJL_IS_ARRAY(v) && i < v->u.array.len && d->n_reasons < DG_MAX_REASONS;
	     i++) {
		yajl_val r = v->u.array.values[i];
		const char *s = YAJL_IS_STRING(r) ? YAJL_GET_STRING(r) : NULL;

		if (s)
			snprintf(d->reasons[d->n_reasons++], DG_REASON_LEN, "%s", s);
	}
	return 0;
}

int dg_decision_from_json(const char *line, size_t len, struct dg_decision *d, char *err,
			  size_t errlen)
{
	char perr[128], *buf;
	yajl_val o, inner;
	int rc;

	memset(d, 0, sizeof(*d));
	/* Cheap test first: replay sees millions of record lines. */
	if (len < 12 || !memmem(line, len < 32 ? len : 32, "\"decision\"", 10))
		return 1;
	buf = malloc(len + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	o = yajl_tree_parse(buf, perr, sizeof(perr));
	free(buf);
	inner = o && YAJL_IS_OBJECT(o) ? get(o, "decision") : NULL;
	if (!inner || !YAJL_IS_OBJECT(inner)) {
		snprintf(err, errlen, "not a decision line");
		rc = -1;
	} else {
		rc = fields(inner, d, err, errlen);
	}
	yajl_tree_free(o);
	return rc;
}
