/* dg_event.h — the kernel → user contract: events on the ring buffers and
 * the counters every BPF object exposes. Shared by bpf/ and user/. */
#ifndef DG_EVENT_H
#define DG_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DG_MAX_PORTS   16      /* listening ports watched (server side only) */
#define DG_MAX_IOV     8       /* iovec segments looked at by readv/writev */

/* Capture bounds. A call's bytes travel as pieces of at most DG_CHUNK bytes,
 * each a data event with its offset in the call. A call is sent whole up to
 * its direction's bound; past the bound only its last DG_CAP_TAIL bytes
 * follow, and the bytes between are a gap the reader sees from the offsets.
 *   request side (client → server): cap_in, DG_CAP_IN_DEFAULT unless set,
 *     a multiple of DG_CHUNK up to DG_CAP_IN_MAX;
 *   response side: DG_CHUNK (HTTP/1.1 keeps its framing through a gap in a
 *     body of known length), or cap_in on an HTTP/2 connection, whose
 *     header compression cannot skip a byte. */
#define DG_CHUNK           16384
#define DG_CAP_TAIL        4096
#define DG_CAP_IN_DEFAULT  (1u << 20)
#define DG_CAP_IN_MAX      (16u << 20)
#define DG_SEQ_NONE        (~0ULL)
#define DG_RING_DATA       (32u << 20)   /* ring buffer of each capture object */

/* The capture plan, shared by the kernel (which sends the pieces) and the
 * tests (which check that a reader rebuilds every call from them): a call
 * of len bytes under bound is dg_plan_count() pieces; piece i covers
 * [*off, *off + *n). Head pieces cover [0, min(len, bound)); past the bound
 * one tail piece covers the last DG_CAP_TAIL bytes, or fewer when the call
 * ends sooner, so the call is whole up to bound + DG_CAP_TAIL. */
static inline __u32 dg_plan_count(__u32 len, __u32 bound)
{
	__u32 head = len < bound ? len : bound;

	return (head + DG_CHUNK - 1) / DG_CHUNK + (len > bound ? 1 : 0);
}

static inline void dg_plan_piece(__u32 len, __u32 bound, __u32 i, __u32 *off, __u32 *n)
{
	__u32 head = len < bound ? len : bound;
	__u32 nhead = (head + DG_CHUNK - 1) / DG_CHUNK;

	if (i < nhead) {
		*off = i * DG_CHUNK;
		*n = head - *off < DG_CHUNK ? head - *off : DG_CHUNK;
		return;
	}
	*off = len - bound > DG_CAP_TAIL ? len - DG_CAP_TAIL : bound;
	*n = len - *off;
}
#define DG_COMM_LEN    16

enum dg_ev_type {
	DG_EV_DATA = 1,        /* bytes read or written on a watched connection */
	DG_EV_OPEN = 2,        /* a client connected to a watched port */
	DG_EV_CLOSE = 3,       /* a watched connection closed */
	DG_EV_HELLO = 4,       /* a piece of a TLS ClientHello record */
	DG_EV_CONNECT = 5,     /* a process on this host connected to a watched port */
};

enum dg_dir {
	DG_DIR_IN = 0,         /* client → server: the request side */
	DG_DIR_OUT = 1,        /* server → client: the response side */
};

/* Which function a uprobe program was attached to: its attach cookie. One
 * program serves several functions (tls.bpf.c ssl_enter, plain.bpf.c
 * libc_enter), so that one uprobe_multi link per process covers them all. */
enum dg_probe_fn {
	DG_FN_SSL_READ = 1,
	DG_FN_SSL_WRITE = 2,
	DG_FN_SSL_READ_EX = 3,
	DG_FN_SSL_WRITE_EX = 4,
	DG_FN_SSL_HANDSHAKE = 5,
	DG_FN_SSL_FREE = 6,
};
/* libc_enter's cookie: the direction, and a vector call (readv, writev). */
#define DG_LIBC_COOKIE(dir, iov) ((__u64)(dir) | ((__u64)(iov) << 8))

enum dg_src {
	DG_SRC_TLS = 1,        /* plaintext from SSL_read/SSL_write uprobes */
	DG_SRC_PLAIN = 2,      /* bytes from read/write syscalls on a plain socket, or
	                          from its TCP segments (packets.bpf.c) */
};

