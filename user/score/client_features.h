/* client_features.h — what one client's traffic looks like, kept over sliding
 * windows on the records' own timestamps (never the wall clock), in a
 * fixed amount of memory per client (3.2 KiB of state).
 *
 * Windows: ten 1-minute buckets (1 m and 10 m) and six 10-minute buckets
 * (1 h); a 64-minute activity bitmap (duty cycle); exponentially decayed
 * counters for the template distribution (the frame from the head and the
 * frame from the fixed end) and near-duplicate rate; small rings for
 * inter-arrival times, in-flight requests, recent SimHashes, recent
 * logit_bias sets and recent prompt_fps. */
#ifndef DG_CLIENT_FEATURES_H
#define DG_CLIENT_FEATURES_H

#include <stdint.h>
#include "hll.h"

#define DG_FEAT_TMPL     8     /* template fingerprints tracked (SpaceSaving) */
#define DG_FEAT_SIMS     32    /* recent prompt SimHashes compared */
#define DG_FEAT_GAPS     64    /* inter-arrival times kept */
#define DG_FEAT_INFLIGHT 32    /* recent request end times kept */
#define DG_NEAR_DUP_BITS 3     /* SimHash Hamming distance that counts as near-duplicate */
#define DG_FEAT_TAILS    4     /* tail fingerprints tracked (SpaceSaving) */
#define DG_FEAT_BIAS     16    /* recent logit_bias sets compared */
#define DG_FEAT_PROMPTS  16    /* recent prompt_fps a next turn's parent_fp is looked for in */
/* A request is paced like a person's when it starts after the client's
 * latest answer has ended, and after time to read it: DG_THINK_S, or one
 * second for every DG_READ_TOK output tokens of that answer if longer (20
 * tokens a second is skimming). */
#define DG_THINK_S       2.0
#define DG_READ_TOK      20.0

/* Per-request facts the caller derives from a record (see clients.c). */
enum dg_obs_flag {
	DG_OBS_COT = 1 << 0,         /* prompt asks for step-by-step reasoning */
	DG_OBS_REASONING = 1 << 1,   /* reasoning / thinking parameters */
	DG_OBS_LOGPROBS = 1 << 2,    /* logprobs, top_logprobs, logit_bias or n > 1 */
	DG_OBS_SINGLE = 1 << 3,      /* single turn: no conversation history */
	DG_OBS_AT_CAP = 1 << 4,      /* max_tokens at the cap, or the answer ran to it */
	DG_OBS_NEW_MODEL = 1 << 5,   /* model first seen on this host < 24 h ago */
	DG_OBS_HAS_TMPL = 1 << 6,    /* tmpl is valid */
	DG_OBS_HAS_SIM = 1 << 7,     /* simhash is valid */
	DG_OBS_HAS_TAIL = 1 << 8,    /* tail is valid */
	DG_OBS_BIASED = 1 << 9,      /* logit_bias with its set's hash in bias_fp */
	DG_OBS_ONE_TOKEN = 1 << 10,  /* an answer of one token (max_tokens 1) */
	DG_OBS_TOP_MAX = 1 << 11,    /* top_logprobs at the API's maximum */
	DG_OBS_HAS_JA4 = 1 << 12,    /* the TLS client is known */
	DG_OBS_BROWSER = 1 << 13,    /* ... and it is a browser's */
	DG_OBS_HAS_PARENT = 1 << 14, /* a later turn: parent_fp is valid */
};

struct dg_obs {
	double ts;                   /* request start, Unix seconds */
	double duration_s;           /* 0 when unknown */
	uint32_t out_tokens;
	uint32_t in_tokens;          /* estimated: prompt bytes / 4 */
	uint64_t tmpl;               /* system_fp (template / instruction frame) */
	uint64_t simhash;            /* prompt_simhash */
	uint64_t tail;               /* tail_fp (the frame from the fixed end) */
	uint64_t bias_fp;            /* logit_bias_fp (the set of biased token ids) */
	uint64_t prompt_fp;          /* prompt_fp (with DG_OBS_HAS_SIM) */
	uint64_t parent_fp;          /* parent_fp: the turn it follows */
	uint32_t flags;              /* enum dg_obs_flag */
};

struct dg_bucket {
	int32_t period;              /* minute (or 10-minute) number it holds */
	uint32_t req, out_tokens, in_tokens;
	uint32_t cot, reasoning, logprobs, single, at_cap, new_model, near_dup, elicit;
	uint32_t inflight;           /* sum over requests of others in flight */
	uint32_t biased, bias_new;   /* with logit_bias; ... with a set not among the recent */
	uint32_t one_token, top_max;
	uint32_t ja4, browser;
	uint32_t follow, paced;      /* with an earlier request; ... sent after its answer */
	uint32_t orphan;             /* later turns whose earlier turn the client never sent */
};

