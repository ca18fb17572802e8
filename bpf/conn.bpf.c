// SPDX-License-Identifier: GPL-2.0
/* conn.bpf.c — connection lifecycle on the watched ports (sockops on the
 * cgroup v2 root): open, close, bytes each way, smoothed RTT. Assigning the
 * socket cookie here is what lets the capture objects name connections.
 * It also reports connects from this host to a watched port, with the
 * connecting process: how the two legs of a local proxy are told apart. */
#include "dg_common.bpf.h"

#define TCP_CLOSE 7

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

static __always_inline void fill_tuple(struct bpf_sock_ops *skops, struct dg_tuple *t)
{
	t->family = skops->family;
	t->lport = skops->local_port;
	t->rport = bpf_ntohl(skops->remote_port);
	if (skops->family == AF_INET) {
		__u32 l = skops->local_ip4, r = skops->remote_ip4;
		__builtin_memcpy(t->laddr, &l, 4);
		__builtin_memcpy(t->raddr, &r, 4);
	} else {
		__u32 l[4], r[4];
		l[0] = skops->local_ip6[0]; l[1] = skops->local_ip6[1];
		l[2] = skops->local_ip6[2]; l[3] = skops->local_ip6[3];
		r[0] = skops->remote_ip6[0]; r[1] = skops->remote_ip6[1];
		r[2] = skops->remote_ip6[2]; r[3] = skops->remote_ip6[3];
		__builtin_memcpy(t->laddr, l, 16);
		__builtin_memcpy(t->raddr, r, 16);
	}
}

static __always_inline void emit(struct bpf_sock_ops *skops, __u32 type)
{
	struct dg_conn_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		dg_count(DG_C_RB_FULL);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn = bpf_get_socket_cookie(skops);
	fill_tuple(skops, &e->t);
	if (type == DG_EV_CLOSE) {
		struct dg_conn_stats *s = bpf_map_lookup_elem(&conns, &e->conn);

		if (s) {
			e->st = *s;
			bpf_map_delete_elem(&conns, &e->conn);
		}
		e->bytes_in = skops->bytes_received;
		e->bytes_out = skops->bytes_acked;
		e->srtt_us = skops->srtt_us >> 3;
		e->segs_in = skops->segs_in;
		e->segs_out = skops->segs_out;
	} else if (type == DG_EV_CONNECT) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
	} else {
		struct dg_conn_stats s = { .opened_ns = e->ts_ns, .isn_in = skops->rcv_nxt,
					   .isn_out = skops->snd_nxt };

		e->pid = bpf_get_current_pid_tgid() >> 32;
		s.pid = e->pid;
		if (bpf_map_update_elem(&conns, &e->conn, &s, BPF_ANY))
			dg_count(DG_C_MAP_FULL);
	}
	bpf_ringbuf_submit(e, 0);
}

SEC("sockops")
int dg_sockops(struct bpf_sock_ops *skops)
{
	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (!dg_port_watched(skops->local_port))
			break;
		bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
		dg_count(DG_C_CONN_OPEN);
		emit(skops, DG_EV_OPEN);
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* In the connect() call: the process is the caller. */
		if (dg_port_watched(bpf_ntohl(skops->remote_port)))
			emit(skops, DG_EV_CONNECT);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != TCP_CLOSE || !dg_port_watched(skops->local_port))
			break;
		dg_count(DG_C_CONN_CLOSE);
		emit(skops, DG_EV_CLOSE);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
