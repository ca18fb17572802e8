/* dg_capture.bpf.h — data events for the capture objects (tls, plain): the
 * ring buffer they share the shape of, a per-CPU scratch event, a call sent
 * as pieces under its direction's bound (dg_plan_*, dg_event.h), and the
 * per-connection counters that give each call its place in the stream. */
#ifndef DG_CAPTURE_BPF_H
#define DG_CAPTURE_BPF_H

#include "dg_common.bpf.h"

/* Set by the controller before load: request-side bytes of one call sent
 * whole (the request body bound), and the response side's. */
const volatile __u32 cap_in = DG_CAP_IN_DEFAULT;
const volatile __u32 cap_out = DG_CHUNK;

/* Whole request bodies can arrive at 100 MB/s and more: room for a few
 * hundred milliseconds of them while user space catches up. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DG_RING_DATA);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dg_data_event);
} scratch SEC(".maps");

/* The last socket read or write a thread made on a watched TLS connection
 * outside any SSL call (plain.bpf.c writes it, tls.bpf.c reads it): how a
 * server that feeds OpenSSL through memory BIOs is tied to its socket. */
struct tls_io {
	__u64 conn;            /* socket cookie */
	__u64 ts_ns;
	struct dg_tuple t;
	__u32 bytes;           /* ciphertext the read returned */
	__u8  fresh;           /* a read no SSL call has used yet */
	__u8  pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);                /* pid_tgid */
	__type(value, struct tls_io);
} tls_io SEC(".maps");

/* After SSL_write on a memory-BIO connection: the ciphertext write that
 * should follow on the same thread, to confirm the tie (tls.bpf.c writes,
 * plain.bpf.c checks and deletes). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);                /* pid_tgid */
	__type(value, __u64);              /* conn the SSL* is tied to */
} bio_expect SEC(".maps");

static __always_inline struct dg_data_event *dg_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

struct call_ctx {
	__u64 buf;             /* user address of the call's buffer */
	__u32 len;
	__u32 bound;
};

/* Piece i of the call: read it into the scratch event and send it. */
static long send_piece(__u32 i, void *data)
{
	struct call_ctx *cx = data;
	struct dg_data_event *ev = dg_scratch();
	__u32 off = 0, n = 0;

	if (!ev)
		return 1;
	dg_plan_piece(cx->len, cx->bound, i, &off, &n);
	if (!n)
		return 1;
	n = dg_bound(n, DG_CHUNK);
	ev->off = off;
	ev->cap = n;
	if (bpf_probe_read_user(ev->data, n, (const void *)(cx->buf + off))) {
		dg_count(DG_C_READ_FAIL);
		return 0;
	}
	if (bpf_ringbuf_output(&events, ev, DG_DATA_HDR_SIZE + n, dg_wakeup(&events)))
		dg_count(DG_C_RB_FULL);
	return 0;
}

/* Send len bytes of user buf, whose header is already in ev, as pieces:
 * whole up to bound, then its last bytes (dg_plan_piece). What is not sent
 * is a gap the reader measures from seq and off. */
static __always_inline void dg_send_call(struct dg_data_event *ev, __u64 buf, __u32 len,
					 __u32 bound)
{
	struct call_ctx cx = { .buf = buf, .len = len, .bound = bound };
	__u32 n;

	if (!len || !bound)
		return;
	ev->type = DG_EV_DATA;
	ev->len = len;
	ev->bound = bound;
	if (len > bound) {
		ev->flags |= DG_F_CUT;
		if (len - bound > DG_CAP_TAIL)
			dg_count(DG_C_CAP_CUT);
	}
	n = dg_plan_count(len, bound);
	if (n == 1)
		send_piece(0, &cx);
	else
		bpf_loop(n, send_piece, &cx, 0);
}

/* Account one captured call to its connection's counters, and give it its
 * place in the streams: ev->seq (the bytes of its direction captured before
 * it) and ev->other_seq (the other direction's count), or DG_SEQ_NONE when
 * the connection has no counters (table full). */
static __always_inline void dg_conn_account(struct dg_data_event *ev, __u64 conn, __u8 dir,
					    __u32 len, __u32 tls)
{
	struct dg_conn_stats *s = bpf_map_lookup_elem(&conns, &conn);

	if (!s) {
		struct dg_conn_stats z = { .pid = bpf_get_current_pid_tgid() >> 32 };

		bpf_map_update_elem(&conns, &conn, &z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&conns, &conn);
		if (!s) {
			dg_count(DG_C_MAP_FULL);
			dg_count(DG_C_NO_SEQ);
			ev->seq = ev->other_seq = DG_SEQ_NONE;
			return;
		}
	}
	s->last_ns = bpf_ktime_get_ns();
	s->tls = tls;
	if (dir == DG_DIR_IN) {
		__sync_fetch_and_add(&s->calls_in, 1);
		ev->seq = __sync_fetch_and_add(&s->app_in, len);
		ev->other_seq = s->app_out;
		return;
	}
	__sync_fetch_and_add(&s->calls_out, 1);
	ev->seq = __sync_fetch_and_add(&s->app_out, len);
	ev->other_seq = s->app_in;
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
	ev->seq = ev->other_seq = DG_SEQ_NONE;
	ev->off = ev->cap = ev->bound = 0;
	__builtin_memset(&ev->t, 0, sizeof(ev->t));
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

/* Does the user buffer start with the HTTP/2 client preface ("PRI ")? */
static __always_inline bool dg_is_h2_preface(__u64 buf, __u32 len)
{
	char p[4] = {};

	if (len < 4 || bpf_probe_read_user(p, sizeof(p), (const void *)buf))
		return false;
	return p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ';
}

#endif
