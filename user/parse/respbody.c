/* respbody.c — output tokens from a response body, JSON or SSE. See respbody.h.
 *
 * The same yajl callbacks serve a JSON body, each SSE event's data, and a
 * "usage" object found by the resync scan after a gap; what they find goes
 * into r->ev. For SSE, r->ev is cleared before each event and applied after
 * it parsed cleanly; for a JSON body it accumulates over the whole body. */
#include "respbody.h"
#include "jsonfeed.h"
#include "jsonpath.h"
#include "fingerprint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <yajl/yajl_parse.h>

#define DATA_INIT 4096
#define TYPE_LEN 64
#define FIELD_LEN 8

/* What an open object or array is. */
enum {
	PK_OTHER,        /* 0: one we do not follow (jsonpath.h) */
	PK_TOP, PK_USAGE, PK_CHOICES, PK_CHOICE, PK_DELTA,
	PK_MESSAGE, PK_RESPONSE,
};

enum {
	K_NONE = DG_JK_NONE, K_OTHER = DG_JK_OTHER, K_ELEM = DG_JK_ELEM,
	K_MODEL = DG_JK_FIRST, K_USAGE, K_CHOICES, K_DELTA, K_TEXT, K_CONTENT,
	K_REASONING_CONTENT, K_REASONING, K_COMPLETION_TOKENS,
	K_OUTPUT_TOKENS, K_TYPE, K_MESSAGE, K_RESPONSE,
};

static const struct dg_jkey key_table[] = {
	{"model", K_MODEL},
	{"usage", K_USAGE},
	{"choices", K_CHOICES},
	{"delta", K_DELTA},
	{"text", K_TEXT},
	{"content", K_CONTENT},
	{"reasoning_content", K_REASONING_CONTENT},
	{"reasoning", K_REASONING},
	{"completion_tokens", K_COMPLETION_TOKENS},
	{"output_tokens", K_OUTPUT_TOKENS},
	{"type", K_TYPE},
	{"message", K_MESSAGE},
	{"response", K_RESPONSE},
};
#define N_KEYS (sizeof(key_table) / sizeof(key_table[0]))

/* Event types that carry generated content. */
static const char *const content_types[] = {
	"content_block_delta",                    /* Anthropic */
	"response.output_text.delta",             /* OpenAI Responses API */
	"response.reasoning_text.delta",
	"response.reasoning_summary_text.delta",
	"response.refusal.delta",
};

/* Non-SSE body states. */
enum { JS_PARSE, JS_SCAN, JS_USAGE, JS_DONE };

/* SSE field being read. */
enum { F_OTHER, F_DATA, F_EVENT };

/* What one parse found. */
struct evres {
	char type[TYPE_LEN];
	int content;
	int usage_seen;
	int64_t usage;
	char model[128];
};

struct dg_respbody {
	int is_sse;
	int finished;
	struct dg_resp_fields f;
	int64_t usage;             /* SSE: last usage applied */
	int usage_seen;
	uint64_t content_events;

	/* yajl, shared by all modes. */
	yajl_handle yh;
	struct dg_jsonfeed jf;     /* in front of yajl for the JSON body: strings whole */
	int base_kind;             /* kind of the outermost object */
	struct dg_jpath jp;        /* the open containers */
	int top_done;
	int closed;                /* the resync usage object ended */
	struct evres ev;

	/* JSON body. */
	int js;
	uint64_t json_fed;
	int nonspace;
	int scan_pos;              /* resync scanner state, see scan() */
	unsigned char scan_prev;
	uint64_t usage_fed;

	/* SSE. */
	int sse_done;              /* [DONE] seen */
	int resync;                /* after a gap: skip to the next blank line */
	int cr;                    /* last byte was CR: a following LF is part of it */
	uint64_t line_len;
	int in_value;              /* past the ':' of the line */
	int skip_space;            /* the value's first space is not part of it */
	int field;                 /* F_* of the line being read */
	char fname[FIELD_LEN];
	size_t fname_len;
	char *data;
	size_t data_len, data_cap;
	int data_lines, data_over;
	char ev_name[TYPE_LEN];
	size_t ev_name_len;
};

/* ------------------------------------------------------------ yajl glue */

static void value_ctx(struct dg_respbody *r, int container, int *kind, int *key)
{
	if (!dg_jpath_where(&r->jp, kind, key) && !container)
		r->top_done = 1;
}

