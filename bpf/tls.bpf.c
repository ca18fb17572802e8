// SPDX-License-Identifier: GPL-2.0
/* tls.bpf.c — plaintext of OpenSSL connections: uprobes on SSL_read(_ex) and
 * SSL_write(_ex), tied to their TCP socket by the nested syscall (the
 * read/write that OpenSSL makes inside the call, seen on syscall
 * tracepoints of the same thread) or by an SSL* → connection cache. */
#include "dg_capture.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct ssl_conn {
	__u64 conn;
	struct dg_tuple t;
	__s32 fd;              /* the fd it was tied through, -1 untied */
	__u8  watched;
	__u8  untied;          /* no socket known: conn is a generated id */
	__u8  pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ssl_key);
	__type(value, struct ssl_conn);
} ssl_conns SEC(".maps");

static __always_inline int call_enter(__u64 ssl, __u64 buf, __u64 nptr, __u8 dir, __u8 hs)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call c = {
		.ssl = ssl, .buf = buf, .nbytes_ptr = nptr, .fd = -1,
		.dir = dir, .handshake = hs,
	};

	if (bpf_map_update_elem(&ssl_calls, &id, &c, BPF_ANY))
		dg_count(DG_C_MAP_FULL);
	return 0;
}

/* Resolve the connection of a finished call: the nested syscall's fd, else
 * the cache. Returns false when the call should not be reported (a client
 * side or unwatched connection). */
static __always_inline bool tie(struct ssl_call *c, __u32 tgid, struct ssl_conn *out,
				bool *tied)
{
	struct ssl_key k = { .ssl = c->ssl, .tgid = tgid };
	struct ssl_conn *cached;
	struct sock *sk;

	*tied = false;
	/* The cache answers unless the nested syscall names another fd: the
	 * file-table walk runs once per SSL*, not once per call. */
	cached = bpf_map_lookup_elem(&ssl_conns, &k);
	if (cached && (c->fd < 0 || c->fd == cached->fd)) {
		*out = *cached;
		*tied = !cached->untied;
		if (*tied && c->fd < 0 && out->watched && !c->handshake)
			dg_count(DG_C_TLS_CACHE_TIED);
		return out->watched;
	}
	if (c->fd >= 0 && (sk = dg_fd_sock(c->fd)) && dg_sk_tuple(sk, &out->t)) {
		out->watched = dg_port_watched(out->t.lport);
		out->conn = out->watched ? dg_sk_cookie(sk) : 0;
		out->fd = c->fd;
		out->untied = 0;
		if (bpf_map_update_elem(&ssl_conns, &k, out, BPF_ANY))
			dg_count(DG_C_MAP_FULL);
		*tied = true;
		return out->watched;
	}
	/* Untied (memory BIO): reported, the controller decides. It gets an id
	 * for the life of this SSL* (until SSL_free), unique even when the
	 * allocator hands the same address to the next connection. */
	__builtin_memset(out, 0, sizeof(*out));
	out->conn = (1ULL << 62) | ((__u64)tgid << 32) ^ (bpf_ktime_get_ns() & 0xffffffffULL) ^ c->ssl;
	out->fd = -1;
	out->watched = 1;
	out->untied = 1;
	if (bpf_map_update_elem(&ssl_conns, &k, out, BPF_ANY))
		dg_count(DG_C_MAP_FULL);
	return true;
}

static __always_inline int call_exit(struct pt_regs *ctx, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);
	struct dg_data_event *ev;
	struct ssl_conn sc = {};
	bool tied;
	long ret = PT_REGS_RC(ctx);
	__u64 len = 0;

	if (!c)
		return 0;
	if (c->handshake) {
		tie(c, id >> 32, &sc, &tied);
		goto out;
	}
	if (ex) {
		if (ret == 1 && c->nbytes_ptr)
			bpf_probe_read_user(&len, sizeof(len), (void *)c->nbytes_ptr);
	} else if (ret > 0) {
		len = ret;
	}
	if (!len || len > 0x7fffffff)
		goto out;
	dg_count(DG_C_TLS_CALLS);
	if (c->two_fds)
		dg_count(DG_C_TLS_TWO_FDS);
	if (!tie(c, id >> 32, &sc, &tied))
		goto out;
	ev = dg_scratch();
	if (!ev)
		goto out;
	dg_ev_init(ev, c->dir, DG_SRC_TLS);
	ev->ssl = c->ssl;
	if (tied) {
		ev->flags |= DG_F_TIED;
		ev->conn = sc.conn;
		ev->t = sc.t;
		dg_conn_account(sc.conn, c->dir, (__u32)len, 1);
	} else {
		dg_count(DG_C_TLS_UNTIED);
		ev->conn = sc.conn;
	}
	dg_send_data(&events, ev, (const __u8 *)c->buf, (__u32)len);
out:
	bpf_map_delete_elem(&ssl_calls, &id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return call_enter((__u64)ssl, (__u64)buf, 0, DG_DIR_IN, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return call_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, DG_DIR_IN, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return call_enter((__u64)ssl, (__u64)buf, 0, DG_DIR_OUT, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	return call_enter((__u64)ssl, (__u64)buf, (__u64)written, DG_DIR_OUT, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_handshake_enter, void *ssl)
{
	return call_enter((__u64)ssl, 0, 0, DG_DIR_IN, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_ret)
{
	return call_exit(ctx, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_ex_ret)
{
	return call_exit(ctx, true);
}

SEC("uprobe")
int BPF_KPROBE(ssl_free_enter, void *ssl)
{
	struct ssl_key k = { .ssl = (__u64)ssl, .tgid = bpf_get_current_pid_tgid() >> 32 };

	bpf_map_delete_elem(&ssl_conns, &k);
	return 0;
}

/* The nested syscall: remember which fd the SSL call on this thread used. */
static __always_inline int note_fd(long fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);

	if (!c)
		return 0;
	if (c->fd < 0)
		c->fd = fd;
	else if (c->fd != fd)
		c->two_fds = 1;
	return 0;
}

#define NOTE_FD(name)                                                   \
SEC("tracepoint/syscalls/sys_enter_" #name)                             \
int tls_enter_##name(struct trace_event_raw_sys_enter *ctx)             \
{                                                                       \
	return note_fd((long)ctx->args[0]);                             \
}

NOTE_FD(read)
NOTE_FD(write)
NOTE_FD(recvfrom)
NOTE_FD(sendto)
NOTE_FD(readv)
NOTE_FD(writev)
NOTE_FD(recvmsg)
NOTE_FD(sendmsg)

char LICENSE[] SEC("license") = "GPL";
