/* reassemble.c — connection table and HTTP/1.1 reassembly.
 *
 * Each connection has two http_parser instances, one per direction. A
 * request that finishes its headers becomes an exchange on the connection's
 * pending queue (pipelining); the next response to start is paired with the
 * oldest exchange, and when it completes the exchange becomes a record.
 * Each direction's bytes are placed by their stream position (seq + off,
 * reassemble.h), so every byte that was not captured is a gap of known
 * size. A gap inside a body of known length keeps HTTP framing; otherwise
 * the exchange is marked truncated and the parser resynchronises on the
 * next message start. */
#include "reassemble.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <http_parser.h>
#include <sodium.h>

#include "forwarded.h"
#include "ja4.h"
#include "keyhash.h"
#include "lru.h"
#include "reqbody.h"
#include "respbody.h"

#define HNAME_MAX 64
#define HVAL_MAX  512

struct hdr_acc {
	char name[HNAME_MAX];
	size_t name_len;
	char val[HVAL_MAX];
	size_t val_len;
	int in_value;          /* last callback was a value */
	int truncated;
};

struct exchange {
	struct exchange *next;
	struct dg_record rec;
	uint64_t t_start, t_req_end, t_resp_first, t_resp_end;
	int head;              /* HEAD request: the response has no body */
	int req_done;          /* request message complete */
	uint64_t no;           /* its place among the connection's requests (1, 2, ...) */
	int fwd_rfc;           /* rec.fwd_* came from a Forwarded header */
};

/* Where a direction's stream is: the next byte expected, and the extent of
 * the call being received (for pieces without seq). */
struct stream_pos {
	int have;
	uint64_t next;
	uint64_t call_base, call_end;
};

struct conn {
	struct dg_lru_link lru;        /* first: a link is its connection */
	uint64_t id;
	struct conn *hnext;
	struct dg_tuple t;
	int tied, tls, have_tuple;
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
	uint64_t now_ns;               /* ts of the chunk being parsed */

	struct exchange *cur_req;      /* request being parsed */
	struct exchange *pend_head, *pend_tail;   /* awaiting / receiving a response */
	size_t n_pend;
	struct exchange *resp;         /* exchange the current response belongs to */
	int resp_sse;
	struct dg_reqbody *reqbody;
	struct dg_respbody *respbody;
	int64_t resp_body_bytes;
	int want_key;                  /* key seen in current request headers */
	char xff_ip[DG_IP_LEN];

	struct dg_reasm *ra;
};

struct dg_reasm {
	struct dg_reasm_config cfg;
	dg_record_fn on_record;
	dg_conn_fn on_conn;
	void *arg;
	struct conn **buckets;
	size_t nbuckets, nconns;
	struct dg_lru lru;
	struct dg_reasm_stats st;
	http_parser_settings ps[2];
};

static const char filler_buf[4096];

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

static void parser_reset(struct conn *c, int dir)
{
	http_parser_init(&c->p[dir], dir == DG_DIR_IN ? HTTP_REQUEST : HTTP_RESPONSE);
	c->p[dir].data = c;
	c->in_body[dir] = 0;
	memset(&c->h[dir], 0, sizeof(c->h[dir]));
}

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
	parser_reset(c, DG_DIR_IN);
	parser_reset(c, DG_DIR_OUT);
	b = bucket_of(ra, id);
	c->hnext = ra->buckets[b];
	ra->buckets[b] = c;
	dg_lru_push(&ra->lru, &c->lru);
	ra->nconns++;
	ra->st.conns++;
	return c;
}

static void conn_set_tuple(struct conn *c, const struct dg_tuple *t)
{
	if (c->have_tuple)
		return;
	c->t = *t;
	c->have_tuple = 1;
	dg_addr_str(t->family, t->raddr, c->ip, sizeof(c->ip));
}

/* ---------- records ---------- */

static double to_unix(const struct dg_reasm *ra, uint64_t ns)
{
	return (double)ns / 1e9 + ra->cfg.mono_to_real;
}

static void req_fields(struct exchange *x, struct dg_reqbody *rb);

