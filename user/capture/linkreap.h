/* linkreap.h — detaching many BPF links without stalling.
 *
 * Closing a uprobe link waits for an RCU grace period, about 0.1 s on
 * this kernel. Perf-event uprobes detach one after another whatever we do;
 * uprobe_multi links detach in parallel (make bench's STOPPING line). So
 * links are destroyed from several threads at once, and at run time in
 * the background, so that the capture loop keeps draining the ring
 * buffers while a server's probes go. */
#ifndef DG_LINKREAP_H
#define DG_LINKREAP_H

struct bpf_link;

/* Destroy links[0..nl) and close the link fds[0..nf); return when all are
 * gone. */
void dg_reap(struct bpf_link **links, int nl, const int *fds, int nf);
/* The same in the background: the arrays are copied (and may be reused
 * at once). Falls back to dg_reap when no thread starts. */
void dg_reap_async(struct bpf_link **links, int nl, const int *fds, int nf);
/* Wait for the background reaps still running. */
void dg_reap_wait(void);

#endif
