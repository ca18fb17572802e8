/* h2streams.c — HTTP/2 streams to exchanges: each client stream (odd id)
 * with its request headers, body, response headers and body becomes one
 * record, as an HTTP/1.1 exchange does. Frames and HPACK are h2.c's.
 *
 * A stream has its own body parsers (streams interleave). At most
 * DG_H2_STREAMS are followed at once per connection; one more and the
 * oldest is emitted as it stands (h2_streams_full). A reset stream is
 * emitted as cut; a direction h2.c can no longer follow (LOST) cuts every
 * open stream's part in it (h2_lost). Pushed streams (even ids) and
 * interim (1xx) responses are not requests and make no record. */
#include "reassemble_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

struct h2_stream {
	uint32_t id;                   /* 0: free slot */
	uint64_t opened;               /* order of arrival, for the bound */
	struct exchange *x;
	struct dg_reqbody *req;
	struct dg_respbody *resp;
	int64_t req_body, resp_body;   /* DATA bytes each way */
	int have_length;               /* content-length named the request body size */
	int sse, answered;
};

static void stream_free(struct h2_stream *s)
{
	if (s->req)
		dg_reqbody_free(s->req);
	if (s->resp)
		dg_respbody_free(s->resp);
	free(s->x);
	memset(s, 0, sizeof(*s));
}

/* Emit the stream's record as it stands, and forget the stream. */
static void stream_emit(struct conn *c, struct h2_stream *s, int partial)
{
	struct exchange *x = s->x;

	if (!x->req_done && s->req)
		dg_rx_req_fields(x, s->req);
	if (s->answered) {
		if (!x->t_resp_end)
			x->t_resp_end = c->now_ns;
		dg_rx_resp_fields(x, s->resp, s->resp_body);
	}
	dg_rx_emit(c, x, partial);
	stream_free(s);
	c->n_streams--;
}