static void emit(struct conn *c, struct exchange *x, int partial)
{
	struct dg_reasm *ra = c->ra;
	struct dg_record *r = &x->rec;

	/* A request emitted before its body ended (its answer came first, or
	 * bytes of either side were lost) says so, with what was found. */
	if (!x->req_done) {
		if (c->cur_req == x && c->reqbody)
			req_fields(x, c->reqbody);
		r->req_truncated = 1;
		x->req_done = 1;
	}
	if (x->t_resp_end && x->t_start)
		r->duration_ms = (double)(x->t_resp_end - x->t_start) / 1e6;
	if (x->t_resp_first && x->t_req_end && x->t_resp_first >= x->t_req_end)
		r->ttfb_ms = (double)(x->t_resp_first - x->t_req_end) / 1e6;
	else if (x->t_resp_first && x->t_req_end)
		r->ttfb_ms = 0;
	if (!r->ja4[0] && c->ja4[0])
		memcpy(r->ja4, c->ja4, sizeof(r->ja4));
	if (partial) {
		r->resp_truncated = 1;
		c->partial++;
		ra->st.records_partial++;
	}
	c->requests++;
	ra->st.records++;
	if (ra->on_record)
		ra->on_record(r, ra->arg);
}

/* Unlink x from the pending queue and free it; nothing keeps pointing at it. */
static void pend_remove(struct conn *c, struct exchange *x)
{
	struct exchange **pp, *prev = NULL;

	for (pp = &c->pend_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != x)
			continue;
		*pp = x->next;
		if (c->pend_tail == x)
			c->pend_tail = prev;
		c->n_pend--;
		break;
	}
	if (c->resp == x)
		c->resp = NULL;
	if (c->cur_req == x)
		c->cur_req = NULL;
	free(x);
}

static int queued(const struct conn *c, const struct exchange *x)
{
	for (const struct exchange *q = c->pend_head; q; q = q->next)
		if (q == x)
			return 1;
	return 0;
}

static void pend_pop_free(struct conn *c)
{
	if (c->pend_head)
		pend_remove(c, c->pend_head);
}

/* ---------- header handling ---------- */

static void client_name(struct conn *c, struct dg_record *r)
{
	const char *ip = c->ip;

	if (c->xff_ip[0])
		ip = c->xff_ip;
	snprintf(r->ip, sizeof(r->ip), "%s", ip);
	if (r->key[0])
		snprintf(r->client, sizeof(r->client), "key:%s", r->key);
	else
		snprintf(r->client, sizeof(r->client), "ip:%s", ip[0] ? ip : "unknown");
}

static int proxy_trusted(const struct dg_reasm *ra, const char *ip)
{
	for (int i = 0; i < ra->cfg.n_proxies; i++)
		if (dg_prefix_match_str(&ra->cfg.proxies[i], ip))
			return 1;
	return 0;
}

/* X-Forwarded-For: walk from the right, skipping trusted proxies; the first
 * untrusted hop is the client. */
static void take_xff(struct conn *c, const char *v, size_t len)
{
	char buf[HVAL_MAX + 1], *tok, *save = NULL, *hops[32];
	int n = 0;

	memcpy(buf, v, len);
	buf[len] = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok && n < 32; tok = strtok_r(NULL, ", \t", &save))
		hops[n++] = tok;
	for (int i = n - 1; i >= 0; i--) {
		struct dg_prefix p;
		if (dg_prefix_parse(hops[i], &p))
			return;                 /* junk: keep the peer address */
		if (i > 0 && proxy_trusted(c->ra, hops[i]))
			continue;
		snprintf(c->xff_ip, sizeof(c->xff_ip), "%s", hops[i]);
		return;
	}
}

/* Whatever the peer, the client a proxy names is kept apart from the
 * record's ip: it links the legs of a proxy on this host (legs.h).
 * Forwarded wins over X-Forwarded-For / X-Forwarded-Port. */
