// SPDX-License-Identifier: GPL-2.0
/* tls.bpf.c — plaintext of OpenSSL connections: uprobes on SSL_read(_ex) and
 * SSL_write(_ex), tied to their TCP socket by the nested syscall (the
 * read/write that OpenSSL makes inside the call, seen on syscall
 * tracepoints of the same thread), by an SSL* → connection cache, or, for
 * servers that feed OpenSSL through memory BIOs (asyncio, Node), by the
 * socket read the same thread made just before (struct tls_io). A call
 * nothing ties is counted and not sent: its port is unknown. */
#include "dg_capture.bpf.h"

struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

enum { TIE_FD = 1, TIE_BIO = 2 };

struct ssl_conn {
	__u64 conn;
	struct dg_tuple t;
	__s32 fd;              /* the fd it was tied through, -1 for a memory BIO */
	__u8  watched;
	__u8  how;             /* TIE_FD or TIE_BIO */
	__u8  first_in;        /* request-side bytes were seen */
	__u8  h2;              /* the client preface began the stream: HTTP/2 */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ssl_key);
	__type(value, struct ssl_conn);
} ssl_conns SEC(".maps");

/* Per watched process (tgid): where its OpenSSL keeps the socket BIO's fd.
 * No entry: the version is not one we know, only the nested syscall ties. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct dg_ssl_layout);
} ssl_layouts SEC(".maps");

/* With syscall_hooks no, which processes need uprobes on their own libc's
 * socket calls to be tied. Each SSL* a process ties (once, at its first
 * call) marks it in one of two maps:
 *  - bio_pids: OpenSSL's structures gave no fd (a memory BIO, a BIO of the
 *    server's own, a layout we do not know): its libc probes stay, or are
 *    attached when it had none;
 *  - layout_pids: they gave one (a socket BIO), counted: a process whose
 *    SSL*s are all tied this way needs no libc probe, and loses them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} bio_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} layout_pids SEC(".maps");

static __always_inline void mark_pid(int layout_ok, __u32 tgid)
{
	__u32 *n, one = 1;
	__u8 yes = 1;

	if (!layout_ok) {
		if (!bpf_map_lookup_elem(&bio_pids, &tgid))
			bpf_map_update_elem(&bio_pids, &tgid, &yes, BPF_NOEXIST);
		return;
	}
	if ((n = bpf_map_lookup_elem(&layout_pids, &tgid)))
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&layout_pids, &tgid, &one, BPF_NOEXIST);
}

#define BIO_TYPE_DESCRIPTOR  0x0100
#define BIO_TYPE_SOURCE_SINK 0x0400

/* The fd under an SSL* read from OpenSSL's own structures: SSL->rbio, whose
 * method must be a descriptor source/sink (a socket, fd, connect or accept
 * BIO; a memory BIO is not), and its num. -1 when there is none. */
static __always_inline int layout_fd(__u64 ssl, __u32 tgid)
{
	struct dg_ssl_layout *l = bpf_map_lookup_elem(&ssl_layouts, &tgid);
	__u64 rbio = 0, method = 0;
	int type = 0, num = -1;

	if (!l || !ssl)
		return -1;
	if (bpf_probe_read_user(&rbio, sizeof(rbio), (void *)(ssl + l->ssl_rbio)) || !rbio ||
	    bpf_probe_read_user(&method, sizeof(method), (void *)(rbio + l->bio_method)) || !method ||
	    bpf_probe_read_user(&type, sizeof(type), (void *)method))
		return -1;
	if ((type & (BIO_TYPE_DESCRIPTOR | BIO_TYPE_SOURCE_SINK)) !=
	    (BIO_TYPE_DESCRIPTOR | BIO_TYPE_SOURCE_SINK))
		return -1;
	if (bpf_probe_read_user(&num, sizeof(num), (void *)(rbio + l->bio_num)) || num < 0)
		return -1;
	return num;
}

/* A memory-BIO server calls OpenSSL microseconds after its socket read:
 * an older read ties nothing. */
