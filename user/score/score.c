/* score.c — evidence from features, the combination, reasons, action. */
#include "score.h"

#include "humans.h"
#include "lockstep.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *ev_names[DG_EV__MAX] = {
	[DG_EV_VOLUME] = "volume",
	[DG_EV_TEMPLATE] = "template",
	[DG_EV_NEAR_DUP] = "near_dup",
	[DG_EV_REGULAR] = "regular",
	[DG_EV_DUTY] = "duty",
	[DG_EV_PARALLEL] = "parallel",
	[DG_EV_SINGLE] = "single_turn",
	[DG_EV_CROWD] = "crowd",
	[DG_EV_LOCKSTEP] = "lockstep",
	[DG_EV_TLS] = "tls_client",
	[DG_EV_ELICIT] = "cot",
	[DG_EV_REASONING] = "reasoning",
	[DG_EV_LOGPROBS] = "logprobs",
	[DG_EV_OUTPUT_HEAVY] = "output_heavy",
	[DG_EV_NEW_MODEL] = "new_model",
	[DG_EV_LOGIT_SWEEP] = "logit_sweep",
};

const char *dg_evidence_name(int ev)
{
	return ev >= 0 && ev < DG_EV__MAX ? ev_names[ev] : "?";
}

const char *dg_action_name(enum dg_action a)
{
	return a == DG_ACT_BLOCK ? "block" : a == DG_ACT_RATELIMIT ? "ratelimit" : "none";
}

/* Defaults, and why (README "Scoring"):
 * - Harvest signals are what separates a campaign from a batch job, so the
 *   strongest weights sit there; log-probabilities alone are weaker, since
 *   evaluation harnesses use them too.
 * - Template concentration, near-duplicates, a crowd of keys and keys in
 *   lockstep are strong automation signals; single-turn and duty cycle are
 *   weak alone (many legitimate pipelines are single-turn and always on).
 * - A TLS client shared by a crowd is weaker than lockstep: the users of
 *   one vendor's app share its client too.
 * - A logit sweep is the strongest harvest signal: nothing legitimate
 *   moves logit_bias to a new set of token ids on nearly every request. */
void dg_score_config_default(struct dg_score_config *c)
{
	memset(c, 0, sizeof(*c));
	c->weight[DG_EV_VOLUME] = 0.5;
	c->weight[DG_EV_TEMPLATE] = 0.6;
	c->weight[DG_EV_NEAR_DUP] = 0.5;
	c->weight[DG_EV_REGULAR] = 0.4;
	c->weight[DG_EV_DUTY] = 0.3;
	c->weight[DG_EV_PARALLEL] = 0.3;
	c->weight[DG_EV_SINGLE] = 0.3;
	c->weight[DG_EV_CROWD] = 0.7;
	c->weight[DG_EV_LOCKSTEP] = 0.6;
	c->weight[DG_EV_TLS] = 0.4;
	c->weight[DG_EV_ELICIT] = 0.7;
	c->weight[DG_EV_REASONING] = 0.3;
	c->weight[DG_EV_LOGPROBS] = 0.4;
	c->weight[DG_EV_OUTPUT_HEAVY] = 0.6;
	c->weight[DG_EV_NEW_MODEL] = 0.3;
	c->weight[DG_EV_LOGIT_SWEEP] = 0.9;
	c->ratelimit_at = 65;
	c->block_at = 85;
	c->min_requests = 10;
	c->at_cap_tokens = 4096;
	c->template_half_life = 600;
	c->new_model_window = 86400;
	c->new_model_warmup = 3600;
	c->tls_min_keys = 4;
	c->tls_max_share = 0.1;
	c->lockstep_min_keys = DG_LOCKSTEP_MIN_GROUP;
	c->group_alike_share = 0.9;
	c->addr_min_keys = 4;
	c->top_logprobs_max = 20;
}

/* The settings other than the weights, by name, with their ranges. */
#define NUM(name, lo, hi) { #name, offsetof(struct dg_score_config, name), lo, hi }
static const struct {
	const char *name;
	size_t off;
	double lo, hi;
} settings[] = {
	NUM(ratelimit_at, 0, 100), NUM(block_at, 0, 100), NUM(min_requests, 1, 1e6),
	NUM(at_cap_tokens, 1, 1e7), NUM(template_half_life, 1, 86400),
	NUM(new_model_window, 60, 30 * 86400), NUM(new_model_warmup, 0, 30 * 86400),
	NUM(tls_min_keys, 2, 1e9), NUM(tls_max_share, 0, 1), NUM(lockstep_min_keys, 2, 1e9),
	NUM(group_alike_share, 0, 2), NUM(addr_min_keys, 2, 1e9), NUM(top_logprobs_max, 1, 1e6),
};
#undef NUM

