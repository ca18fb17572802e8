/* policy.c — scores to decisions with hysteresis, TTLs, an allow list and
 * operators' decisions first (policy.h). */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client with a decision: the policy's and an operator's, each in force
 * until its expiry. */
struct entry {
	struct entry *next;            /* hash chain */
	struct dg_decision pol, man;
	int has_pol, has_man;
	size_t pol_hist;               /* pol's slot in the history */
};

/* Operators' decisions on prefixes (cidr:), looked at for ip: clients. */
struct cidr_dec {
	struct dg_prefix prefix;
	struct dg_decision d;
};

#define BUCKETS 65536
#define CIDR_MAX 256

struct dg_policy {
	struct dg_policy_config cfg;
	struct dg_prefix allow_prefix[DG_POLICY_ALLOW];
	int allow_is_prefix[DG_POLICY_ALLOW];
	dg_decision_fn fn;
	void *arg;
	struct entry *buckets[BUCKETS];
	size_t n_entries;
	struct cidr_dec cidr[CIDR_MAX];
	int n_cidr;
	struct dg_decision history[DG_POLICY_HISTORY];
	size_t hist_start, hist_len;
	uint64_t next_id;
	struct dg_decision last_cmd;
	struct dg_policy_stats st;
};

static const char *verb_names[] = {
	[DG_DO_NONE] = "none", [DG_DO_RATELIMIT] = "ratelimit", [DG_DO_BLOCK] = "block",
	[DG_DO_ALLOW] = "allow", [DG_DO_UNBLOCK] = "unblock",
};

const char *dg_verb_name(enum dg_verb v)
{
	return v <= DG_DO_UNBLOCK ? verb_names[v] : "?";
}

int dg_verb_parse(const char *s)
{
	for (int v = 0; v <= DG_DO_UNBLOCK; v++)
		if (!strcmp(s, verb_names[v]))
			return v;
	return -1;
}

/* ---------- names ---------- */

static int hex12(const char *s)
{
	if (strlen(s) != 12)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int whole_address(const char *s)
{
	struct dg_prefix p;

	return !strchr(s, '/') && !dg_prefix_parse(s, &p);
}

int dg_policy_name_ok(const char *name)
{
	struct dg_prefix p;

	if (strlen(name) >= DG_CLIENT_LEN)
		return 0;
	if (!strncmp(name, "key:", 4))
		return hex12(name + 4);
	if (!strncmp(name, "ip:", 3))
		return whole_address(name + 3);
	if (!strncmp(name, "cidr:", 5))
		return !dg_prefix_parse(name + 5, &p);
	return 0;
}

void dg_policy_config_default(struct dg_policy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ratelimit_at = 65;
	c->block_at = 85;
	c->hysteresis = 10;
	c->ttl = 600;
	c->manual_ttl = 3600;
}

int dg_policy_allow_add(struct dg_policy_config *c, const char *name, char *err, size_t errlen)
{
	char buf[DG_CLIENT_LEN + 8];
	struct dg_prefix p;

	if (!strchr(name, ':') || (strchr(name, ':') && !dg_prefix_parse(name, &p))) {
		/* A bare address or prefix (IPv6 has colons of its own). */
		if (dg_prefix_parse(name, &p)) {
			snprintf(err, errlen, "allow: '%s' is not key:<12 hex>, ip:<address> or "
				 "cidr:<prefix>", name);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%s%s", strchr(name, '/') ? "cidr:" : "ip:", name);
		name = buf;
	}
	if (!dg_policy_name_ok(name)) {
		snprintf(err, errlen, "allow: '%s' is not key:<12 hex>, ip:<address> or cidr:<prefix>",
			 name);
		return -1;
	}
	if (c->n_allow >= DG_POLICY_ALLOW) {
		snprintf(err, errlen, "allow: at most %d entries", DG_POLICY_ALLOW);
		return -1;
	}
	memcpy(c->allow[c->n_allow++], name, strlen(name) + 1);   /* name_ok: it fits */
	return 0;
}

/* ---------- the table ---------- */

static size_t bucket_of(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % BUCKETS);
}

static struct entry *find(const struct dg_policy *p, const char *client)
{
	if (!p->n_entries)
		return NULL;           /* nothing decided: no name to hash */
	for (struct entry *e = p->buckets[bucket_of(client)]; e; e = e->next)
		if (!strcmp(e->pol.client, client))
			return e;
	return NULL;
}

static double entry_ends(const struct entry *e)
{
	double a = e->has_pol ? e->pol.expires : 0, b = e->has_man ? e->man.expires : 0;

	return a > b ? a : b;
}

static void unlink_entry(struct dg_policy *p, struct entry *victim)
{
	struct entry **pp = &p->buckets[bucket_of(victim->pol.client)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim);
			p->n_entries--;
			return;
		}
	}
}

