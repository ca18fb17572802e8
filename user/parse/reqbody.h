/* reqbody.h — streaming parse of an inference request body (JSON).
 *
 * Understands OpenAI /v1/chat/completions ("messages" with string or
 * [{"type":"text","text":..}] content), /v1/completions ("prompt": string or
 * array) and Anthropic /v1/messages (top-level "system" string or blocks,
 * "messages" with string or block content). Feed the body in pieces split
 * anywhere; only running hashes and counters are kept, never prompt text
 * (yajl's own token buffers are wiped when freed).
 *
 * Fingerprints (all keyed with the key given to dg_reqbody_new, see
 * fingerprint.h for the normalisation):
 *  - each message's text (its string content, or its text parts joined by a
 *    newline) is hashed on its own: h = dg_norm_final(text);
 *  - system_fp: with one system part (a "system"/"developer" role message or
 *    Anthropic's top-level "system", whose blocks count as one part) it is
 *    that part's h; with several, a keyed fold of their h in order; with
 *    none, the instruction-frame skeleton (dg_frame, fingerprint.h) of the
 *    first "user" message (or first /v1/completions prompt): its first line
 *    and the labels of the later lines, so a template filled with different
 *    questions keeps one fingerprint;
 *  - tail_fp: the same message's frame from its fixed end (dg_frame_tail),
 *    when it has one, system prompt or not: a template that puts its
 *    question first and its instruction last keeps it;
 *  - prompt_fp: a keyed fold of (hash of role name, h) over the non-system
 *    messages in order, combined with the system fold. Folding per message
 *    makes it independent of whether "role" comes before "content" and of
 *    where Anthropic's "system" key sits in the object;
 *  - prompt_simhash: dg_simhash over all prompt text values in body order
 *    (no role names), separated by newlines;
 *  - parent_fp: prompt_fp as it was before the last "assistant" message,
 *    when there is one: a real second turn's parent_fp is the prompt_fp of
 *    the request whose answer it carries;
 *  - cot_prompt: phrase match on the normalised concatenated text;
 *  - logit_bias_n and logit_bias_fp: how many token ids the top-level
 *    "logit_bias" object biases, and a keyed hash of their set (the ids
 *    only, not the bias values; in any order; an id written as digits
 *    counts as its number, so "050256" is 50256). The ids themselves are
 *    not kept. */
#ifndef DG_REQBODY_H
#define DG_REQBODY_H

#include <stddef.h>
#include <stdint.h>

#define DG_REQBODY_MAX (1u << 20)   /* default bytes parsed; beyond: truncated */
/* Nesting deeper than DG_JSON_MAX_DEPTH (jsonpath.h, 64) is a parse_error. */

struct dg_req_fields {
	char model[128];          /* "" when absent */
	int stream;               /* -1 unknown, 0, 1 */
	int messages;             /* entries in "messages", or prompts for /v1/completions; -1 unknown */
	uint64_t prompt_bytes;    /* raw (decoded, unnormalised) bytes of all prompt text */
	int has_system_fp; uint64_t system_fp;
	int has_prompt_fp; uint64_t prompt_fp;
	uint64_t prompt_simhash;  /* valid when has_prompt_fp */
	int64_t max_tokens;       /* max_tokens / max_completion_tokens / max_output_tokens; -1 unknown */
	int n;                    /* -1 unknown */
	int has_temperature; double temperature;
	int logprobs;             /* 1 if true or an integer > 0; else 0 */
	int top_logprobs;         /* -1 absent */
	int logit_bias;           /* 1 when a non-empty "logit_bias" object is present */
	int logit_bias_n;         /* token ids in it (0 when absent) */
	int has_logit_bias_fp; uint64_t logit_bias_fp;  /* keyed hash of their set */
	int has_tail_fp; uint64_t tail_fp;  /* frame from the fixed end */
	int has_parent_fp; uint64_t parent_fp;  /* prompt_fp before the last assistant turn */
	int reasoning_param;      /* reasoning_effort, reasoning{}, thinking (not disabled),
	                             include_reasoning / enable_thinking true */
	int cot_prompt;           /* prompt asks for step-by-step reasoning */
	int truncated;            /* body cut (gap, over DG_REQBODY_MAX, or JSON unfinished) */
	int parse_error;          /* not valid JSON as far as it went, or nested too deep */
};

struct dg_reqbody;

/* key: the 16-byte host secret (copied). Returns NULL on out-of-memory. */
struct dg_reqbody *dg_reqbody_new(const uint8_t key[16]);
void dg_reqbody_free(struct dg_reqbody *r);
/* Parse at most max_bytes of each body (default DG_REQBODY_MAX); the rest
 * marks it truncated. */
void dg_reqbody_set_limit(struct dg_reqbody *r, uint64_t max_bytes);
/* Forget everything: ready for the next request on the connection. */
void dg_reqbody_reset(struct dg_reqbody *r);
void dg_reqbody_feed(struct dg_reqbody *r, const char *p, size_t len);
/* missing_bytes were not captured: stop parsing, keep what was found. */
void dg_reqbody_gap(struct dg_reqbody *r, uint64_t missing_bytes);
/* Fill out. Further feeds are ignored until dg_reqbody_reset; calling it
 * again returns the same fields. */
void dg_reqbody_finish(struct dg_reqbody *r, struct dg_req_fields *out);

#endif