int dg_score_config_set(struct dg_score_config *c, const char *key, double v)
{
	if (!strncmp(key, "weight.", 7)) {
		for (int i = 0; i < DG_EV__MAX; i++) {
			if (!strcmp(key + 7, ev_names[i])) {
				if (v < 0 || v > 1)
					return -1;
				c->weight[i] = v;
				return 0;
			}
		}
		return -1;
	}
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (strcmp(key, settings[i].name))
			continue;
		if (!(v >= settings[i].lo && v <= settings[i].hi))
			return -1;
		*(double *)((char *)c + settings[i].off) = v;
		return 0;
	}
	return -1;
}

void dg_score_config_each(const struct dg_score_config *c,
			  void (*fn)(const char *name, double value, void *arg), void *arg)
{
	char name[64];

	for (int i = 0; i < DG_EV__MAX; i++) {
		snprintf(name, sizeof(name), "weight.%s", ev_names[i]);
		fn(name, c->weight[i], arg);
	}
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		fn(settings[i].name, *(const double *)((const char *)c + settings[i].off), arg);
}

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Linear ramp: 0 at lo, 1 at hi. */
static double ramp(double x, double lo, double hi)
{
	return clamp01((x - lo) / (hi - lo));
}

static double robust_z(double x, double median, double mad)
{
	double scale = 1.4826 * mad;

	if (scale < 0.1 * median)
		scale = 0.1 * median;
	if (scale < 1e-3)
		scale = 1e-3;
	return (x - median) / scale;
}

/* A logit-vector sweep (Carlini et al. 2024, Finlayson et al. 2024): the
 * share of requests whose logit_bias set is new to the client (none at
 * 20%, full at 60%: a harness that biases its answer letters repeats one
 * set), in full when the answers are one token or top_logprobs is at the
 * maximum (either one at 30% none, at 80% full), half without. */
static double logit_sweep(const struct dg_features *f)
{
	double read = fmax(ramp(f->one_token_share, 0.3, 0.8), ramp(f->top_max_share, 0.3, 0.8));

	return ramp(f->bias_new_share, 0.2, 0.6) * (0.5 + 0.5 * read);
}

