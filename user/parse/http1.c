/* http1.c — HTTP/1.1 reassembly with http_parser.
 *
 * Each connection has two http_parser instances, one per direction. A
 * request that finishes its headers becomes an exchange on the connection's
 * pending queue (pipelining); the next response to start is paired with the
 * oldest exchange, and when it completes the exchange becomes a record.
 * A gap inside a body of known length keeps HTTP framing (filler bytes are
 * parsed in its place and the body parsers told); otherwise the exchange is
 * marked truncated and the parser resynchronises on the next message start.
 * After a loss, a response is paired only where that is certain
 * (pair_after_loss). */
#include "reassemble_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

static const char filler_buf[4096];

static void parser_reset(struct conn *c, int dir)
{
	http_parser_init(&c->p[dir], dir == DG_DIR_IN ? HTTP_REQUEST : HTTP_RESPONSE);
	c->p[dir].data = c;
	c->in_body[dir] = 0;
	memset(&c->h[dir], 0, sizeof(c->h[dir]));
}

/* HTTP/1.1 keeps one request body parser per connection: a request
 * emitted before its body ended takes the fields found so far. */
static void emit1(struct conn *c, struct exchange *x, int partial)
{
	if (!x->req_done && c->cur_req == x && c->reqbody)
		dg_rx_req_fields(x, c->reqbody);
	dg_rx_emit(c, x, partial);
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

static void header_done(struct conn *c, int dir)
{
	struct hdr_acc *h = &c->h[dir];

	if (!h->name_len)
		return;
	h->name[h->name_len] = 0;
	if (dir == DG_DIR_IN && c->cur_req)
		dg_rx_header(c, c->cur_req, h->name, h->val, h->val_len, h->truncated);
	if (dir == DG_DIR_OUT && !strcasecmp(h->name, "content-type"))
		c->resp_sse = dg_rx_is_sse(h->val, h->val_len);
	/* Header values may hold a raw key: never keep them past this point.
	 * Only the first val_len bytes were written (on_header_value), and
	 * wiping all DG_HVAL_MAX for every header was 5 KB a request. */
	sodium_memzero(h->val, h->val_len);
	h->name_len = h->val_len = 0;
	h->in_value = 0;
	h->truncated = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	int dir = p->type == HTTP_REQUEST ? DG_DIR_IN : DG_DIR_OUT;
	struct hdr_acc *h = &c->h[dir];
	size_t n;

	if (h->in_value)
		header_done(c, dir);
	n = len < DG_HNAME_MAX - 1 - h->name_len ? len : DG_HNAME_MAX - 1 - h->name_len;
	memcpy(h->name + h->name_len, at, n);
	h->name_len += n;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	int dir = p->type == HTTP_REQUEST ? DG_DIR_IN : DG_DIR_OUT;
	struct hdr_acc *h = &c->h[dir];
	size_t n = len < DG_HVAL_MAX - h->val_len ? len : DG_HVAL_MAX - h->val_len;

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
	struct exchange *x = dg_rx_exchange(c);

	if (c->cur_req && !queued(c, c->cur_req))
		free(c->cur_req);
	c->cur_req = x;
	if (!x)
		return -1;
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
	dg_rx_head_done(c, x);
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX)
		x->rec.req_bytes = (int64_t)p->content_length;
	else
		x->rec.req_bytes = 0;
	/* Queue it now: a server may answer before the body is read. */
	if (c->n_pend >= c->ra->cfg.max_pending) {
		/* Bound hit: report the oldest as unanswered rather than lose it. */
		c->ra->st.pending_full++;
		emit1(c, c->pend_head, 1);
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
		dg_rx_req_fields(x, c->reqbody);
	c->cur_req = NULL;     /* owned by the pending queue now */
	return 0;
}

/* ---------- response side ---------- */

/* Emit every pending exchange before upto (NULL: all) as unanswered. */
static void drop_pending_before(struct conn *c, struct exchange *upto)
{
	while (c->pend_head && c->pend_head != upto && c->pend_head != c->resp) {
		emit1(c, c->pend_head, 1);
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
	dg_rx_resp_fields(x, c->respbody, c->resp_body_bytes);
	/* A response that beats the end of its request body still pairs (emit
	 * marks the request cut); the rest of that body is not parsed. */
	if (!x->req_done && c->cur_req == x) {
		emit1(c, x, 0);
		c->cur_req = NULL;
		parser_reset(c, DG_DIR_IN);
		c->resync[DG_DIR_IN] = 1;
	} else {
		emit1(c, x, 0);
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

/* Whole messages of dir may have gone: pairing must know (pair_after_loss). */
static void mark_lost(struct conn *c, int dir)
{
	if (dir == DG_DIR_OUT) {
		c->out_lost = 1;
	} else {
		c->in_lost = 1;
		c->in_lost_after = c->req_no;
	}
}

/* Lose the current message of one direction: the exchange it belongs to
 * (if any) is emitted as partial, and the parser waits for a new start. */
static void lose_framing(struct conn *c, int dir)
{
	if (dir == DG_DIR_OUT && c->resp) {
		struct exchange *x = c->resp;
		x->t_resp_end = c->now_ns;
		dg_rx_resp_fields(x, c->respbody, c->resp_body_bytes);
		x->rec.resp_truncated = 1;
		emit1(c, x, 0);
		pend_remove(c, x);
	} else if (dir == DG_DIR_IN && c->cur_req) {
		struct exchange *x = c->cur_req;
		x->rec.req_truncated = 1;
		if (c->reqbody)
			dg_rx_req_fields(x, c->reqbody);
		x->req_done = 1;
		x->t_req_end = c->now_ns;
		c->cur_req = NULL;     /* queued at headers_done, or never queued: */
		if (!queued(c, x))
			free(x);
	}
	parser_reset(c, dir);
	c->resync[dir] = 1;
	c->carry_len[dir] = 0;
	mark_lost(c, dir);
}

void dg_http1_feed(struct conn *c, int dir, const uint8_t *data, size_t len)
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
		dg_http1_feed(c, dir, kept, nk);
	}
	n = http_parser_execute(p, &ra->ps[dir], (const char *)data, len);
	if (p->http_errno != HPE_OK || (n != len && !p->upgrade)) {
		/* http_parser stops after a HEAD response (return 1) and on errors. */
		if (p->http_errno == HPE_OK && n < len) {
			parser_reset(c, dir);
			dg_http1_feed(c, dir, data + n, len - n);
			return;
		}
		ra->st.parse_errors++;
		lose_framing(c, dir);
		if (n < len && n > 0)
			dg_http1_feed(c, dir, data + n, len - n);
	}
}

void dg_http1_gap(struct conn *c, int dir, uint64_t gap)
{
	http_parser *p = &c->p[dir];
	int chunked = p->flags & F_CHUNKED;
	uint64_t left = gap;

	if (c->resync[dir]) {
		mark_lost(c, dir);
		return;
	}
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
		dg_http1_feed(c, dir, (const uint8_t *)filler_buf, n);
		left -= n;
	}
	c->filler = 0;
}


void dg_http1_init(struct conn *c)
{
	parser_reset(c, DG_DIR_IN);
	parser_reset(c, DG_DIR_OUT);
}

void dg_http1_join(struct conn *c)
{
	c->resync[DG_DIR_IN] = c->resync[DG_DIR_OUT] = 1;
}

void dg_http1_finish(struct conn *c)
{
	/* A body read until EOF ends here. */
	if (c->in_body[DG_DIR_OUT] && !c->resync[DG_DIR_OUT])
		http_parser_execute(&c->p[DG_DIR_OUT], &c->ra->ps[DG_DIR_OUT], NULL, 0);
	if (c->cur_req && !queued(c, c->cur_req)) {
		free(c->cur_req);
		c->cur_req = NULL;
	}
	/* Requests without a (whole) response are still requests. */
	while (c->pend_head) {
		struct exchange *x = c->pend_head;
		if (c->resp == x) {
			x->t_resp_end = c->now_ns;
			dg_rx_resp_fields(x, c->respbody, c->resp_body_bytes);
		}
		emit1(c, x, 1);
		pend_pop_free(c);
	}
	if (c->reqbody)
		dg_reqbody_free(c->reqbody);
	if (c->respbody)
		dg_respbody_free(c->respbody);
	c->reqbody = NULL;
	c->respbody = NULL;
}

void dg_http1_settings(http_parser_settings ps[2])
{
	http_parser_settings_init(&ps[DG_DIR_IN]);
	ps[DG_DIR_IN].on_message_begin = req_begin;
	ps[DG_DIR_IN].on_url = req_url;
	ps[DG_DIR_IN].on_header_field = on_header_field;
	ps[DG_DIR_IN].on_header_value = on_header_value;
	ps[DG_DIR_IN].on_headers_complete = req_headers_done;
	ps[DG_DIR_IN].on_body = req_body;
	ps[DG_DIR_IN].on_message_complete = req_complete;

	http_parser_settings_init(&ps[DG_DIR_OUT]);
	ps[DG_DIR_OUT].on_message_begin = resp_begin;
	ps[DG_DIR_OUT].on_header_field = on_header_field;
	ps[DG_DIR_OUT].on_header_value = on_header_value;
	ps[DG_DIR_OUT].on_headers_complete = resp_headers_done;
	ps[DG_DIR_OUT].on_body = resp_body;
	ps[DG_DIR_OUT].on_message_complete = resp_complete;
}
