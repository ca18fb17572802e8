/* settings_json.h — the engine's settings as a journal line, and back, so
 * that replaying a journal scores with the settings the daemon had:
 *   {"settings":{"start":true,"tick":5,"max_clients":65536,
 *    "score.block_at":85,...,"policy.ttl":600,...,"allow":["key:..."]}}
 * "start" is true when the daemon started (replay begins afresh there, as
 * the daemon did), false for a reload (the settings change, the state
 * stays). */
#ifndef DG_SETTINGS_JSON_H
#define DG_SETTINGS_JSON_H

#include <stddef.h>
#include "engine.h"

#define DG_SETTINGS_JSON_MAX 8192

/* The line, no newline. Its length, or -1 when size is too small. */
int dg_settings_to_json(const struct dg_engine_config *c, int start, char *buf, size_t size);
/* Parse a settings line into c (starting from defaults). 0; 1 when it is
 * not a settings line; -1 with a reason. *start says which kind. */
int dg_settings_from_json(const char *line, size_t len, struct dg_engine_config *c, int *start,
			  char *err, size_t errlen);

#endif
