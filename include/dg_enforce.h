/* dg_enforce.h — the enforcer's kernel ↔ user contract (bpf/enforce.bpf.c,
 * user/enforce/). User space writes what to do; the kernel does it and
 * counts.
 *
 *  - rules: an LPM trie of addresses and prefixes (IPv4 as ::ffff:a.b.c.d,
 *    prefix length + 96), each a block or a rate limit with its expiry in
 *    kernel time, so a rule ends on time whoever is left to lift it;
 *  - exempt: an LPM trie of what is never acted on (allow list, the peers
 *    of SSH sessions, loopback and the host's own addresses unless
 *    enforce_loopback), looked at before any rule;
 *  - conns: connections acted on by key (a key is not in a packet): cut at
 *    the next sweep, or paced;
 *  - state: per acted-on client (its slot), what was done, kept by the
 *    kernel: packets dropped, SYNs refused, connections cut and paced, and
 *    the SYN budget's window.
 * The ingress program drops; the sweep (an iter/tcp program user space
 * runs after each change) cuts and paces connections already open; the
 * sockops program paces connections as they open. */
#ifndef DG_ENFORCE_H
#define DG_ENFORCE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DG_ENF_RULES      16384    /* addresses and prefixes acted on */
#define DG_ENF_EXEMPT     4096     /* exempt addresses and prefixes */
#define DG_ENF_CONNS      65536    /* connections acted on by key */
#define DG_ENF_PACED      65536    /* connections whose pacing we set */
#define DG_ENF_SLOTS      DG_ENF_RULES  /* per-client state (slot 0 unused) */
#define DG_ENF_WINDOW_NS  60000000000ULL  /* the SYN budget's window: a minute */

struct dg_enf_addr {               /* LPM trie key */
	__u32 prefixlen;               /* 0..128 */
	__u8 addr[16];                 /* IPv6; IPv4 as ::ffff:a.b.c.d */
};

enum dg_enf_action {
	DG_ENF_BLOCK = 1,              /* drop packets, cut connections */
	DG_ENF_RATELIMIT = 2,          /* pace answers, budget new connections */
};

struct dg_enf_rule {               /* written by user space only */
	__u64 expires_ns;              /* CLOCK_MONOTONIC; ignored from then on */
	__u64 exhausted_until_ns;      /* request budget spent: refuse SYNs until */
	__u32 action;                  /* enum dg_enf_action */
	__u32 slot;                    /* index into state */
	__u32 pace_bps;                /* answer bytes per second, 0 unpaced */
	__u32 syn_per_min;             /* new connections per minute, 0 unbounded */
};

struct dg_enf_conn {               /* by socket cookie; written by user space */
	__u64 expires_ns;
	__u32 slot;
	__u32 cut;                     /* destroy at the next sweep */
	__u32 pace_bps;                /* 0 unpaced */
	__u32 pad;
};

struct dg_enf_state {              /* by slot; kept by the kernel */
	__u64 dropped;                 /* packets dropped (block) */
	__u64 syn_refused;             /* new connections refused (budget) */
	__u64 cut;                     /* connections destroyed */
	__u64 paced;                   /* connections paced */
	__u64 window_ns;               /* the SYN budget's window started */
	__u64 syns;                    /* SYNs let through in it */
};

enum dg_enf_counter {
	DG_ENF_C_PACKETS = 0,          /* TCP packets to a watched port looked at */
	DG_ENF_C_DROP_BLOCK,           /* dropped: a block */
	DG_ENF_C_DROP_SYN,             /* SYNs dropped: over budget */
	DG_ENF_C_EXEMPT,               /* a rule matched, the address is exempt */
	DG_ENF_C_LOOPBACK,             /* a rule matched, on loopback: passed */
	DG_ENF_C_EXPIRED,              /* a rule matched past its expiry: passed */
	DG_ENF_C_NOT_TCP,              /* IPv6 with extension headers: not looked at */
	DG_ENF_C_SWEEPS,               /* connections a sweep looked at */
	DG_ENF_C_CUT,                  /* connections destroyed */
	DG_ENF_C_CUT_FAILED,
	DG_ENF_C_PACED,                /* pacing set on a connection */
	DG_ENF_C_UNPACED,              /* ... and lifted */
	DG_ENF_C_PACE_FAILED,
	DG_ENF_C_PACED_AT_OPEN,        /* paced by sockops as it opened */
	DG_ENF_C__MAX
};

#endif
