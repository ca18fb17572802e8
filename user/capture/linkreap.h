/* linkreap.h — detaching many BPF links without stalling.
 *
 * Closing a uprobe link waits for an RCU grace period: about 110 ms each on
 * this kernel (measured: 16 libc uprobes of one process took 1.8 s one
 * after another). Concurrent detaches share grace periods, so links are
 * destroyed from several threads at once; at run time that happens in the
 * background, so that the capture loop keeps draining the ring buffers
 * while a server's probes go. */
#ifndef DG_LINKREAP_H
#define DG_LINKREAP_H

struct bpf_link;

/* Destroy links[0..n) and return when all are gone. */
void dg_links_destroy(struct bpf_link **links, int n);
/* Take links[0..n) (the array may be reused at once) and destroy them in
 * the background. Falls back to dg_links_destroy when no thread starts. */
void dg_links_destroy_async(struct bpf_link **links, int n);
/* Wait for the background destroys still running. */
void dg_links_wait(void);

#endif