#define BIO_FRESH_NS 100000000ULL

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

static __always_inline struct ssl_conn *cache_put(struct ssl_key *k, struct ssl_conn *v)
{
	if (bpf_map_update_elem(&ssl_conns, k, v, BPF_ANY)) {
		dg_count(DG_C_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&ssl_conns, k);
}

/* A memory BIO makes no nested syscall: take the watched TLS socket this
 * thread read just before, if no SSL call has used that read yet and the
 * connection is still open (its counters go at close). */
static __always_inline struct ssl_conn *tie_bio(struct ssl_key *k, __u64 id)
{
	struct tls_io *io = bpf_map_lookup_elem(&tls_io, &id);
	struct ssl_conn v = {};

	if (!io || !io->fresh)
		return NULL;
	io->fresh = 0;
	if (bpf_ktime_get_ns() - io->ts_ns > BIO_FRESH_NS || !bpf_map_lookup_elem(&conns, &io->conn))
		return NULL;
	v.conn = io->conn;
	v.t = io->t;
	v.fd = -1;
	v.watched = 1;
	v.how = TIE_BIO;
	dg_count(DG_C_BIO_TIED);
	return cache_put(k, &v);
}

/* A memory-BIO tie is checked against every fresh read that follows. */
static __always_inline void check_bio(struct ssl_conn *sc, __u64 id)
{
	struct tls_io *io = bpf_map_lookup_elem(&tls_io, &id);

	if (!io || !io->fresh)
		return;
	io->fresh = 0;
	if (io->conn != sc->conn)
		dg_count(DG_C_BIO_CONFLICT);
}

/* A call that returned nothing (the peer's close_notify, WANT_READ) still
 * used the thread's read: it must not tie the next SSL* that comes along. */
static __always_inline void use_read(struct ssl_call *c, __u64 id)
{
	struct ssl_key k = { .ssl = c->ssl, .tgid = id >> 32 };
	struct ssl_conn *cached = bpf_map_lookup_elem(&ssl_conns, &k);
	struct tls_io *io;

	if (c->fd >= 0)
		return;
	if (cached && cached->how == TIE_BIO) {
		check_bio(cached, id);
		return;
	}
	if (!cached && (io = bpf_map_lookup_elem(&tls_io, &id)))
		io->fresh = 0;
}

/* The connection of a finished call: the nested syscall's fd, the cache,
 * or the thread's socket read. NULL when nothing ties it. */
static __always_inline struct ssl_conn *tie(struct ssl_call *c, __u64 id)
{
	struct ssl_key k = { .ssl = c->ssl, .tgid = id >> 32 };
	struct ssl_conn *cached, v = {};
	struct sock *sk;
	int fd;

	/* The cache answers unless the nested syscall names another fd: the
	 * file-table walk runs once per SSL*, not once per call. */
	cached = bpf_map_lookup_elem(&ssl_conns, &k);
	if (cached && (c->fd < 0 || c->fd == cached->fd)) {
		if (cached->how == TIE_BIO)
			check_bio(cached, id);
		else if (c->fd < 0 && cached->watched && !c->handshake)
			dg_count(DG_C_TLS_CACHE_TIED);
		return cached;
	}
	/* OpenSSL's own socket BIO names the fd without any syscall hook; the
	 * nested syscall, when one was seen, checks it and wins. */
	fd = layout_fd(c->ssl, k.tgid);
	mark_pid(fd >= 0, k.tgid);
	if (fd >= 0 && c->fd >= 0)
		dg_count(fd == c->fd ? DG_C_TLS_LAYOUT_AGREE : DG_C_TLS_LAYOUT_MISMATCH);
	if (c->fd >= 0)
		fd = c->fd;
	else if (fd >= 0)
		dg_count(DG_C_TLS_LAYOUT_TIED);
	if (fd >= 0 && (sk = dg_fd_sock(fd)) && dg_sk_tuple(sk, &v.t)) {
		v.watched = dg_port_watched(v.t.lport);
		v.conn = v.watched ? dg_sk_cookie(sk) : 0;
		v.fd = fd;
		v.how = TIE_FD;
		return cache_put(&k, &v);
	}
	if (fd < 0)
		return tie_bio(&k, id);
	return NULL;
}

static __always_inline int call_exit(struct pt_regs *ctx, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);
	struct dg_data_event *ev;
	struct ssl_conn *sc;
	long ret = PT_REGS_RC(ctx);
	__u64 len = 0;
	__u32 bound;

	if (!c)
		return 0;
	if (c->handshake) {
		tie(c, id);
		goto out;
	}
	if (ex) {
		if (ret == 1 && c->nbytes_ptr)
			bpf_probe_read_user(&len, sizeof(len), (void *)c->nbytes_ptr);
	} else if (ret > 0) {
		len = ret;
	}
	if (!len || len > 0x7fffffff) {
		use_read(c, id);
		goto out;
	}
	dg_count(DG_C_TLS_CALLS);
	if (c->two_fds)
		dg_count(DG_C_TLS_TWO_FDS);
	sc = tie(c, id);
	if (!sc) {
		dg_count(DG_C_TLS_UNTIED);
		goto out;
	}
	if (!sc->watched)
		goto out;
	if (c->dir == DG_DIR_IN && !sc->first_in) {
		sc->first_in = 1;
		sc->h2 = dg_is_h2_preface(c->buf, (__u32)len);
	}
	if (c->dir == DG_DIR_OUT && sc->how == TIE_BIO)
		bpf_map_update_elem(&bio_expect, &id, &sc->conn, BPF_ANY);
	ev = dg_scratch();
	if (!ev)
		goto out;
	dg_ev_init(ev, c->dir, DG_SRC_TLS);
	ev->ssl = c->ssl;
	ev->flags = DG_F_TIED | (sc->how == TIE_BIO ? DG_F_BIO : 0);
	ev->conn = sc->conn;
	ev->t = sc->t;
	dg_conn_account(ev, sc->conn, c->dir, (__u32)len, 1);
	bound = c->dir == DG_DIR_IN || sc->h2 ? cap_in : cap_out;
	dg_send_call(ev, c->buf, (__u32)len, bound);
out:
	bpf_map_delete_elem(&ssl_calls, &id);
	return 0;
}

