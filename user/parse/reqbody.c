/* reqbody.c — streaming parse of an inference request body. See reqbody.h.
 *
 * yajl calls us back token by token, whatever the split of the input. We keep
 * a small stack of frames telling what each open object/array is (the top
 * object, the "messages" array, one message, its content parts, ...) and the
 * last key seen in each object, so every value knows where it sits. Fields
 * are only taken from known places (depth-1 keys of the top object, message
 * keys), so a "model" inside "metadata" is ignored. */
#include "reqbody.h"
#include "jsonfeed.h"
#include "jsonpath.h"
#include "fingerprint.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <yajl/yajl_parse.h>

#define ROLE_LEN 32
#define NUM_LEN 64         /* longer numbers are ignored */
#define COT_WIN 32         /* >= the longest reasoning phrase */
#define COT_RUN 256        /* normalised bytes added to the window at a time */

/* What an open object or array is. */
enum {
	RK_OTHER,        /* 0: one we do not follow (jsonpath.h) */
	RK_TOP,          /* the top-level object */
	RK_MESSAGES,     /* top."messages" array */
	RK_MESSAGE,      /* one element of it */
	RK_CONTENT,      /* a message's "content" array (or a block's nested one) */
	RK_PART,         /* one content part / system block */
	RK_SYSTEM,       /* Anthropic top."system" array */
	RK_PROMPT,       /* /v1/completions top."prompt" array */
	RK_LOGIT_BIAS,   /* top."logit_bias" object */
	RK_THINKING,     /* Anthropic top."thinking" object */
	RK_KWARGS,       /* top."chat_template_kwargs" object (vLLM, SGLang) */
};

/* Keys we look at. K_ELEM stands for "element of an array". */
enum {
	K_NONE = DG_JK_NONE, K_OTHER = DG_JK_OTHER, K_ELEM = DG_JK_ELEM,
	K_MODEL = DG_JK_FIRST, K_STREAM, K_MESSAGES, K_PROMPT, K_SYSTEM, K_ROLE, K_CONTENT,
	K_TEXT, K_TYPE, K_MAX_TOKENS, K_N, K_TEMPERATURE, K_LOGPROBS,
	K_TOP_LOGPROBS, K_LOGIT_BIAS, K_REASONING_EFFORT, K_REASONING,
	K_THINKING, K_INCLUDE_REASONING, K_ENABLE_THINKING, K_KWARGS,
};

static const struct dg_jkey key_table[] = {
	{"model", K_MODEL},
	{"stream", K_STREAM},
	{"messages", K_MESSAGES},
	{"prompt", K_PROMPT},
	{"system", K_SYSTEM},
	{"role", K_ROLE},
	{"content", K_CONTENT},
	{"text", K_TEXT},
	{"type", K_TYPE},
	{"max_tokens", K_MAX_TOKENS},
	{"max_completion_tokens", K_MAX_TOKENS},
	{"max_output_tokens", K_MAX_TOKENS},
	{"n", K_N},
	{"temperature", K_TEMPERATURE},
	{"logprobs", K_LOGPROBS},
	{"top_logprobs", K_TOP_LOGPROBS},
	{"logit_bias", K_LOGIT_BIAS},
	{"reasoning_effort", K_REASONING_EFFORT},
	{"reasoning", K_REASONING},
	{"thinking", K_THINKING},
	{"include_reasoning", K_INCLUDE_REASONING},
	{"enable_thinking", K_ENABLE_THINKING},
	{"chat_template_kwargs", K_KWARGS},
};
#define N_KEYS (sizeof(key_table) / sizeof(key_table[0]))

/* Phrases that ask for visible step-by-step reasoning, matched on the
 * normalised text (lowercase, single spaces). */
#define PHRASE(s) {s, sizeof(s) - 1}
static const struct {
	const char *s;
	size_t len;
} cot_phrases[] = {
	PHRASE("step by step"), PHRASE("step-by-step"), PHRASE("show your reasoning"),
	PHRASE("explain your reasoning"), PHRASE("think through"),
	PHRASE("chain of thought"), PHRASE("chain-of-thought"),
	PHRASE("show your work"), PHRASE("reason step"), PHRASE("let's think"),
	PHRASE("let\xe2\x80\x99s think"), PHRASE("lets think"),
	PHRASE("let us think"), PHRASE("think step"),
};
#undef PHRASE
/* The last bytes of the phrases above: only they can end a match. */
static const unsigned char cot_end[256] = { ['p'] = 1, ['g'] = 1, ['h'] = 1, ['t'] = 1, ['k'] = 1 };

