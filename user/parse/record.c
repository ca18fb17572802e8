/* record.c — request records to JSON lines (jsonbuf.h) and from them
 * (yajl), and the one-line human form that `trace` prints. */
#include "record.h"

#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <math.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "jsonbuf.h"

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

/* The or-null forms of jsonbuf.h's writers, as jsonw.h has them (macros,
 * so that each key reaches jsonbuf.h as a literal). */
#define STR_OR_NULL(jb, k, v) \
	do { if (*(v)) dg_jb_str(jb, k, v); else dg_jb_null(jb, k); } while (0)
#define INT_OR_NULL(jb, k, v, known) \
	do { if (known) dg_jb_i64(jb, k, v); else dg_jb_null(jb, k); } while (0)
#define BOOL_OR_NULL(jb, k, v) \
	do { if ((v) < 0) dg_jb_null(jb, k); else dg_jb_bool(jb, k, v); } while (0)
#define HEX_OR_NULL(jb, k, v, known) \
	do { if (known) dg_jb_hex16(jb, k, v); else dg_jb_null(jb, k); } while (0)
#define FIXED_OR_NULL(jb, k, v, known, digits) \
	do { if ((known) && isfinite(v)) dg_jb_fixed(jb, k, v, digits); else dg_jb_null(jb, k); } while (0)

/* Written once per request by the daemon, so straight into buf (jsonbuf.h)
 * rather than through yajl_gen; the text is the same byte for byte
 * (test_record.c compares the two on varied records). */
int dg_record_to_json(const struct dg_record *r, char *buf, size_t size)
{
	struct dg_jb jb;

	dg_jb_begin(&jb, buf, size);
	FIXED_OR_NULL(&jb, "ts", r->ts, 1, 6);
	dg_jb_u64(&jb, "conn", r->conn);
	STR_OR_NULL(&jb, "client", r->client);
	STR_OR_NULL(&jb, "ip", r->ip);
	STR_OR_NULL(&jb, "key", r->key);
	STR_OR_NULL(&jb, "ja4", r->ja4);
	STR_OR_NULL(&jb, "method", r->method);
	STR_OR_NULL(&jb, "path", r->path);
	INT_OR_NULL(&jb, "status", r->status, r->status >= 0);
	STR_OR_NULL(&jb, "model", r->model);
	BOOL_OR_NULL(&jb, "stream", r->stream);
	INT_OR_NULL(&jb, "messages", r->messages, r->messages >= 0);
	INT_OR_NULL(&jb, "prompt_bytes", r->prompt_bytes, r->prompt_bytes >= 0);
	HEX_OR_NULL(&jb, "system_fp", r->system_fp, r->has_system_fp);
	HEX_OR_NULL(&jb, "prompt_fp", r->prompt_fp, r->has_prompt_fp);
	HEX_OR_NULL(&jb, "prompt_simhash", r->prompt_simhash, r->has_prompt_fp);
	HEX_OR_NULL(&jb, "tail_fp", r->tail_fp, r->has_tail_fp);
	HEX_OR_NULL(&jb, "parent_fp", r->parent_fp, r->has_parent_fp);
	INT_OR_NULL(&jb, "max_tokens", r->max_tokens, r->max_tokens >= 0);
	INT_OR_NULL(&jb, "n", r->n, r->n >= 0);
	if (r->has_temperature && isfinite(r->temperature))
		dg_jb_g(&jb, "temperature", r->temperature);
	else
		dg_jb_null(&jb, "temperature");
	BOOL_OR_NULL(&jb, "logprobs", r->logprobs);
	INT_OR_NULL(&jb, "top_logprobs", r->top_logprobs, r->top_logprobs >= 0);
	BOOL_OR_NULL(&jb, "logit_bias", r->logit_bias);
	INT_OR_NULL(&jb, "logit_bias_n", r->logit_bias_n, r->logit_bias_n >= 0);
	HEX_OR_NULL(&jb, "logit_bias_fp", r->logit_bias_fp, r->has_logit_bias_fp);
	BOOL_OR_NULL(&jb, "reasoning_param", r->reasoning_param);
	BOOL_OR_NULL(&jb, "cot_prompt", r->cot_prompt);
	INT_OR_NULL(&jb, "output_tokens", r->output_tokens, r->output_tokens >= 0);
	INT_OR_NULL(&jb, "output_bytes", r->output_bytes, r->output_bytes >= 0);
	FIXED_OR_NULL(&jb, "ttfb_ms", r->ttfb_ms, r->ttfb_ms >= 0, 3);
	FIXED_OR_NULL(&jb, "duration_ms", r->duration_ms, r->duration_ms >= 0, 3);
	INT_OR_NULL(&jb, "req_bytes", r->req_bytes, r->req_bytes >= 0);
	BOOL_OR_NULL(&jb, "req_truncated", r->req_truncated);
	BOOL_OR_NULL(&jb, "resp_truncated", r->resp_truncated);
	BOOL_OR_NULL(&jb, "tls", r->tls);
	INT_OR_NULL(&jb, "port", r->port, r->port > 0);
	INT_OR_NULL(&jb, "front_port", r->front_port, r->front_port > 0);
	STR_OR_NULL(&jb, "proc", r->proc);
	return dg_jb_end(&jb);
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
