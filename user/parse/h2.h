/* h2.h — HTTP/2 as a passive observer sees it: both directions of one
 * connection in, request/response events out. Pure: no I/O, no clock.
 *
 * Input. The plaintext bytes of one connection, per direction: dir 0 (IN)
 * is what the server read (client->server), dir 1 (OUT) what it wrote. Each
 * direction is fed in order, in any split down to single bytes; the two
 * directions may be interleaved in any way, but feed them in capture order:
 * the only coupling between them, a SETTINGS_HEADER_TABLE_SIZE raise, takes
 * effect at the other direction's next header block (see HPACK table size).
 * dg_h2_gap reports bytes of a direction that were not captured. IN must begin with the 24-byte client
 * preface (checked and skipped, it may arrive in pieces); OUT begins
 * directly with frames (the server's SETTINGS).
 *
 * Frames (RFC 9113) are parsed here; only HPACK is libnghttp2's (one
 * inflater per direction; an nghttp2_session is an endpoint and cannot
 * observe both sides). Nothing is buffered per frame: the parser keeps the
 * 9-byte frame header being read and the small fixed fields (pad length,
 * priority, promised stream, RST_STREAM code, GOAWAY's first 8 bytes, one
 * 6-byte SETTINGS entry). Header-block fragments go to the inflater as they
 * arrive; DATA payload is handed out as it arrives. A frame of any legal
 * length (up to 2^24-1) costs no memory proportional to it. The peer's
 * SETTINGS_MAX_FRAME_SIZE is not enforced.
 *
 * Output, through one callback, synchronously from dg_h2_feed/dg_h2_gap, in
 * the byte order of the direction being fed:
 *   HEADERS   a whole decoded header block (HEADERS + CONTINUATIONs), at
 *             the end of the frame that carries END_HEADERS. hdrs lists the
 *             fields in wire order, pseudo-headers included. trailers is 1
 *             when the block has no pseudo-header field: RFC 9113 8.1 makes
 *             that exactly the trailer section (requests and responses,
 *             interim 1xx ones included, always start with :method or
 *             :status), and it needs no per-stream memory.
 *   DATA      payload bytes of a DATA frame, padding removed, in as many
 *             pieces as they arrived (never empty): concatenate them.
 *   DATA_GAP  gap bytes that fell in a DATA frame's payload (not padding).
 *   END       right after the HEADERS event, or after the frame's last DATA
 *             or DATA_GAP event, of a frame with END_STREAM (at the end of
 *             that frame, padding consumed). An empty DATA frame with
 *             END_STREAM gives END alone.
 *   RESET     RST_STREAM; error_code set.
 *   GOAWAY    stream is the last-stream-id (streams above it were not
 *             processed by the sender's peer); error_code set. Debug data
 *             is skipped.
 *   LOST      the direction can no longer be followed (why says why). It
 *             is the last event of that direction: every later byte of it
 *             is dropped and counted. Streams still open in that direction
 *             get no more events (no END): treat them as truncated. The
 *             other direction goes on.
 * The hdrs, their strings and data are valid only during the callback. The
 * callback must not call dg_h2_feed/dg_h2_gap/dg_h2_free on the same object.
 *
 * Bounds, per header block (copies of the decoded fields, one fixed buffer
 * per direction): at most DG_H2_MAX_HEADERS fields and DG_H2_MAX_HDR_BYTES
 * bytes of names + values. A value longer than DG_H2_MAX_VALUE is cut to
 * that length (values_truncated); a field that does not fit (after the cut)
 * is dropped (headers_dropped) and later smaller ones may still be kept, so
 * hdrs is an in-order subsequence of the block. The block is still decoded
 * to its end, so HPACK state stays in sync. Pseudo-headers come first
 * (RFC 9113 8.3), so they are dropped only if they alone exceed the bounds.
 *
 * Memory per object: about 37 KiB fixed (the two block buffers), plus the
 * two inflaters: each holds its dynamic table (at most DG_H2_TABLE_MAX of
 * HPACK size) and the field being decoded (nghttp2 rejects a name or value
 * over 64 KiB).
 *
 * HPACK table size. Each inflater starts at 4096 bytes. When the other
 * direction's SETTINGS carries SETTINGS_HEADER_TABLE_SIZE above the current
 * limit, the limit is raised (from the next header block on), capped at
 * DG_H2_TABLE_MAX (table_capped); it is never lowered: a stricter limit
 * than the encoder's could only cause false errors. An encoder that uses
 * more than the limit is an HPACK error (LOST).
 *
 * PUSH_PROMISE (server only) is decoded to keep HPACK in sync and counted
 * (push_promises); its request headers are not reported. The pushed
 * response then arrives as ordinary HEADERS/DATA on the promised,
 * even-numbered stream in OUT, with no request in IN: a consumer that only
 * follows client requests ignores even stream ids.
 *
 * LOST reasons: "no preface", "gap", "continuation expected" (any frame
 * other than a CONTINUATION of the same stream inside a header block),
 * "unexpected CONTINUATION", "bad padding" (padding longer than what the
 * payload has left after the pad length byte and fixed fields), "bad frame size" (SETTINGS not a multiple of 6, SETTINGS ACK
 * with payload, RST_STREAM not 4 bytes, GOAWAY under 8, HEADERS/PUSH_PROMISE
 * shorter than their fixed fields), "stream 0" (DATA, HEADERS, PUSH_PROMISE
 * or RST_STREAM on stream 0), "not stream 0" (SETTINGS or GOAWAY on a
 * stream), "push from client", "hpack" (inflate error, including a name
 * or value over nghttp2's 64 KiB limit, or a table size update above the
 * limit).
 * PRIORITY, PING and WINDOW_UPDATE are skipped unchecked; unknown frame
 * types are skipped (RFC 9113 5.5), except inside a header block; flags a
 * frame type does not define are ignored.
 *
 * Gaps. dg_h2_gap(dir, n) keeps the direction when the n bytes lie inside
 * the current frame's remaining payload and that payload is opaque: DATA
 * (the part within data gives DATA_GAP, the part within padding is
 * skipped), padding of any frame, PING, WINDOW_UPDATE, PRIORITY, GOAWAY
 * debug data, unknown types. Anything else (a gap in the preface, in a frame
 * header, pad length or fixed field, in a header block fragment — HPACK
 * state would be lost —, in SETTINGS, or crossing the end of the frame)
 * makes the direction LOST ("gap").
 *
 * Privacy. Header values can carry API keys. They are copied only into the
 * per-direction block buffer, which is wiped as soon as the HEADERS
 * callback returns (and when a block is abandoned, and at free). The
 * inflater (whose dynamic table holds indexed values for the connection's
 * life) allocates through a wrapper that wipes every block before freeing
 * it, so evicted entries and everything at dg_h2_free are wiped too.
 * Nothing here logs, prints or returns a header value outside the callback. */
