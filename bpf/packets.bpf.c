// SPDX-License-Identifier: GPL-2.0
/* packets.bpf.c — plain HTTP on the watched ports from the TCP segments
 * themselves (cgroup skb, ingress and egress), for `syscall_hooks no`: no
 * hook in any process, and only packets of watched ports do more than a
 * port check. A connection whose first request bytes are a TLS handshake
 * is left to tls.bpf.c. Each segment's payload is a "call" at its place in
 * the stream (its TCP sequence number less the connection's initial one,
 * from conn.bpf.c at accept), so the reader sees a lost or reordered
 * segment as a gap and a retransmitted one as bytes it already has, both
 * counted. Every packet is let through. */
#include "dg_capture.bpf.h"
#include "dg_skb.bpf.h"

enum { K_PLAIN = 1, K_TLS = 2 };

struct pkt_conn {
	__u64 end[2];          /* per direction: the stream offset after the furthest byte */
	__u32 base[2];         /* the TCP sequence number of stream offset 0 */
	__u8  have[2];
	__u8  kind;
	__u8  h2;              /* the client began with the HTTP/2 preface */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DG_MAX_CONNS);
	__type(key, __u64);                /* socket cookie */
	__type(value, struct pkt_conn);
} pkt_conns SEC(".maps");

#define PKT_PIECES 5           /* a segment of 64 KiB under a 16 KiB bound: 4 + a tail */

static __always_inline void fill_tuple(struct __sk_buff *skb, __u32 toff, __u8 dir,
				       struct dg_tuple *t)
{
	__u16 ports[2] = {};
	__u32 s_at, d_at, n;

	__builtin_memset(t, 0, sizeof(*t));
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		t->family = AF_INET;
		s_at = 12;
		d_at = 16;
		n = 4;
	} else {
		t->family = AF_INET6;
		s_at = 8;
		d_at = 24;
		n = 16;
	}
	/* Ingress: the client sent it (source is remote); egress: we did. */
	if (n == 4) {
		bpf_skb_load_bytes(skb, dir == DG_DIR_IN ? s_at : d_at, t->raddr, 4);
		bpf_skb_load_bytes(skb, dir == DG_DIR_IN ? d_at : s_at, t->laddr, 4);
	} else {
		bpf_skb_load_bytes(skb, dir == DG_DIR_IN ? s_at : d_at, t->raddr, 16);
		bpf_skb_load_bytes(skb, dir == DG_DIR_IN ? d_at : s_at, t->laddr, 16);
	}
	bpf_skb_load_bytes(skb, toff, ports, sizeof(ports));
	t->rport = bpf_ntohs(dir == DG_DIR_IN ? ports[0] : ports[1]);
	t->lport = bpf_ntohs(dir == DG_DIR_IN ? ports[1] : ports[0]);
}

/* The first request bytes decide: a TLS ClientHello record, or plain. */
static __always_inline struct pkt_conn *classify(struct __sk_buff *skb, __u64 conn, __u32 poff,
						 __u32 plen)
{
	struct pkt_conn fresh = {};
	__u8 h[6] = {};

	if (plen < 6 || bpf_skb_load_bytes(skb, poff, h, 6))
		return NULL;
	fresh.kind = h[0] == 0x16 && h[1] == 3 && h[5] == 1 ? K_TLS : K_PLAIN;
	fresh.h2 = h[0] == 'P' && h[1] == 'R' && h[2] == 'I' && h[3] == ' ';
	if (bpf_map_update_elem(&pkt_conns, &conn, &fresh, BPF_NOEXIST) && fresh.kind == K_PLAIN)
		dg_count(DG_C_MAP_FULL);
	return bpf_map_lookup_elem(&pkt_conns, &conn);
}

