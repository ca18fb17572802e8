/* tlsgroups.h — keys that share a TLS client the rest of the host does not
 * use. Every connection's ClientHello has a JA4 fingerprint (ja4.h); a key's
 * fingerprint is the one most of its requests arrive with. A fingerprint
 * that a large share of the host's keys carry is a common client library
 * (a vendor SDK, a browser) and ties nobody together; one carried by a few
 * percent of the keys, but by several of them, is a client that one party
 * built or chose, and its keys form a group.
 *
 * Only keys with a known fingerprint count (plain HTTP has none). A group
 * ties keys together no more than a shared address does: clusters.c scores
 * it like any crowd, and a member inherits the group's score only when its
 * own requests look like the group's (members.c). O(n), deterministic. */
#ifndef DG_TLSGROUPS_H
#define DG_TLSGROUPS_H

#include <stddef.h>
#include <stdint.h>

/* fp[i]: key i's fingerprint hash, 0 when unknown. A fingerprint makes a
 * group when at least min_keys keys carry it and those are at most
 * max_share of the keys with a known fingerprint. group[i] receives a
 * non-zero group id (derived from the fingerprint, so stable) or 0, and
 * share[i] the share of known keys that carry key i's fingerprint (0 when
 * unknown). Returns the number of groups, or (size_t)-1 when out of memory
 * (then every group[i] is 0). */
size_t dg_tls_groups(const uint64_t *fp, size_t n, uint32_t min_keys, double max_share,
		     uint64_t *group, double *share);

/* A key's fingerprint: the majority of its requests' (Boyer-Moore vote,
 * two words per key). A key that changes client flips after at most
 * DG_TLS_VOTE_CAP requests. */
#define DG_TLS_VOTE_CAP 32
struct dg_tls_vote {
	uint64_t fp;
	uint32_t votes;
};
void dg_tls_vote(struct dg_tls_vote *v, uint64_t fp);

#endif
