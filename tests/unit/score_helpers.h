/* score_helpers.h — what the score-side tests share (test_client_features,
 * test_clients, test_clusters): a time to start from and a request record
 * of a person or of a harvester. */
#ifndef SCORE_HELPERS_H
#define SCORE_HELPERS_H

#include <stdio.h>
#include "hll.h"
#include "record.h"

#define T0 1793491200.0        /* 2026-11-01 00:00:00 UTC, on a minute */

/* A record of one request: a harvester's (one template, one message,
 * reasoning and log-probabilities asked, at the token cap) or a person's. */
static inline void rec(struct dg_record *r, double ts, const char *key, const char *ip, int harvest)
{
	dg_record_init(r);
	r->ts = ts;
	snprintf(r->ip, sizeof(r->ip), "%s", ip);
	if (key) {
		snprintf(r->key, sizeof(r->key), "%s", key);
		snprintf(r->client, sizeof(r->client), "key:%s", key);
	} else {
		snprintf(r->client, sizeof(r->client), "ip:%s", ip);
	}
	snprintf(r->model, sizeof(r->model), "m1");
	r->status = 200;
	r->messages = harvest ? 1 : 4;
	r->prompt_bytes = 400;
	r->has_system_fp = 1;
	r->system_fp = harvest ? 77 : dg_hash64(&ts, sizeof(ts));
	r->has_prompt_fp = 1;
	r->prompt_simhash = harvest ? 0xABCDEF : dg_hash64(&ts, sizeof(ts));
	r->cot_prompt = harvest;
	r->logprobs = harvest;
	r->max_tokens = harvest ? 8192 : 256;
	r->output_tokens = harvest ? 8000 : 200;
	r->duration_ms = 2000;
}

#endif
