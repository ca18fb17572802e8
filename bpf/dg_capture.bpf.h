/* dg_capture.bpf.h — data events for the capture objects (tls, plain): a
 * per-CPU scratch event, bounded copies of user buffers into it, and the
 * per-connection counters they update. */
#ifndef DG_CAPTURE_BPF_H
#define DG_CAPTURE_BPF_H

#include "dg_common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dg_data_event);
} scratch SEC(".maps");

static __always_inline struct dg_data_event *dg_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

/* Copy len bytes of user buf into ev and send it on rb: all of it up to
 * DG_CAP_HEAD, else the first DG_CAP_HEAD and the last DG_CAP_TAIL bytes. */
static __always_inline void dg_send_data(void *rb, struct dg_data_event *ev,
					 const __u8 *buf, __u32 len)
{
	__u32 head, tail = 0, rest;

	if (!len)
		return;
	ev->type = DG_EV_DATA;
	ev->len = len;
	if (len <= DG_CAP_HEAD) {
		head = dg_bound(len, DG_CAP_HEAD);
		if (bpf_probe_read_user(ev->data, head, buf))
			goto fail;
	} else {
		head = DG_CAP_HEAD;
		ev->flags |= DG_F_CUT;
		if (bpf_probe_read_user(ev->data, DG_CAP_HEAD, buf))
			goto fail;
		rest = len - DG_CAP_HEAD;
		if (rest > DG_CAP_TAIL) {
			tail = DG_CAP_TAIL;
			dg_count(DG_C_CAP_CUT);
		} else {
			tail = dg_bound(rest, DG_CAP_TAIL);
		}
		if (bpf_probe_read_user(ev->data + DG_CAP_HEAD, tail, buf + len - tail))
			goto fail;
	}
	ev->head_len = head;
	ev->tail_len = tail;
	if (bpf_ringbuf_output(rb, ev, DG_DATA_HDR_SIZE + head + tail, dg_wakeup(rb)))
		dg_count(DG_C_RB_FULL);
	return;
fail:
	dg_count(DG_C_READ_FAIL);
}

/* Account one captured call to its connection's counters. */
static __always_inline void dg_conn_account(__u64 conn, __u8 dir, __u32 len, __u32 tls)
{
	struct dg_conn_stats *s = bpf_map_lookup_elem(&conns, &conn);

	if (!s) {
		struct dg_conn_stats z = { .pid = bpf_get_current_pid_tgid() >> 32 };

		bpf_map_update_elem(&conns, &conn, &z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&conns, &conn);
		if (!s) {
			dg_count(DG_C_MAP_FULL);
			return;
		}
	}
	s->last_ns = bpf_ktime_get_ns();
	s->tls = tls;
	if (dir == DG_DIR_IN) {
		__sync_fetch_and_add(&s->app_in, len);
		__sync_fetch_and_add(&s->calls_in, 1);
	} else {
		__sync_fetch_and_add(&s->app_out, len);
		__sync_fetch_and_add(&s->calls_out, 1);
	}
}

static __always_inline void dg_ev_init(struct dg_data_event *ev, __u8 dir, __u8 src)
{
	__u64 id = bpf_get_current_pid_tgid();

	ev->dir = dir;
	ev->src = src;
	ev->flags = 0;
	ev->pad = 0;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->ssl = 0;
	ev->conn = 0;
	ev->head_len = ev->tail_len = 0;
	__builtin_memset(&ev->t, 0, sizeof(ev->t));
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

#endif
