// SPDX-License-Identifier: GPL-2.0
/* plain.bpf.c — unencrypted HTTP on the watched ports, from the read/write
 * family of syscall tracepoints. A connection whose first bytes are a TLS
 * record is marked TLS and left to tls.bpf.c; its reads and writes made
 * outside SSL calls (a server feeding OpenSSL through memory BIOs) are only
 * noted per thread (struct tls_io), which is how tls.bpf.c ties them. */
#include "dg_capture.bpf.h"

enum { IO_BUF = 0, IO_IOV = 1 };

/* 0 with syscall_hooks no: plain bytes come from packets.bpf.c, and this
 * object only serves memory-BIO TLS servers through uprobes on their own
 * libc (the libc_* programs below). */
const volatile __u8 plain_data = 1;

struct io_call {
	__u64 buf;             /* buffer, or struct iovec * */
	__u64 conn;
	struct dg_tuple t;
	__u32 iovcnt;
	__u8  dir;
	__u8  kind;
	__u8  state;           /* conn_state at entry */
	__u8  pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);                /* pid_tgid */
	__type(value, struct io_call);
} io_calls SEC(".maps");

enum { CS_UNKNOWN = 0, CS_PLAIN = 1, CS_TLS = 2, CS_H2 = 3 };

/* With syscall_hooks no: processes seen through their libc probes reading
 * or writing a plain connection of a watched port. Their plain bytes come
 * from packets, so the controller drops those probes unless the process
 * also shows a memory BIO (tls.bpf.c bio_pids). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} plain_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);                /* conn */
	__type(value, __u8);
} conn_state SEC(".maps");

static __always_inline int io_enter(long fd, __u64 buf, __u32 iovcnt, __u8 dir, __u8 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call c = { .buf = buf, .iovcnt = iovcnt, .dir = dir, .kind = kind };
	struct sock *sk;
	__u8 *st;

	/* Inside an SSL call (map shared with tls.bpf.c): ciphertext, skip
	 * before paying for the file-table walk. */
	if (bpf_map_lookup_elem(&ssl_calls, &id))
		return 0;
	sk = dg_fd_sock(fd);
	if (!sk || !dg_sk_tuple(sk, &c.t) || !dg_port_watched(c.t.lport))
		return 0;
	c.conn = dg_sk_cookie(sk);
	st = bpf_map_lookup_elem(&conn_state, &c.conn);
	c.state = st ? *st : CS_UNKNOWN;
	if (bpf_map_update_elem(&io_calls, &id, &c, BPF_ANY))
		dg_count(DG_C_MAP_FULL);
	return 0;
}

static __always_inline void set_state(__u64 conn, __u8 s)
{
	if (bpf_map_update_elem(&conn_state, &conn, &s, BPF_ANY))
		dg_count(DG_C_MAP_FULL);
}

/* A watched TLS connection's ciphertext moved outside an SSL call: note the
 * read for tie_bio (tls.bpf.c), check a write against bio_expect. */
static __always_inline void note_tls_io(struct io_call *c, __u64 id, long ret)
{
	if (c->dir == DG_DIR_IN) {
		struct tls_io io = {
			.conn = c->conn, .ts_ns = bpf_ktime_get_ns(), .t = c->t,
			.bytes = (__u32)ret, .fresh = 1,
		};
		struct dg_conn_stats z = { .pid = id >> 32 };

		bpf_map_update_elem(&tls_io, &id, &io, BPF_ANY);
		/* tie_bio ties only to an open connection: one older than us
		 * gets its counters here (conn.bpf.c makes them at accept). */
		bpf_map_update_elem(&conns, &c->conn, &z, BPF_NOEXIST);
		return;
	}
	__u64 *want = bpf_map_lookup_elem(&bio_expect, &id);

	if (!want)
		return;
	dg_count(*want == c->conn ? DG_C_BIO_CONFIRMED : DG_C_BIO_MISMATCH);
	bpf_map_delete_elem(&bio_expect, &id);
}

/* The first bytes of a connection say what it is: a TLS record starts with
 * its content type (0x14-0x17) and version major 3, which no HTTP message
 * can; HTTP/2 with the client preface. Checked in both directions, so
 * connections already open when we started (first bytes seen mid-stream)
 * are recognised too. */
static __always_inline __u8 classify(struct io_call *c, long ret)
{
	__u8 hdr[4] = {};
	__u64 p = c->buf;

	if (c->kind == IO_IOV)
		bpf_probe_read_user(&p, sizeof(p), (void *)c->buf);
	bpf_probe_read_user(hdr, sizeof(hdr), (void *)p);
	/* nginx peeks at a single byte first (recv MSG_PEEK, len 1). */
	if (hdr[0] >= 0x14 && hdr[0] <= 0x17 && (ret == 1 || hdr[1] == 0x03))
		return CS_TLS;
	if (c->dir != DG_DIR_IN)
		return CS_UNKNOWN;
	if (ret >= 4 && hdr[0] == 'P' && hdr[1] == 'R' && hdr[2] == 'I' && hdr[3] == ' ')
		return CS_H2;
	return CS_PLAIN;
}

