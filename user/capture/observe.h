/* observe.h — the observing pipeline every subcommand that watches live
 * traffic shares: probes → decode → reassemble → legs (one record per
 * request through a local proxy) → request records. */
#ifndef DG_OBSERVE_H
#define DG_OBSERVE_H

#include "config.h"
#include "legs.h"
#include "probes.h"
#include "reassemble.h"

struct dg_observer {
	struct dg_probes *probes;
	struct dg_reasm *reasm;
	struct dg_legs *legs;          /* reassembly → legs → on_record */
	dg_record_fn on_record;
	dg_conn_fn on_conn;
	void *arg;
	uint8_t secret[16];
	uint64_t bad_samples;          /* samples decode refused */
	uint64_t ring_samples, ring_bytes;   /* what the kernel sent user space */
	uint64_t last_sweep_ns, last_rescan_ns;
};

/* Load the secret and the probes; records go to on_record. 0 or -1 + err. */
int dg_observer_open(struct dg_observer *o, const struct dg_config *cfg,
		     dg_record_fn on_record, dg_conn_fn on_conn, void *arg,
		     char *err, size_t errlen);
/* Also tell fn of every request's head as soon as it is parsed. */
void dg_observer_on_head(struct dg_observer *o, dg_head_fn fn, void *arg);
/* One turn: poll up to timeout_ms, sweep, rescan for new libssl users. */
int dg_observer_step(struct dg_observer *o, int timeout_ms);
/* Take everything in flight: the ring buffers, open connections, waiting
 * legs (their records are emitted). */
void dg_observer_drain(struct dg_observer *o);
void dg_observer_close(struct dg_observer *o);
/* Every counter (kernel, reassembly, legs), by group and name: one list
 * for --stats, `status` and /metrics. */
typedef void (*dg_counter_fn)(const char *group, const char *name, uint64_t value, void *arg);
void dg_observer_counters(struct dg_observer *o, dg_counter_fn fn, void *arg);
/* Print them, a line per group (trace --stats). */
void dg_observer_print_stats(struct dg_observer *o, FILE *out);

uint64_t dg_mono_ns(void);

#endif