struct dg_reqbody {
	uint8_t key[DG_FP_KEYLEN];
	locale_t cloc;             /* "C" numeric locale for strtod_l */
	yajl_handle yh;            /* NULL once parsing stopped */
	struct dg_jsonfeed jf;     /* in front of yajl: strings whole */
	int finished;
	uint64_t fed;              /* body bytes given to yajl */
	uint64_t limit;            /* ... at most this many */
	int nonspace;              /* a non-whitespace byte was fed */
	int top_done;              /* a complete top-level value was parsed */
	struct dg_jpath jp;        /* the open containers */
	struct dg_req_fields f;    /* accumulated fields; fingerprints at finish */
	int thinking_disabled;
	int prompt_tokens;         /* "prompt" array holds token ids */

	/* The message (or system / prompt part) being read. */
	int msg_active;
	char role[ROLE_LEN];
	int msg_parts;
	struct dg_norm msg;        /* whole text of this message */
	struct dg_frame frame;     /* its instruction-frame skeleton */

	uint64_t sys_first, sys_chain, msg_chain;
	int par_set;               /* an assistant message was seen: ... */
	uint64_t par_chain, par_count;  /* msg_chain and msg_count before the last one */
	uint64_t sys_count, msg_count;
	int frame_set;
	uint64_t frame_fp;
	int tail_set;
	uint64_t tail_fp;
	uint64_t bias_sum;         /* sum of the keyed hashes of the biased ids */

	/* Whole prompt, in body order. */
	int any_text;
	uint64_t text_values;
	struct dg_simhash sim;
	struct dg_normstate cot_st;
	unsigned char cot_win[COT_WIN + COT_RUN];
	size_t cot_len;
};

static const yajl_callbacks callbacks;

/* ----------------------------------------------------------- fingerprints */

static void put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		b[i] = (uint8_t)v;
}

/* Keyed hash of up to four 64-bit words. */
static uint64_t fold(const struct dg_reqbody *r, const uint64_t *w, int nw)
{
	uint8_t in[32];

	for (int i = 0; i < nw; i++)
		put_le64(in + 8 * i, w[i]);
	return dg_keyed_hash(r->key, in, (size_t)(8 * nw));
}

/* Does a reasoning phrase end at cot_win[end - 1]? */
static int cot_match(const struct dg_reqbody *r, size_t end)
{
	unsigned char c = r->cot_win[end - 1];

	for (size_t p = 0; p < sizeof(cot_phrases) / sizeof(cot_phrases[0]); p++) {
		const char *ph = cot_phrases[p].s;
		size_t pl = cot_phrases[p].len;

		if (pl <= end && (unsigned char)ph[pl - 1] == c &&
		    (unsigned char)ph[pl - 2] == r->cot_win[end - 2] &&
		    memcmp(r->cot_win + end - pl, ph, pl) == 0)
			return 1;
	}
	return 0;
}

/* The window keeps the last normalised bytes: text is normalised into it a
 * run at a time, and when it is full its last COT_WIN bytes (the longest
 * phrase) move to the front, so the memmove is paid once per COT_RUN bytes.
 * Only the bytes that end a phrase are looked at. */
static void cot_feed(struct dg_reqbody *r, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len && !r->f.cot_prompt) {
		size_t from, done;

		if (sizeof(r->cot_win) - r->cot_len < 2) {
			memmove(r->cot_win, r->cot_win + r->cot_len - COT_WIN, COT_WIN);
			r->cot_len = COT_WIN;
		}
		from = r->cot_len;
		r->cot_len += dg_norm_run(&r->cot_st, p, len, r->cot_win + from,
					  sizeof(r->cot_win) - from, &done);
		p += done;
		len -= done;
		for (size_t e = from; e < r->cot_len; e++) {
			if (cot_end[r->cot_win[e]] && cot_match(r, e + 1)) {
				r->f.cot_prompt = 1;
				break;
			}
		}
	}
}

