/* reassemble.c — the connection table, each direction's stream position,
 * connection lifecycle, and which protocol a connection speaks.
 *
 * Each direction's bytes are placed by their stream position (seq + off,
 * reassemble.h), so every byte that was not captured is a gap of known
 * size, handed to the protocol's parser as a gap. A connection whose client
 * begins with the HTTP/2 preface (or whose server begins with a SETTINGS
 * frame) is HTTP/2 (h2streams.c); any other is HTTP/1.1 (http1.c). The
 * parts share reassemble_int.h. */
#include "reassemble_int.h"

#include <stdlib.h>
#include <string.h>

#include "h2.h"

/* ---------- connection table ---------- */

static size_t bucket_of(const struct dg_reasm *ra, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)(id & (ra->nbuckets - 1));
}

/* The least recently used connection, NULL when there is none. */
static struct conn *lru_oldest(const struct dg_reasm *ra)
{
	return (struct conn *)ra->lru.tail;
}

static struct conn *conn_find(struct dg_reasm *ra, uint64_t id)
{
	struct conn *c;

	for (c = ra->buckets[bucket_of(ra, id)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_finish(struct dg_reasm *ra, struct conn *c);

static struct conn *conn_get(struct dg_reasm *ra, uint64_t id, uint64_t ts)
{
	struct conn *c = conn_find(ra, id);
	size_t b;

	if (c) {
		dg_lru_touch(&ra->lru, &c->lru);
		return c;
	}
	if (ra->nconns >= ra->cfg.max_conns && ra->lru.tail) {
		ra->st.conns_evicted++;
		conn_finish(ra, lru_oldest(ra));
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	c->ra = ra;
	c->last_ns = ts;
	dg_http1_init(c);
	b = bucket_of(ra, id);
	c->hnext = ra->buckets[b];
	ra->buckets[b] = c;
	dg_lru_push(&ra->lru, &c->lru);
	ra->nconns++;
	ra->st.conns++;
	return c;
}

static size_t peer_bucket(const struct dg_reasm *ra, const char *ip, uint16_t port)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ port;

	while (*ip)
		h = (h ^ (uint8_t)*ip++) * 0x100000001b3ULL;
	return (size_t)(h & (ra->nbuckets - 1));
}

static int is_front(const struct dg_reasm *ra, uint16_t port)
{
	for (int i = 0; i < ra->cfg.n_front_ports; i++)
		if (ra->cfg.front_ports[i] == port)
			return 1;
	return 0;
}

static void conn_set_tuple(struct conn *c, const struct dg_tuple *t)
{
	struct dg_reasm *ra = c->ra;

	if (c->have_tuple)
		return;
	c->t = *t;
	c->have_tuple = 1;
	dg_addr_str(t->family, t->raddr, c->ip, sizeof(c->ip));
	if (ra->cfg.n_front_ports && is_front(ra, t->lport)) {
		size_t b = peer_bucket(ra, c->ip, t->rport);

		c->front = 1;
		c->pnext = ra->pbuckets[b];
		ra->pbuckets[b] = c;
	}
}

struct conn *dg_rx_front_conn(struct dg_reasm *ra, const char *ip, uint16_t port)
{
	struct conn *c;

	if (!ra->cfg.n_front_ports || !ip[0] || !port)
		return NULL;
	for (c = ra->pbuckets[peer_bucket(ra, ip, port)]; c; c = c->pnext)
		if (c->t.rport == port && !strcmp(c->ip, ip))
			return c;
	return NULL;
}

/* ---------- records ---------- */

/* ---------- protocols ---------- */

/* What the first bytes of a direction say: 2 HTTP/2 (the client preface,
 * or a server's SETTINGS frame on stream 0), 1 HTTP/1.x, 0 not enough
 * bytes yet. */
static int proto_of(int dir, const uint8_t *p, size_t len)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	if (dir == DG_DIR_IN) {
		size_t n = len < 24 ? len : 24;

		if (memcmp(p, preface, n))
			return PROTO_HTTP1;
		return n == 24 ? PROTO_HTTP2 : 0;
	}
	if (p[0] == 'H')
		return PROTO_HTTP1;
	if (len < 9)
		return 0;
	return p[3] == 0x4 && !(p[5] & 0x7f) && !p[6] && !p[7] && !p[8] &&
	       (((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) % 6) == 0 ?
	       PROTO_HTTP2 : PROTO_HTTP1;
}

static void feed_proto(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	if (c->proto == PROTO_HTTP2)
		dg_h2s_feed(c, dir, data, len);
	else
		dg_http1_feed(c, dir, data, len);
}

/* The protocol is chosen: the bytes kept while deciding go first. A
 * connection whose opening was not seen (older than the tracer) may be
 * joined mid-message: HTTP/1.1 waits for a message start, and an HTTP/2
 * connection, which never shows one, is dropped (resync_dropped). */
static void choose(struct conn *c, int proto)
{
	c->proto = proto == PROTO_HTTP2 && !dg_h2s_start(c) ? PROTO_HTTP2 : PROTO_HTTP1;
	if (c->proto == PROTO_HTTP2)
		c->ra->st.h2_conns++;
	else if (!c->opened_ns)
		dg_http1_join(c);
	for (int d = 0; d < 2; d++) {
		uint8_t kept[sizeof(c->first[0])];
		size_t n = c->first_len[d];

		memcpy(kept, c->first[d], n);
		c->first_len[d] = 0;
		feed_proto(c, d, kept, n);
	}
}

/* Until the first bytes of either direction decide the protocol, a few are
 * kept (a preface may arrive a byte at a time). */
static void feed(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	if (c->proto == PROTO_UNKNOWN && len) {
		size_t have = c->first_len[dir];
		size_t take = len < sizeof(c->first[dir]) - have ? len : sizeof(c->first[dir]) - have;
		int proto;

		if (c->pos[dir].next - len != have) {
			choose(c, PROTO_HTTP1);     /* its start was lost */
		} else {
			memcpy(c->first[dir] + have, data, take);
			proto = proto_of(dir, c->first[dir], have + take);
			if (!proto && take == len) {
				c->first_len[dir] += take;
				return;
			}
			choose(c, proto ? proto : PROTO_HTTP1);
		}
	}
	feed_proto(c, dir, data, len);
}

static void feed_gap(struct conn *c, int dir, uint64_t gap)
{
	if (c->proto == PROTO_UNKNOWN)
		choose(c, PROTO_HTTP1);
	if (c->proto == PROTO_HTTP2)
		dg_h2s_gap(c, dir, gap);
	else
		dg_http1_gap(c, dir, gap);
}

/* ---------- stream positions ---------- */

/* The stream position of the piece's first byte. */
static uint64_t piece_pos(struct stream_pos *s, const struct dg_chunk *ch)
{
	uint64_t base;

	if (ch->seq != DG_SEQ_NONE)
		base = ch->seq;
	else if (ch->off == 0)         /* a new call, right after the last one */
		base = !s->have ? 0 : s->next > s->call_end ? s->next : s->call_end;
	else
		base = s->call_base;
	s->call_base = base;
	s->call_end = base + ch->call_len;
	return base + ch->off;
}

/* Place the piece in its stream: a gap before it is fed as a gap; bytes
 * behind the stream position (a late piece) are dropped and counted.
 * Returns how many leading bytes of the piece to skip, or -1 for all. */
static int64_t place(struct conn *c, int dir, const struct dg_chunk *ch)
{
	struct dg_reasm *ra = c->ra;
	struct stream_pos *s = &c->pos[dir];
	uint64_t pos = piece_pos(s, ch), behind;

	if (!s->have) {
		/* A known stream begins at 0: the kernel counts from the first
		 * call it captured, so pieces lost before this one count too. */
		s->have = 1;
		s->next = ch->seq != DG_SEQ_NONE ? 0 : pos;
	}
	if (pos > s->next) {
		/* The tail piece of a call over its bound skips [bound, off) by
		 * design; anything else that is missing was lost. */
		uint64_t skip = 0, bound_pos = s->call_base + ch->bound;

		if (ch->bound && ch->off > ch->bound &&
		    s->next <= bound_pos)
			skip = pos - bound_pos;
		ra->st.skipped_bytes += skip;
		if (pos - s->next > skip) {
			ra->st.gaps++;
			ra->st.gap_bytes += pos - s->next - skip;
		}
		feed_gap(c, dir, pos - s->next);
		s->next = pos;
	} else if (pos < s->next) {
		if (ch->off == 0 && pos == 0) {
			/* The kernel's byte count started over (its entry was
			 * evicted): carry on from here. */
			ra->st.seq_resets++;
			s->next = pos;
			s->call_base = s->next;
			s->call_end = s->next + ch->call_len;
		} else {
			behind = s->next - pos;
			if (behind >= ch->len) {
				ra->st.overlap_dropped += ch->len;
				return -1;
			}
			ra->st.overlap_dropped += behind;
			s->next += ch->len - behind;
			return (int64_t)behind;
		}
	}
	s->next += ch->len;
	return 0;
}

/* The other direction had reached other_seq when this call ended: what of
 * it has not arrived by now was lost (both directions share a ring). */
static void catch_up(struct conn *c, int dir, uint64_t other_seq)
{
	struct stream_pos *s = &c->pos[dir];

	if (other_seq == DG_SEQ_NONE)
		return;
	if (!s->have) {
		s->have = 1;
		s->next = 0;
	}
	if (other_seq <= s->next)
		return;
	c->ra->st.gaps++;
	c->ra->st.gap_bytes += other_seq - s->next;
	feed_gap(c, dir, other_seq - s->next);
	s->next = other_seq;
}

void dg_reasm_chunk(struct dg_reasm *ra, const struct dg_chunk *ch)
{
	struct conn *c;
	int dir = ch->dir == DG_DIR_OUT ? DG_DIR_OUT : DG_DIR_IN;
	int64_t skip;

	ra->st.chunks++;
	ra->st.bytes += ch->len;
	c = conn_get(ra, ch->conn, ch->ts_ns);
	if (!c)
		return;
	/* Once a connection is known to be TLS, raw syscall bytes of it are
	 * ciphertext: never mix them into the plaintext stream. */
	if (ch->src == DG_SRC_TLS)
		c->tls = 1;
	else if (c->tls) {
		ra->st.mixed_dropped++;
		return;
	}
	c->last_ns = ch->ts_ns;
	c->now_ns = ch->ts_ns;
	if (!c->proc[0] && ch->pid) {
		snprintf(c->proc, sizeof(c->proc), "%.16s/%u", ch->comm ? ch->comm : "?", ch->pid);
		c->pid = ch->pid;
	}
	c->tied |= ch->tied;
	if (ch->tied)
		conn_set_tuple(c, &ch->t);
	catch_up(c, !dir, ch->other_seq);
	skip = place(c, dir, ch);
	if (skip < 0)
		return;
	if (dir == DG_DIR_IN)
		c->bytes_in += ch->len - (size_t)skip;
	else
		c->bytes_out += ch->len - (size_t)skip;
	feed(c, dir, ch->data + skip, ch->len - (size_t)skip);
}

struct dg_chunk dg_chunk_call(uint64_t conn, int dir, const void *data, size_t len)
{
	struct dg_chunk c;

	memset(&c, 0, sizeof(c));
	c.conn = conn;
	c.dir = (uint8_t)dir;
	c.src = DG_SRC_PLAIN;
	c.tied = 1;
	c.seq = c.other_seq = DG_SEQ_NONE;
	c.call_len = (uint32_t)len;
	c.data = data;
	c.len = len;
	return c;
}

/* ---------- lifecycle ---------- */

void dg_reasm_open(struct dg_reasm *ra, const struct dg_conn_event *e)
{
	struct conn *c = conn_get(ra, e->conn, e->ts_ns);

	if (!c)
		return;
	c->opened_ns = e->ts_ns;
	c->last_ns = e->ts_ns;
	conn_set_tuple(c, &e->t);
	c->tied = 1;
}

void dg_reasm_hello(struct dg_reasm *ra, const struct dg_hello_event *h)
{
	struct conn *c = conn_get(ra, h->conn, h->ts_ns);
	uint32_t end;

	if (!c || c->ja4[0])
		return;
	if (!c->hello) {
		if (h->offset != 0 || !(c->hello = malloc(DG_HELLO_MAX)))
			return;            /* the start was missed: no fingerprint */
		c->hello_len = 0;
		c->hello_want = h->record_len < DG_HELLO_MAX ? h->record_len : DG_HELLO_MAX;
	}
	if (h->offset != c->hello_len)
		return;                    /* a piece is missing: wait no more */
	end = h->offset + h->len;
	if (end > c->hello_want)
		end = c->hello_want;
	memcpy(c->hello + h->offset, h->data, end - h->offset);
	c->hello_len = end;
	if (c->hello_len < c->hello_want)
		return;
	if (dg_ja4(c->hello, c->hello_len, c->ja4)) {
		c->ja4[0] = 0;
		ra->st.ja4_failed++;
	} else {
		ra->st.ja4++;
	}
	free(c->hello);
	c->hello = NULL;
}

void dg_reasm_close(struct dg_reasm *ra, const struct dg_conn_event *e)
{
	struct conn *c = conn_get(ra, e->conn, e->ts_ns);

	if (!c)
		return;
	conn_set_tuple(c, &e->t);
	c->closed = 1;
	c->closed_ns = e->ts_ns;
	c->bytes_in = e->bytes_in > c->bytes_in ? e->bytes_in : c->bytes_in;
	c->bytes_out = e->bytes_out > c->bytes_out ? e->bytes_out : c->bytes_out;
	c->srtt_us = e->srtt_us;
	c->app_in = e->st.app_in;
	c->app_out = e->st.app_out;
}

static void conn_finish(struct dg_reasm *ra, struct conn *c)
{
	struct conn **pp;
	struct dg_conn_summary s;

	/* Bytes the kernel counted that never arrived (the last pieces lost). */
	if (c->closed) {
		uint64_t counted[2] = { c->app_in, c->app_out };

		for (int d = 0; d < 2; d++) {
			if (c->pos[d].have && counted[d] > c->pos[d].next) {
				ra->st.gaps++;
				ra->st.gap_bytes += counted[d] - c->pos[d].next;
			}
		}
	}
	c->now_ns = c->closed ? c->closed_ns : c->last_ns;
	dg_http1_finish(c);
	dg_h2s_finish(c);
	if (ra->on_conn) {
		memset(&s, 0, sizeof(s));
		s.conn = c->id;
		snprintf(s.ip, sizeof(s.ip), "%s", c->ip);
		s.lport = c->t.lport;
		s.tls = c->tls;
		s.opened = c->opened_ns ? dg_rx_unix(ra, c->opened_ns) : 0;
		s.closed = c->closed ? dg_rx_unix(ra, c->closed_ns) : 0;
		s.bytes_in = c->bytes_in;
		s.bytes_out = c->bytes_out;
		s.srtt_us = c->srtt_us;
		s.app_in = c->app_in;
		s.app_out = c->app_out;
		s.requests = c->requests;
		s.partial = c->partial;
		ra->on_conn(&s, ra->arg);
	}
	for (pp = &ra->buckets[bucket_of(ra, c->id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	if (c->front) {
		for (pp = &ra->pbuckets[peer_bucket(ra, c->ip, c->t.rport)]; *pp; pp = &(*pp)->pnext) {
			if (*pp == c) {
				*pp = c->pnext;
				break;
			}
		}
	}
	dg_lru_unlink(&ra->lru, &c->lru);
	ra->nconns--;
	free(c->hello);
	free(c);
}

void dg_reasm_sweep(struct dg_reasm *ra, uint64_t now_ns)
{
	uint64_t grace = (uint64_t)(ra->cfg.close_grace * 1e9);
	uint64_t idle = (uint64_t)(ra->cfg.idle_timeout * 1e9);
	struct conn *c, *prev;

	for (c = lru_oldest(ra); c; c = prev) {
		prev = (struct conn *)c->lru.prev;
		if (c->closed && now_ns >= c->closed_ns + grace && now_ns >= c->last_ns + grace) {
			conn_finish(ra, c);
		} else if (!c->closed && now_ns > c->last_ns + idle) {
			ra->st.conns_idle++;
			conn_finish(ra, c);
		}
	}
}

void dg_reasm_flush(struct dg_reasm *ra)
{
	while (ra->lru.tail)
		conn_finish(ra, lru_oldest(ra));
}

/* ---------- setup ---------- */

void dg_reasm_config_default(struct dg_reasm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 16384;
	cfg->max_pending = 16;
	cfg->idle_timeout = 300;
	snprintf(cfg->client_port_header, sizeof(cfg->client_port_header), "x-forwarded-port");
	cfg->close_grace = 1;
	cfg->max_body = DG_REQBODY_MAX;
}

void dg_reasm_on_head(struct dg_reasm *ra, dg_head_fn fn, void *arg)
{
	ra->on_head = fn;
	ra->head_arg = arg;
}

struct dg_reasm *dg_reasm_new(const struct dg_reasm_config *cfg, dg_record_fn on_record,
			      dg_conn_fn on_conn, void *arg)
{
	struct dg_reasm *ra = calloc(1, sizeof(*ra));

	if (!ra)
		return NULL;
	ra->cfg = *cfg;
	if (!ra->cfg.max_conns)
		ra->cfg.max_conns = 16384;
	if (!ra->cfg.max_pending)
		ra->cfg.max_pending = 16;
	ra->nbuckets = 1;
	while (ra->nbuckets < ra->cfg.max_conns)
		ra->nbuckets <<= 1;
	ra->buckets = calloc(ra->nbuckets, sizeof(*ra->buckets));
	ra->pbuckets = calloc(ra->nbuckets, sizeof(*ra->pbuckets));
	if (!ra->buckets || !ra->pbuckets) {
		free(ra->buckets);
		free(ra->pbuckets);
		free(ra);
		return NULL;
	}
	if (!ra->cfg.client_port_header[0])
		snprintf(ra->cfg.client_port_header, sizeof(ra->cfg.client_port_header),
			 "x-forwarded-port");
	ra->on_record = on_record;
	ra->on_conn = on_conn;
	ra->arg = arg;

	dg_http1_settings(ra->ps);
	return ra;
}

void dg_reasm_free(struct dg_reasm *ra)
{
	if (!ra)
		return;
	dg_reasm_flush(ra);
	free(ra->buckets);
	free(ra->pbuckets);
	free(ra);
}

const struct dg_reasm_stats *dg_reasm_stats(const struct dg_reasm *ra)
{
	return &ra->st;
}

size_t dg_reasm_conns(const struct dg_reasm *ra)
{
	return ra->nconns;
}
