/* reassemble.h — per-connection reassembly: captured calls in, request
 * records out. HTTP/1.1 (http_parser: keep-alive, pipelining, chunked
 * bodies, SSE) and HTTP/2 (h2.c: frames, HPACK, streams) are parsed
 * incrementally across any number of calls; the bodies go to
 * reqbody/respbody. */
#ifndef DG_REASSEMBLE_H
#define DG_REASSEMBLE_H

#include <stdint.h>
#include <stddef.h>
#include "dg_event.h"
#include "netaddr.h"
#include "record.h"

/* One piece of one captured call, decoded (decode.h). Its bytes sit at
 * seq + off in the direction's stream; a piece that starts past where the
 * previous one ended means the bytes between were not captured (a gap of
 * known size). other_seq says how far the other direction had gone, so its
 * lost bytes are known before this piece is parsed. With seq unknown
 * (DG_SEQ_NONE), a piece at off 0 starts a call right after the previous
 * call's last byte. */
struct dg_chunk {
	uint64_t conn;
	uint64_t ts_ns;            /* monotonic, end of the call */
	uint8_t dir;               /* enum dg_dir */
	uint8_t src;               /* enum dg_src */
	uint8_t tied;
	struct dg_tuple t;         /* zero when !tied */
	uint32_t pid;
	const char *comm;          /* process name (NUL-terminated), may be NULL */
	uint64_t seq;              /* the call's first byte in the stream, or DG_SEQ_NONE */
	uint64_t other_seq;        /* the other direction's byte count by then, or DG_SEQ_NONE */
	uint32_t call_len;         /* bytes the call moved */
	uint32_t off;              /* of data[0] within the call */
	uint32_t bound;            /* the call's capture bound (dg_event.h); 0 unknown */
	const uint8_t *data;
	size_t len;
};

/* A whole call of len bytes that follows the previous one (tests, tools). */
struct dg_chunk dg_chunk_call(uint64_t conn, int dir, const void *data, size_t len);

/* What became of a connection, reported once when it is forgotten. */
struct dg_conn_summary {
	uint64_t conn;
	char ip[DG_IP_LEN];
	uint16_t lport;
	int tls;
	double opened;             /* Unix seconds, 0 when the open was not seen */
	double closed;             /* 0 when evicted or idle rather than closed */
	uint64_t bytes_in, bytes_out;
	uint32_t srtt_us;
	uint64_t app_in, app_out;  /* HTTP bytes captured each way (kernel counters) */
	uint64_t requests;         /* records emitted for it */
	uint64_t partial;          /* of which cut short by close / resync */
};

#define DG_MAX_PROXIES 32

struct dg_reasm_config {
	const uint8_t *secret;     /* DG_SECRET_LEN bytes (keyhash.h) */
	double mono_to_real;       /* add to monotonic seconds for Unix time */
	size_t max_conns;          /* connection table bound (default 16384) */
	size_t max_pending;        /* pipelined requests awaiting a response per conn (16) */
	double idle_timeout;       /* seconds without data before a conn is dropped (300) */
	double close_grace;        /* seconds a closed conn waits for late events (1) */
	uint64_t max_body;         /* request body bytes parsed (DG_REQBODY_MAX) */
	struct dg_prefix proxies[DG_MAX_PROXIES]; /* trusted for X-Forwarded-For */
	int n_proxies;
	/* Upstream mode: TLS front ports of a trusted proxy, whose connections
	 * (open, close, ClientHello) are followed without their data. A request
	 * read on the upstream whose proxy names the client's address and port
	 * (Forwarded for="ip:port", or X-Forwarded-For and client_port_header)
	 * is tied back to that connection: its JA4, and the connection to cut. */
	uint16_t front_ports[DG_MAX_PORTS];
	int n_front_ports;
	char client_port_header[64];   /* lowercase; "x-forwarded-port" */
};