static struct h2_stream *stream_find(struct conn *c, uint32_t id)
{
	for (size_t i = 0; i < DG_H2_STREAMS; i++)
		if (c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

/* A free slot for a new stream; when all are taken, the oldest goes. */
static struct h2_stream *stream_slot(struct conn *c)
{
	struct h2_stream *free_slot = stream_find(c, 0), *oldest = NULL;

	if (free_slot)
		return free_slot;
	for (size_t i = 0; i < DG_H2_STREAMS; i++)
		if (!oldest || c->streams[i].opened < oldest->opened)
			oldest = &c->streams[i];
	c->ra->st.h2_streams_full++;
	stream_emit(c, oldest, 1);
	return oldest;
}

static int is(const struct dg_h2_header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name_len == n && !memcmp(h->name, name, n);
}

static int64_t number(const char *v, size_t len)
{
	int64_t n = 0;

	if (!len || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* A client's request headers open a stream. */
static void request_headers(struct conn *c, const struct dg_h2_event *e)
{
	struct h2_stream *s;
	struct exchange *x;

	if (!(e->stream & 1) || stream_find(c, e->stream))
		return;
	s = stream_slot(c);
	x = dg_rx_exchange(c);
	if (!x)
		return;
	memset(s, 0, sizeof(*s));
	s->id = e->stream;
	s->opened = ++c->req_no;
	s->x = x;
	x->no = s->opened;
	c->n_streams++;
	for (size_t i = 0; i < e->n_hdrs; i++) {
		const struct dg_h2_header *h = &e->hdrs[i];
		char name[DG_HNAME_MAX];
		size_t n = h->name_len < sizeof(name) - 1 ? h->name_len : sizeof(name) - 1;

		if (is(h, ":method")) {
			snprintf(x->rec.method, sizeof(x->rec.method), "%.*s", (int)h->value_len, h->value);
		} else if (is(h, ":path")) {
			size_t pl = h->value_len;
			const char *q = memchr(h->value, '?', pl);

			if (q)
				pl = (size_t)(q - h->value);
			snprintf(x->rec.path, sizeof(x->rec.path), "%.*s", (int)pl, h->value);
		} else if (is(h, "content-length")) {
			x->rec.req_bytes = number(h->value, h->value_len);
			s->have_length = x->rec.req_bytes >= 0;
		} else if (h->name_len && h->name[0] != ':') {
			/* HTTP/2 names are lowercase already. */
			memcpy(name, h->name, n);
			name[n] = 0;
			dg_rx_header(c, x, name, h->value, h->value_len,
				     h->value_len >= DG_H2_MAX_VALUE);
		}
	}
	dg_rx_head_done(c, x);
	if (!s->have_length)
		x->rec.req_bytes = 0;
	if ((s->req = dg_reqbody_new(c->ra->cfg.secret)))
		dg_reqbody_set_limit(s->req, c->ra->cfg.max_body);
}

static void response_headers(struct conn *c, struct h2_stream *s, const struct dg_h2_event *e)
{
	struct exchange *x = s->x;
	int status = -1;

	for (size_t i = 0; i < e->n_hdrs; i++) {
		const struct dg_h2_header *h = &e->hdrs[i];

		if (is(h, ":status"))
			status = (int)number(h->value, h->value_len);
		else if (is(h, "content-type"))
			s->sse = dg_rx_is_sse(h->value, h->value_len);
	}
	if (status >= 100 && status < 200)
		return;                /* interim: the real response follows */
	x->rec.status = status;
	x->t_resp_first = c->now_ns;
	s->answered = 1;
	if (!s->resp)
		s->resp = dg_respbody_new();
	if (s->resp)
		dg_respbody_begin(s->resp, s->sse);
}

static void request_end(struct conn *c, struct h2_stream *s)
{
	struct exchange *x = s->x;

	if (x->req_done)
		return;
	if (!s->have_length)
		x->rec.req_bytes = s->req_body;
	if (s->req && s->req_body > 0)
		dg_rx_req_fields(x, s->req);
	x->req_done = 1;
	x->t_req_end = c->now_ns;
}

static void on_data(struct h2_stream *s, int dir, const struct dg_h2_event *e)
{
	if (dir == DG_DIR_IN) {
		s->req_body += (int64_t)(e->type == DG_H2_DATA ? e->len : e->gap);
		if (!s->req)
			return;
		if (e->type == DG_H2_DATA)
			dg_reqbody_feed(s->req, (const char *)e->data, e->len);
		else
			dg_reqbody_gap(s->req, e->gap);
		return;
	}
	if (!s->answered)
		return;
	s->resp_body += (int64_t)(e->type == DG_H2_DATA ? e->len : e->gap);
	if (!s->resp)
		return;
	if (e->type == DG_H2_DATA)
		dg_respbody_feed(s->resp, (const char *)e->data, e->len);
	else
		dg_respbody_gap(s->resp, e->gap);
}

/* A direction h2.c can no longer follow: every open stream is cut there. */
static void on_lost(struct conn *c, int dir)
{
	c->ra->st.h2_lost++;
	for (size_t i = 0; i < DG_H2_STREAMS; i++) {
		struct h2_stream *s = &c->streams[i];

		if (!s->id)
			continue;
		if (dir == DG_DIR_IN && !s->x->req_done) {
			if (s->req)
				dg_rx_req_fields(s->x, s->req);
			s->x->rec.req_truncated = 1;
			s->x->req_done = 1;
		} else if (dir == DG_DIR_OUT) {
			stream_emit(c, s, 1);
		}
	}
}

static void on_event(const struct dg_h2_event *e, void *arg)
{
	struct conn *c = arg;
	struct h2_stream *s;

	if (e->type == DG_H2_LOST) {
		on_lost(c, e->dir);
		return;
	}
	if (e->type == DG_H2_GOAWAY)
		return;
	if (e->type == DG_H2_HEADERS && e->dir == DG_DIR_IN && !e->trailers) {
		request_headers(c, e);
		return;
	}
	if (!e->stream || !(s = stream_find(c, e->stream)))
		return;
	switch (e->type) {
	case DG_H2_HEADERS:
		if (e->dir == DG_DIR_OUT && !e->trailers)
			response_headers(c, s, e);
		break;
	case DG_H2_DATA:
	case DG_H2_DATA_GAP:
		on_data(s, e->dir, e);
		break;
	case DG_H2_END:
		if (e->dir == DG_DIR_IN) {
			request_end(c, s);
		} else if (s->answered) {
			s->x->t_resp_end = c->now_ns;
			request_end(c, s);
			stream_emit(c, s, 0);
		}
		break;
	case DG_H2_RESET:
		stream_emit(c, s, 1);
		break;
	}
}

int dg_h2s_start(struct conn *c)
{
	c->streams = calloc(DG_H2_STREAMS, sizeof(*c->streams));
	c->h2 = c->streams ? dg_h2_new(on_event, c) : NULL;
	if (!c->h2) {
		free(c->streams);
		c->streams = NULL;
		return -1;
	}
	return 0;
}

void dg_h2s_feed(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	dg_h2_feed(c->h2, dir, data, len);
}

void dg_h2s_gap(struct conn *c, int dir, uint64_t gap)
{
	dg_h2_gap(c->h2, dir, gap);
}

void dg_h2s_finish(struct conn *c)
{
	const struct dg_h2_stats *st;

	if (!c->h2)
		return;
	for (size_t i = 0; i < DG_H2_STREAMS; i++)
		if (c->streams[i].id)
			stream_emit(c, &c->streams[i], 1);
	st = dg_h2_stats(c->h2);
	c->ra->st.h2_headers_cut += st->headers_dropped + st->values_truncated;
	dg_h2_free(c->h2);
	free(c->streams);
	c->h2 = NULL;
	c->streams = NULL;
}