/* Full: forget an entry that has ended, else the one ending first. */
static void make_room(struct dg_policy *p, double now)
{
	struct entry *victim = NULL;

	for (size_t b = 0; b < BUCKETS; b++) {
		for (struct entry *e = p->buckets[b]; e; e = e->next) {
			if (entry_ends(e) <= now) {
				unlink_entry(p, e);
				return;
			}
			if (!victim || entry_ends(e) < entry_ends(victim))
				victim = e;
		}
	}
	if (victim) {
		p->st.table_full++;
		unlink_entry(p, victim);
	}
}

static struct entry *get(struct dg_policy *p, const char *client, double now)
{
	struct entry *e = find(p, client);
	size_t b;

	if (e)
		return e;
	if (p->n_entries >= DG_POLICY_CLIENTS)
		make_room(p, now);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->pol.client, sizeof(e->pol.client), "%s", client);
	b = bucket_of(client);
	e->next = p->buckets[b];
	p->buckets[b] = e;
	p->n_entries++;
	return e;
}

/* ---------- decisions ---------- */

/* Keep d in the history (the oldest goes when it is full); its slot. */
static size_t record(struct dg_policy *p, struct dg_decision *d)
{
	size_t at;

	if (!d->id)
		d->id = ++p->next_id;
	else if (d->id > p->next_id)
		p->next_id = d->id;
	at = (p->hist_start + p->hist_len) % DG_POLICY_HISTORY;
	p->history[at] = *d;
	if (p->hist_len < DG_POLICY_HISTORY)
		p->hist_len++;
	else
		p->hist_start = (p->hist_start + 1) % DG_POLICY_HISTORY;
	p->st.decisions++;
	if (d->by == DG_BY_OPERATOR)
		p->st.by_operator++;
	if (p->fn)
		p->fn(d, p->arg);
	return at;
}

/* A renewed policy decision: its history entry shows the new expiry while
 * the history still holds it. */
static void renew(struct dg_policy *p, struct entry *e, double expires)
{
	struct dg_decision *h = &p->history[e->pol_hist % DG_POLICY_HISTORY];

	e->pol.expires = expires;
	if (h->id == e->pol.id)
		h->expires = expires;
	p->st.renewed++;
}

static int in_force(const struct dg_decision *d, int has, double now)
{
	return has && now < d->expires;
}

/* The operator's decision on an ip: client through a cidr: one. */
static const struct dg_decision *cidr_decision(const struct dg_policy *p, const char *client,
					       double now)
{
	const struct dg_decision *best = NULL;
	int best_bits = -1;

	if (strncmp(client, "ip:", 3))
		return NULL;
	for (int i = 0; i < p->n_cidr; i++) {
		const struct cidr_dec *c = &p->cidr[i];

		if (now < c->d.expires && c->prefix.bits > best_bits &&
		    dg_prefix_match_str(&c->prefix, client + 3)) {
			best = &c->d;
			best_bits = c->prefix.bits;
		}
	}
	return best;
}

static int allowed_by_config(const struct dg_policy *p, const char *client, const char *const *addrs,
			     int n_addrs)
{
	for (int i = 0; i < p->cfg.n_allow; i++) {
		if (!p->allow_is_prefix[i]) {
			if (!strcmp(p->cfg.allow[i], client))
				return 1;
			continue;
		}
		if (!strncmp(client, "ip:", 3) && dg_prefix_match_str(&p->allow_prefix[i], client + 3))
			return 1;
		for (int k = 0; k < n_addrs; k++)
			if (addrs[k] && dg_prefix_match_str(&p->allow_prefix[i], addrs[k]))
				return 1;
	}
	return 0;
}

