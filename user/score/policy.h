/* policy.h — from scores to decisions: which clients are rate-limited or
 * blocked, by whom, why and until when.
 *
 * Clients are named as everywhere: `key:<12 hex>`, `ip:<address>`, and an
 * operator may also name `cidr:<prefix>` (it covers the ip: clients inside).
 *
 * Each scoring tick hands every client's score, the action its score maps
 * to, and its reasons to dg_policy_tick. The policy then:
 *  - never acts on an allowed client: the config's allow list (keys,
 *    addresses, CIDR prefixes; a key is allowed too when one of its recent
 *    addresses is), or an operator's `allow` still in force;
 *  - lets an operator's decision in force (block, ratelimit, unblock, allow)
 *    take precedence over its own;
 *  - otherwise enters ratelimit at ratelimit_at and block at block_at (the
 *    score's thresholds), and keeps an action until the score falls below
 *    the threshold minus `hysteresis`, so a client near a threshold does
 *    not flap. A decision lasts `ttl` seconds and is renewed at every tick
 *    where its evidence holds; when it is not renewed it ends at its
 *    expiry. Escalation (ratelimit to block) is a new decision at once; a
 *    lower action replaces a higher one only when the higher one expires;
 *  - acts on an address that also carries keys that look legitimate at
 *    most with ratelimit (the score side says so in the address's reasons:
 *    act on the keys, not on the customers behind the same proxy).
 * In observe mode the decisions are made and shown exactly the same; they
 * are just not applied (that is the enforcer's business, not this one's).
 *
 * Time is whatever the caller says: record time in replay, record time in
 * the live daemon too, so that replaying a journal gives its decisions.
 * Every new decision is handed to the on_decision callback (the journal),
 * and kept in a bounded history. Bounded: DG_POLICY_CLIENTS decisions in
 * force (over it the oldest expiring is forgotten, counted) and
 * DG_POLICY_HISTORY past decisions. */
#ifndef DG_POLICY_H
#define DG_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "netaddr.h"
#include "record.h"
#include "score.h"

#define DG_POLICY_CLIENTS 65536
#define DG_POLICY_HISTORY 4096
#define DG_POLICY_ALLOW   256
#define DG_NOTE_LEN       128

/* What a decision does. */
enum dg_verb {
	DG_DO_NONE = 0,        /* nothing in force (a decision that ended) */
	DG_DO_RATELIMIT,
	DG_DO_BLOCK,
	DG_DO_ALLOW,           /* operator: never act on this client */
	DG_DO_UNBLOCK,         /* operator: lift what is in force, hold off */
};

enum dg_by { DG_BY_POLICY = 0, DG_BY_OPERATOR = 1 };

struct dg_decision {
	uint64_t id;                   /* 1, 2, ... in the order made */
	char client[DG_CLIENT_LEN];
	enum dg_verb verb;
	enum dg_by by;
	double ts;                     /* when it was made */
	double expires;                /* when it ends unless renewed */
	double score;                  /* at the time, -1 for an operator's */
	int n_reasons;
	char reasons[DG_MAX_REASONS][DG_REASON_LEN];
	char note[DG_NOTE_LEN];        /* an operator's --reason */
};

struct dg_policy_config {
	double ratelimit_at, block_at; /* enter thresholds (the score's) */
	double hysteresis;             /* leave at threshold - hysteresis (10) */
	double ttl;                    /* a policy decision, renewed while it holds (600 s) */
	double manual_ttl;             /* an operator's decision, default (3600 s) */
	/* The allow list: names as above (key:, ip:, cidr:). */
	char allow[DG_POLICY_ALLOW][DG_CLIENT_LEN];
	int n_allow;
};

/* One client at a tick. */
struct dg_policy_input {
	const char *client;
	double score;
	enum dg_action action;         /* what the score maps to (already capped for
	                                  an address that carries legitimate keys) */
	int n_reasons;
	const char (*reasons)[DG_REASON_LEN];
	const char *addrs[4];          /* a key's recent addresses, for the allow list */
	int n_addrs;
};

struct dg_policy_stats {
	uint64_t decisions, by_operator, renewed, table_full;
};

typedef void (*dg_decision_fn)(const struct dg_decision *d, void *arg);

struct dg_policy;

void dg_policy_config_default(struct dg_policy_config *c);
/* Add "key:..", "ip:..", "cidr:.." (or a bare address or prefix) to the
 * allow list. 0, or -1 with a reason in err. */
int dg_policy_allow_add(struct dg_policy_config *c, const char *name, char *err, size_t errlen);
/* Is name a client name an operator may give (key:/ip:/cidr:)? */
int dg_policy_name_ok(const char *name);

struct dg_policy *dg_policy_new(const struct dg_policy_config *c, dg_decision_fn fn, void *arg);
void dg_policy_free(struct dg_policy *p);
/* A new config (SIGHUP): thresholds and allow list; decisions stay. */
void dg_policy_reconfigure(struct dg_policy *p, const struct dg_policy_config *c);

/* Decide for every client at time now. */
void dg_policy_tick(struct dg_policy *p, double now, const struct dg_policy_input *in, size_t n);

/* An operator's command: verb on client for ttl seconds (0: manual_ttl),
 * with a note. Returns the decision made (valid until the next call), or
 * NULL with a reason in err (bad name). */
const struct dg_decision *dg_policy_command(struct dg_policy *p, double now, const char *client,
					    enum dg_verb verb, double ttl, const char *note,
					    char *err, size_t errlen);

/* A decision read back from a journal (replay): it is taken as made then,
 * by whom it says; policy decisions are remade by the ticks, so only
 * operators' are applied. */
void dg_policy_replay(struct dg_policy *p, const struct dg_decision *d);

/* The decision in force on client at now (NULL: none). An ip: client is
 * covered by a cidr: decision too (the longest prefix); an operator's
 * decision comes before the policy's. */
const struct dg_decision *dg_policy_in_force(const struct dg_policy *p, const char *client,
					     double now);
/* What the client's action is now: none, ratelimit or block. */
enum dg_action dg_policy_action(const struct dg_policy *p, const char *client, double now);

/* Decisions made, oldest first: *n of them, at most DG_POLICY_HISTORY. */
const struct dg_decision *dg_policy_history(const struct dg_policy *p, size_t i);
/* The thresholds, TTLs and allow list in use. */
const struct dg_policy_config *dg_policy_get_config(const struct dg_policy *p);
size_t dg_policy_history_len(const struct dg_policy *p);
/* Decisions in force at now, any order; calls fn for each. */
void dg_policy_each_in_force(const struct dg_policy *p, double now, dg_decision_fn fn, void *arg);

const struct dg_policy_stats *dg_policy_stats(const struct dg_policy *p);

const char *dg_verb_name(enum dg_verb v);
/* "block" -> DG_DO_BLOCK ...; -1 unknown. */
int dg_verb_parse(const char *s);

#endif
