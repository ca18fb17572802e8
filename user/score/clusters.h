/* clusters.h — the crowd behind a campaign: clients grouped by the
 * template (system prompt / instruction frame fingerprint) that dominates
 * their traffic (and clients that rotate through several templates belong
 * to each, in proportion). Templates that the same clients rotate through
 * are linked into one component (paraphrased campaigns). Two more kinds of
 * tie enter as one more "template" that carries all of each member's
 * traffic, each a cluster of its own, never linked to its members'
 * templates: a lockstep group (keys that start and stop in the same
 * minutes, lockstep.h) and a TLS group (keys that share a TLS client rare
 * on the host, tlsgroups.h). A key's addresses enter the same way, and
 * addresses that the same keys use are linked like templates: the proxy
 * pool of a hydra is one cluster. A cluster's features are its members' pooled
 * together, so 200 keys that each send 2 requests a minute through 10
 * addresses with one template read as one client sending 400 a minute,
 * with a crowd evidence (keys per address) on top; it gets its own score. */
#ifndef DG_CLUSTERS_H
#define DG_CLUSTERS_H

#include <stddef.h>
#include <stdint.h>
#include "client_features.h"
#include "hll.h"
#include "score.h"

/* What ties a cluster's members. Templates link to templates and
 * addresses to addresses (through the clients that send both); lockstep
 * and TLS groups link to nothing. */
enum dg_link { DG_LINK_TEMPLATE = 0, DG_LINK_LOCKSTEP, DG_LINK_TLS, DG_LINK_ADDR };

/* One (client, template) pair: a client that sends several templates is a
 * member of each of their clusters, weighted by its share on each. */
struct dg_cluster_member {
	size_t client;                 /* which client: entries of one client share it */
	uint64_t tmpl;
	double weight;                 /* the client's share of requests on tmpl */
	const struct dg_features *f;   /* the client's features */
	const struct dg_hll *peers;    /* a key's addresses; NULL for an address */
	const struct dg_hll *subnets;  /* a key's /24 and /48 groups; NULL for an address */
	const char *ip;                /* an address client's own address, else NULL */
	int is_key;
	enum dg_link link;             /* a lockstep or TLS group: tmpl is its id, weight 1;
					* an address: tmpl is its hash, weight the key's
					* share of requests through it */
	uint64_t tls_group;            /* the client's TLS group (tlsgroups.h), 0 none */
	double tls_share;              /* share of the host's keys on its TLS client */
};

struct dg_cluster {
	uint64_t tmpl;                 /* the smallest template of the component */
	char id[16];                   /* "c-" + 8 hex, stable for a template */
	uint32_t members;
	enum dg_link link;
	struct dg_features f;          /* pooled */
	struct dg_score s;
	/* TLS groups, filled in by the caller (members.c): the members that
	 * have shown their requests' shape (two requests or more) and how
	 * many of those have the group's. */
	uint32_t shown, alike;
};

/* Templates are named and linked by the entries that carry at least this
 * share of their client's requests; a client belongs to a component when
 * its entries on the component's templates (any share) sum to at least it. */
#define DG_LINK_SHARE 0.1

/* Members qualify with a request in the last hour; a cluster needs
 * min_members of them. member_cluster[i] receives the cluster index
 * of member i, or -1. Returns the number of clusters, written to *out
 * (caller frees). */
size_t dg_clusters_build(const struct dg_cluster_member *m, size_t n, uint32_t min_members,
			 const struct dg_score_config *sc, const struct dg_population *pop,
			 struct dg_cluster **out, int32_t *member_cluster);

#endif