static __always_inline int segment(struct __sk_buff *skb, __u8 dir)
{
	struct dg_conn_stats *st;
	struct dg_data_event *ev;
	struct pkt_conn *pc;
	__u32 toff, poff, plen, seq = 0, bound, rel;
	__u64 conn;
	__s64 at;
	__s32 d;

	if ((skb->family != AF_INET && skb->family != AF_INET6) ||
	    !dg_port_watched((__u16)skb->local_port))
		return 1;
	if (!dg_skb_tcp(skb, &toff, &poff) || poff >= skb->len)
		return 1;
	plen = skb->len - poff;
	conn = bpf_get_socket_cookie(skb);
	pc = bpf_map_lookup_elem(&pkt_conns, &conn);
	if (!pc) {
		if (dir != DG_DIR_IN)
			return 1;      /* nothing from the client yet */
		pc = classify(skb, conn, poff, plen);
		if (!pc)
			return 1;
	}
	if (pc->kind != K_PLAIN)
		return 1;
	if (bpf_skb_load_bytes(skb, toff + 4, &seq, 4))
		return 1;
	seq = bpf_ntohl(seq);
	st = bpf_map_lookup_elem(&conns, &conn);
	if (!pc->have[dir & 1]) {
		pc->have[dir & 1] = 1;
		if (st && st->opened_ns)
			pc->base[dir & 1] = dir == DG_DIR_IN ? st->isn_in : st->isn_out;
		else
			pc->base[dir & 1] = seq;  /* opened before us: from here */
	}
	/* The offset nearest the furthest byte so far (sequence numbers wrap). */
	rel = seq - pc->base[dir & 1];
	d = (__s32)(rel - (__u32)pc->end[dir & 1]);
	at = (__s64)pc->end[dir & 1] + d;
	if (at < 0) {
		dg_count(DG_C_PKT_BEHIND);
		return 1;
	}
	if ((__u64)at + plen > pc->end[dir & 1])
		pc->end[dir & 1] = (__u64)at + plen;
	if (st) {
		st->last_ns = bpf_ktime_get_ns();
		if (dir == DG_DIR_IN) {
			st->calls_in++;
			if (st->app_in < pc->end[0])
				st->app_in = pc->end[0];
		} else {
			st->calls_out++;
			if (st->app_out < pc->end[1])
				st->app_out = pc->end[1];
		}
	}
	dg_count(DG_C_PKT_SEGS);

	ev = dg_scratch();
	if (!ev)
		return 1;
	ev->type = DG_EV_DATA;
	ev->dir = dir;
	ev->src = DG_SRC_PLAIN;
	ev->flags = DG_F_TIED;
	ev->pad = 0;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->conn = conn;
	ev->ssl = 0;
	ev->pid = 0;           /* softirq: whoever runs is not the server */
	ev->tid = 0;
	__builtin_memset(ev->comm, 0, sizeof(ev->comm));
	fill_tuple(skb, toff, dir, &ev->t);
	ev->seq = (__u64)at;
	ev->other_seq = DG_SEQ_NONE;
	bound = dir == DG_DIR_IN || pc->h2 ? cap_in : cap_out;
	ev->len = plen;
	ev->bound = bound;
	if (plen > bound) {
		ev->flags |= DG_F_CUT;
		if (plen - bound > DG_CAP_TAIL)
			dg_count(DG_C_CAP_CUT);
	}
	for (__u32 i = 0; i < PKT_PIECES; i++) {
		__u32 off = 0, n = 0;

		if (i >= dg_plan_count(plen, bound))
			break;
		dg_plan_piece(plen, bound, i, &off, &n);
		if (!n)
			break;
		n = dg_bound(n, DG_CHUNK);
		ev->off = off;
		ev->cap = n;
		if (bpf_skb_load_bytes(skb, poff + off, ev->data, n)) {
			dg_count(DG_C_READ_FAIL);
			continue;
		}
		if (bpf_ringbuf_output(&events, ev, DG_DATA_HDR_SIZE + n, dg_wakeup(&events)))
			dg_count(DG_C_RB_FULL);
	}
	return 1;
}

SEC("cgroup_skb/ingress")
int dg_pkt_in(struct __sk_buff *skb)
{
	return segment(skb, DG_DIR_IN);
}

SEC("cgroup_skb/egress")
int dg_pkt_out(struct __sk_buff *skb)
{
	return segment(skb, DG_DIR_OUT);
}

char LICENSE[] SEC("license") = "GPL";