static __always_inline void send_plain(struct io_call *c, __u64 buf, __u32 len, __u64 seq,
				       __u64 other)
{
	struct dg_data_event *ev = dg_scratch();

	if (!ev)
		return;
	dg_ev_init(ev, c->dir, DG_SRC_PLAIN);
	ev->flags = DG_F_TIED;
	ev->conn = c->conn;
	ev->t = c->t;
	ev->seq = seq;
	ev->other_seq = other;
	dg_send_call(ev, buf, len,
		     c->dir == DG_DIR_IN || c->state == CS_H2 ? cap_in : cap_out);
}

static __always_inline int io_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call *c = bpf_map_lookup_elem(&io_calls, &id);
	struct dg_data_event *ev;
	__u64 left, seq, other;

	if (!c)
		return 0;
	if (ret <= 0)
		goto out;
	if (c->state == CS_UNKNOWN) {
		c->state = classify(c, ret);
		if (c->state != CS_UNKNOWN)
			set_state(c->conn, c->state);
	}
	if (c->state == CS_TLS) {
		note_tls_io(c, id, ret);
		goto out;
	}
	if (!plain_data) {
		__u32 tgid = id >> 32;
		__u8 one = 1;

		if (!bpf_map_lookup_elem(&plain_pids, &tgid))
			bpf_map_update_elem(&plain_pids, &tgid, &one, BPF_NOEXIST);
		goto out;
	}
	dg_count(DG_C_PLAIN_CALLS);
	ev = dg_scratch();
	if (!ev)
		goto out;
	dg_conn_account(ev, c->conn, c->dir, (__u32)ret, 0);
	seq = ev->seq;
	other = ev->other_seq;
	if (c->kind == IO_BUF) {
		send_plain(c, c->buf, (__u32)ret, seq, other);
		goto out;
	}
	/* readv/writev: each segment is sent as a call of its own, at its
	 * place in the stream; segments past DG_MAX_IOV become a gap. */
	left = ret;
	for (int i = 0; i < DG_MAX_IOV; i++) {
		struct iovec iov;
		__u64 n;

		if (i >= c->iovcnt || !left)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (struct iovec *)c->buf + i))
			break;
		n = iov.iov_len < left ? iov.iov_len : left;
		if (n)
			send_plain(c, (__u64)iov.iov_base, (__u32)n, seq, other);
		left -= n;
		if (seq != DG_SEQ_NONE)
			seq += n;
	}
out:
	bpf_map_delete_elem(&io_calls, &id);
	return 0;
}

#define IO_PROBES(name, dir, kind)                                              \
SEC("tracepoint/syscalls/sys_enter_" #name)                                     \
int plain_enter_##name(struct trace_event_raw_sys_enter *ctx)                   \
{                                                                               \
	return io_enter((long)ctx->args[0], ctx->args[1],                       \
			kind == IO_IOV ? (__u32)ctx->args[2] : 0, dir, kind);   \
}                                                                               \
SEC("tracepoint/syscalls/sys_exit_" #name)                                      \
int plain_exit_##name(struct trace_event_raw_sys_exit *ctx)                     \
{                                                                               \
	return io_exit(ctx->ret);                                               \
}

IO_PROBES(read, DG_DIR_IN, IO_BUF)
IO_PROBES(recvfrom, DG_DIR_IN, IO_BUF)
IO_PROBES(readv, DG_DIR_IN, IO_IOV)
IO_PROBES(write, DG_DIR_OUT, IO_BUF)
IO_PROBES(sendto, DG_DIR_OUT, IO_BUF)
IO_PROBES(writev, DG_DIR_OUT, IO_IOV)

/* The same calls seen through uprobes on one process's libc (attached for
 * its pid alone, with syscall_hooks no, to a TLS server that uses memory
 * BIOs or an OpenSSL whose layout is unknown): no other process pays. A
 * call nested in an SSL call names the SSL*'s fd, as the tracepoints in
 * tls.bpf.c do. */
static __always_inline int libc_io_enter(long fd, __u64 buf, __u32 iovcnt, __u8 dir, __u8 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *sc = bpf_map_lookup_elem(&ssl_calls, &id);

	if (sc) {
		if (sc->fd < 0)
			sc->fd = fd;
		else if (sc->fd != fd)
			sc->two_fds = 1;
		return 0;
	}
	return io_enter(fd, buf, iovcnt, dir, kind);
}

/* Every libc socket call, told apart by the attach cookie
 * (DG_LIBC_COOKIE): one uprobe_multi link per process serves them all. */
SEC("uprobe")
int BPF_KPROBE(libc_enter, long fd, void *buf, __u64 n)
{
	__u64 ck = bpf_get_attach_cookie(ctx);
	__u8 dir = ck & 0xff, kind = (ck >> 8) ? IO_IOV : IO_BUF;

	return libc_io_enter(fd, (__u64)buf, kind == IO_IOV ? (__u32)n : 0, dir, kind);
}

SEC("uretprobe")
int BPF_KRETPROBE(libc_ret, long ret)
{
	return io_exit(ret);
}

char LICENSE[] SEC("license") = "GPL";