/* A prompt text value (message content, text part, system, prompt). */
static void prompt_text(struct dg_reqbody *r, const char *s, size_t len)
{
	r->any_text = 1;
	r->f.prompt_bytes += len;
	if (r->text_values++) {
		dg_simhash_feed(&r->sim, "\n", 1);
		cot_feed(r, "\n", 1);
	}
	dg_simhash_feed(&r->sim, s, len);
	cot_feed(r, s, len);
}

static void msg_end(struct dg_reqbody *r);

static void msg_begin(struct dg_reqbody *r, const char *role)
{
	if (r->msg_active)
		msg_end(r);
	r->msg_active = 1;
	r->msg_parts = 0;
	snprintf(r->role, sizeof(r->role), "%s", role);
	dg_norm_init(&r->msg, r->key);
	dg_frame_init(&r->frame, r->key);
}

static void msg_text(struct dg_reqbody *r, const char *s, size_t len)
{
	if (!r->msg_active)
		return;
	if (r->msg_parts++) {
		dg_norm_feed(&r->msg, "\n", 1);
		dg_frame_feed(&r->frame, "\n", 1);
	}
	dg_norm_feed(&r->msg, s, len);
	dg_frame_feed(&r->frame, s, len);
	prompt_text(r, s, len);
}

static void msg_end(struct dg_reqbody *r)
{
	if (!r->msg_active)
		return;
	r->msg_active = 0;

	uint64_t h = dg_norm_final(&r->msg);
	if (!strcmp(r->role, "system") || !strcmp(r->role, "developer")) {
		if (r->sys_count++ == 0)
			r->sys_first = h;
		uint64_t w[2] = {r->sys_chain, h};
		r->sys_chain = fold(r, w, 2);
	} else {
		uint64_t w[3] = {r->msg_chain, dg_keyed_hash(r->key, r->role, strlen(r->role)), h};

		if (!strcmp(r->role, "assistant")) {
			r->par_set = 1;
			r->par_chain = r->msg_chain;
			r->par_count = r->msg_count;
		}
		r->msg_chain = fold(r, w, 3);
		r->msg_count++;
		if (!r->frame_set && (!strcmp(r->role, "user") || !strcmp(r->role, "prompt"))) {
			r->frame_set = dg_frame_final(&r->frame, &r->frame_fp);
			if (r->frame_set)
				r->tail_set = dg_frame_tail(&r->frame, &r->tail_fp);
		}
	}
	/* The norms buffer up to DG_NORM_BUF bytes of normalised text. */
	sodium_memzero(&r->msg, sizeof(r->msg));
	sodium_memzero(&r->frame, sizeof(r->frame));
	sodium_memzero(r->role, sizeof(r->role));
}

/* A whole text value that is a part on its own (prompt string, system string). */
static void text_part(struct dg_reqbody *r, const char *role, const char *s, size_t len)
{
	msg_begin(r, role);
	msg_text(r, s, len);
	msg_end(r);
}

/* ------------------------------------------------------------ yajl glue */

/* Where the value about to be read sits: the kind of the enclosing
 * container and the key (or K_ELEM). Counts array elements that matter. */
enum { V_SCALAR, V_STRING, V_NUMBER, V_CONTAINER };

static void value_ctx(struct dg_reqbody *r, int vtype, int *kind, int *key)
{
	if (!dg_jpath_where(&r->jp, kind, key)) {
		if (vtype != V_CONTAINER)
			r->top_done = 1;     /* a top-level scalar */
		return;
	}
	if (*key != K_ELEM)
		return;
	if (*kind == RK_MESSAGES) {
		r->f.messages++;
	} else if (*kind == RK_PROMPT) {
		if (vtype == V_NUMBER) {
			if (!r->prompt_tokens) {     /* one prompt given as token ids */
				r->prompt_tokens = 1;
				r->f.messages++;
			}
		} else if (vtype == V_STRING || vtype == V_CONTAINER) {
			r->f.messages++;
		}
	}
}

static int pop(struct dg_reqbody *r)
{
	int kind = dg_jpath_pop(&r->jp);

	if (r->jp.depth == 0)
		r->top_done = 1;
	return kind;
}

