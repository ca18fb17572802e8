/* client_features.c — per-client sliding windows and the features read off them. */
#include "client_features.h"

#include <math.h>
#include <string.h>

void dg_client_state_init(struct dg_client_state *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 10; i++)
		s->min[i].period = INT32_MIN;
	for (int i = 0; i < 6; i++)
		s->ten[i].period = INT32_MIN;
	s->active_minute = INT32_MIN;
	dg_hll_init(&s->peers);
	dg_hll_init(&s->subnets);
}

static int32_t minute_of(double ts)
{
	return (int32_t)floor(ts / 60.0);
}

/* The bucket for period, reset if it held an older one; NULL when it holds
 * a newer one (the request is older than the window). */
static struct dg_bucket *bucket(struct dg_bucket *ring, int n, int32_t period)
{
	int32_t idx = period % n;
	struct dg_bucket *b;

	if (idx < 0)
		idx += n;
	b = &ring[idx];
	if (b->period > period)
		return NULL;
	if (b->period != period) {
		memset(b, 0, sizeof(*b));
		b->period = period;
	}
	return b;
}

/* What one request adds besides its flags. */
struct obs_extra {
	int near_dup, bias_new, follow, paced, orphan;
	uint32_t inflight;
};

static void bucket_add(struct dg_bucket *b, const struct dg_obs *o, const struct obs_extra *x)
{
	b->req++;
	b->out_tokens += o->out_tokens;
	b->in_tokens += o->in_tokens;
	b->cot += !!(o->flags & DG_OBS_COT);
	b->reasoning += !!(o->flags & DG_OBS_REASONING);
	b->elicit += !!(o->flags & (DG_OBS_COT | DG_OBS_REASONING));
	b->logprobs += !!(o->flags & DG_OBS_LOGPROBS);
	b->single += !!(o->flags & DG_OBS_SINGLE) || x->orphan;
	b->orphan += (uint32_t)x->orphan;
	b->at_cap += !!(o->flags & DG_OBS_AT_CAP);
	b->new_model += !!(o->flags & DG_OBS_NEW_MODEL);
	b->near_dup += (uint32_t)x->near_dup;
	b->inflight += x->inflight;
	b->biased += !!(o->flags & DG_OBS_BIASED);
	b->bias_new += (uint32_t)x->bias_new;
	b->one_token += !!(o->flags & DG_OBS_ONE_TOKEN);
	b->top_max += !!(o->flags & DG_OBS_TOP_MAX);
	b->ja4 += !!(o->flags & DG_OBS_HAS_JA4);
	b->browser += !!(o->flags & DG_OBS_BROWSER);
	b->follow += (uint32_t)x->follow;
	b->paced += (uint32_t)x->paced;
}

static void tmpl_decay(struct dg_client_state *s, double ts, double half_life)
{
	double k;

	if (ts <= s->tmpl_ts || half_life <= 0) {
		return;
	}
	k = exp2(-(ts - s->tmpl_ts) / half_life);
	for (int i = 0; i < DG_FEAT_TMPL; i++)
		s->tmpl[i].w *= k;
	for (int i = 0; i < DG_FEAT_TAILS; i++)
		s->tail[i].w *= k;
	s->tmpl_total *= k;
	s->tail_total *= k;
	s->tmpl_ts = ts;
}

/* SpaceSaving over decayed weights: a new fingerprint takes the lightest
 * slot and inherits its weight (an upper bound on its true weight). */
static void tmpl_add(struct dg_client_state *s, uint64_t fp)
{
	int lightest = 0;

	for (int i = 0; i < DG_FEAT_TMPL; i++) {
		if (s->tmpl[i].w > 0 && s->tmpl[i].fp == fp) {
			s->tmpl[i].w += 1;
			s->tmpl_total += 1;
			return;
		}
		if (s->tmpl[i].w < s->tmpl[lightest].w)
			lightest = i;
	}
	s->tmpl[lightest].fp = fp;
	s->tmpl[lightest].w += 1;
	s->tmpl_total += 1;
}

/* The same for the frames from the fixed end; tail_total counts every
 * request with a frame, so a share is of requests, not of tails. */