enum dg_data_flags {
	DG_F_TIED = 1,         /* conn/tuple are known (every data event today) */
	DG_F_CUT = 2,          /* the call is longer than its bound: a middle is not sent */
	DG_F_BIO = 4,          /* TLS tied through the thread's socket I/O (memory BIO) */
};

/* A connection as the server sees it. Addresses are 16 bytes; IPv4 sits in
 * the first 4 (family says which). Ports in host byte order. */
struct dg_tuple {
	__u8  laddr[16];
	__u8  raddr[16];
	__u16 lport;
	__u16 rport;
	__u16 family;          /* AF_INET or AF_INET6 */
	__u16 pad;
};

/* One piece of one call. Every byte a watched connection carries in one
 * direction has a place in that direction's stream: `seq` is where the
 * call starts (the connection's captured byte count before it, kept by the
 * kernel in struct dg_conn_stats), `off` where this piece starts within the
 * call. A reader that tracks the next expected place sees every byte that
 * did not arrive, whatever lost it (bound, full ring, failed read), as a
 * gap of known size; and since both directions of a connection share one
 * ring buffer, other_seq tells it at once when the other direction lost
 * bytes, before a response is paired with the wrong request. */
struct dg_data_event {
	__u32 type;            /* DG_EV_DATA */
	__u8  dir;             /* enum dg_dir */
	__u8  src;             /* enum dg_src */
	__u8  flags;           /* enum dg_data_flags */
	__u8  pad;
	__u64 ts_ns;           /* CLOCK_MONOTONIC (bpf_ktime_get_ns) at call end */
	__u64 conn;            /* socket cookie */
	__u64 ssl;             /* SSL* for TLS, 0 for plain */
	__u32 pid;
	__u32 tid;
	struct dg_tuple t;
	__u64 seq;             /* stream offset of the call's first byte; DG_SEQ_NONE unknown */
	__u64 other_seq;       /* the other direction's byte count when the call ended:
	                          bytes of it the reader has not seen by now were lost */
	__u32 len;             /* bytes the call moved */
	__u32 off;             /* offset of data[0] within the call */
	__u32 cap;             /* bytes in data, at most DG_CHUNK */
	__u32 bound;           /* the call's capture bound: [bound, len - DG_CAP_TAIL)
	                          is skipped by design when len > bound + DG_CAP_TAIL */
	char  comm[DG_COMM_LEN];
	__u8  data[DG_CHUNK];
};
#define DG_DATA_HDR_SIZE ((unsigned long)&((struct dg_data_event *)0)->data)

/* Per-connection counters, one entry per watched connection, keyed by
 * socket cookie: created by conn.bpf.c at accept (or by a capture object
 * for a connection older than the tracer), updated by the capture objects,
 * removed at close (its last values travel in the DG_EV_CLOSE event). The
 * three objects share one map. */
#define DG_MAX_CONNS 65536
struct dg_conn_stats {
	__u64 opened_ns;       /* 0 when opened before we were loaded */
	__u64 last_ns;         /* last captured call */
	__u64 app_in;          /* HTTP bytes read by the server (plaintext); the
	                          next call's seq on the request side */
	__u64 app_out;         /* HTTP bytes written by the server; likewise */
	__u32 calls_in;
	__u32 calls_out;
	__u32 pid;
	__u32 tls;             /* seen through SSL_* */
	__u32 isn_in;          /* TCP sequence of the request side's first byte
	                          (rcv_nxt at accept; opened_ns 0: unknown) */
	__u32 isn_out;         /* ... and of the response side's (snd_nxt) */
};

/* DG_EV_CONNECT is the client side of a connection to a watched port, seen
 * in the connect() call itself (so pid is the connecting process): when
 * that process serves watched connections too, it is a proxy, and the
 * connection is its upstream leg. t is the client's view (lport is its
 * ephemeral port, rport the watched one). */