/* The operator's decision in force on client, e its entry (find). */
static const struct dg_decision *manual_in_force(const struct dg_policy *p, const char *client,
						 const struct entry *e, double now)
{
	if (e && in_force(&e->man, e->has_man, now))
		return &e->man;
	return cidr_decision(p, client, now);
}

const struct dg_decision *dg_policy_in_force(const struct dg_policy *p, const char *client,
					     double now)
{
	const struct entry *e = find(p, client);
	const struct dg_decision *m = manual_in_force(p, client, e, now);

	if (m)
		return m;
	if (allowed_by_config(p, client, NULL, 0))
		return NULL;
	return e && in_force(&e->pol, e->has_pol, now) ? &e->pol : NULL;
}

enum dg_action dg_policy_action(const struct dg_policy *p, const char *client, double now)
{
	const struct dg_decision *d = dg_policy_in_force(p, client, now);

	if (!d)
		return DG_ACT_NONE;
	return d->verb == DG_DO_BLOCK ? DG_ACT_BLOCK :
	       d->verb == DG_DO_RATELIMIT ? DG_ACT_RATELIMIT : DG_ACT_NONE;
}

/* What the score asks for, given what is in force (hysteresis) and the cap
 * the score side put on it. */
static enum dg_verb target(const struct dg_policy_config *c, const struct dg_policy_input *in,
			   enum dg_verb cur)
{
	enum dg_verb t = DG_DO_NONE;
	double s = in->score;

	if (s >= c->block_at || (cur == DG_DO_BLOCK && s >= c->block_at - c->hysteresis))
		t = DG_DO_BLOCK;
	else if (s >= c->ratelimit_at || (cur != DG_DO_NONE && s >= c->ratelimit_at - c->hysteresis))
		t = DG_DO_RATELIMIT;
	/* The score side caps an address that carries legitimate keys. */
	if (t == DG_DO_BLOCK && in->action == DG_ACT_RATELIMIT && s >= c->block_at)
		t = DG_DO_RATELIMIT;
	return t;
}

/* e: in->client's entry (find), NULL when it has none. */
static void decide(struct dg_policy *p, double now, const struct dg_policy_input *in,
		   struct entry *e)
{
	enum dg_verb cur = e && in_force(&e->pol, e->has_pol, now) ? e->pol.verb : DG_DO_NONE;
	enum dg_verb t = target(&p->cfg, in, cur);
	struct dg_decision d;

	if (t == DG_DO_NONE || t < cur)
		return;                /* what is in force runs out at its expiry */
	if (t == cur) {
		renew(p, e, now + p->cfg.ttl);
		return;
	}
	if (!(e = get(p, in->client, now)))
		return;
	memset(&d, 0, sizeof(d));
	snprintf(d.client, sizeof(d.client), "%s", in->client);
	d.verb = t;
	d.by = DG_BY_POLICY;
	d.ts = now;
	d.expires = now + p->cfg.ttl;
	d.score = in->score;
	d.n_reasons = in->n_reasons < DG_MAX_REASONS ? in->n_reasons : DG_MAX_REASONS;
	for (int i = 0; i < d.n_reasons; i++)
		snprintf(d.reasons[i], DG_REASON_LEN, "%s", in->reasons[i]);
	e->pol_hist = record(p, &d);
	e->pol = d;
	e->has_pol = 1;
}

void dg_policy_tick(struct dg_policy *p, double now, const struct dg_policy_input *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct entry *e = find(p, in[i].client);   /* once per client: its name is hashed */

		if (manual_in_force(p, in[i].client, e, now) ||
		    allowed_by_config(p, in[i].client, in[i].addrs, in[i].n_addrs))
			continue;
		decide(p, now, &in[i], e);
	}
}