static void tail_add(struct dg_client_state *s, uint64_t fp)
{
	int lightest = 0;

	for (int i = 0; i < DG_FEAT_TAILS; i++) {
		if (s->tail[i].w > 0 && s->tail[i].fp == fp) {
			s->tail[i].w += 1;
			return;
		}
		if (s->tail[i].w < s->tail[lightest].w)
			lightest = i;
	}
	s->tail[lightest].fp = fp;
	s->tail[lightest].w += 1;
}

/* Is the request's logit_bias set one the client has not used among its
 * last DG_FEAT_BIAS sets? A sweep moves on to a new set on every request;
 * a harness biases the same few ids again and again. */
static int bias_new(struct dg_client_state *s, uint64_t fp)
{
	uint32_t n = s->nbias < DG_FEAT_BIAS ? s->nbias : DG_FEAT_BIAS;
	int seen = 0;

	for (uint32_t i = 0; i < n && !seen; i++)
		seen = s->bias[i] == fp;
	s->bias[s->nbias % DG_FEAT_BIAS] = fp;
	s->nbias++;
	return !seen;
}

/* Is the request a later turn whose earlier turn (parent_fp) is none of
 * the client's recent prompts? The request's own prompt joins them. */
static int orphan_turn(struct dg_client_state *s, const struct dg_obs *o)
{
	uint32_t n = s->nprompts < DG_FEAT_PROMPTS ? s->nprompts : DG_FEAT_PROMPTS;
	int seen = 0;

	if (o->flags & DG_OBS_HAS_PARENT)
		for (uint32_t i = 0; i < n && !seen; i++)
			seen = s->prompts[i] == o->parent_fp;
	if (o->flags & DG_OBS_HAS_SIM) {
		s->prompts[s->nprompts % DG_FEAT_PROMPTS] = o->prompt_fp;
		s->nprompts++;
	}
	return (o->flags & DG_OBS_HAS_PARENT) && !seen;
}

static int near_dup(struct dg_client_state *s, uint64_t sim)
{
	uint32_t n = s->nsims < DG_FEAT_SIMS ? s->nsims : DG_FEAT_SIMS;
	int found = 0;

	for (uint32_t i = 0; i < n && !found; i++)
		found = __builtin_popcountll(s->sims[i] ^ sim) <= DG_NEAR_DUP_BITS;
	s->sims[s->nsims % DG_FEAT_SIMS] = sim;
	s->nsims++;
	return found;
}

static uint32_t in_flight(struct dg_client_state *s, const struct dg_obs *o)
{
	uint32_t n = s->nends < DG_FEAT_INFLIGHT ? s->nends : DG_FEAT_INFLIGHT, count = 0;

	for (uint32_t i = 0; i < n; i++)
		count += s->ends[i] > o->ts;
	s->ends[s->nends % DG_FEAT_INFLIGHT] = o->ts + (o->duration_s > 0 ? o->duration_s : 0);
	s->nends++;
	if (count > s->max_inflight)
		s->max_inflight = count;
	return count;
}

static void mark_active(struct dg_client_state *s, int32_t m)
{
	if (s->active_minute == INT32_MIN) {
		s->active_minute = m;
		s->active = 1;
		return;
	}
	if (m > s->active_minute) {
		int64_t shift = (int64_t)m - s->active_minute;
		s->active = shift >= 64 ? 0 : s->active << shift;
		s->active_minute = m;
	}
	if (s->active_minute - m < 64)
		s->active |= 1ULL << (s->active_minute - m);
}