static void evidence(const struct dg_score_config *c, const struct dg_population *pop,
		     const struct dg_features *f, double *e, double *zt)
{
	int enough = f->req_1h >= c->min_requests;
	double z_tok = pop && pop->clients >= 10 ?
		       robust_z(f->tok_rate_1h, pop->tok_rate_median, pop->tok_rate_mad) : 0;
	double z_req = pop && pop->clients >= 10 ?
		       robust_z(f->rate_1h, pop->req_rate_median, pop->req_rate_mad) : 0;

	*zt = fmax(z_tok, z_req);
	memset(e, 0, sizeof(double) * DG_EV__MAX);
	e[DG_EV_VOLUME] = enough ? ramp(*zt, 3, 10) : 0;
	if (!enough)
		return;
	/* A conversation repeats its own history: template and near-duplicate
	 * evidence count in proportion to how single-turn the traffic is. */
	e[DG_EV_TEMPLATE] = ramp(f->template_share, 0.5, 0.9) * ramp(f->single_share, 0.3, 0.8);
	e[DG_EV_NEAR_DUP] = ramp(f->near_dup_share, 0.2, 0.7) * ramp(f->single_share, 0.3, 0.8);
	e[DG_EV_REGULAR] = f->iat_n >= 20 ? ramp(0.6 - f->iat_cv, 0, 0.5) : 0;
	e[DG_EV_DUTY] = f->age_s >= 1200 ? ramp(f->duty_1h, 0.6, 0.95) : 0;
	e[DG_EV_PARALLEL] = ramp(f->inflight_mean, 1, 5);
	e[DG_EV_SINGLE] = ramp(f->single_share, 0.7, 0.95);
	/* Many keys behind few addresses sharing one template (clusters). */
	e[DG_EV_CROWD] = ramp(f->crowd_keys, 3, 20) *
			 fmax(fmax(ramp(f->crowd_keys / fmax(1, f->crowd_addrs), 1.5, 6),
				   ramp(f->crowd_keys / fmax(1, f->crowd_subnets), 3, 15)),
			      ramp(f->crowd_keys, 20, 100));
	/* Keys that start and stop in the same minutes, again and again. */
	e[DG_EV_LOCKSTEP] = ramp(f->lockstep_keys, 2, 10);
	/* Keys on one TLS client, the rarer on the host the stronger. */
	e[DG_EV_TLS] = c->tls_max_share <= 0 ? 0 : ramp(f->tls_keys, 3, 12) *
		       ramp(f->tls_share, c->tls_max_share, c->tls_max_share / 4);
	/* Asking for reasoning harvests it only when the reasoning is written
	 * out: the answers must not be shorter than the prompts (a review tool
	 * that says "think step by step" over a long diff and gets a short
	 * list back is no harvest). Full at twice the prompt, none at half. */
	e[DG_EV_ELICIT] = ramp(f->cot_share, 0.1, 0.6) *
			  ramp(f->out_in_ratio > 0 ? log10(f->out_in_ratio) : -9, -0.3, 0.3);
	e[DG_EV_REASONING] = ramp(f->reasoning_share, 0.2, 0.8);
	e[DG_EV_LOGPROBS] = ramp(f->logprob_share, 0.1, 0.6);
	/* Short prompts, long answers: the output/input token ratio; max_tokens
	 * at the cap only adds when answers are already long for their prompt. */
	{
		double lr = f->out_in_ratio > 0 ? log10(f->out_in_ratio) : -9;
		e[DG_EV_OUTPUT_HEAVY] = fmax(ramp(lr, 0.4, 0.8), ramp(f->at_cap_share, 0.2, 0.8) * ramp(lr, 0.1, 0.4));
	}
	e[DG_EV_NEW_MODEL] = ramp(f->new_model_share, 0.3, 0.8);
	e[DG_EV_LOGIT_SWEEP] = logit_sweep(f);
}

static void reason(int ev, const struct dg_features *f, double zt, char *out, size_t size)
{
	switch (ev) {
	case DG_EV_VOLUME:
		snprintf(out, size, "%.0f output tok/min, %.1f robust z above the host", f->tok_rate_1h, zt);
		break;
	case DG_EV_TEMPLATE:
		snprintf(out, size, "%.0f%% of requests share one template", 100 * f->template_share);
		break;
	case DG_EV_NEAR_DUP:
		snprintf(out, size, "%.0f%% near-duplicate prompts", 100 * f->near_dup_share);
		break;
	case DG_EV_REGULAR:
		snprintf(out, size, "inter-arrival CV %.2f", f->iat_cv);
		break;
	case DG_EV_DUTY:
		snprintf(out, size, "active %.0f%% of minutes", 100 * f->duty_1h);
		break;
	case DG_EV_PARALLEL:
		snprintf(out, size, "%.1f requests in flight on average", f->inflight_mean);
		break;
	case DG_EV_SINGLE:
		snprintf(out, size, "%.0f%% single-turn", 100 * f->single_share);
		break;
	case DG_EV_CROWD:
		snprintf(out, size, "%u keys behind %.0f address%s in %.0f subnet%s%s",
			 f->crowd_keys, f->crowd_addrs, lround(f->crowd_addrs) == 1 ? "" : "es",
			 f->crowd_subnets, lround(f->crowd_subnets) == 1 ? "" : "s",
			 f->crowd_by_addr ? "" : " share templates");
		break;
	case DG_EV_LOCKSTEP:
		snprintf(out, size, "%u keys start and stop in the same minutes", f->lockstep_keys);
		break;
	case DG_EV_TLS:
		snprintf(out, size, "%u keys share a TLS client that %.1f%% of keys use", f->tls_keys,
			 100 * f->tls_share);
		break;
	case DG_EV_ELICIT:
		snprintf(out, size, "%.0f%% ask for step-by-step reasoning", 100 * f->cot_share);
		break;
	case DG_EV_REASONING:
		snprintf(out, size, "%.0f%% set reasoning/thinking parameters", 100 * f->reasoning_share);
		break;
	case DG_EV_LOGPROBS:
		snprintf(out, size, "%.0f%% request log-probabilities", 100 * f->logprob_share);
		break;
	case DG_EV_OUTPUT_HEAVY:
		snprintf(out, size, "output/input token ratio %.1f%s", f->out_in_ratio,
			 f->at_cap_share >= 0.5 ? ", max_tokens at the cap" : "");
		break;
	case DG_EV_NEW_MODEL:
		snprintf(out, size, "%.0f%% on a newly released model", 100 * f->new_model_share);
		break;
	case DG_EV_LOGIT_SWEEP:
		snprintf(out, size, "logit sweep: %.0f%% new logit_bias sets%s",
			 100 * f->bias_new_share,
			 f->one_token_share >= 0.5 ? ", 1-token answers" :
			 f->top_max_share >= 0.5 ? ", top_logprobs at max" : "");
		break;
	default:
		snprintf(out, size, "?");
	}
}

