/* record.c — request records to and from JSON lines (yajl), and the
 * one-line human form that `trace` prints. */
#include "record.h"

#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"

void dg_record_init(struct dg_record *r)
{
	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->stream = -1;
	r->messages = -1;
	r->prompt_bytes = -1;
	r->req_bytes = -1;
	r->max_tokens = -1;
	r->n = -1;
	r->logprobs = -1;
	r->top_logprobs = -1;
	r->logit_bias = -1;
	r->logit_bias_n = -1;
	r->reasoning_param = -1;
	r->cot_prompt = -1;
	r->output_tokens = -1;
	r->output_bytes = -1;
	r->ttfb_ms = -1;
	r->duration_ms = -1;
}

int dg_record_to_json(const struct dg_record *r, char *buf, size_t size)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (!g)
		return -1;
	yajl_gen_map_open(g);
	dg_jw_num_or_null(g, "ts", r->ts, 1, "%.6f");
	dg_jw_u64(g, "conn", r->conn);
	dg_jw_str_or_null(g, "client", r->client);
	dg_jw_str_or_null(g, "ip", r->ip);
	dg_jw_str_or_null(g, "key", r->key);
	dg_jw_str_or_null(g, "ja4", r->ja4);
	dg_jw_str_or_null(g, "method", r->method);
	dg_jw_str_or_null(g, "path", r->path);
	dg_jw_int_or_null(g, "status", r->status, r->status >= 0);
	dg_jw_str_or_null(g, "model", r->model);
	dg_jw_bool_or_null(g, "stream", r->stream);
	dg_jw_int_or_null(g, "messages", r->messages, r->messages >= 0);
	dg_jw_int_or_null(g, "prompt_bytes", r->prompt_bytes, r->prompt_bytes >= 0);
	dg_jw_hex_or_null(g, "system_fp", r->system_fp, r->has_system_fp);
	dg_jw_hex_or_null(g, "prompt_fp", r->prompt_fp, r->has_prompt_fp);
	dg_jw_hex_or_null(g, "prompt_simhash", r->prompt_simhash, r->has_prompt_fp);
	dg_jw_hex_or_null(g, "tail_fp", r->tail_fp, r->has_tail_fp);
	dg_jw_hex_or_null(g, "parent_fp", r->parent_fp, r->has_parent_fp);
	dg_jw_int_or_null(g, "max_tokens", r->max_tokens, r->max_tokens >= 0);
	dg_jw_int_or_null(g, "n", r->n, r->n >= 0);
	dg_jw_num_or_null(g, "temperature", r->temperature, r->has_temperature, "%g");
	dg_jw_bool_or_null(g, "logprobs", r->logprobs);
	dg_jw_int_or_null(g, "top_logprobs", r->top_logprobs, r->top_logprobs >= 0);
	dg_jw_bool_or_null(g, "logit_bias", r->logit_bias);
	dg_jw_int_or_null(g, "logit_bias_n", r->logit_bias_n, r->logit_bias_n >= 0);
	dg_jw_hex_or_null(g, "logit_bias_fp", r->logit_bias_fp, r->has_logit_bias_fp);
	dg_jw_bool_or_null(g, "reasoning_param", r->reasoning_param);
	dg_jw_bool_or_null(g, "cot_prompt", r->cot_prompt);
	dg_jw_int_or_null(g, "output_tokens", r->output_tokens, r->output_tokens >= 0);
	dg_jw_int_or_null(g, "output_bytes", r->output_bytes, r->output_bytes >= 0);
	dg_jw_num_or_null(g, "ttfb_ms", r->ttfb_ms, r->ttfb_ms >= 0, "%.3f");
	dg_jw_num_or_null(g, "duration_ms", r->duration_ms, r->duration_ms >= 0, "%.3f");
	dg_jw_int_or_null(g, "req_bytes", r->req_bytes, r->req_bytes >= 0);
	dg_jw_bool_or_null(g, "req_truncated", r->req_truncated);
	dg_jw_bool_or_null(g, "resp_truncated", r->resp_truncated);
	dg_jw_bool_or_null(g, "tls", r->tls);
	dg_jw_int_or_null(g, "port", r->port, r->port > 0);
	dg_jw_int_or_null(g, "front_port", r->front_port, r->front_port > 0);
	dg_jw_str_or_null(g, "proc", r->proc);
	yajl_gen_map_close(g);
	return dg_jw_take(g, buf, size);
}

void dg_record_print_line(const struct dg_record *r, FILE *out)
{
	time_t t = (time_t)r->ts;
	struct tm tm;
	char when[16], tok[24] = "-", ttfb[24] = "-", dur[24] = "-", st[16] = "---";

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (r->output_tokens >= 0)
		snprintf(tok, sizeof(tok), "%" PRId64, r->output_tokens);
	if (r->ttfb_ms >= 0)
		snprintf(ttfb, sizeof(ttfb), "%.0fms", r->ttfb_ms);
	if (r->duration_ms >= 0)
		snprintf(dur, sizeof(dur), "%.0fms", r->duration_ms);
	if (r->status >= 0)
		snprintf(st, sizeof(st), "%d", r->status);
	fprintf(out, "%s.%03d %-18s %-39s %s %s %-6s %s model=%s%s in=%" PRId64
		"B msgs=%d out=%s tok ttfb=%s dur=%s%s%s%s%s\n",
		when, (int)((r->ts - (double)t) * 1000), r->client, r->ip[0] ? r->ip : "-",
		r->method, r->path, st, r->tls ? "tls" : "plain",
		r->model[0] ? r->model : "-", r->stream == 1 ? " stream" : "",
		r->prompt_bytes, r->messages, tok, ttfb, dur,
		r->logprobs == 1 ? " logprobs" : "",
		r->reasoning_param == 1 ? " reasoning" : "",
		r->cot_prompt == 1 ? " cot" : "",
		(r->req_truncated || r->resp_truncated) ? " truncated" : "");
}