void dg_client_observe(struct dg_client_state *s, const struct dg_obs *o, double half_life)
{
	int32_t m = minute_of(o->ts);
	struct dg_bucket *b;
	struct obs_extra x = { 0 };
	double end = o->ts + (o->duration_s > 0 ? o->duration_s : 0);

	s->version++;

	/* Sent after the previous answer had ended, with time to read it? */
	if (s->requests) {
		x.follow = 1;
		x.paced = o->ts >= s->last_end + fmax(DG_THINK_S, s->last_out / DG_READ_TOK);
	}
	if (!s->requests || end > s->last_end) {
		s->last_end = end;
		s->last_out = o->out_tokens;
	}
	if (!s->requests)
		s->first_ts = s->last_ts = o->ts;
	if (o->ts > s->last_ts) {
		float gap = (float)(o->ts - s->last_ts);
		s->gaps[s->ngaps % DG_FEAT_GAPS] = gap;
		s->ngaps++;
		s->last_ts = o->ts;
	} else if (s->requests && o->ts == s->last_ts) {
		s->gaps[s->ngaps % DG_FEAT_GAPS] = 0;
		s->ngaps++;
	}
	if (o->ts < s->first_ts)
		s->first_ts = o->ts;
	s->requests++;
	s->out_tokens += o->out_tokens;
	if (o->flags & DG_OBS_HAS_SIM)
		x.near_dup = near_dup(s, o->simhash);
	if (o->flags & DG_OBS_HAS_TMPL) {
		tmpl_decay(s, o->ts, half_life);
		tmpl_add(s, o->tmpl);
		s->tail_total += 1;
		if (o->flags & DG_OBS_HAS_TAIL)
			tail_add(s, o->tail);
	}
	if (o->flags & DG_OBS_BIASED)
		x.bias_new = bias_new(s, o->bias_fp);
	x.orphan = orphan_turn(s, o);
	x.inflight = in_flight(s, o);
	mark_active(s, m);
	/* A request older than a bucket's current period adds to no window. */
	if ((b = bucket(s->min, 10, m)))
		bucket_add(b, o, &x);
	if ((b = bucket(s->ten, 6, (int32_t)floor(m / 10.0))))
		bucket_add(b, o, &x);
}

void dg_client_add_peer(struct dg_client_state *s, uint64_t h, uint64_t subnet)
{
	s->version++;
	if (dg_hll_add(&s->peers, h))
		s->npeers = dg_hll_count(&s->peers);
	dg_hll_add(&s->subnets, subnet);
}

