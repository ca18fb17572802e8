// SPDX-License-Identifier: GPL-2.0
/* enforce.bpf.c — applying decisions (dg_enforce.h says what each map
 * holds):
 *  - dg_ingress (cgroup_skb/ingress, on the watched servers' cgroups):
 *    drops the packets of a blocked address or prefix to a watched port,
 *    and the SYNs of a rate-limited one over its budget;
 *  - dg_sweep (iter/tcp, run by user space after each change): cuts the
 *    open connections of blocked clients and sets or lifts the pacing of
 *    rate-limited ones;
 *  - dg_pace_open (sockops): paces a rate-limited address's connection as
 *    it opens.
 * Everything passes unless a rule says otherwise: on a lookup that fails,
 * a packet that cannot be read or a rule past its expiry, the program
 * lets the packet through (fail open). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "dg_event.h"
#include "dg_enforce.h"
#include "dg_ports.bpf.h"

#define AF_INET        2
#define AF_INET6       10
#define ETH_P_IP       0x0800
#define ETH_P_IPV6     0x86DD
#define IPPROTO_TCP    6
#define SOL_SOCKET     1
#define SO_MAX_PACING_RATE 47
#define TCP_LISTEN     10
#define LOOPBACK_IFINDEX 1

/* Written by user space at run time (the skeleton's .bss). */
volatile __u32 enforce_loopback = 0;   /* act on loopback traffic too (tests) */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DG_ENF_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dg_enf_addr);
	__type(value, struct dg_enf_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DG_ENF_EXEMPT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dg_enf_addr);
	__type(value, __u32);
} exempt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DG_ENF_CONNS);
	__type(key, __u64);                /* socket cookie */
	__type(value, struct dg_enf_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DG_ENF_PACED);
	__type(key, __u64);                /* socket cookie */
	__type(value, __u32);              /* the rate set, bytes per second */
} paced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DG_ENF_SLOTS);
	__type(key, __u32);
	__type(value, struct dg_enf_state);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DG_ENF_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} enf_counters SEC(".maps");

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&enf_counters, &c);

	if (v)
		*v += 1;
}

static __always_inline struct dg_enf_state *slot_state(__u32 slot)
{
	return slot ? bpf_map_lookup_elem(&state, &slot) : NULL;
}

static __always_inline void key_v4(struct dg_enf_addr *k, __u32 a)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->prefixlen = 128;
	k->addr[10] = 0xff;
	k->addr[11] = 0xff;
	__builtin_memcpy(&k->addr[12], &a, 4);
}

static __always_inline void key_v6(struct dg_enf_addr *k, const void *a)
{
	k->prefixlen = 128;
	__builtin_memcpy(k->addr, a, 16);
}

/* The rule in force on an address, NULL when none, it is exempt, or the
 * rule has expired (each counted). */
static __always_inline struct dg_enf_rule *rule_for(struct dg_enf_addr *k, __u64 now)
{
	struct dg_enf_rule *r = bpf_map_lookup_elem(&rules, k);

	if (!r)
		return NULL;
	if (bpf_map_lookup_elem(&exempt, k)) {
		count(DG_ENF_C_EXEMPT);
		return NULL;
	}
	if (now >= r->expires_ns) {
		count(DG_ENF_C_EXPIRED);
		return NULL;
	}
	return r;
}

/* A SYN of a rate-limited address: within its budget for this minute? */
static __always_inline bool syn_allowed(struct dg_enf_rule *r, __u64 now)
{
	struct dg_enf_state *st;

	if (r->exhausted_until_ns > now)
		return false;
	if (!r->syn_per_min)
		return true;
	st = slot_state(r->slot);
	if (!st)
		return true;
	if (now - st->window_ns >= DG_ENF_WINDOW_NS) {
		st->window_ns = now;
		st->syns = 0;
	}
	if (st->syns >= r->syn_per_min)
		return false;
	__sync_fetch_and_add(&st->syns, 1);
	return true;
}

SEC("cgroup_skb/ingress")
int dg_ingress(struct __sk_buff *skb)
{
	struct dg_enf_addr k;
	struct dg_enf_rule *r;
	struct dg_enf_state *st;
	__u32 thoff;
	__u8 tcp[14];
	__u16 dport;
	bool syn;
	__u64 now;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 ip[20];

		if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
			return 1;
		if (ip[9] != IPPROTO_TCP)
			return 1;
		if ((ip[6] & 0x1f) || ip[7])   /* a later fragment: no TCP header */
			return 1;
		thoff = (ip[0] & 0x0f) * 4;
		key_v4(&k, *(__u32 *)&ip[12]);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		__u8 ip6[40];

		if (bpf_skb_load_bytes(skb, 0, ip6, sizeof(ip6)))
			return 1;
		if (ip6[6] != IPPROTO_TCP) {
			count(DG_ENF_C_NOT_TCP);
			return 1;
		}
		thoff = 40;
		key_v6(&k, &ip6[8]);
	} else {
		return 1;
	}
	if (thoff < 20 || thoff > 60)
		return 1;
	if (bpf_skb_load_bytes(skb, thoff, tcp, sizeof(tcp)))
		return 1;
	dport = ((__u16)tcp[2] << 8) | tcp[3];
	if (!dg_port_watched(dport))
		return 1;
	count(DG_ENF_C_PACKETS);
	now = bpf_ktime_get_ns();
	r = rule_for(&k, now);
	if (!r)
		return 1;
	if (skb->ifindex == LOOPBACK_IFINDEX && !enforce_loopback) {
		count(DG_ENF_C_LOOPBACK);
		return 1;
	}
	st = slot_state(r->slot);
	if (r->action == DG_ENF_BLOCK) {
		count(DG_ENF_C_DROP_BLOCK);
		if (st)
			__sync_fetch_and_add(&st->dropped, 1);
		return 0;
	}
	syn = (tcp[13] & 0x02) && !(tcp[13] & 0x10);
	if (r->action == DG_ENF_RATELIMIT && syn && !syn_allowed(r, now)) {
		count(DG_ENF_C_DROP_SYN);
		if (st)
			__sync_fetch_and_add(&st->syn_refused, 1);
		return 0;
	}
	return 1;
}