static int cb_scalar(void *ctx)
{
	int kind, key;

	value_ctx(ctx, 0, &kind, &key);
	return 1;
}

static int cb_boolean(void *ctx, int b)
{
	(void)b;
	return cb_scalar(ctx);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	struct dg_respbody *r = ctx;
	int kind, key;
	char buf[32];

	value_ctx(r, 0, &kind, &key);
	if (kind != PK_USAGE || (key != K_COMPLETION_TOKENS && key != K_OUTPUT_TOKENS))
		return 1;
	if (len == 0 || len >= sizeof(buf) || memchr(s, '.', len) ||
	    memchr(s, 'e', len) || memchr(s, 'E', len))
		return 1;          /* not a plain integer: ignore */
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	long long v = strtoll(buf, NULL, 10);
	if (errno || v < 0)
		return 1;          /* out of range or negative: ignore */
	r->ev.usage = v;
	r->ev.usage_seen = 1;
	return 1;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct dg_respbody *r = ctx;
	int kind, key;

	value_ctx(r, 0, &kind, &key);
	if (key == K_MODEL && len > 0 && r->ev.model[0] == '\0' &&
	    (kind == PK_TOP || kind == PK_MESSAGE || kind == PK_RESPONSE))
		dg_jcopy(r->ev.model, sizeof(r->ev.model), s, len);
	else if (kind == PK_TOP && key == K_TYPE)
		dg_jcopy(r->ev.type, sizeof(r->ev.type), s, len);
	else if (kind == PK_CHOICE && key == K_TEXT && len > 0)
		r->ev.content = 1;
	else if (kind == PK_DELTA && len > 0 &&
		 (key == K_CONTENT || key == K_REASONING_CONTENT || key == K_REASONING))
		r->ev.content = 1;
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct dg_respbody *r = ctx;
	int kind, key, nk = PK_OTHER;

	value_ctx(r, 1, &kind, &key);
	if (r->jp.depth == 0)
		nk = r->base_kind;
	else if (kind == PK_TOP && key == K_USAGE)
		nk = PK_USAGE;
	else if (kind == PK_TOP && key == K_MESSAGE)
		nk = PK_MESSAGE;
	else if (kind == PK_TOP && key == K_RESPONSE)
		nk = PK_RESPONSE;
	else if (kind == PK_RESPONSE && key == K_USAGE)
		nk = PK_USAGE;
	else if (kind == PK_CHOICES)
		nk = PK_CHOICE;
	else if (kind == PK_CHOICE && key == K_DELTA)
		nk = PK_DELTA;
	return dg_jpath_push(&r->jp, nk, 1);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct dg_respbody *r = ctx;

	dg_jpath_top(&r->jp)->key = (uint8_t)dg_jkey_lookup(key_table, N_KEYS, s, len);
	return 1;
}

static int cb_end(void *ctx)
{
	struct dg_respbody *r = ctx;

	dg_jpath_pop(&r->jp);
	if (r->jp.depth == 0) {
		r->top_done = 1;
		if (r->base_kind == PK_USAGE) {
			r->closed = 1;
			return 0;     /* stop right after the usage object */
		}
	}
	return 1;
}

static int cb_start_array(void *ctx)
{
	struct dg_respbody *r = ctx;
	int kind, key;

	value_ctx(r, 1, &kind, &key);
	return dg_jpath_push(&r->jp, kind == PK_TOP && key == K_CHOICES ? PK_CHOICES : PK_OTHER,
			     0);
}

static const yajl_callbacks callbacks = {
	cb_scalar, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end, cb_start_array, cb_end,
};

static void parser_start(struct dg_respbody *r, int base_kind)
{
	if (r->yh)
		yajl_free(r->yh);
	dg_jsonfeed_reset(&r->jf);
	r->base_kind = base_kind;
	r->jp.depth = 0;
	r->top_done = 0;
	r->closed = 0;
	r->yh = yajl_alloc(&callbacks, &dg_yajl_wiping_alloc, r);
}

static void parser_stop(struct dg_respbody *r)
{
	if (r->yh) {
		yajl_free(r->yh);
		r->yh = NULL;
	}
	dg_jsonfeed_reset(&r->jf);
}

/* ----------------------------------------------------- JSON body + resync */

