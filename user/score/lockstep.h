/* lockstep.h — keys whose per-minute activity moves together: they start
 * and stop in the same minutes, again and again, as accounts driven by one
 * scheduler do. Always-on traffic says nothing here (every busy client is
 * active every minute), nor does a first appearance (every client has one,
 * and after a restart of the host all have the same), so a pattern counts
 * only when it has stopped and started again at least twice inside the
 * window.
 *
 * Input: each client's activity over the last DG_LOCKSTEP_WINDOW complete
 * minutes (bit i: minute now-1-i had a request) and a stable id (its name
 * hash). Candidates are clients whose patterns agree exactly on one of four
 * 8-minute bands (locality-sensitive hashing); a candidate pair is joined
 * when, over the whole window, both their active minutes and their idle
 * minutes have a Jaccard similarity of at least DG_LOCKSTEP_JACCARD (keys
 * of one scheduler start seconds apart, sometimes across a minute
 * boundary, so a wave's edges may differ by a minute). Groups are the connected components of those pairs
 * with at least min_group members (DG_LOCKSTEP_MIN_GROUP by default, the
 * score.lockstep_min_keys setting). O(n log n), deterministic. */
#ifndef DG_LOCKSTEP_H
#define DG_LOCKSTEP_H

#include <stddef.h>
#include <stdint.h>

#define DG_LOCKSTEP_WINDOW     32    /* complete minutes compared */
#define DG_LOCKSTEP_BAND       8     /* minutes per LSH band (4 bands) */
#define DG_LOCKSTEP_MIN_ACTIVE 5     /* active minutes in the window */
#define DG_LOCKSTEP_MIN_IDLE   5     /* idle minutes in the window */
#define DG_LOCKSTEP_MIN_RESTARTS 2   /* idle -> active after earlier activity, in the window */
#define DG_LOCKSTEP_JACCARD    0.8
#define DG_LOCKSTEP_MIN_GROUP  4
#define DG_LOCKSTEP_PROBES     8     /* neighbours in a band bucket compared */

/* Does this pattern move enough to be compared? */
int dg_lockstep_eligible(uint32_t bits);

/* group[i] receives client i's group id (non-zero, derived from the
 * smallest id in the group, so stable while that member stays) or 0.
 * Returns the number of groups, or (size_t)-1 when out of memory (then
 * every group[i] is 0). */
size_t dg_lockstep_groups(const uint32_t *bits, const uint64_t *ids, size_t n, uint32_t min_group,
			  uint64_t *group);

#endif