static void note_forwarded(struct exchange *x, const struct hdr_acc *h)
{
	struct dg_record *r = &x->rec;
	char ip[DG_FWD_IP_LEN];
	uint16_t port = 0;

	if (!strcasecmp(h->name, "forwarded")) {
		if (!dg_fwd_forwarded(h->val, h->val_len, ip, &port)) {
			memcpy(r->fwd_ip, ip, sizeof(r->fwd_ip));
			r->fwd_port = port;
			x->fwd_rfc = 1;
		}
	} else if (x->fwd_rfc) {
		return;
	} else if (!strcasecmp(h->name, "x-forwarded-for")) {
		if (!dg_fwd_xff_last(h->val, h->val_len, ip))
			memcpy(r->fwd_ip, ip, sizeof(r->fwd_ip));
	} else if (!strcasecmp(h->name, "x-forwarded-port")) {
		if (!dg_fwd_port(h->val, h->val_len, &port))
			r->fwd_port = port;
	}
}

static void header_done(struct conn *c, int dir)
{
	struct hdr_acc *h = &c->h[dir];
	const char *key;
	size_t klen;

	if (!h->name_len)
		return;
	h->name[h->name_len] = 0;
	if (dir == DG_DIR_IN && c->cur_req) {
		struct dg_record *r = &c->cur_req->rec;
		if (dg_key_from_header(h->name, h->val, h->val_len, &key, &klen) && !r->key[0])
			dg_key_hash(c->ra->cfg.secret, key, klen, r->key);
		else if (c->ra->cfg.n_proxies && proxy_trusted(c->ra, c->ip)) {
			if (!strcasecmp(h->name, "x-forwarded-for"))
				take_xff(c, h->val, h->val_len);
			else if (!strcasecmp(h->name, "x-real-ip") && !c->xff_ip[0] &&
				 h->val_len < sizeof(c->xff_ip)) {
				struct dg_prefix p;
				char tmp[DG_IP_LEN];
				memcpy(tmp, h->val, h->val_len);
				tmp[h->val_len] = 0;
				if (!dg_prefix_parse(tmp, &p))
					snprintf(c->xff_ip, sizeof(c->xff_ip), "%s", tmp);
			}
		}
	}
	if (dir == DG_DIR_IN && c->cur_req)
		note_forwarded(c->cur_req, h);
	if (dir == DG_DIR_OUT && !strcasecmp(h->name, "content-type")) {
		c->resp_sse = h->val_len >= 17 && !strncasecmp(h->val, "text/event-stream", 17);
	}
	/* Header values may hold a raw key: never keep them past this point. */
	sodium_memzero(h->val, sizeof(h->val));
	h->name_len = h->val_len = 0;
	h->in_value = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	int dir = p->type == HTTP_REQUEST ? DG_DIR_IN : DG_DIR_OUT;
	struct hdr_acc *h = &c->h[dir];
	size_t n;

	if (h->in_value)
		header_done(c, dir);
	n = len < HNAME_MAX - 1 - h->name_len ? len : HNAME_MAX - 1 - h->name_len;
	memcpy(h->name + h->name_len, at, n);
	h->name_len += n;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	int dir = p->type == HTTP_REQUEST ? DG_DIR_IN : DG_DIR_OUT;
	struct hdr_acc *h = &c->h[dir];
	size_t n = len < HVAL_MAX - h->val_len ? len : HVAL_MAX - h->val_len;

	if (n < len && !h->truncated) {
		h->truncated = 1;
		c->ra->st.header_truncated++;
	}
	memcpy(h->val + h->val_len, at, n);
	h->val_len += n;
	h->in_value = 1;
	return 0;
}

/* ---------- request side ---------- */

static int req_begin(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x = calloc(1, sizeof(*x));

	if (c->cur_req && !queued(c, c->cur_req))
		free(c->cur_req);
	c->cur_req = x;
	if (!x)
		return -1;
	dg_record_init(&x->rec);
	x->t_start = c->now_ns;
	x->rec.ts = to_unix(c->ra, c->now_ns);
	x->rec.conn = c->id;
	x->rec.tls = c->tls;
	x->rec.port = c->t.lport;
	memcpy(x->rec.ja4, c->ja4, sizeof(c->ja4));
	memcpy(x->rec.proc, c->proc, sizeof(x->rec.proc));
	memcpy(x->rec.peer_ip, c->ip, sizeof(x->rec.peer_ip));
	x->rec.peer_port = c->t.rport;
	x->rec.srv_pid = c->pid;
	c->xff_ip[0] = 0;
	if (c->reqbody)
		dg_reqbody_reset(c->reqbody);
	return 0;
}

