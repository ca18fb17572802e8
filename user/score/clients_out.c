/* clients_out.c — the client table's views written out: the `clients
 * --json` array (DESIGN.md) and the plain table `replay` prints. */
#include "clients.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "jsonw.h"

static void write_reasons(yajl_gen g, const struct dg_score *s)
{
	dg_jw_key(g, "reasons");
	yajl_gen_array_open(g);
	for (int r = 0; r < s->n_reasons; r++)
		dg_jw_string(g, s->reasons[r]);
	yajl_gen_array_close(g);
}

/* A key: its addresses shared with keys that look legitimate. An
 * address: the keys behind it. */
static void write_sharing(yajl_gen g, const struct dg_client_view *c)
{
	if (!strncmp(c->name, "key:", 4)) {
		dg_jw_int(g, "addresses_shared_with_legit_keys", c->shared_addrs);
	} else {
		dg_jw_int(g, "legit_keys", c->legit_keys);
		dg_jw_int(g, "flagged_keys", c->flagged_keys);
	}
}

/* When it was first flagged and after how many requests; null never. */
static void write_first_flag(yajl_gen g, const struct dg_client_view *c)
{
	int flagged = c->first_flag_ts > 0;

	dg_jw_key(g, "first_flagged");
	if (flagged)
		dg_jw_number(g, c->first_flag_ts, "%.3f");
	else
		yajl_gen_null(g);
	dg_jw_int_or_null(g, "requests_to_flag", (long long)c->first_flag_requests, flagged);
}

static void write_evidence(yajl_gen g, const struct dg_score *s)
{
	dg_jw_key(g, "evidence");
	yajl_gen_map_open(g);
	for (int e = 0; e < DG_EV__MAX; e++)
		dg_jw_num(g, dg_evidence_name(e), s->evidence[e], "%.3f");
	yajl_gen_map_close(g);
}

void dg_clients_gen_view(yajl_gen g, const struct dg_client_view *c)
{
	dg_clients_gen_view_ex(g, c, NULL, NULL);
}

void dg_clients_gen_view_ex(yajl_gen g, const struct dg_client_view *c, dg_view_extra_fn extra,
			    void *arg)
{
	yajl_gen_map_open(g);
	dg_jw_str(g, "client", c->name);
	dg_jw_num(g, "score", c->s.score, "%.1f");
	write_reasons(g, &c->s);
	dg_jw_str(g, "action", dg_action_name(c->action));
	dg_jw_int(g, "requests", (long long)c->f.requests);
	dg_jw_int(g, "output_tokens", (long long)c->f.out_tokens);
	dg_jw_num(g, "requests_per_min", c->f.rate_1m, "%.1f");
	dg_jw_num(g, "output_tokens_per_min", c->f.tok_rate_1m, "%.0f");
	dg_jw_int(g, "ips", llround(c->ips));
	dg_jw_int(g, "keys", llround(c->keys));
	write_sharing(g, c);
	dg_jw_key(g, "cluster");
	if (c->cluster[0])
		dg_jw_string(g, c->cluster);
	else
		yajl_gen_null(g);
	dg_jw_num(g, "first_seen", c->first_ts, "%.3f");
	dg_jw_num(g, "last_seen", c->last_ts, "%.3f");
	write_first_flag(g, c);
	dg_jw_num(g, "automation", c->s.automation, "%.3f");
	dg_jw_num(g, "harvest", c->s.harvest, "%.3f");
	write_evidence(g, &c->s);
	if (extra)
		extra(g, c, arg);
	yajl_gen_map_close(g);
}

void dg_clients_write_json(const struct dg_client_view *v, size_t n, FILE *out)
{
	dg_clients_write_json_ex(v, n, out, NULL, NULL);
}

void dg_clients_write_json_ex(const struct dg_client_view *v, size_t n, FILE *out,
			      dg_view_extra_fn extra, void *arg)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (!g)
		return;
	yajl_gen_config(g, yajl_gen_beautify, 0);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		dg_clients_gen_view_ex(g, &v[i], extra, arg);
	yajl_gen_array_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, out);
		fputc('\n', out);
	}
	yajl_gen_free(g);
}

void dg_clients_write_table(const struct dg_client_view *v, size_t n, FILE *out)
{
	dg_clients_write_table_ex(v, n, out, NULL, NULL);
}

void dg_clients_write_table_ex(const struct dg_client_view *v, size_t n, FILE *out,
			       dg_view_applied_fn applied, void *arg)
{
	fprintf(out, "%5s  %-9s  ", "SCORE", "ACTION");
	if (applied)
		fprintf(out, "%-7s  ", "APPLIED");
	fprintf(out, "%-40s %8s %10s %5s %5s  %s\n", "CLIENT", "REQS", "OUT_TOK", "IPS", "KEYS",
		"REASONS");
	for (size_t i = 0; i < n; i++) {
		const struct dg_client_view *c = &v[i];

		fprintf(out, "%5.1f  %-9s  ", c->s.score, dg_action_name(c->action));
		if (applied)
			fprintf(out, "%-7s  ", applied(c, arg));
		fprintf(out, "%-40s %8" PRIu64 " %10" PRIu64 " %5lld %5lld  ", c->name, c->f.requests,
			c->f.out_tokens, llround(c->ips), llround(c->keys));
		for (int r = 0; r < c->s.n_reasons; r++)
			fprintf(out, "%s%s", r ? "; " : "", c->s.reasons[r]);
		fputc('\n', out);
	}
}
