/* respbody.h — streaming parse of an inference response body for the
 * number of output tokens.
 *
 * A JSON body (is_sse 0) is parsed with yajl: depth-1 "model", depth-1
 * "usage" {completion_tokens | output_tokens}. After a gap, or after
 * DG_RESPBODY_JSON_MAX bytes, yajl stops and the remaining bytes are scanned
 * for a "usage" key followed by ':' and '{'; that object is parsed on its own
 * (at most DG_RESPBODY_USAGE_MAX bytes) — the usage sits at the end of the
 * body, so it is usually still found.
 *
 * An event stream (is_sse 1) is split into events (LF, CRLF or CR line ends;
 * data lines joined by "\n"; one event's data bounded by
 * DG_RESPBODY_EVENT_MAX, over that the event is skipped and truncated set);
 * each event's data is parsed as JSON: usage from "usage" (depth 1) or
 * "response"."usage" (Responses API); a content event is an OpenAI chunk with
 * a non-empty choices[*].text or choices[*].delta.content /
 * .reasoning_content / .reasoning, an Anthropic "content_block_delta", or a
 * Responses API "response.*text.delta" / "response.refusal.delta".
 * "model" is the first of depth-1 "model", "message"."model",
 * "response"."model". "data: [DONE]" ends the stream. An event still open
 * when the body ends is used if its last line was complete. A gap drops the
 * partial line and event and resumes after the next blank line. */
#ifndef DG_RESPBODY_H
#define DG_RESPBODY_H

#include <stddef.h>
#include <stdint.h>

#define DG_RESPBODY_EVENT_MAX (256u << 10)   /* one SSE event's data */
#define DG_RESPBODY_JSON_MAX  (1u << 20)     /* JSON body bytes given to yajl */
#define DG_RESPBODY_USAGE_MAX (64u << 10)    /* a resynchronised usage object */

struct dg_resp_fields {
	int64_t output_tokens;   /* usage when seen (last one), else SSE content events, else -1 */
	int usage_seen;          /* output_tokens came from a usage object */
	uint64_t sse_events;     /* data: events seen (not counting [DONE]) */
	int truncated;           /* gap, oversized event, JSON past the bound, or cut mid-line */
	int parse_error;         /* JSON body invalid, or some event's data not valid JSON */
	char model[128];         /* "" if absent */
};

struct dg_respbody;

struct dg_respbody *dg_respbody_new(void);   /* NULL on out-of-memory */
void dg_respbody_free(struct dg_respbody *r);
/* Start a response (forgets the previous one). is_sse: Content-Type
 * text/event-stream. */
void dg_respbody_begin(struct dg_respbody *r, int is_sse);
/* De-chunked body bytes, any split. Ignored after finish until begin. */
void dg_respbody_feed(struct dg_respbody *r, const char *p, size_t len);
void dg_respbody_gap(struct dg_respbody *r, uint64_t missing_bytes);
/* Fill out; calling it again returns the same fields. */
void dg_respbody_finish(struct dg_respbody *r, struct dg_resp_fields *out);

#endif