static int req_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	struct dg_record *r;
	size_t cur, n;

	if (!c->cur_req)
		return 0;
	r = &c->cur_req->rec;
	cur = strlen(r->path);
	if (strchr(r->path, '?'))
		return 0;
	n = len < sizeof(r->path) - 1 - cur ? len : sizeof(r->path) - 1 - cur;
	memcpy(r->path + cur, at, n);
	r->path[cur + n] = 0;
	return 0;
}

static int req_headers_done(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x = c->cur_req;
	char *q;

	header_done(c, DG_DIR_IN);
	if (!x)
		return 0;
	q = strchr(x->rec.path, '?');
	if (q)
		*q = 0;
	snprintf(x->rec.method, sizeof(x->rec.method), "%s",
		 http_method_str((enum http_method)p->method));
	x->head = p->method == HTTP_HEAD;
	client_name(c, &x->rec);
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX)
		x->rec.req_bytes = (int64_t)p->content_length;
	else
		x->rec.req_bytes = 0;
	/* Queue it now: a server may answer before the body is read. */
	if (c->n_pend >= c->ra->cfg.max_pending) {
		/* Bound hit: report the oldest as unanswered rather than lose it. */
		c->ra->st.pending_full++;
		emit(c, c->pend_head, 1);
		pend_pop_free(c);
	}
	x->no = ++c->req_no;
	if (c->pend_tail && c->pend_tail->req_done)
		c->pipelined = 1;
	if (c->pend_tail)
		c->pend_tail->next = x;
	else
		c->pend_head = x;
	c->pend_tail = x;
	c->n_pend++;
	c->in_body[DG_DIR_IN] = 1;
	if (!c->reqbody && (c->reqbody = dg_reqbody_new(c->ra->cfg.secret)))
		dg_reqbody_set_limit(c->reqbody, c->ra->cfg.max_body);
	return 0;
}

static int req_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (!c->cur_req || !c->reqbody)
		return 0;
	if (p->flags & F_CHUNKED)
		c->cur_req->rec.req_bytes += (int64_t)len;
	if (c->filler)
		dg_reqbody_gap(c->reqbody, len);
	else
		dg_reqbody_feed(c->reqbody, at, len);
	return 0;
}

static void req_fields(struct exchange *x, struct dg_reqbody *rb)
{
	struct dg_req_fields f;
	struct dg_record *r = &x->rec;

	memset(&f, 0, sizeof(f));
	dg_reqbody_finish(rb, &f);
	if (f.parse_error && !f.model[0] && f.messages < 0)
		return;
	snprintf(r->model, sizeof(r->model), "%s", f.model);
	r->stream = f.stream < 0 ? (f.parse_error ? -1 : 0) : f.stream;
	r->messages = f.messages;
	r->prompt_bytes = (int64_t)f.prompt_bytes;
	r->has_system_fp = f.has_system_fp;
	r->system_fp = f.system_fp;
	r->has_prompt_fp = f.has_prompt_fp;
	r->prompt_fp = f.prompt_fp;
	r->prompt_simhash = f.prompt_simhash;
	r->max_tokens = f.max_tokens;
	r->n = f.n;
	r->has_temperature = f.has_temperature;
	r->temperature = f.temperature;
	r->logprobs = f.logprobs;
	r->top_logprobs = f.top_logprobs;
	r->logit_bias = f.logit_bias;
	r->reasoning_param = f.reasoning_param;
	r->cot_prompt = f.cot_prompt;
	if (f.truncated)
		r->req_truncated = 1;
}

static int req_complete(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x = c->cur_req;

	c->in_body[DG_DIR_IN] = 0;
	if (!x)
		return 0;
	x->req_done = 1;
	x->t_req_end = c->now_ns;
	if (c->reqbody && x->rec.req_bytes > 0)
		req_fields(x, c->reqbody);
	c->cur_req = NULL;     /* owned by the pending queue now */
	return 0;
}

/* ---------- response side ---------- */