/* Convert a JSON number. Returns 0 when it is too long to bother with. */
static int num_parse(struct dg_reqbody *r, const char *s, size_t len, int64_t *iv, double *dv)
{
	char buf[NUM_LEN];
	int is_int = 1;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E')
			is_int = 0;
	if (is_int) {
		errno = 0;
		long long v = strtoll(buf, NULL, 10);   /* clamps on overflow */
		*iv = v;
		*dv = (double)v;
		return 1;
	}
	*dv = r->cloc ? strtod_l(buf, NULL, r->cloc) : strtod(buf, NULL);
	if (!isfinite(*dv))
		*iv = *dv < 0 ? INT64_MIN : INT64_MAX;
	else if (*dv >= 9.2e18)
		*iv = INT64_MAX;
	else if (*dv <= -9.2e18)
		*iv = INT64_MIN;
	else
		*iv = (int64_t)*dv;
	return 1;
}

static int clamp_int(int64_t v)
{
	if (v > INT_MAX)
		return INT_MAX;
	if (v < INT_MIN)
		return INT_MIN;
	return (int)v;
}

static int cb_null(void *ctx)
{
	int kind, key;

	value_ctx(ctx, V_SCALAR, &kind, &key);
	return 1;
}

static int cb_boolean(void *ctx, int b)
{
	struct dg_reqbody *r = ctx;
	int kind, key;

	value_ctx(r, V_SCALAR, &kind, &key);
	if (kind == RK_TOP) {
		switch (key) {
		case K_STREAM: r->f.stream = b ? 1 : 0; break;
		case K_LOGPROBS: r->f.logprobs = b ? 1 : 0; break;
		case K_INCLUDE_REASONING:
		case K_ENABLE_THINKING:
		case K_THINKING:
			if (b)
				r->f.reasoning_param = 1;
			break;
		}
	} else if (kind == RK_KWARGS && key == K_ENABLE_THINKING && b) {
		r->f.reasoning_param = 1;
	}
	return 1;
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	struct dg_reqbody *r = ctx;
	int kind, key;
	int64_t iv;
	double dv;

	value_ctx(r, V_NUMBER, &kind, &key);
	if (kind != RK_TOP || !num_parse(r, s, len, &iv, &dv))
		return 1;
	switch (key) {
	case K_MAX_TOKENS:
		if (iv >= 0)
			r->f.max_tokens = iv;
		break;
	case K_N: r->f.n = clamp_int(iv); break;
	case K_TEMPERATURE:
		r->f.has_temperature = 1;
		r->f.temperature = dv;
		break;
	case K_LOGPROBS: r->f.logprobs = dv > 0; break;
	case K_TOP_LOGPROBS: r->f.top_logprobs = clamp_int(iv); break;
	}
	return 1;
}

static int cb_string(void *ctx, const unsigned char *us, size_t len)
{
	struct dg_reqbody *r = ctx;
	const char *s = (const char *)us;
	int kind, key;

	value_ctx(r, V_STRING, &kind, &key);
	switch (kind) {
	case RK_TOP:
		if (key == K_MODEL) {
			dg_jcopy(r->f.model, sizeof(r->f.model), s, len);
		} else if (key == K_PROMPT) {
			r->f.messages = 1;
			text_part(r, "prompt", s, len);
		} else if (key == K_SYSTEM) {
			text_part(r, "system", s, len);
		} else if (key == K_REASONING_EFFORT) {
			r->f.reasoning_param = 1;
		}
		break;
	case RK_PROMPT:
		text_part(r, "prompt", s, len);
		break;
	case RK_MESSAGE:
		if (key == K_ROLE) {
			dg_jcopy(r->role, sizeof(r->role), s, len);
		} else if (key == K_CONTENT) {
			msg_text(r, s, len);
		}
		break;
	case RK_CONTENT:
		msg_text(r, s, len);       /* bare string in a content array */
		break;
	case RK_PART:
		if (key == K_TEXT || key == K_CONTENT)
			msg_text(r, s, len);
		break;
	case RK_THINKING:
		if (key == K_TYPE && len == 8 && memcmp(s, "disabled", 8) == 0)
			r->thinking_disabled = 1;
		break;
	}
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct dg_reqbody *r = ctx;
	int kind, key, nk = RK_OTHER;

	value_ctx(r, V_CONTAINER, &kind, &key);
	if (r->jp.depth == 0) {
		nk = RK_TOP;
	} else if (kind == RK_TOP) {
		switch (key) {
		case K_LOGIT_BIAS: nk = RK_LOGIT_BIAS; break;
		case K_REASONING:
		case K_REASONING_EFFORT:
			r->f.reasoning_param = 1;
			break;
		case K_THINKING:
			nk = RK_THINKING;
			r->thinking_disabled = 0;
			break;
		case K_KWARGS: nk = RK_KWARGS; break;
		}
	} else if (kind == RK_MESSAGES) {
		nk = RK_MESSAGE;
		msg_begin(r, "");
	} else if (kind == RK_CONTENT || kind == RK_SYSTEM) {
		nk = RK_PART;
	}
	return dg_jpath_push(&r->jp, nk, 1);
}

