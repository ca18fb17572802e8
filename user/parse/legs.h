/* legs.h — one request, one record, when both legs of a proxy on this host
 * are watched.
 *
 * A proxy that terminates TLS on a watched port and forwards to an upstream
 * on another watched port shows each request twice: on the client's
 * connection to the proxy (the outer leg: the client's address, its JA4)
 * and on the proxy's connection to the upstream (the inner leg: the
 * upstream's status and tokens, the proxy's address). This module links
 * the two and emits one record: the outer leg's identity, completed with
 * what only the inner leg has.
 *
 * Which records are legs is known, not guessed: the kernel reports every
 * connect() from this host to a watched port with the connecting process
 * (DG_EV_CONNECT). A record is an inner leg when its peer socket was
 * connected by a process that serves watched connections itself; it is an
 * outer leg when its server process connects to watched ports. Only legs
 * wait, at most `window` seconds; other records pass straight through.
 *
 * An inner leg links to the outer leg of the same proxy process with the
 * same method, path (or a suffix of it), key, body size and prompt
 * fingerprint whose request started closest before it; when the proxy
 * names the client (Forwarded for="ip:port", X-Forwarded-For and
 * X-Forwarded-Port), that must match the outer leg's peer too. A leg that
 * finds no partner in its window is emitted alone and counted (a proxy
 * answering by itself, or a pair that could not be linked).
 *
 * Bounded: connects by serving processes (DG_LEGS_CONNECTS, direct-mapped)
 * and by others (the last 1,024), process sets (DG_LEGS_PIDS), held records
 * (max_held; over it the oldest is emitted alone, counted). */
#ifndef DG_LEGS_H
#define DG_LEGS_H

#include <stddef.h>
#include <stdint.h>
#include "dg_event.h"
#include "record.h"
#include "reassemble.h"

#define DG_LEGS_CONNECTS 8192
#define DG_LEGS_PIDS     1024

struct dg_legs_config {
	double window;         /* seconds a leg waits for its partner (2) */
	size_t max_held;       /* legs waiting at once (4096) */
};

struct dg_legs_stats {
	uint64_t connects;     /* connects to watched ports seen */
	uint64_t linked;       /* pairs emitted as one record */
	uint64_t outer_alone;  /* outer legs that found no inner leg */
	uint64_t inner_alone;  /* inner legs that found no outer leg */
	uint64_t held_full;    /* legs emitted early: max_held reached */
};

struct dg_legs;

void dg_legs_config_default(struct dg_legs_config *cfg);
struct dg_legs *dg_legs_new(const struct dg_legs_config *cfg, dg_record_fn out, void *arg);
/* Emits every leg still waiting, then frees. */
void dg_legs_free(struct dg_legs *l);

/* A process of this host connected to a watched port (DG_EV_CONNECT). */
void dg_legs_connect(struct dg_legs *l, const struct dg_conn_event *e);
/* pid serves watched connections (it sent a data event). */
void dg_legs_server(struct dg_legs *l, uint32_t pid);
/* The processes listening on watched ports, from the last scan (pairs
 * pids[i], ports[i]; at most DG_LEGS_PIDS kept): each serves, and a record
 * read from packets (no process named) is the outer leg of any of its
 * port's listeners that connects to watched ports. */
void dg_legs_listeners(struct dg_legs *l, const uint32_t *pids, const uint16_t *ports, size_t n);
/* A finished record; now is monotonic seconds. */
void dg_legs_record(struct dg_legs *l, const struct dg_record *r, double now);
/* Emit the legs whose window has passed. */
void dg_legs_tick(struct dg_legs *l, double now);
/* Emit every leg still waiting (shutdown). */
void dg_legs_flush(struct dg_legs *l);

const struct dg_legs_stats *dg_legs_stats(const struct dg_legs *l);

#endif
