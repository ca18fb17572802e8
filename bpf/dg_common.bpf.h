/* dg_common.bpf.h — helpers shared by the BPF objects: the watched-port
 * filter, counters, the shared maps, fd → socket → tuple resolution.
 * The capture side (data events) is in dg_capture.bpf.h. */
#ifndef DG_COMMON_BPF_H
#define DG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "dg_event.h"
#include "dg_ports.bpf.h"

#define AF_INET   2
#define AF_INET6  10
#define S_IFMT    00170000
#define S_IFSOCK  0140000
#define SOCK_STREAM 1


struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DG_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DG_MAX_CONNS);
	__type(key, __u64);                /* socket cookie */
	__type(value, struct dg_conn_stats);
} conns SEC(".maps");

/* One SSL_* call in flight on a thread (tls.bpf.c writes it; plain.bpf.c
 * reads it to leave the syscalls nested in SSL calls alone: ciphertext). */
struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 nbytes_ptr;      /* size_t * of the _ex forms, 0 otherwise */
	__s32 fd;              /* first fd a nested syscall used, -1 if none */
	__u8  two_fds;
	__u8  dir;
	__u8  handshake;
	__u8  pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);                /* pid_tgid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

static __always_inline void dg_count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);
	if (v)
		*v += 1;
}

/* The struct sock behind fd in the current task, or NULL when fd is not a
 * TCP/IP stream socket. CO-RE reads: task → files → fdt → fd[fd] → inode. */
static __always_inline struct sock *dg_fd_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	struct socket *sock;
	struct sock *sk;
	unsigned int max;

	if (!fdt || fd < 0)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return NULL;
	return sk;
}

/* Fill t from sk; returns false for non-IP sockets. */
static __always_inline bool dg_sk_tuple(struct sock *sk, struct dg_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* Read into typed locals: BPF_CORE_READ_INTO sizes by *dst. */
	if (family == AF_INET) {
		__be32 l = 0, r = 0;
		BPF_CORE_READ_INTO(&l, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&r, sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->laddr, &l, 4);
		__builtin_memcpy(t->raddr, &r, 4);
		return true;
	}
	if (family == AF_INET6) {
		struct in6_addr l = {}, r = {};
		BPF_CORE_READ_INTO(&l, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(t->laddr, &l, 16);
		__builtin_memcpy(t->raddr, &r, 16);
		return true;
	}
	return false;
}

/* The socket cookie (assigned at accept by conn.bpf.c's sockops); for a
 * socket that never had one, its address stands in and is counted. */
static __always_inline __u64 dg_sk_cookie(struct sock *sk)
{
	__u64 c = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);

	if (!c) {
		dg_count(DG_C_NO_COOKIE);
		c = (__u64)sk | (1ULL << 63);
	}
	return c;
}

/* Waking the reader on every event costs more than the event: wake it only
 * when a good amount is waiting; it also drains on its poll timeout. */
#define DG_WAKEUP_BYTES (256 * 1024)
static __always_inline __u64 dg_wakeup(void *rb)
{
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= DG_WAKEUP_BYTES ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* v in [1, pow2], in a form the verifier can see: the barrier keeps clang
 * from dropping the mask it could prove redundant. */
static __always_inline __u32 dg_bound(__u32 v, __u32 pow2)
{
	asm volatile("" : "+r"(v));
	return ((v - 1) & (pow2 - 1)) + 1;
}

#endif
