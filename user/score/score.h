/* score.h — the distillation score: from a client's features to 0-100, the
 * strongest reasons as short strings, and an action.
 *
 * The model: each signal becomes an evidence strength in [0, 1]. Signals
 * come in two families, and a distillation campaign needs both:
 *   automation — volume against the host's own population (robust z),
 *     template concentration, near-duplicate prompts, regular timing,
 *     a high duty cycle, parallelism, single-turn exchanges, and for a
 *     cluster the crowd (many keys, few addresses), keys in lockstep and
 *     keys on a TLS client that is rare on the host;
 *   harvest — asking for reasoning (chain-of-thought phrases, reasoning
 *     parameters), log-probabilities, output-heavy exchanges at the token
 *     cap, a rush to a newly released model, and a logit-vector sweep
 *     (logit_bias moving to a new set of token ids on request after request,
 *     with one-token answers or top_logprobs at the maximum).
 * A cluster's automation is discounted by how much its members look like
 * people (humans.h: conversations, pacing, browsers).
 * Each family combines its weighted evidences by noisy-OR
 * (1 - prod(1 - w*e)); score = 100 * sqrt(A * H). A batch job (automation
 * without harvest) and a person asking for step-by-step answers (harvest
 * without automation) both stay low. Every evidence only ever adds, so more
 * evidence never lowers a score. Deterministic: no clock, no randomness. */
#ifndef DG_SCORE_H
#define DG_SCORE_H

#include "client_features.h"

enum dg_evidence {
	DG_EV_VOLUME, DG_EV_TEMPLATE, DG_EV_NEAR_DUP, DG_EV_REGULAR, DG_EV_DUTY,
	DG_EV_PARALLEL, DG_EV_SINGLE, DG_EV_CROWD, DG_EV_LOCKSTEP, DG_EV_TLS, /* automation */
	DG_EV_ELICIT, DG_EV_REASONING, DG_EV_LOGPROBS, DG_EV_OUTPUT_HEAVY,
	DG_EV_NEW_MODEL, DG_EV_LOGIT_SWEEP,                 /* harvest */
	DG_EV__MAX
};
#define DG_EV_FIRST_HARVEST DG_EV_ELICIT

enum dg_action { DG_ACT_NONE = 0, DG_ACT_RATELIMIT, DG_ACT_BLOCK };

struct dg_score_config {
	double weight[DG_EV__MAX];     /* 0..1 each */
	double ratelimit_at;           /* score at or above: ratelimit (65) */
	double block_at;               /* score at or above: block (85) */
	double min_requests;           /* requests in the last hour before shares count (10) */
	double at_cap_tokens;          /* max_tokens at or above this is "at the cap" (4096) */
	double template_half_life;     /* seconds (600) */
	double new_model_window;       /* a model is new for this long after first seen (86400) */
	double new_model_warmup;       /* models seen this soon after start are not new (3600) */
	double tls_min_keys;           /* keys on one TLS client that make a group (4) */
	double tls_max_share;          /* ... when at most this share of keys use it (0.1) */
	double lockstep_min_keys;      /* keys in step that make a group (4) */
	double group_alike_share;      /* a group this alike speaks for a first request (0.9) */
	double addr_min_keys;          /* keys an address has carried before it ties them (4) */
	double top_logprobs_max;       /* the API's maximum top_logprobs (20) */
};

/* Robust location and scale of the host's clients (clients.c). */
struct dg_population {
	double tok_rate_median, tok_rate_mad;
	double req_rate_median, req_rate_mad;
	uint32_t clients;              /* clients it was computed over */
};

#define DG_MAX_REASONS 3
#define DG_REASON_LEN  64

struct dg_score {
	double score;                  /* 0..100 */
	double automation, harvest;    /* 0..1 each */
	double human;                  /* a cluster's discount on automation (humans.h) */
	double evidence[DG_EV__MAX];   /* strength 0..1 before weighting */
	int n_reasons;
	char reasons[DG_MAX_REASONS][DG_REASON_LEN];
	enum dg_action action;
};

void dg_score_config_default(struct dg_score_config *c);
/* Set one setting by name ("weight.template", "block_at", ...). 0 or -1. */
int dg_score_config_set(struct dg_score_config *c, const char *key, double value);
/* Every setting with its name and value (the names dg_score_config_set takes). */
void dg_score_config_each(const struct dg_score_config *c,
			  void (*fn)(const char *name, double value, void *arg), void *arg);
const char *dg_evidence_name(int ev);
const char *dg_action_name(enum dg_action a);

void dg_score_client(const struct dg_score_config *c, const struct dg_population *pop,
		     const struct dg_features *f, struct dg_score *out);
/* The same without the reasons (n_reasons 0): the evidence, harvest and
 * score for those who only compare them (a member's affinity with its
 * clusters, at every pass for every member), without formatting text. */
void dg_score_client_bare(const struct dg_score_config *c, const struct dg_population *pop,
			  const struct dg_features *f, struct dg_score *out);
/* The action a score calls for: block_at and up, ratelimit_at and up. */
enum dg_action dg_score_action(const struct dg_score_config *c, double score);

#endif