static __always_inline bool sk_key(struct sock_common *skc, struct dg_enf_addr *k)
{
	__u16 family = skc->skc_family;

	if (family == AF_INET) {
		key_v4(k, skc->skc_daddr);
		return true;
	}
	if (family == AF_INET6) {
		key_v6(k, &skc->skc_v6_daddr);
		return true;
	}
	return false;
}

static __always_inline void set_pace(struct tcp_sock *tp, __u64 cookie, __u32 want, __u32 have,
				     __u32 slot)
{
	__u32 v = want ? want : ~0U;
	struct dg_enf_state *st;

	if (bpf_setsockopt(tp, SOL_SOCKET, SO_MAX_PACING_RATE, &v, sizeof(v))) {
		count(DG_ENF_C_PACE_FAILED);
		return;
	}
	if (want) {
		bpf_map_update_elem(&paced, &cookie, &want, BPF_ANY);
		count(DG_ENF_C_PACED);
		if (!have && (st = slot_state(slot)))
			__sync_fetch_and_add(&st->paced, 1);
	} else {
		bpf_map_delete_elem(&paced, &cookie);
		count(DG_ENF_C_UNPACED);
	}
}

SEC("iter/tcp")
int dg_sweep(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct dg_enf_conn *c;
	struct dg_enf_rule *r;
	struct dg_enf_state *st;
	struct dg_enf_addr k;
	struct tcp_sock *tp;
	__u32 want = 0, have = 0, slot = 0, *hp;
	bool cut = false;
	__u64 now, cookie;

	if (!skc || skc->skc_state == TCP_LISTEN || !dg_port_watched(skc->skc_num))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !sk_key(skc, &k))
		return 0;                  /* time-wait and request sockets */
	count(DG_ENF_C_SWEEPS);
	now = bpf_ktime_get_ns();
	cookie = bpf_get_socket_cookie(tp);
	r = rule_for(&k, now);
	if (r) {
		slot = r->slot;
		if (r->action == DG_ENF_BLOCK)
			cut = true;
		else
			want = r->pace_bps;
	}
	c = bpf_map_lookup_elem(&conns, &cookie);
	if (c && now < c->expires_ns && !bpf_map_lookup_elem(&exempt, &k)) {
		if (c->cut) {
			cut = true;
			slot = c->slot;
		} else if (c->pace_bps && (!want || c->pace_bps < want)) {
			want = c->pace_bps;
			slot = c->slot;
		}
	}
	if (cut) {
		if (bpf_sock_destroy(skc)) {
			count(DG_ENF_C_CUT_FAILED);
			return 0;
		}
		count(DG_ENF_C_CUT);
		if ((st = slot_state(slot)))
			__sync_fetch_and_add(&st->cut, 1);
		bpf_map_delete_elem(&paced, &cookie);
		return 0;
	}
	hp = bpf_map_lookup_elem(&paced, &cookie);
	if (hp)
		have = *hp;
	if (want != have)
		set_pace(tp, cookie, want, have, slot);
	return 0;
}

SEC("sockops")
int dg_pace_open(struct bpf_sock_ops *skops)
{
	struct dg_enf_addr k;
	struct dg_enf_rule *r;
	struct dg_enf_state *st;
	__u32 v;
	__u64 cookie;

	if (skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (!dg_port_watched(skops->local_port))
		return 1;
	if (skops->family == AF_INET) {
		key_v4(&k, skops->remote_ip4);
	} else if (skops->family == AF_INET6) {
		__u32 a[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
			       skops->remote_ip6[3] };
		key_v6(&k, a);
	} else {
		return 1;
	}
	r = rule_for(&k, bpf_ktime_get_ns());
	if (!r || r->action != DG_ENF_RATELIMIT || !r->pace_bps)
		return 1;
	v = r->pace_bps;
	if (bpf_setsockopt(skops, SOL_SOCKET, SO_MAX_PACING_RATE, &v, sizeof(v))) {
		count(DG_ENF_C_PACE_FAILED);
		return 1;
	}
	cookie = bpf_get_socket_cookie(skops);
	bpf_map_update_elem(&paced, &cookie, &v, BPF_ANY);
	count(DG_ENF_C_PACED_AT_OPEN);
	if ((st = slot_state(r->slot)))
		__sync_fetch_and_add(&st->paced, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
