/* decision_json.h — a decision as the journal and `decisions --json` write
 * it, and back (replay):
 *   {"decision":{"id":7,"client":"key:0123456789ab","action":"block",
 *    "by":"policy","score":91.2,"reasons":["..."],"note":"","ts":1.5,
 *    "expires":601.5}}
 * action is none, ratelimit, block, allow or unblock; by is policy or
 * operator; score is null for an operator's decision. */
#ifndef DG_DECISION_JSON_H
#define DG_DECISION_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include "policy.h"

#define DG_DECISION_JSON_MAX 2048

/* The {"decision":...} line, no newline. Its length, or -1 (too small). */
int dg_decision_to_json(const struct dg_decision *d, char *buf, size_t size);
/* The inner object only, into an open generator (lists of decisions). */
void dg_decision_gen(yajl_gen g, const struct dg_decision *d);
/* Parse a {"decision":...} line. 0; 1 when it is not a decision line (a
 * request record, an event); -1 with a reason when it is a broken one. */
int dg_decision_from_json(const char *line, size_t len, struct dg_decision *d, char *err,
			  size_t errlen);

#endif