/* Emit every pending exchange before upto (NULL: all) as unanswered. */
static void drop_pending_before(struct conn *c, struct exchange *upto)
{
	while (c->pend_head && c->pend_head != upto && c->pend_head != c->resp) {
		emit(c, c->pend_head, 1);
		pend_pop_free(c);
	}
}

/* Which pending exchange a new response answers, after bytes were lost;
 * x is the oldest unanswered (NULL: none). Returns NULL for a response to
 * a request that was lost. A client that waits for each answer before its
 * next request leaves no doubt; on a connection that pipelines, a pairing
 * that could be wrong is said in the record (resp_truncated). */
static struct exchange *pair_after_loss(struct conn *c, struct exchange *x)
{
	struct exchange *newest = c->pend_tail;
	int lost_in = c->in_lost, lost_out = c->out_lost;

	c->out_lost = 0;
	if (!x)
		return NULL;
	if (lost_out) {
		/* Responses were lost: the older requests lost theirs and this
		 * answers the newest, unless a request was lost after it. */
		if (lost_in && c->in_lost_after >= newest->no) {
			drop_pending_before(c, NULL);
			return NULL;
		}
		if (x != newest) {
			drop_pending_before(c, newest);
			if (c->pipelined)
				newest->rec.resp_truncated = 1;
		}
		x = newest;
	} else if (lost_in && c->in_lost_after < x->no && c->pipelined) {
		/* A request lost before x may be the one answered. */
		x->rec.resp_truncated = 1;
	}
	if (lost_in && x->no > c->in_lost_after)
		c->in_lost = 0;
	return x;
}

static int resp_begin(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x;

	/* Pair with the oldest request not yet answered. */
	for (x = c->pend_head; x && x == c->resp; x = x->next)
		;
	x = pair_after_loss(c, x);
	if (!x) {
		c->ra->st.orphan_responses++;
		c->resp = NULL;
		return 0;
	}
	c->resp = x;
	x->t_resp_first = c->now_ns;
	c->resp_sse = 0;
	c->resp_body_bytes = 0;
	return 0;
}

static int resp_headers_done(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x = c->resp;

	header_done(c, DG_DIR_OUT);
	if (!x)
		return 0;
	x->rec.status = p->status_code;
	/* 1xx: the real response follows. */
	if (p->status_code >= 100 && p->status_code < 200)
		return 0;
	if (!c->respbody)
		c->respbody = dg_respbody_new();
	if (c->respbody)
		dg_respbody_begin(c->respbody, c->resp_sse);
	c->in_body[DG_DIR_OUT] = 1;
	return x->head ? 1 : 0;   /* 1: no body follows */
}

static int resp_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (!c->resp)
		return 0;
	c->resp_body_bytes += (int64_t)len;
	if (!c->respbody)
		return 0;
	if (c->filler)
		dg_respbody_gap(c->respbody, len);
	else
		dg_respbody_feed(c->respbody, at, len);
	return 0;
}

static void resp_fields(struct conn *c, struct exchange *x)
{
	struct dg_resp_fields f;

	x->rec.output_bytes = c->resp_body_bytes;
	if (!c->respbody)
		return;
	memset(&f, 0, sizeof(f));
	dg_respbody_finish(c->respbody, &f);
	x->rec.output_tokens = f.output_tokens;
	if (f.truncated)
		x->rec.resp_truncated = 1;
	if (!x->rec.model[0] && f.model[0])
		snprintf(x->rec.model, sizeof(x->rec.model), "%s", f.model);
}

static int resp_complete(http_parser *p)
{
	struct conn *c = p->data;
	struct exchange *x = c->resp;

	c->in_body[DG_DIR_OUT] = 0;
	if (!x)
		return 0;
	if (p->status_code >= 100 && p->status_code < 200) {
		c->resp = NULL;    /* interim: keep waiting for the final one */
		x->t_resp_first = 0;
		return 0;
	}
	x->t_resp_end = c->now_ns;
	resp_fields(c, x);
	/* A response that beats the end of its request body still pairs (emit
	 * marks the request cut); the rest of that body is not parsed. */
	if (!x->req_done && c->cur_req == x) {
		emit(c, x, 0);
		c->cur_req = NULL;
		parser_reset(c, DG_DIR_IN);
		c->resync[DG_DIR_IN] = 1;
	} else {
		emit(c, x, 0);
	}
	pend_remove(c, x);
	return 0;
}