/* Apply an operator's decision d (made now, or read back from a journal). */
static const struct dg_decision *apply_manual(struct dg_policy *p, struct dg_decision *d)
{
	if (!strncmp(d->client, "cidr:", 5)) {
		struct dg_prefix pre;
		int slot = -1;

		dg_prefix_parse(d->client + 5, &pre);
		for (int i = 0; i < p->n_cidr && slot < 0; i++)
			if (!strcmp(p->cidr[i].d.client, d->client) || p->cidr[i].d.expires <= d->ts)
				slot = i;
		if (slot < 0 && p->n_cidr < CIDR_MAX)
			slot = p->n_cidr++;
		if (slot < 0) {
			p->st.table_full++;
			return NULL;
		}
		p->cidr[slot].prefix = pre;
		record(p, d);
		p->cidr[slot].d = *d;
		return &p->cidr[slot].d;
	} else {
		struct entry *e = get(p, d->client, d->ts);

		if (!e)
			return NULL;
		record(p, d);
		e->man = *d;
		e->has_man = 1;
		if (d->verb == DG_DO_UNBLOCK && e->has_pol && e->pol.expires > d->ts)
			e->pol.expires = d->ts;      /* lifted now */
		return &e->man;
	}
}

const struct dg_decision *dg_policy_command(struct dg_policy *p, double now, const char *client,
					    enum dg_verb verb, double ttl, const char *note,
					    char *err, size_t errlen)
{
	struct dg_decision *d = &p->last_cmd;

	if (!dg_policy_name_ok(client)) {
		snprintf(err, errlen, "'%s' is not key:<12 hex>, ip:<address> or cidr:<prefix>", client);
		return NULL;
	}
	if (verb == DG_DO_NONE || verb > DG_DO_UNBLOCK || ttl < 0) {
		snprintf(err, errlen, "not a command");
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	snprintf(d->client, sizeof(d->client), "%s", client);
	d->verb = verb;
	d->by = DG_BY_OPERATOR;
	d->ts = now;
	d->expires = now + (ttl > 0 ? ttl : p->cfg.manual_ttl);
	d->score = -1;
	snprintf(d->note, sizeof(d->note), "%s", note ? note : "");
	if (!apply_manual(p, d)) {
		snprintf(err, errlen, "decision table full");
		return NULL;
	}
	return d;
}

void dg_policy_replay(struct dg_policy *p, const struct dg_decision *d)
{
	struct dg_decision copy = *d;

	if (d->by != DG_BY_OPERATOR || !dg_policy_name_ok(d->client))
		return;
	copy.id = 0;
	apply_manual(p, &copy);
}

/* ---------- setup and reading ---------- */

static void apply_config(struct dg_policy *p, const struct dg_policy_config *c)
{
	p->cfg = *c;
	for (int i = 0; i < c->n_allow; i++) {
		p->allow_is_prefix[i] = !strncmp(c->allow[i], "cidr:", 5) ||
					!strncmp(c->allow[i], "ip:", 3);
		if (p->allow_is_prefix[i])
			dg_prefix_parse(strchr(c->allow[i], ':') + 1, &p->allow_prefix[i]);
	}
}

struct dg_policy *dg_policy_new(const struct dg_policy_config *c, dg_decision_fn fn, void *arg)
{
	struct dg_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	apply_config(p, c);
	p->fn = fn;
	p->arg = arg;
	return p;
}

void dg_policy_reconfigure(struct dg_policy *p, const struct dg_policy_config *c)
{
	apply_config(p, c);
}

void dg_policy_free(struct dg_policy *p)
{
	if (!p)
		return;
	for (size_t b = 0; b < BUCKETS; b++) {
		struct entry *e = p->buckets[b], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(p);
}

const struct dg_decision *dg_policy_history(const struct dg_policy *p, size_t i)
{
	return i < p->hist_len ? &p->history[(p->hist_start + i) % DG_POLICY_HISTORY] : NULL;
}

const struct dg_policy_config *dg_policy_get_config(const struct dg_policy *p)
{
	return &p->cfg;
}

size_t dg_policy_history_len(const struct dg_policy *p)
{
	return p->hist_len;
}

void dg_policy_each_in_force(const struct dg_policy *p, double now, dg_decision_fn fn, void *arg)
{
	for (size_t b = 0; b < BUCKETS; b++) {
		for (const struct entry *e = p->buckets[b]; e; e = e->next) {
			const struct dg_decision *d = dg_policy_in_force(p, e->pol.client, now);

			if (d && d->verb != DG_DO_NONE)
				fn(d, arg);
		}
	}
	for (int i = 0; i < p->n_cidr; i++)
		if (now < p->cidr[i].d.expires)
			fn(&p->cidr[i].d, arg);
}

const struct dg_policy_stats *dg_policy_stats(const struct dg_policy *p)
{
	return &p->st;
}