/* One key of "logit_bias": a token id. Its keyed hash joins the set's
 * sum (so the order does not matter); a decimal id counts as its number. */
static void bias_id(struct dg_reqbody *r, const unsigned char *s, size_t len)
{
	uint8_t num[8];
	size_t i = 0;

	r->f.logit_bias = 1;
	if (r->f.logit_bias_n < INT_MAX)
		r->f.logit_bias_n++;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (len && i == len && len <= 19) {
		uint64_t v = 0;

		for (i = 0; i < len; i++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		put_le64(num, v);
		r->bias_sum += dg_keyed_hash(r->key, num, sizeof(num));
	} else {
		r->bias_sum += dg_keyed_hash(r->key, s, len) ^ 0x5a5a5a5a5a5a5a5aULL;
	}
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct dg_reqbody *r = ctx;
	struct dg_jframe *fr = dg_jpath_top(&r->jp);

	fr->key = (uint8_t)dg_jkey_lookup(key_table, N_KEYS, s, len);
	if (fr->kind == RK_LOGIT_BIAS)
		bias_id(r, s, len);
	return 1;
}

static int cb_end_map(void *ctx)
{
	struct dg_reqbody *r = ctx;
	int kind = pop(r);

	if (kind == RK_MESSAGE)
		msg_end(r);
	else if (kind == RK_THINKING && !r->thinking_disabled)
		r->f.reasoning_param = 1;
	return 1;
}

static int cb_start_array(void *ctx)
{
	struct dg_reqbody *r = ctx;
	int kind, key, nk = RK_OTHER;

	value_ctx(r, V_CONTAINER, &kind, &key);
	if (kind == RK_TOP && key == K_MESSAGES) {
		nk = RK_MESSAGES;
		if (r->f.messages < 0)
			r->f.messages = 0;
	} else if (kind == RK_TOP && key == K_PROMPT) {
		nk = RK_PROMPT;
		r->prompt_tokens = 0;
		if (r->f.messages < 0)
			r->f.messages = 0;
	} else if (kind == RK_TOP && key == K_SYSTEM) {
		nk = RK_SYSTEM;
		msg_begin(r, "system");
	} else if ((kind == RK_MESSAGE || kind == RK_PART) && key == K_CONTENT) {
		nk = RK_CONTENT;
	}
	return dg_jpath_push(&r->jp, nk, 0);
}

static int cb_end_array(void *ctx)
{
	struct dg_reqbody *r = ctx;

	if (pop(r) == RK_SYSTEM)
		msg_end(r);
	return 1;
}

static const yajl_callbacks callbacks = {
	cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

/* ------------------------------------------------------------------ API */

static void stop(struct dg_reqbody *r)
{
	if (r->yh) {
		yajl_free(r->yh);     /* the wiping allocator clears its buffers */
		r->yh = NULL;
	}
	dg_jsonfeed_reset(&r->jf);
}

/* Everything but the key and locale back to the start state. */
static void init_state(struct dg_reqbody *r)
{
	uint8_t key[DG_FP_KEYLEN];
	locale_t cloc = r->cloc;
	uint64_t limit = r->limit ? r->limit : DG_REQBODY_MAX;
	struct dg_jsonfeed jf;

	stop(r);
	jf = r->jf;                /* its buffer is kept for the next body */
	memcpy(key, r->key, sizeof(key));
	sodium_memzero(r, sizeof(*r));
	memcpy(r->key, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	r->cloc = cloc;
	r->limit = limit;
	r->jf = jf;

	r->f.stream = -1;
	r->f.messages = -1;
	r->f.max_tokens = -1;
	r->f.n = -1;
	r->f.top_logprobs = -1;
	dg_simhash_init(&r->sim, r->key);
	r->yh = yajl_alloc(&callbacks, &dg_yajl_wiping_alloc, r);
}

struct dg_reqbody *dg_reqbody_new(const uint8_t key[16])
{
	struct dg_reqbody *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	memcpy(r->key, key, DG_FP_KEYLEN);
	r->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	init_state(r);
	return r;
}

void dg_reqbody_free(struct dg_reqbody *r)
{
	if (!r)
		return;
	stop(r);
	dg_jsonfeed_free(&r->jf);
	if (r->cloc)
		freelocale(r->cloc);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

void dg_reqbody_set_limit(struct dg_reqbody *r, uint64_t max_bytes)
{
	r->limit = max_bytes ? max_bytes : DG_REQBODY_MAX;
}

void dg_reqbody_reset(struct dg_reqbody *r)
{
	init_state(r);
}

void dg_reqbody_feed(struct dg_reqbody *r, const char *p, size_t len)
{
	if (r->finished || !r->yh || len == 0)
		return;

	size_t room = r->fed < r->limit ? (size_t)(r->limit - r->fed) : 0;
	size_t take = len < room ? len : room;

	for (size_t i = 0; i < take && !r->nonspace; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			r->nonspace = 1;
	if (take) {
		r->fed += take;
		if (dg_jsonfeed_parse(&r->jf, r->yh, p, take) != yajl_status_ok) {
			r->f.parse_error = 1;
			stop(r);
			return;
		}
	}
	if (take < len) {
		r->f.truncated = 1;
		stop(r);
	}
}

void dg_reqbody_gap(struct dg_reqbody *r, uint64_t missing_bytes)
{
	(void)missing_bytes;
	if (r->finished)
		return;
	r->f.truncated = 1;
	stop(r);
}

void dg_reqbody_finish(struct dg_reqbody *r, struct dg_req_fields *out)
{
	if (r->finished) {
		*out = r->f;
		return;
	}
	if (r->yh && dg_jsonfeed_flush(&r->jf, r->yh) != yajl_status_ok) {
		r->f.parse_error = 1;
		stop(r);
	}
	if (r->yh) {
		if (r->jp.depth > 0)
			r->f.truncated = 1;
		else if (yajl_complete_parse(r->yh) != yajl_status_ok && r->nonspace) {
			if (r->top_done)
				r->f.parse_error = 1;   /* trailing garbage */
			else
				r->f.truncated = 1;     /* a top-level scalar cut short */
		}
		stop(r);
	}
	if (r->msg_active)
		msg_end(r);       /* count what we saw of a cut message */

	struct dg_req_fields *f = &r->f;
	if (r->any_text) {
		uint64_t w[4] = {r->sys_chain, r->msg_chain, r->sys_count, r->msg_count};
		f->has_prompt_fp = 1;
		f->prompt_fp = fold(r, w, 4);
		f->prompt_simhash = dg_simhash_final(&r->sim);
		if (r->sys_count == 1) {
			f->has_system_fp = 1;
			f->system_fp = r->sys_first;
		} else if (r->sys_count > 1) {
			f->has_system_fp = 1;
			f->system_fp = r->sys_chain;
		} else if (r->frame_set) {
			f->has_system_fp = 1;
			f->system_fp = r->frame_fp;
		}
		f->has_tail_fp = r->tail_set;
		f->tail_fp = r->tail_set ? r->tail_fp : 0;
		if (r->par_set) {
			uint64_t p[4] = {r->sys_chain, r->par_chain, r->sys_count, r->par_count};
			f->has_parent_fp = 1;
			f->parent_fp = fold(r, p, 4);
		}
	}
	if (f->logit_bias_n > 0) {
		uint64_t w[2] = {r->bias_sum, (uint64_t)f->logit_bias_n};
		f->has_logit_bias_fp = 1;
		f->logit_bias_fp = fold(r, w, 2);
	}
	sodium_memzero(&r->sim, sizeof(r->sim));
	sodium_memzero(r->cot_win, sizeof(r->cot_win));
	r->finished = 1;
	*out = *f;
}