struct dg_client_state {
	double first_ts, last_ts;
	uint64_t requests, out_tokens;
	struct dg_bucket min[10];    /* by minute % 10 */
	struct dg_bucket ten[6];     /* by (minute / 10) % 6 */
	int32_t active_minute;       /* newest minute in the bitmap */
	uint64_t active;             /* bit i: minute active_minute - i had requests */
	struct { uint64_t fp; double w; } tmpl[DG_FEAT_TMPL];
	double tmpl_total, tmpl_ts;  /* decayed total weight, time of last decay */
	struct { uint64_t fp; double w; } tail[DG_FEAT_TAILS];
	double tail_total;           /* decayed, as tmpl_total: requests with a frame */
	uint64_t bias[DG_FEAT_BIAS]; /* recent logit_bias sets */
	uint32_t nbias;
	double last_end;             /* when the latest answer ended */
	uint32_t last_out;           /* ... and its output tokens */
	uint64_t prompts[DG_FEAT_PROMPTS];  /* recent prompt_fps */
	uint32_t nprompts;
	uint64_t sims[DG_FEAT_SIMS];
	uint32_t nsims;
	float gaps[DG_FEAT_GAPS];
	uint32_t ngaps;
	double ends[DG_FEAT_INFLIGHT];
	uint32_t nends;
	uint32_t max_inflight;
	struct dg_hll peers;         /* addresses of a key, or keys of an address */
	uint64_t version;            /* bumped by every change (dg_features_cache) */
	double npeers;               /* dg_hll_count(&peers), recounted when it rises:
				      * features are read at every pass, peers change rarely */
	struct dg_hll subnets;       /* /24 (IPv4) or /48 (IPv6) groups of a key's addresses */
};

/* Features at a moment; shares are over the last hour unless named. */
struct dg_features {
	double age_s;                /* since the first request */
	uint32_t req_1m, req_10m, req_1h;
	double rate_1m, rate_10m, rate_1h;          /* requests per minute */
	double tok_rate_1m, tok_rate_10m, tok_rate_1h; /* output tokens per minute */
	double out_in_ratio;         /* output tokens / estimated input tokens */
	double at_cap_share;
	double template_share;       /* share of the most common template (decayed), from
				      * the head or from the fixed end, whichever is more */
	uint64_t top_template;
	double near_dup_share;
	double cot_share, reasoning_share, elicit_share, logprob_share;
	double single_share;
	double new_model_share;
	/* Logit extraction: requests with logit_bias, those whose set was not
	 * among the client's recent ones, one-token answers, top_logprobs at
	 * the maximum (shares of all requests). */
	double biased_share, bias_new_share, one_token_share, top_max_share;
	/* Human signs: requests on a browser's TLS client (of those with a
	 * known one), share of requests with a known one, requests sent after
	 * the previous answer had ended and could be read (of those with an
	 * earlier one). */
	double browser_share, ja4_share, paced_share;
	double follow_share;         /* requests with an earlier one (paced_share's base) */
	/* Later turns whose earlier turn the client never sent (a made-up
	 * answer in the history, a few-shot prompt): single-turn requests in
	 * fact, counted in single_share too. */
	double orphan_share;
	double iat_cv;               /* coefficient of variation of inter-arrival times */
	uint32_t iat_n;              /* gaps it is computed from */
	double inflight_mean;        /* others in flight when a request starts */
	uint32_t inflight_max;
	double duty_1h;              /* share of minutes active (of those observed, max 60) */
	double peers;                /* distinct addresses (key) or keys (address) */
	uint64_t requests, out_tokens;
	uint32_t out_tok_1h, in_tok_1h;  /* sums behind the ratios, for clusters */
	/* Set only on a cluster's aggregate features (clusters.c). */
	uint32_t crowd_keys;         /* members */
	double crowd_addrs;          /* distinct addresses across them */
	double crowd_subnets;        /* distinct /24 and /48 groups across them */
	uint32_t lockstep_keys;      /* members that joined by moving in lockstep */
	int crowd_by_addr;           /* the crowd is tied by its addresses, not templates */
	uint32_t tls_keys;           /* members on the crowd's most common rare TLS client */
	double tls_share;            /* share of the host's keys on that client */
};

void dg_client_state_init(struct dg_client_state *s);
/* Add one request. Records should come in time order; a request older
 * than the windows still counts in the lifetime totals. */
void dg_client_observe(struct dg_client_state *s, const struct dg_obs *o, double tmpl_half_life_s);
void dg_client_add_peer(struct dg_client_state *s, uint64_t peer_hash, uint64_t subnet_hash);
/* Activity over the 32 complete minutes before now: bit i is set when
 * minute (now's minute - 1 - i) had a request (lockstep.h). */
uint32_t dg_client_activity(const struct dg_client_state *s, double now);
/* Features as of time now (>= the last observed ts). */
void dg_client_features(const struct dg_client_state *s, double now, double tmpl_half_life_s,
			struct dg_features *f);

/* A client's features kept from one pass to the next. Within a minute
 * most of them only change when a request comes: the windows' buckets
 * move on at a minute's edge, and a bucket that is partly slid out of a
 * window (the previous minute's in the last 60 s, the oldest of the last
 * 10 minutes or hour) changes them at every moment. Kept features are
 * reused when the state is unchanged (version), now is in the same
 * minute and no bucket was partly in; the age, the rates over it and the
 * template share decayed to now are redone every time. The result is
 * dg_client_features' exactly. Zeroed: empty. */
struct dg_features_cache {
	struct dg_features f;
	uint64_t version;            /* the state's, when f was taken */
	int32_t minute;              /* now's minute then */
	uint32_t tok_10m;            /* output tokens of the last 10 minutes */
	double half_life;
	int whole;                   /* f holds for the whole minute */
};

void dg_client_features_cached(const struct dg_client_state *s, double now, double tmpl_half_life_s,
			       struct dg_features_cache *c, struct dg_features *f);

#endif