/* h += b, field by field (what the weighted sum below gives at weight 1). */
static void bucket_sum(struct dg_bucket *h, const struct dg_bucket *b)
{
	h->req += b->req;
	h->out_tokens += b->out_tokens;
	h->in_tokens += b->in_tokens;
	h->cot += b->cot;
	h->reasoning += b->reasoning;
	h->elicit += b->elicit;
	h->logprobs += b->logprobs;
	h->single += b->single;
	h->at_cap += b->at_cap;
	h->new_model += b->new_model;
	h->near_dup += b->near_dup;
	h->inflight += b->inflight;
	h->biased += b->biased;
	h->bias_new += b->bias_new;
	h->one_token += b->one_token;
	h->top_max += b->top_max;
	h->ja4 += b->ja4;
	h->browser += b->browser;
	h->follow += b->follow;
	h->paced += b->paced;
	h->orphan += b->orphan;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The features of the minute now is in: everything but what features_now
 * redoes. *tok_10m receives the output tokens of the last 10 minutes (the
 * rate's numerator); the result says whether they are the same at every
 * moment of this minute (no bucket is partly slid out of a window). */
static int features_minute(const struct dg_client_state *s, double now, struct dg_features *f,
			   uint32_t *tok_10m_out)
{
	int32_t nm = minute_of(now);
	double frac = (now - (double)nm * 60.0) / 60.0;
	struct dg_bucket h = { 0 };
	uint32_t req_prev = 0, tok_prev = 0, tok_1m = 0, tok_10m = 0;
	double mean = 0, var = 0;
	uint32_t n;
	int whole = 1;

	/* Sliding windows from buckets: whole buckets inside the window, plus
	 * the part of the oldest one that has not yet slid out. */
	{
		double r10 = 0, t10 = 0, old1 = 1 - frac;
		double frac10 = (now - floor(now / 600.0) * 600.0) / 600.0;
		int32_t np = (int32_t)floor(nm / 10.0);

		for (int i = 0; i < 10; i++) {
			const struct dg_bucket *b = &s->min[i];
			if (b->period == nm) {
				f->req_1m += b->req;
				tok_1m += b->out_tokens;
			} else if (b->period == nm - 1) {
				req_prev = b->req;
				tok_prev = b->out_tokens;
			}
			if (b->period > nm - 10 && b->period <= nm) {
				r10 += b->req;
				t10 += b->out_tokens;
			} else if (b->period == nm - 10) {
				r10 += b->req * old1;
				t10 += b->out_tokens * old1;
				whole = 0;
			}
		}
		f->req_10m = (uint32_t)lround(r10);
		tok_10m = (uint32_t)lround(t10);
		for (int i = 0; i < 6; i++) {
			const struct dg_bucket *b = &s->ten[i];
			double w = b->period > np - 6 && b->period <= np ? 1 :
				   b->period == np - 6 ? 1 - frac10 : 0;
			whole &= b->period != np - 6;   /* partly slid out of the hour */
			if (w <= 0)
				continue;
			if (w == 1) {       /* whole buckets: the sums, without 21 lround calls */
				bucket_sum(&h, b);
				continue;
			}
			h.req += (uint32_t)lround(b->req * w);
			h.out_tokens += (uint32_t)lround(b->out_tokens * w);
			h.in_tokens += (uint32_t)lround(b->in_tokens * w);
			h.cot += (uint32_t)lround(b->cot * w);
			h.reasoning += (uint32_t)lround(b->reasoning * w);
			h.elicit += (uint32_t)lround(b->elicit * w);
			h.logprobs += (uint32_t)lround(b->logprobs * w);
			h.single += (uint32_t)lround(b->single * w);
			h.at_cap += (uint32_t)lround(b->at_cap * w);
			h.new_model += (uint32_t)lround(b->new_model * w);
			h.near_dup += (uint32_t)lround(b->near_dup * w);
			h.inflight += (uint32_t)lround(b->inflight * w);
			h.biased += (uint32_t)lround(b->biased * w);
			h.bias_new += (uint32_t)lround(b->bias_new * w);
			h.one_token += (uint32_t)lround(b->one_token * w);
			h.top_max += (uint32_t)lround(b->top_max * w);
			h.ja4 += (uint32_t)lround(b->ja4 * w);
			h.browser += (uint32_t)lround(b->browser * w);
			h.follow += (uint32_t)lround(b->follow * w);
			h.paced += (uint32_t)lround(b->paced * w);
			h.orphan += (uint32_t)lround(b->orphan * w);
		}
	}
	/* Last 60 s: this minute plus the unexpired part of the previous one. */
	f->req_1m += (uint32_t)lround(req_prev * (1 - frac));
	tok_1m += (uint32_t)lround(tok_prev * (1 - frac));
	whole &= !req_prev && !tok_prev;
	f->req_1h = h.req;
	f->rate_1m = f->req_1m;
	f->tok_rate_1m = tok_1m;
	f->out_in_ratio = ratio(h.out_tokens, h.in_tokens);
	f->out_tok_1h = h.out_tokens;
	f->in_tok_1h = h.in_tokens;
	f->at_cap_share = ratio(h.at_cap, h.req);
	f->near_dup_share = ratio(h.near_dup, h.req);
	f->cot_share = ratio(h.cot, h.req);
	f->reasoning_share = ratio(h.reasoning, h.req);
	f->elicit_share = ratio(h.elicit, h.req);
	f->logprob_share = ratio(h.logprobs, h.req);
	f->single_share = ratio(h.single, h.req);
	f->new_model_share = ratio(h.new_model, h.req);
	f->inflight_mean = ratio(h.inflight, h.req);
	f->biased_share = ratio(h.biased, h.req);
	f->bias_new_share = ratio(h.bias_new, h.req);
	f->one_token_share = ratio(h.one_token, h.req);
	f->top_max_share = ratio(h.top_max, h.req);
	f->browser_share = ratio(h.browser, h.ja4);
	f->ja4_share = ratio(h.ja4, h.req);
	f->paced_share = ratio(h.paced, h.follow);
	f->follow_share = ratio(h.follow, h.req);
	f->orphan_share = ratio(h.orphan, h.req);
	f->inflight_max = s->max_inflight;

	/* Inter-arrival regularity. */
	n = s->ngaps < DG_FEAT_GAPS ? s->ngaps : DG_FEAT_GAPS;
	for (uint32_t i = 0; i < n; i++)
		mean += s->gaps[i];
	if (n) {
		mean /= n;
		for (uint32_t i = 0; i < n; i++)
			var += (s->gaps[i] - mean) * (s->gaps[i] - mean);
		var /= n;
		f->iat_cv = mean > 0 ? sqrt(var) / mean : 0;
	}
	f->iat_n = n;

	/* Duty cycle over the observed part of the last hour. */
	{
		int64_t observed = (int64_t)nm - minute_of(s->first_ts) + 1;
		int64_t shift = (int64_t)nm - s->active_minute;
		uint64_t bits = shift >= 64 ? 0 : s->active << shift;

		if (observed > 60)
			observed = 60;
		if (observed < 1)
			observed = 1;
		if (observed < 64)
			bits &= (1ULL << observed) - 1;
		f->duty_1h = (double)__builtin_popcountll(bits) / (double)observed;
	}
	f->peers = s->npeers;
	*tok_10m_out = tok_10m;
	return whole;
}

/* What changes within a minute: the age, the rates over it (over the
 * client's life when shorter than the window, at least one minute, so a
 * first burst is not an infinite rate), the template share decayed to
 * now. tok_10m is features_minute's. */
static void features_now(const struct dg_client_state *s, double now, double half_life,
			 uint32_t tok_10m, struct dg_features *f)
{
	double age_min, k, top = 0;

	f->age_s = now - s->first_ts;
	age_min = f->age_s / 60.0;
	f->rate_10m = ratio(f->req_10m, fmin(10, fmax(1, age_min)));
	f->tok_rate_10m = ratio(tok_10m, fmin(10, fmax(1, age_min)));
	f->rate_1h = ratio(f->req_1h, fmin(60, fmax(1, age_min)));
	f->tok_rate_1h = ratio(f->out_tok_1h, fmin(60, fmax(1, age_min)));

	/* Template share, decayed to now. */
	k = half_life > 0 && now > s->tmpl_ts ? exp2(-(now - s->tmpl_ts) / half_life) : 1;
	f->top_template = 0;
	for (int i = 0; i < DG_FEAT_TMPL; i++) {
		if (s->tmpl[i].w > top) {
			top = s->tmpl[i].w;
			f->top_template = s->tmpl[i].fp;
		}
	}
	f->template_share = s->tmpl_total > 0 ? fmin(1, (top * k) / (s->tmpl_total * k)) : 0;
	/* A template that puts its variable part first has its frame at the
	 * fixed end: the larger share of the two counts. */
	for (int i = 0; i < DG_FEAT_TAILS && s->tail_total > 0; i++) {
		double share = fmin(1, s->tail[i].w / s->tail_total);

		if (share > f->template_share) {
			f->template_share = share;
			f->top_template = s->tail[i].fp;
		}
	}
}

/* The features of a state without requests: its totals, nothing else. */
static int features_empty(const struct dg_client_state *s, struct dg_features *f)
{
	memset(f, 0, sizeof(*f));
	f->requests = s->requests;
	f->out_tokens = s->out_tokens;
	return !s->requests;
}

void dg_client_features(const struct dg_client_state *s, double now, double half_life,
			struct dg_features *f)
{
	uint32_t tok_10m;

	if (features_empty(s, f))
		return;
	features_minute(s, now, f, &tok_10m);
	features_now(s, now, half_life, tok_10m, f);
}

void dg_client_features_cached(const struct dg_client_state *s, double now, double half_life,
			       struct dg_features_cache *c, struct dg_features *f)
{
	int32_t nm = minute_of(now);

	if (c->whole && c->version == s->version && c->minute == nm &&
	    c->half_life == half_life) {
		*f = c->f;
		features_now(s, now, half_life, c->tok_10m, f);
		return;
	}
	if (features_empty(s, f)) {
		c->whole = 0;
		return;
	}
	c->whole = features_minute(s, now, f, &c->tok_10m);
	features_now(s, now, half_life, c->tok_10m, f);
	c->f = *f;
	c->version = s->version;
	c->minute = nm;
	c->half_life = half_life;
}

uint32_t dg_client_activity(const struct dg_client_state *s, double now)
{
	int64_t shift;
	uint64_t bits;

	if (s->active_minute == INT32_MIN)
		return 0;
	shift = (int64_t)minute_of(now) - s->active_minute;
	if (shift >= 64 || shift <= -64)
		return 0;
	bits = shift >= 0 ? s->active << shift : s->active >> -shift;
	return (uint32_t)(bits >> 1);
}