/* Every SSL entry point, told apart by the attach cookie (enum
 * dg_probe_fn): one uprobe_multi link per process serves them all. */
SEC("uprobe")
int BPF_KPROBE(ssl_enter, void *ssl, void *buf, size_t num, size_t *nbytes)
{
	/* Zeroed whole: the key's padding is part of the map key. */
	struct ssl_key k = {};

	switch (bpf_get_attach_cookie(ctx)) {
	case DG_FN_SSL_READ:
		return call_enter((__u64)ssl, (__u64)buf, 0, DG_DIR_IN, 0);
	case DG_FN_SSL_READ_EX:
		return call_enter((__u64)ssl, (__u64)buf, (__u64)nbytes, DG_DIR_IN, 0);
	case DG_FN_SSL_WRITE:
		return call_enter((__u64)ssl, (__u64)buf, 0, DG_DIR_OUT, 0);
	case DG_FN_SSL_WRITE_EX:
		return call_enter((__u64)ssl, (__u64)buf, (__u64)nbytes, DG_DIR_OUT, 0);
	case DG_FN_SSL_HANDSHAKE:
		return call_enter((__u64)ssl, 0, 0, DG_DIR_IN, 1);
	case DG_FN_SSL_FREE:
		k.ssl = (__u64)ssl;
		k.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_map_delete_elem(&ssl_conns, &k);
		return 0;
	}
	return 0;
}

/* SSL_read, SSL_write, SSL_do_handshake: the return value is the length. */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_ret)
{
	return call_exit(ctx, false);
}

/* SSL_read_ex, SSL_write_ex: the length is in *readbytes / *written. */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_ex_ret)
{
	return call_exit(ctx, true);
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