/* Look for `"usage"` ws* ':' ws* '{' (not preceded by a backslash, i.e. not
 * an escaped quote inside a string). scan_pos: 1..7 bytes of the literal
 * matched, 8 after it, 9 after the ':'. On the '{' a usage parse starts.
 * Returns the bytes consumed. */
static size_t scan(struct dg_respbody *r, const char *p, size_t len)
{
	static const char lit[] = "\"usage\"";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		int ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		unsigned char prev = r->scan_prev;

		r->scan_prev = c;
		if (r->scan_pos < 7) {
			if (c == (unsigned char)lit[r->scan_pos] && (r->scan_pos > 0 || prev != '\\')) {
				r->scan_pos++;
				if (r->scan_pos == 7)
					r->scan_pos = 8;
				continue;
			}
		} else if (r->scan_pos == 8) {
			if (ws)
				continue;
			if (c == ':') {
				r->scan_pos = 9;
				continue;
			}
		} else if (r->scan_pos == 9) {
			if (ws)
				continue;
			if (c == '{') {
				r->scan_pos = 0;
				r->js = JS_USAGE;
				r->usage_fed = 1;
				parser_start(r, PK_USAGE);
				yajl_parse(r->yh, (const unsigned char *)"{", 1);
				return i + 1;
			}
		}
		/* Mismatch: this byte may start the literal again. */
		r->scan_pos = (c == '"' && prev != '\\') ? 1 : 0;
	}
	return len;
}

/* Feed the usage object found by scan(). Returns the bytes consumed: all of
 * them while the object goes on; up to its end (or the error) otherwise,
 * and then we are back to scanning. */
static size_t usage_feed(struct dg_respbody *r, const char *p, size_t len)
{
	size_t room = DG_RESPBODY_USAGE_MAX - r->usage_fed;
	size_t take = len < room ? len : room;
	yajl_status st = yajl_parse(r->yh, (const unsigned char *)p, take);

	r->usage_fed += take;
	if (st == yajl_status_ok && take == len)
		return len;
	size_t used = st == yajl_status_ok ? take : yajl_get_bytes_consumed(r->yh);
	if (used > take)
		used = take;
	parser_stop(r);
	r->js = JS_SCAN;
	r->scan_pos = 0;
	r->scan_prev = 0;
	return used;
}