/* ---------- feeding ---------- */

static int starts_message(int dir, const uint8_t *p, size_t len)
{
	static const char *methods[] = { "GET ", "POST ", "PUT ", "DELETE ", "HEAD ",
					 "OPTIONS ", "PATCH " };

	if (dir == DG_DIR_OUT)
		return len >= 7 && !memcmp(p, "HTTP/1.", 7);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t m = strlen(methods[i]);
		if (len >= m && !memcmp(p, methods[i], m))
			return 1;
	}
	return 0;
}

/* Could p (short) be the first bytes of a message start? */
static int could_start_message(int dir, const uint8_t *p, size_t len)
{
	static const char *starts[] = { "HTTP/1.", "GET ", "POST ", "PUT ", "DELETE ", "HEAD ",
					"OPTIONS ", "PATCH " };

	for (size_t i = dir == DG_DIR_OUT ? 0 : 1; i < sizeof(starts) / sizeof(starts[0]); i++) {
		if (len < strlen(starts[i]) && !memcmp(p, starts[i], len))
			return 1;
		if (dir == DG_DIR_OUT)
			break;
	}
	return 0;
}

/* While resynchronising: does data (after what was kept) begin a message?
 * 1 yes, 0 not yet known (kept: a server may write "H", then "TTP/1.1"),
 * -1 no (dropped, counted). */
static int resync_start(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	uint8_t buf[16];
	size_t have = c->carry_len[dir], take = len < sizeof(buf) - have ? len : sizeof(buf) - have;

	memcpy(buf, c->carry[dir], have);
	memcpy(buf + have, data, take);
	if (starts_message(dir, buf, have + take))
		return 1;
	if (have + len <= sizeof(c->carry[dir]) && could_start_message(dir, buf, have + take)) {
		memcpy(c->carry[dir] + have, data, len);
		c->carry_len[dir] += len;
		return 0;
	}
	c->ra->st.resync_dropped += have + len;
	c->carry_len[dir] = 0;
	return -1;
}

/* Lose the current message of one direction: the exchange it belongs to
 * (if any) is emitted as partial, and the parser waits for a new start. */
static void lose_framing(struct conn *c, int dir)
{
	if (dir == DG_DIR_OUT && c->resp) {
		struct exchange *x = c->resp;
		x->t_resp_end = c->now_ns;
		resp_fields(c, x);
		x->rec.resp_truncated = 1;
		emit(c, x, 0);
		pend_remove(c, x);
	} else if (dir == DG_DIR_IN && c->cur_req) {
		struct exchange *x = c->cur_req;
		x->rec.req_truncated = 1;
		if (c->reqbody)
			req_fields(x, c->reqbody);
		x->req_done = 1;
		x->t_req_end = c->now_ns;
		c->cur_req = NULL;     /* queued at headers_done, or never queued: */
		if (!queued(c, x))
			free(x);
	}
	parser_reset(c, dir);
	c->resync[dir] = 1;
	c->carry_len[dir] = 0;
	if (dir == DG_DIR_OUT) {
		c->out_lost = 1;
	} else {
		c->in_lost = 1;
		c->in_lost_after = c->req_no;
	}
}

static void feed(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	struct dg_reasm *ra = c->ra;
	http_parser *p = &c->p[dir];
	size_t n;

	if (!len)
		return;
	if (c->resync[dir]) {
		uint8_t kept[8];
		size_t nk = c->carry_len[dir];

		if (resync_start(c, dir, data, len) <= 0)
			return;
		c->resync[dir] = 0;
		c->carry_len[dir] = 0;
		memcpy(kept, c->carry[dir], nk);
		feed(c, dir, kept, nk);
	}
	n = http_parser_execute(p, &ra->ps[dir], (const char *)data, len);
	if (p->http_errno != HPE_OK || (n != len && !p->upgrade)) {
		/* http_parser stops after a HEAD response (return 1) and on errors. */
		if (p->http_errno == HPE_OK && n < len) {
			parser_reset(c, dir);
			feed(c, dir, data + n, len - n);
			return;
		}
		ra->st.parse_errors++;
		lose_framing(c, dir);
		if (n < len && n > 0)
			feed(c, dir, data + n, len - n);
	}
}