/* ---- parsing back (replay) ---- */

static yajl_val field(yajl_val o, const char *name)
{
	const char *path[] = { name, NULL };
	return yajl_tree_get(o, path, yajl_t_any);
}

static void get_str(yajl_val o, const char *k, char *dst, size_t size)
{
	yajl_val v = field(o, k);

	if (v && YAJL_IS_STRING(v))
		snprintf(dst, size, "%s", YAJL_GET_STRING(v));
}

static int get_int(yajl_val o, const char *k, int64_t *dst)
{
	yajl_val v = field(o, k);

	if (v && YAJL_IS_INTEGER(v)) {
		*dst = YAJL_GET_INTEGER(v);
		return 1;
	}
	if (v && YAJL_IS_DOUBLE(v)) {
		*dst = (int64_t)YAJL_GET_DOUBLE(v);
		return 1;
	}
	return 0;
}

static int get_dbl(yajl_val o, const char *k, double *dst)
{
	yajl_val v = field(o, k);

	if (v && YAJL_IS_NUMBER(v)) {
		*dst = YAJL_IS_INTEGER(v) ? (double)YAJL_GET_INTEGER(v) : YAJL_GET_DOUBLE(v);
		return 1;
	}
	return 0;
}

static void get_bool(yajl_val o, const char *k, int *dst)
{
	yajl_val v = field(o, k);

	if (v && YAJL_IS_TRUE(v))
		*dst = 1;
	else if (v && YAJL_IS_FALSE(v))
		*dst = 0;
}

static void get_hex(yajl_val o, const char *k, uint64_t *dst, int *has)
{
	yajl_val v = field(o, k);
	char *end;

	if (v && YAJL_IS_STRING(v)) {
		const char *s = YAJL_GET_STRING(v);
		unsigned long long x = strtoull(s, &end, 16);
		if (end != s && *end == 0) {
			*dst = x;
			if (has)
				*has = 1;
		}
	}
}

int dg_record_from_json(const char *line, size_t len, struct dg_record *r,
			char *err, size_t errlen)
{
	char *copy = malloc(len + 1);
	yajl_val o;
	int64_t i;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, line, len);
	copy[len] = 0;
	o = yajl_tree_parse(copy, err, errlen);
	free(copy);
	if (!o)
		return -1;
	if (!YAJL_IS_OBJECT(o)) {
		snprintf(err, errlen, "not a JSON object");
		yajl_tree_free(o);
		return -1;
	}
	dg_record_init(r);
	if (!get_dbl(o, "ts", &r->ts)) {
		snprintf(err, errlen, "missing ts");
		yajl_tree_free(o);
		return -1;
	}
	if (get_int(o, "conn", &i))
		r->conn = (uint64_t)i;
	get_str(o, "client", r->client, sizeof(r->client));
	get_str(o, "ip", r->ip, sizeof(r->ip));
	get_str(o, "key", r->key, sizeof(r->key));
	get_str(o, "ja4", r->ja4, sizeof(r->ja4));
	get_str(o, "method", r->method, sizeof(r->method));
	get_str(o, "path", r->path, sizeof(r->path));
	if (get_int(o, "status", &i))
		r->status = (int)i;
	get_str(o, "model", r->model, sizeof(r->model));
	get_bool(o, "stream", &r->stream);
	if (get_int(o, "messages", &i))
		r->messages = (int)i;
	get_int(o, "prompt_bytes", &r->prompt_bytes);
	get_hex(o, "system_fp", &r->system_fp, &r->has_system_fp);
	get_hex(o, "prompt_fp", &r->prompt_fp, &r->has_prompt_fp);
	get_hex(o, "prompt_simhash", &r->prompt_simhash, NULL);
	get_hex(o, "tail_fp", &r->tail_fp, &r->has_tail_fp);
	get_hex(o, "parent_fp", &r->parent_fp, &r->has_parent_fp);
	get_int(o, "max_tokens", &r->max_tokens);
	if (get_int(o, "n", &i))
		r->n = (int)i;
	r->has_temperature = get_dbl(o, "temperature", &r->temperature);
	get_bool(o, "logprobs", &r->logprobs);
	if (get_int(o, "top_logprobs", &i))
		r->top_logprobs = (int)i;
	get_bool(o, "logit_bias", &r->logit_bias);
	if (get_int(o, "logit_bias_n", &i))
		r->logit_bias_n = i < 0 ? -1 : i > 1000000 ? 1000000 : (int)i;
	get_hex(o, "logit_bias_fp", &r->logit_bias_fp, &r->has_logit_bias_fp);
	get_bool(o, "reasoning_param", &r->reasoning_param);
	get_bool(o, "cot_prompt", &r->cot_prompt);
	get_int(o, "output_tokens", &r->output_tokens);
	get_int(o, "output_bytes", &r->output_bytes);
	get_dbl(o, "ttfb_ms", &r->ttfb_ms);
	get_dbl(o, "duration_ms", &r->duration_ms);
	get_int(o, "req_bytes", &r->req_bytes);
	get_bool(o, "req_truncated", &r->req_truncated);
	get_bool(o, "resp_truncated", &r->resp_truncated);
	get_bool(o, "tls", &r->tls);
	if (get_int(o, "port", &i))
		r->port = (int)i;
	if (get_int(o, "front_port", &i) && i > 0 && i < 65536)
		r->front_port = (int)i;
	get_str(o, "proc", r->proc, sizeof(r->proc));
	yajl_tree_free(o);
	return 0;
}
