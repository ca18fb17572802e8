/* probes.h — load the BPF objects, attach them, and read what they send:
 * tls (OpenSSL uprobes + nested-syscall tracepoints), plain (syscall
 * captures), conn (sockops lifecycle). Everything attached is a bpf_link
 * owned by this process, so it goes away when the process does. */
#ifndef DG_PROBES_H
#define DG_PROBES_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "dg_event.h"
#include "progstats.h"

struct dg_probes;

typedef int (*dg_sample_fn)(void *ctx, void *data, size_t size);

/* Load and attach. On failure returns NULL with a reason in err. */
struct dg_probes *dg_probes_open(const struct dg_config *cfg, dg_sample_fn fn, void *ctx,
				 char *err, size_t errlen);
void dg_probes_close(struct dg_probes *p);

/* Wait up to timeout ms, then drain the ring buffers: connection events
 * and ClientHellos first, then data. Returns events handled or -errno. */
int dg_probes_poll(struct dg_probes *p, int timeout_ms);
/* An fd that is readable when any ring buffer has events (for an outer
 * event loop, which then calls dg_probes_poll(p, 0)). */
int dg_probes_epoll_fd(const struct dg_probes *p);

/* The watched servers: processes holding a listening socket on a watched
 * port (and those `watch_process` names). Each gets the OpenSSL uprobes
 * for its own pid, on its libssl or on its executable when --ssl-binary
 * names it; no other process gets a breakpoint. A rescan picks up new
 * servers and drops those gone. Returns processes newly probed. */
int dg_probes_rescan(struct dg_probes *p);

struct dg_probes_stats {
	uint64_t scans;
	uint64_t attached, detached;   /* processes given uprobes, and dropped */
	uint64_t attach_failed;        /* a server whose OpenSSL could not be probed */
	uint64_t watched_full;         /* servers over the bound, not probed */
	uint64_t servers_over;
	uint64_t layout_known;         /* probed servers whose OpenSSL layout is known */
	uint64_t layout_unknown;       /* ... not: tied by the nested syscall only */
	uint64_t libc_probed;          /* servers given uprobes on their libc (syscall_hooks no) */
	uint64_t libc_failed;
	uint64_t libc_dropped;         /* ... that lost them: OpenSSL's layout ties their SSL*s */
	uint64_t cgroups;              /* cgroups the socket programs are attached to */
	uint64_t cgroups_over;         /* the servers' cgroups past the bound, not attached */
	uint64_t cgroup_failed;        /* attaching to a cgroup failed (retried each scan) */
};
const struct dg_probes_stats *dg_probes_stats(const struct dg_probes *p);
/* With syscall_hooks no, the watched TLS servers' uprobes on their own
 * libc's socket calls (for their pid alone): every such server has them
 * from its first scan; one whose SSL*s OpenSSL's own structures tie (socket
 * BIOs) loses them, one with a memory BIO keeps them (or gets them back).
 * Returns servers newly probed. Cheap when there are none. */
int dg_probes_check_bio(struct dg_probes *p);
/* 1 when the syscall tracepoints are attached (setting syscall_hooks). */
int dg_probes_syscall_hooks(const struct dg_probes *p);

/* Counters summed over CPUs and objects (index enum dg_counter). */
void dg_probes_counters(struct dg_probes *p, uint64_t out[DG_C__MAX]);
const char *dg_counter_name(int c);

/* Kernel run time of our programs (bpf_stats): total ns and runs. */
void dg_probes_runtime(struct dg_probes *p, uint64_t *run_ns, uint64_t *runs);
/* Each program: its name, run time and runs (bpf_stats). */
void dg_probes_programs(struct dg_probes *p, dg_prog_fn fn, void *arg);

/* Walk the live per-connection counters (the kernel's conns map). */
typedef void (*dg_conn_stats_fn)(uint64_t conn, const struct dg_conn_stats *st, void *arg);
int dg_probes_conns(struct dg_probes *p, dg_conn_stats_fn fn, void *arg);

/* The uprobe links held now (a uprobe_multi link covers several
 * functions; a perf-event uprobe one). */
int dg_probes_uprobe_links(const struct dg_probes *p);

/* The watched servers and the watched ports each listens on, as pairs
 * (pids[i], ports[i]), from the last scan. Returns how many. */
int dg_probes_listeners(const struct dg_probes *p, uint32_t *pids, uint16_t *ports, int max);

/* The processes with uprobes, and the file each is probed in. */
int dg_probes_watched(const struct dg_probes *p, uint32_t *pids, const char **paths, int max);

#endif