#ifndef DG_H2_H
#define DG_H2_H

#include <stddef.h>
#include <stdint.h>

#define DG_H2_PREFACE_LEN   24
#define DG_H2_MAX_HEADERS   64           /* fields kept per header block */
#define DG_H2_MAX_HDR_BYTES (16u << 10)  /* names + values kept per block */
#define DG_H2_MAX_VALUE     (4u << 10)   /* longer values are cut to this */
#define DG_H2_TABLE_MAX     (64u << 10)  /* cap on an inflater's table size */

struct dg_h2_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

enum dg_h2_ev_type {
	DG_H2_HEADERS = 1,
	DG_H2_DATA,
	DG_H2_DATA_GAP,
	DG_H2_END,
	DG_H2_RESET,
	DG_H2_GOAWAY,
	DG_H2_LOST,
};

struct dg_h2_event {
	int type;                        /* enum dg_h2_ev_type */
	int dir;                         /* 0 client->server, 1 server->client */
	uint32_t stream;                 /* GOAWAY: last-stream-id; LOST: 0 */
	const struct dg_h2_header *hdrs; /* HEADERS: the kept fields, in order */
	size_t n_hdrs;
	int trailers;                    /* HEADERS: no pseudo-header field */
	const uint8_t *data;             /* DATA: payload piece, padding removed */
	size_t len;
	uint64_t gap;                    /* DATA_GAP: payload bytes not captured */
	uint32_t error_code;             /* RESET, GOAWAY */
	const char *why;                 /* LOST: a short static reason */
};

struct dg_h2_stats {
	uint64_t frames[2];          /* frame headers parsed */
	uint64_t data_bytes[2];      /* DATA payload handed out */
	uint64_t data_gap_bytes[2];  /* DATA payload reported as DATA_GAP */
	uint64_t header_blocks[2];   /* header blocks decoded (PUSH_PROMISE too) */
	uint64_t headers_dropped;    /* fields over the count or byte bound */
	uint64_t values_truncated;   /* values cut to DG_H2_MAX_VALUE */
	uint64_t table_capped;       /* SETTINGS_HEADER_TABLE_SIZE over the cap */
	uint64_t push_promises;
	uint64_t unknown_frames[2];  /* frames of unknown type, skipped */
	uint64_t gap_bytes[2];       /* bytes reported by dg_h2_gap */
	uint64_t lost[2];            /* LOST events (0 or 1 per direction) */
	uint64_t dropped_bytes[2];   /* bytes fed after LOST, and the rest of the feed that lost */
};

typedef void (*dg_h2_fn)(const struct dg_h2_event *e, void *arg);

struct dg_h2;

struct dg_h2 *dg_h2_new(dg_h2_fn fn, void *arg);   /* NULL on out-of-memory */
/* Wipes the header buffers and the inflaters' memory, then frees. */
void dg_h2_free(struct dg_h2 *h);
/* Bytes of direction dir (0 or 1; other values are ignored), any split. */
void dg_h2_feed(struct dg_h2 *h, int dir, const uint8_t *p, size_t len);
/* len bytes of dir were not captured. */
void dg_h2_gap(struct dg_h2 *h, int dir, uint64_t len);
/* 1 if p starts with the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
 * len >= 4 and the first min(len, 24) bytes match; else 0. */
int dg_h2_preface(const uint8_t *p, size_t len);
const struct dg_h2_stats *dg_h2_stats(const struct dg_h2 *h);

#endif
