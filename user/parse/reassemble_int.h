/* reassemble_int.h — what the parts of reassembly share; not an interface
 * for other modules (theirs is reassemble.h).
 *
 *   reassemble.c  the connection table, each direction's stream position
 *                 (gaps), lifecycle, and which protocol a connection speaks
 *   exchange.c    one request and its response on the way to a record:
 *                 request headers that name the client, body fields, emit
 *   http1.c       HTTP/1.1 (http_parser): keep-alive, pipelining, gaps,
 *                 resynchronising, pairing responses after a loss
 *   h2streams.c   HTTP/2: h2.c's frame events, stream by stream, to
 *                 exchanges */
#ifndef DG_REASSEMBLE_INT_H
#define DG_REASSEMBLE_INT_H

#include <stdint.h>
#include <http_parser.h>

#include "ja4.h"
#include "lru.h"
#include "reassemble.h"
#include "reqbody.h"
#include "respbody.h"

#define DG_HNAME_MAX 64
#define DG_HVAL_MAX  512
#define DG_H2_STREAMS 128      /* HTTP/2 streams followed at once per connection */

/* A header being gathered by http_parser callbacks (HTTP/1.1). */
struct hdr_acc {
	char name[DG_HNAME_MAX];
	size_t name_len;
	char val[DG_HVAL_MAX];
	size_t val_len;
	int in_value;          /* last callback was a value */
	int truncated;
};

struct exchange {
	struct exchange *next;         /* HTTP/1.1 pending queue */
	struct dg_record rec;
	uint64_t t_start, t_req_end, t_resp_first, t_resp_end;
	int head;              /* HEAD request: the response has no body */
	int req_done;          /* request message complete */
	uint64_t no;           /* its place among the connection's requests (1, 2, ...) */
	int fwd_rfc;           /* rec.fwd_* came from a Forwarded header */
	char xff_ip[DG_IP_LEN];/* the client a trusted proxy names */
};

/* Where a direction's stream is: the next byte expected, and the extent of
 * the call being received (for pieces without seq). */
struct stream_pos {
	int have;
	uint64_t next;
	uint64_t call_base, call_end;
};

enum { PROTO_UNKNOWN = 0, PROTO_HTTP1 = 1, PROTO_HTTP2 = 2 };

struct h2_stream;

struct conn {
	struct dg_lru_link lru;        /* first: a link is its connection */
	uint64_t id;
	struct conn *hnext;
	struct conn *pnext;            /* front connections by peer (upstream mode) */
	struct dg_tuple t;
	int tied, tls, have_tuple;
	int front;                     /* on a front port: in the peer index */
	int proto;                     /* PROTO_*: decided by the first bytes */
	uint8_t first[2][24];          /* ... kept until they decide */
	size_t first_len[2];
	struct stream_pos pos[2];
	char ip[DG_IP_LEN];
	char proc[40];                 /* "comm/pid" of the server process */
	uint32_t pid;
	char ja4[DG_JA4_LEN];          /* of the ClientHello, "" unknown */
	uint8_t *hello;                /* ClientHello being gathered (DG_HELLO_MAX) */
	uint32_t hello_len, hello_want;
	uint64_t opened_ns, closed_ns, last_ns;
	int closed;
	uint64_t bytes_in, bytes_out;
	uint32_t srtt_us;
	uint64_t app_in, app_out;
	uint64_t requests, partial;
	uint64_t now_ns;               /* ts of the chunk being parsed */

	/* HTTP/1.1 (http1.c) */
	http_parser p[2];              /* [DG_DIR_IN] request, [DG_DIR_OUT] response */
	int resync[2];                 /* dropping until a message start */
	uint8_t carry[2][8];           /* ... the start of one, split over pieces */
	size_t carry_len[2];
	/* Pairing after a loss: a response may answer a request that was lost,
	 * or a request's response may have been lost. */
	int out_lost;                  /* a response may have been lost */
	int in_lost;                   /* a request may have been lost ... */
	uint64_t in_lost_after;        /* ... after the request numbered this */
	uint64_t req_no;               /* requests queued so far */
	int pipelined;                 /* a request came before the last was answered */
	int in_body[2];
	int filler;                    /* body bytes now fed are gap filler */
	struct hdr_acc h[2];
	struct exchange *cur_req;      /* request being parsed */
	struct exchange *pend_head, *pend_tail;   /* awaiting / receiving a response */
	size_t n_pend;
	struct exchange *resp;         /* exchange the current response belongs to */
	int resp_sse;
	struct dg_reqbody *reqbody;
	struct dg_respbody *respbody;
	int64_t resp_body_bytes;

	/* HTTP/2 (h2streams.c) */
	struct dg_h2 *h2;
	struct h2_stream *streams;     /* DG_H2_STREAMS slots */
	size_t n_streams;

	struct dg_reasm *ra;
};

struct dg_reasm {
	struct dg_reasm_config cfg;
	dg_record_fn on_record;
	dg_conn_fn on_conn;
	void *arg;
	dg_head_fn on_head;            /* optional (dg_reasm_on_head) */
	void *head_arg;
	struct conn **buckets;
	struct conn **pbuckets;        /* front connections by peer address and port */
	size_t nbuckets, nconns;
	struct dg_lru lru;
	struct dg_reasm_stats st;
	http_parser_settings ps[2];
};

/* exchange.c */
double dg_rx_unix(const struct dg_reasm *ra, uint64_t ns);
/* A new exchange on c, started now (c->now_ns). NULL on out-of-memory. */
struct exchange *dg_rx_exchange(struct conn *c);
/* One request header: API key, a trusted proxy's client, Forwarded. The
 * value may hold a raw key: nothing of it is kept but its keyed hash. cut:
 * the value was longer than the bounds and is only its first bytes. */
void dg_rx_header(struct conn *c, struct exchange *x, const char *name, const char *val,
		  size_t len, int cut);
/* The record's ip and client name, once the headers are in. */
/* reassemble.c: the front connection (upstream mode) whose peer is ip
 * ("1.2.3.4", "2001:db8::1") and port; NULL none. */
struct conn *dg_rx_front_conn(struct dg_reasm *ra, const char *ip, uint16_t port);
/* The request's head is parsed: name its client, and tell on_head. */
void dg_rx_head_done(struct conn *c, struct exchange *x);
int dg_rx_is_sse(const char *content_type, size_t len);
void dg_rx_req_fields(struct exchange *x, struct dg_reqbody *rb);
void dg_rx_resp_fields(struct exchange *x, struct dg_respbody *rb, int64_t body_bytes);
/* Hand the record on; a request not done by now is marked cut. */
void dg_rx_emit(struct conn *c, struct exchange *x, int partial);

/* http1.c */
void dg_http1_settings(http_parser_settings ps[2]);
void dg_http1_init(struct conn *c);
/* Joined mid-stream: both directions wait for a message start. */
void dg_http1_join(struct conn *c);
void dg_http1_feed(struct conn *c, int dir, const uint8_t *data, size_t len);
void dg_http1_gap(struct conn *c, int dir, uint64_t gap);
/* The connection ends: a body read until EOF ends, what is pending is emitted. */
void dg_http1_finish(struct conn *c);

/* h2streams.c */
int dg_h2s_start(struct conn *c);      /* 0, or -1 on out-of-memory */
void dg_h2s_feed(struct conn *c, int dir, const uint8_t *data, size_t len);
void dg_h2s_gap(struct conn *c, int dir, uint64_t gap);
void dg_h2s_finish(struct conn *c);

#endif
