/* snapshot.h — what the console shows, as the daemon said it: the answers
 * to `status --json`, `clients --json` and `client NAME --json`
 * (DESIGN.md, README "Commands") parsed with yajl's tree into plain
 * structs.
 *
 * Nothing is trusted before it is checked. A number that is missing, null
 * or not a number is NAN (shown as "-"); a string that is missing or not a
 * string is ""; strings are cut to their buffers, and every byte that is
 * not printable ASCII (control characters, escapes, UTF-8) becomes '?', so
 * nothing the daemon says can move the cursor, colour the terminal or
 * change a column's width. An array element that is not an object, or a
 * client without a name, is skipped. Arrays are bounded (the DG_CON_*
 * below): what is past a bound is counted, not kept. Pure: no I/O. */
#ifndef DG_CON_SNAPSHOT_H
#define DG_CON_SNAPSHOT_H

#include <stddef.h>

#define DG_CON_NAME       64   /* a client's name (key:, ip:, cidr:) */
#define DG_CON_WORD       32   /* mode, action, cluster id, a feature's name */
#define DG_CON_REASON     128  /* one reason, an exemption, a note */
#define DG_CON_REASONS    4    /* reasons kept per client */
#define DG_CON_PAIRS      32   /* features, evidence, enforcement counters */
#define DG_CON_ADDRS      16   /* addresses of one client */
#define DG_CON_DECISIONS  32   /* the newest decisions of one client */

/* status --json */
struct dg_con_status {
	char mode[DG_CON_WORD];        /* "observe", "enforce"; "" unknown */
	double uptime_s;
	double records_per_s, output_tokens_per_s, events_per_s;
	double connections, events_lost;
	double bpf_run_ns, bpf_cpu;    /* bpf_cpu: cores (0.01 = 1% of one core) */
	double clients, decisions_in_force;
	double last_pass;              /* Unix seconds of the last scoring pass */
};

/* One object of clients --json (also client NAME --json's "view"). */
struct dg_con_client {
	char name[DG_CON_NAME];
	char cluster[DG_CON_WORD];     /* "" in none */
	char action[DG_CON_WORD];      /* the decision in force: none, ratelimit, block */
	int applied;                   /* 1 applied, 0 not (exempt), -1 nothing applied
	                                  (observe mode, or no enforcement object) */
	double score;                  /* 0-100 */
	double requests_per_min, output_tokens_per_min;
	double keys, ips, requests, output_tokens;
	char reasons[DG_CON_REASONS][DG_CON_REASON];
	int n_reasons;
	char trend;                    /* set by the frame (frame.h), ' ' here */
};

struct dg_con_pair {
	char name[DG_CON_WORD];
	double v;
};

/* A decision: in force, or from the client's history. */
struct dg_con_decision {
	double id;
	char action[DG_CON_WORD];      /* block, ratelimit, allow, unblock */
	char by[DG_CON_WORD];          /* policy, operator */
	double score, ts, expires;
	char why[DG_CON_REASON];       /* the operator's note, else the first reason */
};

/* The view's "enforcement" object: null (present 0), or what is applied. */
struct dg_con_enforcement {
	int present;
	char action[DG_CON_WORD], by[DG_CON_WORD];   /* by: address, connection */
	int applied;                   /* 1, 0, -1 unknown */
	char exempt[DG_CON_REASON];    /* why not applied; "" */
	double expires;
	struct dg_con_pair counts[DG_CON_PAIRS];     /* packets_dropped, ... */
	int n_counts;
};

/* client NAME --json */
struct dg_con_detail {
	struct dg_con_client c;
	double first_seen, last_seen, first_flagged, requests_to_flag;
	double automation, harvest, cluster_members;
	struct dg_con_pair features[DG_CON_PAIRS];
	int n_features;
	struct dg_con_pair evidence[DG_CON_PAIRS];
	int n_evidence;
	char addrs[DG_CON_ADDRS][DG_CON_NAME];
	int n_addrs;
	struct dg_con_enforcement enf;
	int has_in_force;
	struct dg_con_decision in_force;
	/* The newest DG_CON_DECISIONS decisions, newest first; total counts all. */
	struct dg_con_decision decisions[DG_CON_DECISIONS];
	int n_decisions;
	size_t decisions_total;
};

/* Each parses one NUL-terminated answer body. 0, or -1 with a reason in
 * err when the text is not JSON or not of the right shape (an object; for
 * clients an array). Fields that are wrong are handled as above. */
int dg_con_parse_status(const char *json, struct dg_con_status *st, char *err, size_t errlen);
/* *out is allocated (free() it), at most max clients, in the daemon's
 * order; *skipped counts the elements left out (not objects, no name,
 * past max). */
int dg_con_parse_clients(const char *json, size_t max, struct dg_con_client **out, size_t *n,
			 size_t *skipped, char *err, size_t errlen);
int dg_con_parse_detail(const char *json, struct dg_con_detail *d, char *err, size_t errlen);

/* src as printable ASCII into dst (size bytes), cut to fit. */
void dg_con_clean(char *dst, size_t size, const char *src);

#endif