/* The JSON body while yajl parses it whole. Returns the bytes consumed. */
static size_t parse_feed(struct dg_respbody *r, const char *p, size_t len)
{
	size_t room = DG_RESPBODY_JSON_MAX - r->json_fed;
	size_t take = len < room ? len : room;

	for (size_t i = 0; i < take && !r->nonspace; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			r->nonspace = 1;
	r->json_fed += take;
	if (take && dg_jsonfeed_parse(&r->jf, r->yh, p, take) != yajl_status_ok) {
		r->f.parse_error = 1;
		parser_stop(r);
		r->js = JS_DONE;
		return len;
	}
	if (take < len) {
		/* Too big to parse whole: find the usage in the rest. */
		r->f.truncated = 1;
		parser_stop(r);
		r->js = JS_SCAN;
	}
	return take;
}

static void json_feed(struct dg_respbody *r, const char *p, size_t len)
{
	while (len > 0) {
		size_t used;

		switch (r->js) {
		case JS_PARSE: used = parse_feed(r, p, len); break;
		case JS_SCAN: used = scan(r, p, len); break;
		case JS_USAGE: used = usage_feed(r, p, len); break;
		default: return;
		}
		p += used;
		len -= used;
	}
}

/* ------------------------------------------------------------------ SSE */

static void data_clear(struct dg_respbody *r)
{
	if (r->data)
		sodium_memzero(r->data, r->data_len);
	r->data_len = 0;
	r->data_lines = 0;
	r->data_over = 0;
	r->ev_name_len = 0;
	r->ev_name[0] = '\0';
}

static void data_append(struct dg_respbody *r, const char *p, size_t len)
{
	if (r->data_over || len == 0)
		return;
	if (len > DG_RESPBODY_EVENT_MAX - r->data_len) {
		r->data_over = 1;
		sodium_memzero(r->data, r->data_len);
		r->data_len = 0;
		return;
	}
	if (r->data_len + len > r->data_cap) {
		size_t cap = r->data_cap ? r->data_cap : DATA_INIT;
		while (cap < r->data_len + len)
			cap *= 2;
		if (cap > DG_RESPBODY_EVENT_MAX)
			cap = DG_RESPBODY_EVENT_MAX;
		char *nd = malloc(cap);
		if (!nd) {
			r->data_over = 1;
			return;
		}
		if (r->data) {
			memcpy(nd, r->data, r->data_len);
			sodium_memzero(r->data, r->data_cap);
			free(r->data);
		}
		r->data = nd;
		r->data_cap = cap;
	}
	memcpy(r->data + r->data_len, p, len);
	r->data_len += len;
}

static int is_content_type(const char *t)
{
	for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
		if (!strcmp(t, content_types[i]))
			return 1;
	return 0;
}

/* A blank line: the event is complete. */
static void dispatch(struct dg_respbody *r)
{
	if (r->data_lines == 0 || (r->data_len == 0 && !r->data_over)) {
		data_clear(r);     /* no data: not an event (as in the HTML spec) */
		return;
	}
	if (r->data_over) {
		r->f.sse_events++;
		r->f.truncated = 1;
		data_clear(r);
		return;
	}
	if (r->data_len == 6 && memcmp(r->data, "[DONE]", 6) == 0) {
		r->sse_done = 1;
		data_clear(r);
		return;
	}
	r->f.sse_events++;

	memset(&r->ev, 0, sizeof(r->ev));
	parser_start(r, PK_TOP);
	yajl_status st = yajl_parse(r->yh, (const unsigned char *)r->data, r->data_len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(r->yh);
	parser_stop(r);

	if (st != yajl_status_ok) {
		r->f.parse_error = 1;
	} else {
		if (r->ev.type[0] == '\0')
			memcpy(r->ev.type, r->ev_name, r->ev_name_len + 1);
		if (r->ev.usage_seen) {
			r->usage = r->ev.usage;
			r->usage_seen = 1;
		}
		if (r->ev.content || is_content_type(r->ev.type))
			r->content_events++;
		if (r->f.model[0] == '\0' && r->ev.model[0] != '\0')
			memcpy(r->f.model, r->ev.model, sizeof(r->f.model));
	}
	memset(&r->ev, 0, sizeof(r->ev));
	data_clear(r);
}

static int field_of(const struct dg_respbody *r)
{
	if (r->fname_len == 4 && memcmp(r->fname, "data", 4) == 0)
		return F_DATA;
	if (r->fname_len == 5 && memcmp(r->fname, "event", 5) == 0)
		return F_EVENT;
	return F_OTHER;
}

/* The field name is complete (at ':' or at the end of a line without one). */
static void field_begin(struct dg_respbody *r)
{
	r->field = field_of(r);
	if (r->field == F_DATA) {
		if (r->data_lines++)
			data_append(r, "\n", 1);
	} else if (r->field == F_EVENT) {
		r->ev_name_len = 0;
		r->ev_name[0] = '\0';
	}
}

static void line_reset(struct dg_respbody *r)
{
	r->line_len = 0;
	r->in_value = 0;
	r->skip_space = 0;
	r->field = F_OTHER;
	r->fname_len = 0;
}

static void line_end(struct dg_respbody *r)
{
	if (r->resync) {
		if (r->line_len == 0)
			r->resync = 0;
		line_reset(r);
		return;
	}
	if (r->line_len == 0) {
		dispatch(r);
		return;
	}
	if (!r->in_value)
		field_begin(r);       /* "data" alone: an empty data line */
	line_reset(r);
}

static void value_bytes(struct dg_respbody *r, const char *p, size_t len)
{
	if (r->field == F_DATA) {
		data_append(r, p, len);
	} else if (r->field == F_EVENT) {
		size_t room = sizeof(r->ev_name) - 1 - r->ev_name_len;
		size_t n = len < room ? len : room;
		memcpy(r->ev_name + r->ev_name_len, p, n);
		r->ev_name_len += n;
		r->ev_name[r->ev_name_len] = '\0';
	}
}

static void sse_feed(struct dg_respbody *r, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && !r->sse_done) {
		char c = p[i];

		if (r->cr) {
			r->cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			r->cr = c == '\r';
			line_end(r);
			i++;
			continue;
		}
		/* A run of bytes up to the next line end. */
		size_t j = i;
		while (j < len && p[j] != '\r' && p[j] != '\n')
			j++;
		r->line_len += j - i;
		if (r->resync) {
			i = j;
			continue;
		}
		while (i < j && !r->in_value) {
			if (p[i] == ':') {
				r->in_value = 1;
				r->skip_space = 1;
				field_begin(r);
			} else if (r->fname_len < FIELD_LEN) {
				r->fname[r->fname_len++] = p[i];
			}
			i++;
		}
		if (i < j && r->skip_space) {
			r->skip_space = 0;
			if (p[i] == ' ')
				i++;
		}
		if (i < j)
			value_bytes(r, p + i, j - i);
		i = j;
	}
}

/* ------------------------------------------------------------------ API */

struct dg_respbody *dg_respbody_new(void)
{
	struct dg_respbody *r = calloc(1, sizeof(*r));

	if (r)
		dg_respbody_begin(r, 0);
	return r;
}

void dg_respbody_free(struct dg_respbody *r)
{
	if (!r)
		return;
	parser_stop(r);
	dg_jsonfeed_free(&r->jf);
	if (r->data) {
		sodium_memzero(r->data, r->data_cap);
		free(r->data);
	}
	sodium_memzero(r, sizeof(*r));
	free(r);
}

void dg_respbody_begin(struct dg_respbody *r, int is_sse)
{
	char *data = r->data;
	size_t cap = r->data_cap;
	struct dg_jsonfeed jf;

	parser_stop(r);
	jf = r->jf;                /* its buffer is kept, wiped, for the next body */
	if (data)
		sodium_memzero(data, cap);
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->data_cap = cap;
	r->jf = jf;
	r->is_sse = is_sse ? 1 : 0;
	r->f.output_tokens = -1;
	if (!r->is_sse) {
		r->js = JS_PARSE;
		parser_start(r, PK_TOP);
	}
}

void dg_respbody_feed(struct dg_respbody *r, const char *p, size_t len)
{
	if (r->finished || len == 0)
		return;
	if (r->is_sse)
		sse_feed(r, p, len);
	else
		json_feed(r, p, len);
}

void dg_respbody_gap(struct dg_respbody *r, uint64_t missing_bytes)
{
	(void)missing_bytes;
	if (r->finished)
		return;
	r->f.truncated = 1;
	if (r->is_sse) {
		if (r->sse_done)
			return;
		line_reset(r);
		data_clear(r);
		r->cr = 0;
		r->resync = 1;
		return;
	}
	if (r->js == JS_PARSE || r->js == JS_USAGE) {
		parser_stop(r);
		r->js = JS_SCAN;
		r->scan_pos = 0;
		r->scan_prev = 0;
	}
}

void dg_respbody_finish(struct dg_respbody *r, struct dg_resp_fields *out)
{
	if (r->finished) {
		*out = r->f;
		return;
	}
	if (r->is_sse) {
		if (!r->sse_done) {
			if (r->line_len > 0 && !r->resync) {
				r->f.truncated = 1;    /* cut mid-line: drop the event */
				data_clear(r);
			} else if (!r->resync) {
				dispatch(r);
			}
		}
		data_clear(r);
		if (r->data) {       /* give the event buffer back between responses */
			sodium_memzero(r->data, r->data_cap);
			free(r->data);
			r->data = NULL;
			r->data_cap = 0;
		}
		r->f.output_tokens = r->usage_seen ? r->usage : (int64_t)r->content_events;
		r->f.usage_seen = r->usage_seen;
	} else {
		if (r->js == JS_PARSE && r->yh &&
		    dg_jsonfeed_flush(&r->jf, r->yh) != yajl_status_ok) {
			r->f.parse_error = 1;
			parser_stop(r);
		}
		if (r->js == JS_PARSE && r->yh) {
			if (r->jp.depth > 0)
				r->f.truncated = 1;
			else if (yajl_complete_parse(r->yh) != yajl_status_ok && r->nonspace) {
				if (r->top_done)
					r->f.parse_error = 1;
				else
					r->f.truncated = 1;
			}
		}
		parser_stop(r);
		if (r->ev.usage_seen) {
			r->f.output_tokens = r->ev.usage;
			r->f.usage_seen = 1;
		}
		memcpy(r->f.model, r->ev.model, sizeof(r->f.model));
	}
	r->finished = 1;
	*out = r->f;
}
