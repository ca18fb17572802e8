/* dg_event.h — the kernel → user contract: events on the ring buffers and
 * the counters every BPF object exposes. Shared by bpf/ and user/. */
#ifndef DG_EVENT_H
#define DG_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DG_MAX_PORTS   16      /* listening ports watched (server side only) */
#define DG_CAP_HEAD    16384   /* bytes kept from the start of one call's buffer */
#define DG_CAP_TAIL    4096    /* bytes kept from its end when it is longer */
#define DG_CAP_MAX     (DG_CAP_HEAD + DG_CAP_TAIL)
#define DG_MAX_IOV     8       /* iovec segments looked at by readv/writev */
#define DG_COMM_LEN    16

enum dg_ev_type {
	DG_EV_DATA = 1,        /* bytes read or written on a watched connection */
	DG_EV_OPEN = 2,        /* a client connected to a watched port */
	DG_EV_CLOSE = 3,       /* a watched connection closed */
	DG_EV_HELLO = 4,       /* a piece of a TLS ClientHello record */
};

enum dg_dir {
	DG_DIR_IN = 0,         /* client → server: the request side */
	DG_DIR_OUT = 1,        /* server → client: the response side */
};

enum dg_src {
	DG_SRC_TLS = 1,        /* plaintext from SSL_read/SSL_write uprobes */
	DG_SRC_PLAIN = 2,      /* bytes from read/write syscalls on a plain socket */
};

enum dg_data_flags {
	DG_F_TIED = 1,         /* conn/tuple are known (nested syscall or SSL* cache) */
	DG_F_CUT = 2,          /* call longer than DG_CAP_HEAD: head + tail (+ gap between) */
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

struct dg_data_event {
	__u32 type;            /* DG_EV_DATA */
	__u8  dir;             /* enum dg_dir */
	__u8  src;             /* enum dg_src */
	__u8  flags;           /* enum dg_data_flags */
	__u8  pad;
	__u64 ts_ns;           /* CLOCK_MONOTONIC (bpf_ktime_get_ns) at call end */
	__u64 conn;            /* socket cookie; untied TLS: an id per SSL* life */
	__u64 ssl;             /* SSL* for TLS, 0 for plain */
	__u32 pid;
	__u32 tid;
	struct dg_tuple t;     /* zero when not tied */
	__u32 len;             /* bytes the call moved */
	__u16 head_len;        /* data[0, head_len) = start of the buffer */
	__u16 tail_len;        /* data[head_len, +tail_len) = its last bytes */
	char  comm[DG_COMM_LEN];
	__u8  data[DG_CAP_MAX];
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
	__u64 app_in;          /* HTTP bytes read by the server (plaintext) */
	__u64 app_out;         /* HTTP bytes written by the server */
	__u32 calls_in;
	__u32 calls_out;
	__u32 pid;
	__u32 tls;             /* seen through SSL_* */
};

struct dg_conn_event {
	__u32 type;            /* DG_EV_OPEN or DG_EV_CLOSE */
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
	DG_C_TLS_UNTIED,       /* ... of which no fd or SSL* cache tied to a socket */
	DG_C_TLS_TWO_FDS,      /* ... in which two different fds were seen */
	DG_C_TLS_CACHE_TIED,   /* ... tied through the SSL* → conn cache */
	DG_C_PLAIN_CALLS,      /* plain syscalls captured on watched ports */
	DG_C_CONN_OPEN,
	DG_C_CONN_CLOSE,
	DG_C_NO_COOKIE,        /* socket had no cookie yet: pointer used as id */
	DG_C_READ_FAIL,        /* bpf_probe_read_user of a buffer failed */
	DG_C_HELLOS,           /* ClientHello records seen */
	DG_C_HELLO_CUT,        /* ... longer than DG_HELLO_MAX (JA4 may be unknown) */
	DG_C__MAX
};

#endif