struct dg_reasm_stats {
	uint64_t chunks, bytes;
	uint64_t records;          /* request records emitted */
	uint64_t records_partial;  /* ... without a complete response */
	uint64_t parse_errors;     /* HTTP framing errors (then resync) */
	uint64_t gaps;             /* places where stream bytes were lost */
	uint64_t gap_bytes;        /* ... how many bytes in all (at close too) */
	uint64_t skipped_bytes;    /* middles of long response calls, not sent by design */
	uint64_t gaps_framing_lost;/* gaps that broke HTTP framing */
	uint64_t overlap_dropped;  /* bytes of pieces behind the stream position */
	uint64_t seq_resets;       /* a connection's byte count started over */
	uint64_t resync_dropped;   /* bytes dropped while looking for a message start */
	uint64_t conns, conns_evicted, conns_idle;
	uint64_t pending_full;     /* pipelined requests dropped: per-conn bound */
	uint64_t orphan_responses; /* response with no request to pair */
	uint64_t header_truncated; /* header values longer than the bound */
	uint64_t mixed_dropped;    /* raw (ciphertext) calls of a TLS connection */
	uint64_t ja4, ja4_failed;  /* ClientHellos fingerprinted / not parseable */
	uint64_t h2_conns;         /* connections that speak HTTP/2 */
	uint64_t h2_lost;          /* ... directions of them no longer followed */
	uint64_t h2_streams_full;  /* streams emitted early: DG_H2_STREAMS open at once */
	uint64_t h2_headers_cut;   /* header fields dropped or cut by the bounds */
	uint64_t front_tied;       /* upstream requests tied to their client's front connection */
	uint64_t front_untied;     /* ... that named a client but found no front connection */
};

typedef void (*dg_record_fn)(const struct dg_record *r, void *arg);
typedef void (*dg_conn_fn)(const struct dg_conn_summary *s, void *arg);

/* A request's head, as soon as it is parsed, before its body and its
 * answer: what the enforcer needs to act on a key within milliseconds. */
struct dg_head {
	uint64_t conn;             /* socket cookie (the client's front connection, tied) */
	double ts;                 /* Unix seconds */
	char client[DG_CLIENT_LEN];/* as its record will name it */
	char peer_ip[DG_IP_LEN];   /* the connection's peer, "" unknown */
	int tied;                  /* the connection's address is known */
};
typedef void (*dg_head_fn)(const struct dg_head *h, void *arg);

struct dg_reasm;

void dg_reasm_config_default(struct dg_reasm_config *cfg);
struct dg_reasm *dg_reasm_new(const struct dg_reasm_config *cfg, dg_record_fn on_record,
			      dg_conn_fn on_conn, void *arg);
void dg_reasm_free(struct dg_reasm *ra);
/* Also tell fn of every request's head. */
void dg_reasm_on_head(struct dg_reasm *ra, dg_head_fn fn, void *arg);

void dg_reasm_chunk(struct dg_reasm *ra, const struct dg_chunk *c);
void dg_reasm_open(struct dg_reasm *ra, const struct dg_conn_event *e);
/* A piece of the connection's TLS ClientHello; once whole, its JA4 names
 * the client's TLS stack in the connection's records. */
void dg_reasm_hello(struct dg_reasm *ra, const struct dg_hello_event *h);
/* Marks the connection closed; it is finished by dg_reasm_sweep once
 * close_grace has passed (events of other ring buffers may still come). */
void dg_reasm_close(struct dg_reasm *ra, const struct dg_conn_event *e);
/* Finish closed connections past their grace and idle ones; now_ns monotonic. */
void dg_reasm_sweep(struct dg_reasm *ra, uint64_t now_ns);
/* Finish every connection (shutdown, end of a test). */
void dg_reasm_flush(struct dg_reasm *ra);

const struct dg_reasm_stats *dg_reasm_stats(const struct dg_reasm *ra);
size_t dg_reasm_conns(const struct dg_reasm *ra);

#endif
