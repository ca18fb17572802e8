/* settings_json.c — the engine's settings to and from a journal line
 * (settings_json.h). */
#include "settings_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"

static void gen_score(const char *name, double v, void *arg)
{
	char key[80];

	snprintf(key, sizeof(key), "score.%s", name);
	dg_jw_num((yajl_gen)arg, key, v, "%.17g");
}

int dg_settings_to_json(const struct dg_engine_config *c, int start, char *buf, size_t size)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return -1;
	yajl_gen_map_open(g);
	dg_jw_key(g, "settings");
	yajl_gen_map_open(g);
	dg_jw_key(g, "start");
	yajl_gen_bool(g, start);
	dg_jw_num(g, "tick", c->tick, "%.17g");
	dg_jw_u64(g, "max_clients", c->max_clients);
	dg_score_config_each(&c->score, gen_score, g);
	dg_jw_num(g, "policy.hysteresis", c->policy.hysteresis, "%.17g");
	dg_jw_num(g, "policy.ttl", c->policy.ttl, "%.17g");
	dg_jw_num(g, "policy.manual_ttl", c->policy.manual_ttl, "%.17g");
	dg_jw_key(g, "allow");
	yajl_gen_array_open(g);
	for (int i = 0; i < c->policy.n_allow; i++)
		dg_jw_string(g, c->policy.allow[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return dg_jw_take(g, buf, size);
}

/* One key/value of the settings object. */
static int apply(struct dg_engine_config *c, const char *k, yajl_val v, char *err, size_t errlen)
{
	double d = YAJL_IS_NUMBER(v) ? YAJL_GET_DOUBLE(v) : -1;

	if (!strcmp(k, "start"))
		return 0;
	if (!strcmp(k, "allow") && YAJL_IS_ARRAY(v)) {
		c->policy.n_allow = 0;
		for (size_t i = 0; i < v->u.array.len; i++) {
			yajl_val a = v->u.array.values[i];

			if (!YAJL_IS_STRING(a)) {
				snprintf(err, errlen, "settings: allow[%zu] is not a string", i);
				return -1;
			}
			if (dg_policy_allow_add(&c->policy, YAJL_GET_STRING(a), err, errlen))
				return -1;
		}
		return 0;
	}
	if (!YAJL_IS_NUMBER(v)) {
		snprintf(err, errlen, "settings: %s is not a number", k);
		return -1;
	}
	if (!strcmp(k, "tick") && d >= 0.1 && d <= 600)
		c->tick = d;
	else if (!strcmp(k, "max_clients") && d >= 16 && d <= (double)(1UL << 24))
		c->max_clients = (size_t)d;     /* the config file's bounds */
	else if (!strncmp(k, "score.", 6) && !dg_score_config_set(&c->score, k + 6, d))
		;
	else if (!strcmp(k, "policy.hysteresis") && d >= 0)
		c->policy.hysteresis = d;
	else if (!strcmp(k, "policy.ttl") && d > 0)
		c->policy.ttl = d;
	else if (!strcmp(k, "policy.manual_ttl") && d > 0)
		c->policy.manual_ttl = d;
	else {
		snprintf(err, errlen, "settings: %s: unknown or out of range", k);
		return -1;
	}
	return 0;
}

int dg_settings_from_json(const char *line, size_t len, struct dg_engine_config *c, int *start,
			  char *err, size_t errlen)
{
	const char *path[] = { "settings", NULL };
	char perr[128], *buf;
	yajl_val o, s, st;
	int rc = 0;

	if (len < 12 || strncmp(line, "{\"settings\"", 11))
		return 1;
	if (!(buf = malloc(len + 1))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	o = yajl_tree_parse(buf, perr, sizeof(perr));
	free(buf);
	s = o ? yajl_tree_get(o, path, yajl_t_object) : NULL;
	if (!s) {
		snprintf(err, errlen, "a broken settings line");
		yajl_tree_free(o);
		return -1;
	}
	dg_engine_config_default(c);
	st = NULL;
	for (size_t i = 0; i < s->u.object.len && !rc; i++) {
		if (!strcmp(s->u.object.keys[i], "start"))
			st = s->u.object.values[i];
		rc = apply(c, s->u.object.keys[i], s->u.object.values[i], err, errlen);
	}
	*start = st && YAJL_IS_TRUE(st);
	yajl_tree_free(o);
	return rc;
}