struct dg_conn_event {
	__u32 type;            /* DG_EV_OPEN, DG_EV_CLOSE or DG_EV_CONNECT */
	__u32 pid;             /* 0 when unknown (softirq context) */
	__u64 ts_ns;
	__u64 conn;            /* socket cookie */
	struct dg_tuple t;
	__u64 bytes_in;        /* bytes received from the client (CLOSE) */
	__u64 bytes_out;       /* bytes acknowledged by the client (CLOSE) */
	__u32 srtt_us;         /* smoothed RTT (CLOSE) */
	__u32 segs_in;
	__u32 segs_out;
	__u32 pad;
	struct dg_conn_stats st;   /* CLOSE: the connection's counters */
};

/* A TLS ClientHello as it arrived on a watched port (hello.bpf.c, cgroup
 * skb ingress), for the JA4 fingerprint. The record can span packets: each
 * event carries one packet's part, at `offset` within the record. */
#define DG_HELLO_MAX 4096      /* bytes of a ClientHello record kept */
struct dg_hello_event {
	__u32 type;            /* DG_EV_HELLO */
	__u32 record_len;      /* whole TLS record, header included */
	__u64 ts_ns;
	__u64 conn;            /* socket cookie */
	__u32 offset;          /* of data[0] within the record */
	__u16 len;             /* bytes in data */
	__u16 pad;
	__u8  data[DG_HELLO_MAX];
};
#define DG_HELLO_HDR_SIZE ((unsigned long)&((struct dg_hello_event *)0)->data)

/* Counters: a per-CPU array in each object, summed by the controller. */
enum dg_counter {
	DG_C_RB_FULL = 0,      /* ring buffer had no room: event lost */
	DG_C_CAP_CUT,          /* a call was longer than DG_CAP_MAX: its middle was not sent */
	DG_C_MAP_FULL,         /* a map update failed (table full) */
	DG_C_TLS_CALLS,        /* SSL_read/SSL_write calls that returned data */
	DG_C_TLS_UNTIED,       /* ... of which nothing tied to a socket: not sent */
	DG_C_TLS_TWO_FDS,      /* ... in which two different fds were seen */
	DG_C_TLS_CACHE_TIED,   /* ... tied through the SSL* → conn cache */
	DG_C_PLAIN_CALLS,      /* plain syscalls captured on watched ports */
	DG_C_CONN_OPEN,
	DG_C_CONN_CLOSE,
	DG_C_NO_COOKIE,        /* socket had no cookie yet: pointer used as id */
	DG_C_READ_FAIL,        /* bpf_probe_read_user of a buffer failed */
	DG_C_HELLOS,           /* ClientHello records seen */
	DG_C_HELLO_CUT,        /* ... longer than DG_HELLO_MAX (JA4 may be unknown) */
	DG_C_BIO_TIED,         /* memory-BIO SSL* tied by the socket read before it */
	DG_C_BIO_CONFIRMED,    /* ... whose ciphertext write after SSL_write went to that socket */
	DG_C_BIO_MISMATCH,     /* ... went to another socket (a wrong tie would show here) */
	DG_C_BIO_CONFLICT,     /* a fresh socket read named another conn than the SSL*'s tie */
	DG_C_NO_SEQ,           /* per-connection counters missing: a call sent without seq */
	DG_C_TLS_LAYOUT_TIED,  /* SSL* tied by the fd in OpenSSL's own socket BIO (no nested
	                          syscall was seen) */
	DG_C_TLS_LAYOUT_AGREE, /* ... where a nested syscall was seen too and named that fd */
	DG_C_TLS_LAYOUT_MISMATCH, /* ... and named another fd (the nested one is used) */
	DG_C_PLAIN_CONNS,      /* connections to a watched port whose first bytes were not TLS */
	DG_C_PKT_SEGS,         /* plain HTTP segments captured from packets (packets.bpf.c) */
	DG_C_PKT_BEHIND,       /* ... that began before the stream's start: dropped */
	DG_C__MAX
};

/* Where an OpenSSL version keeps the socket under an SSL* (tls.bpf.c reads
 * SSL->rbio, then the BIO's method type and fd), per watched process: the
 * controller fills it from the version it finds (openssl_layout.h). */
struct dg_ssl_layout {
	__u16 ssl_rbio;        /* offsetof(SSL, rbio) */
	__u16 bio_method;      /* offsetof(BIO, method) */
	__u16 bio_num;         /* offsetof(BIO, num): the fd of a socket BIO */
	__u16 pad;
};

#endif