enum dg_action dg_score_action(const struct dg_score_config *c, double score)
{
	return score >= c->block_at ? DG_ACT_BLOCK :
	       score >= c->ratelimit_at ? DG_ACT_RATELIMIT : DG_ACT_NONE;
}

#define REASON_MIN 0.15         /* a weighted evidence this strong is a reason */

/* Evidence, automation, harvest, score and action into s (zeroed first),
 * each evidence's weighted contribution into contrib and the volume's z
 * into zt: everything but the reasons. */
static void score_core(const struct dg_score_config *c, const struct dg_population *pop,
		       const struct dg_features *f, struct dg_score *s, double *contrib, double *zt)
{
	double keep_a = 1, keep_h = 1;

	memset(s, 0, sizeof(*s));
	evidence(c, pop, f, s->evidence, zt);
	/* People (humans.h) are not automated however they are tied. */
	s->human = dg_human_factor(f);
	for (int i = 0; i < DG_EV__MAX; i++) {
		contrib[i] = c->weight[i] * s->evidence[i] * (i < DG_EV_FIRST_HARVEST ? 1 - s->human : 1);
		if (i < DG_EV_FIRST_HARVEST)
			keep_a *= 1 - contrib[i];
		else
			keep_h *= 1 - contrib[i];
	}
	s->automation = 1 - keep_a;
	s->harvest = 1 - keep_h;
	s->score = 100 * sqrt(s->automation * s->harvest);
	/* Round to 0.1 so tiny float noise never flips an action. */
	s->score = round(s->score * 10) / 10;
	s->action = dg_score_action(c, s->score);
}

void dg_score_client_bare(const struct dg_score_config *c, const struct dg_population *pop,
			  const struct dg_features *f, struct dg_score *s)
{
	double zt, contrib[DG_EV__MAX];

	score_core(c, pop, f, s, contrib, &zt);
}

void dg_score_client(const struct dg_score_config *c, const struct dg_population *pop,
		     const struct dg_features *f, struct dg_score *s)
{
	double zt, contrib[DG_EV__MAX];
	int order[DG_EV__MAX], reasons = 0;

	score_core(c, pop, f, s, contrib, &zt);
	for (int i = 0; i < DG_EV__MAX; i++) {
		order[i] = i;
		reasons |= !(contrib[i] < REASON_MIN);
	}
	/* No evidence strong enough to be a reason (most clients at most
	 * passes): nothing to order. */
	if (!reasons)
		return;

	/* Reasons: the strongest weighted evidences, stable order on ties. */
	for (int i = 1; i < DG_EV__MAX; i++) {
		int v = order[i], j = i;
		while (j > 0 && contrib[order[j - 1]] < contrib[v]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
	/* A cluster's first reason is what ties its members (crowd, lockstep,
	 * TLS client): members inherit its reasons, and a small key's reader
	 * needs to see why it belongs. */
	for (int i = 0; f->crowd_keys && i < DG_EV__MAX; i++) {
		int v = order[i];

		if (v != DG_EV_CROWD && v != DG_EV_LOCKSTEP && v != DG_EV_TLS)
			continue;
		if (i > 0 && contrib[v] >= REASON_MIN) {
			memmove(order + 1, order, (size_t)i * sizeof(order[0]));
			order[0] = v;
		}
		break;
	}
	for (int i = 0; i < DG_EV__MAX && s->n_reasons < DG_MAX_REASONS; i++) {
		if (contrib[order[i]] < REASON_MIN)
			break;
		reason(order[i], f, zt, s->reasons[s->n_reasons], DG_REASON_LEN);
		s->n_reasons++;
	}
}
