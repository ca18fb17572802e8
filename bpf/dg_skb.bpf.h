/* dg_skb.bpf.h — reading TCP out of a cgroup skb (hello.bpf.c,
 * packets.bpf.c): where the TCP header and the payload start. */
#ifndef DG_SKB_BPF_H
#define DG_SKB_BPF_H

#include "dg_common.bpf.h"

#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define IPPROTO_TCP 6

/* Offsets of the TCP header and of the payload in skb; false when this is
 * not TCP we can read (IPv6 extension headers are not followed). */
static __always_inline bool dg_skb_tcp(struct __sk_buff *skb, __u32 *tcp_off, __u32 *payload_off)
{
	__u32 off;
	__u8 b, proto;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &b, 1))
			return false;
		off = (b & 0x0f) * 4;
		if (bpf_skb_load_bytes(skb, 9, &proto, 1) || proto != IPPROTO_TCP || off < 20)
			return false;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &proto, 1) || proto != IPPROTO_TCP)
			return false;
		off = 40;
	} else {
		return false;
	}
	if (bpf_skb_load_bytes(skb, off + 12, &b, 1))
		return false;
	*tcp_off = off;
	*payload_off = off + (b >> 4) * 4;
	return true;
}

#endif
