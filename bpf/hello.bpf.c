// SPDX-License-Identifier: GPL-2.0
/* hello.bpf.c — the TLS ClientHello of each connection to a watched port,
 * taken from the packets themselves (cgroup skb ingress), for the JA4
 * fingerprint of the client's TLS stack. It only reads: every packet is
 * let through. */
#include "dg_skb.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Connections whose hello is being read (bytes still expected) or done. */
struct hello_state {
	__u32 record_len;
	__u32 seen;            /* bytes of the record passed so far */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);                /* socket cookie */
	__type(value, struct hello_state);
} hellos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dg_hello_event);
} hello_scratch SEC(".maps");

/* Offset of the TCP payload, or 0 when this is not TCP we can read. */
static __always_inline __u32 payload_offset(struct __sk_buff *skb)
{
	__u32 tcp_off, poff;

	return dg_skb_tcp(skb, &tcp_off, &poff) ? poff : 0;
}

static __always_inline void send_piece(struct __sk_buff *skb, __u64 conn, __u32 record_len,
				       __u32 offset, __u32 poff, __u32 n)
{
	__u32 zero = 0;
	struct dg_hello_event *e = bpf_map_lookup_elem(&hello_scratch, &zero);

	if (!e || !n || offset >= DG_HELLO_MAX)
		return;
	if (n > DG_HELLO_MAX - offset)
		n = DG_HELLO_MAX - offset;
	n = dg_bound(n, DG_HELLO_MAX);
	e->type = DG_EV_HELLO;
	e->record_len = record_len;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn = conn;
	e->offset = offset;
	e->len = n;
	e->pad = 0;
	if (bpf_skb_load_bytes(skb, poff, e->data, n)) {
		dg_count(DG_C_READ_FAIL);
		return;
	}
	if (bpf_ringbuf_output(&events, e, DG_HELLO_HDR_SIZE + n, 0))
		dg_count(DG_C_RB_FULL);
}

SEC("cgroup_skb/ingress")
int dg_hello(struct __sk_buff *skb)
{
	struct hello_state *st, fresh = {};
	__u8 h[6];
	__u32 poff, plen;
	__u64 conn;

	if ((skb->family != AF_INET && skb->family != AF_INET6) ||
	    !dg_port_watched((__u16)skb->local_port))
		return 1;
	poff = payload_offset(skb);
	if (!poff || poff >= skb->len)
		return 1;
	plen = skb->len - poff;
	conn = bpf_get_socket_cookie(skb);
	st = bpf_map_lookup_elem(&hellos, &conn);
	if (st) {
		/* The rest of a hello that spans packets, then nothing more. */
		if (st->seen < st->record_len) {
			send_piece(skb, conn, st->record_len, st->seen, poff, plen);
			st->seen += plen;
		}
		return 1;
	}
	/* Handshake record (0x16), version 3.x, ClientHello (type 1). Other
	 * first bytes: a plain connection, counted once (a done entry). */
	if (plen < 6 || bpf_skb_load_bytes(skb, poff, h, 6))
		return 1;
	if (h[0] != 0x16 || h[1] != 3 || h[5] != 1) {
		dg_count(DG_C_PLAIN_CONNS);
		if (bpf_map_update_elem(&hellos, &conn, &fresh, BPF_ANY))
			dg_count(DG_C_MAP_FULL);
		return 1;
	}
	fresh.record_len = 5 + ((__u32)h[3] << 8 | h[4]);
	fresh.seen = plen;
	dg_count(DG_C_HELLOS);
	if (fresh.record_len > DG_HELLO_MAX)
		dg_count(DG_C_HELLO_CUT);
	if (bpf_map_update_elem(&hellos, &conn, &fresh, BPF_ANY))
		dg_count(DG_C_MAP_FULL);
	send_piece(skb, conn, fresh.record_len, 0, poff, plen);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
