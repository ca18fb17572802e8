/* dg_ports.bpf.h — the watched-port filter every BPF object shares: the
 * server ports, set by the controller before load. */
#ifndef DG_PORTS_BPF_H
#define DG_PORTS_BPF_H

const volatile __u16 watch_ports[DG_MAX_PORTS] = {};
const volatile __u32 n_ports = 0;

static __always_inline bool dg_port_watched(__u16 port)
{
#pragma unroll
	for (int i = 0; i < DG_MAX_PORTS; i++) {
		if (i >= n_ports)
			break;
		if (watch_ports[i] == port)
			return true;
	}
	return false;
}

#endif