static void feed_gap(struct conn *c, int dir, uint64_t gap)
{
	http_parser *p = &c->p[dir];
	int chunked = p->flags & F_CHUNKED;
	uint64_t left = gap;

	if (c->resync[dir])
		return;
	if (!c->in_body[dir] ||
	    (p->content_length != ULLONG_MAX && gap > p->content_length) ||
	    (chunked && p->content_length == ULLONG_MAX)) {
		c->ra->st.gaps_framing_lost++;
		lose_framing(c, dir);
		return;
	}
	c->filler = 1;
	while (left && c->in_body[dir] && !c->resync[dir]) {
		size_t n = left < sizeof(filler_buf) ? (size_t)left : sizeof(filler_buf);
		feed(c, dir, (const uint8_t *)filler_buf, n);
		left -= n;
	}
	c->filler = 0;
}

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
	/* A body read until EOF ends here. */
	c->now_ns = c->closed ? c->closed_ns : c->last_ns;
	if (c->in_body[DG_DIR_OUT] && !c->resync[DG_DIR_OUT])
		http_parser_execute(&c->p[DG_DIR_OUT], &ra->ps[DG_DIR_OUT], NULL, 0);
	if (c->cur_req && !queued(c, c->cur_req)) {
		free(c->cur_req);
		c->cur_req = NULL;
	}
	/* Requests without a (whole) response are still requests. */
	while (c->pend_head) {
		struct exchange *x = c->pend_head;
		if (c->resp == x) {
			x->t_resp_end = c->now_ns;
			resp_fields(c, x);
		}
		emit(c, x, 1);
		pend_pop_free(c);
	}
	if (ra->on_conn) {
		memset(&s, 0, sizeof(s));
		s.conn = c->id;
		snprintf(s.ip, sizeof(s.ip), "%s", c->ip);
		s.lport = c->t.lport;
		s.tls = c->tls;
		s.opened = c->opened_ns ? to_unix(ra, c->opened_ns) : 0;
		s.closed = c->closed ? to_unix(ra, c->closed_ns) : 0;
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
	dg_lru_unlink(&ra->lru, &c->lru);
	ra->nconns--;
	if (c->reqbody)
		dg_reqbody_free(c->reqbody);
	if (c->respbody)
		dg_respbody_free(c->respbody);
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
	cfg->close_grace = 1;
	cfg->max_body = DG_REQBODY_MAX;
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
	if (!ra->buckets) {
		free(ra);
		return NULL;
	}
	ra->on_record = on_record;
	ra->on_conn = on_conn;
	ra->arg = arg;

	http_parser_settings_init(&ra->ps[DG_DIR_IN]);
	ra->ps[DG_DIR_IN].on_message_begin = req_begin;
	ra->ps[DG_DIR_IN].on_url = req_url;
	ra->ps[DG_DIR_IN].on_header_field = on_header_field;
	ra->ps[DG_DIR_IN].on_header_value = on_header_value;
	ra->ps[DG_DIR_IN].on_headers_complete = req_headers_done;
	ra->ps[DG_DIR_IN].on_body = req_body;
	ra->ps[DG_DIR_IN].on_message_complete = req_complete;

	http_parser_settings_init(&ra->ps[DG_DIR_OUT]);
	ra->ps[DG_DIR_OUT].on_message_begin = resp_begin;
	ra->ps[DG_DIR_OUT].on_header_field = on_header_field;
	ra->ps[DG_DIR_OUT].on_header_value = on_header_value;
	ra->ps[DG_DIR_OUT].on_headers_complete = resp_headers_done;
	ra->ps[DG_DIR_OUT].on_body = resp_body;
	ra->ps[DG_DIR_OUT].on_message_complete = resp_complete;
	return ra;
}

void dg_reasm_free(struct dg_reasm *ra)
{
	if (!ra)
		return;
	dg_reasm_flush(ra);
	free(ra->buckets);
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
