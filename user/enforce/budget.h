/* budget.h — a rate-limited client's request budget: a token bucket that
 * holds a minute's worth of requests and refills continuously, so a client
 * may send per_min requests in a burst and then per_min a minute. */
#ifndef DG_BUDGET_H
#define DG_BUDGET_H

struct dg_reqbudget {
	double tokens;
	double at;                 /* when tokens was last brought up to date */
	int started;
};

/* Take one request at now (seconds). 1 within budget, 0 over. */
static inline int dg_budget_take(struct dg_reqbudget *b, double now, double per_min)
{
	if (per_min <= 0)
		return 1;
	if (!b->started) {
		b->tokens = per_min;
		b->at = now;
		b->started = 1;
	}
	if (now > b->at) {
		b->tokens += (now - b->at) * per_min / 60.0;
		if (b->tokens > per_min)
			b->tokens = per_min;
		b->at = now;
	}
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}

/* Seconds from now until the next request fits. */
static inline double dg_budget_wait(const struct dg_reqbudget *b, double per_min)
{
	if (per_min <= 0 || b->tokens >= 1)
		return 0;
	return (1 - b->tokens) * 60.0 / per_min;
}

#endif
