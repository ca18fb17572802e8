/* exchange.c — one request and its response on the way to a record: what
 * its headers say about the client, the fields of both bodies, and the
 * record handed on. Shared by HTTP/1.1 (http1.c) and HTTP/2 (h2streams.c). */
#include "reassemble_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forwarded.h"
#include "keyhash.h"
#include "netaddr.h"

/* src into dst (size bytes, cut to fit, NUL-terminated): what
 * snprintf(dst, size, "%s", src) does, without printf's parsing, a few
 * times per record. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Header names compared case-insensitively, the first byte before the
 * call: each request header is held against several names. */
static int is_header(const char *name, const char *want)
{
	return ((name[0] ^ want[0]) & ~0x20) == 0 && !strcasecmp(name, want);
}

double dg_rx_unix(const struct dg_reasm *ra, uint64_t ns)
{
	return (double)ns / 1e9 + ra->cfg.mono_to_real;
}

struct exchange *dg_rx_exchange(struct conn *c)
{
	struct exchange *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	dg_record_init(&x->rec);
	x->t_start = c->now_ns;
	x->rec.ts = dg_rx_unix(c->ra, c->now_ns);
	x->rec.conn = c->id;
	x->rec.tls = c->tls;
	x->rec.port = c->t.lport;
	memcpy(x->rec.ja4, c->ja4, sizeof(c->ja4));
	memcpy(x->rec.proc, c->proc, sizeof(x->rec.proc));
	memcpy(x->rec.peer_ip, c->ip, sizeof(x->rec.peer_ip));
	x->rec.peer_port = c->t.rport;
	x->rec.srv_pid = c->pid;
	return x;
}

static int proxy_trusted(const struct dg_reasm *ra, const char *ip)
{
	for (int i = 0; i < ra->cfg.n_proxies; i++)
		if (dg_prefix_match_str(&ra->cfg.proxies[i], ip))
			return 1;
	return 0;
}

/* An address alone (no prefix) of at most DG_IP_LEN - 1 characters,
 * copied into out. */
static int take_address(const char *v, size_t len, char out[DG_IP_LEN])
{
	struct dg_prefix p;

	if (!len || len >= DG_IP_LEN || memchr(v, '/', len))
		return -1;
	memcpy(out, v, len);
	out[len] = 0;
	return dg_prefix_parse(out, &p);
}

static int xff_sep(char ch)
{
	return ch == ',' || ch == ' ' || ch == '\t';
}

/* X-Forwarded-For from a trusted peer: walk from the right end (the hop
 * our proxy added), skipping trusted proxies; the first untrusted hop is
 * the client. Anything that is not an address keeps the peer's: hops to
 * the left of it were written by whoever sent the request. */
static void take_xff(struct conn *c, struct exchange *x, const char *v, size_t len)
{
	size_t end = len;

	while (end > 0) {
		char hop[DG_IP_LEN];
		size_t start;

		while (end > 0 && xff_sep(v[end - 1]))
			end--;
		if (!end)
			return;
		start = end;
		while (start > 0 && !xff_sep(v[start - 1]))
			start--;
		if (take_address(v + start, end - start, hop))
			return;                 /* junk: keep the peer address */
		end = start;
		while (end > 0 && xff_sep(v[end - 1]))
			end--;
		if (end > 0 && proxy_trusted(c->ra, hop))
			continue;               /* a trusted hop with more to its left */
		copy_str(x->xff_ip, sizeof(x->xff_ip), hop);
		return;
	}
}

/* Whatever the peer, the client a proxy names is kept apart from the
 * record's ip: it links the legs of a proxy on this host (legs.h).
 * Forwarded wins over X-Forwarded-For / X-Forwarded-Port. */
static void note_forwarded(const struct conn *c, struct exchange *x, const char *name,
			   const char *v, size_t len)
{
	struct dg_record *r = &x->rec;
	char ip[DG_FWD_IP_LEN];
	uint16_t port = 0;

	if (is_header(name, "forwarded")) {
		if (!dg_fwd_forwarded(v, len, ip, &port)) {
			memcpy(r->fwd_ip, ip, sizeof(r->fwd_ip));
			r->fwd_port = port;
			x->fwd_rfc = 1;
		}
	} else if (x->fwd_rfc) {
		return;
	} else if (is_header(name, "x-forwarded-for")) {
		if (!dg_fwd_xff_last(v, len, ip))
			memcpy(r->fwd_ip, ip, sizeof(r->fwd_ip));
	} else if (is_header(name, c->ra->cfg.client_port_header)) {
		if (!dg_fwd_port(v, len, &port))
			r->fwd_port = port;
	}
}

void dg_rx_header(struct conn *c, struct exchange *x, const char *name, const char *v,
		  size_t len, int cut)
{
	struct dg_record *r = &x->rec;
	const char *key;
	size_t klen;

	if (dg_key_from_header(name, v, len, &key, &klen)) {
		if (!r->key[0])
			dg_key_hash(c->ra->cfg.secret, key, klen, r->key);
		return;
	}
	/* A value cut by the header bounds lost its right end: the hops our
	 * proxy wrote. It names nobody. */
	if (c->ra->cfg.n_proxies && !cut && proxy_trusted(c->ra, c->ip)) {
		char ip[DG_IP_LEN];

		if (is_header(name, "x-forwarded-for"))
			take_xff(c, x, v, len);
		else if (is_header(name, "x-real-ip") && !x->xff_ip[0] &&
			 !take_address(v, len, ip))
			copy_str(x->xff_ip, sizeof(x->xff_ip), ip);
	}
	note_forwarded(c, x, name, v, len);
}

/* Upstream mode: a request from a trusted proxy that names its client's
 * address and port is tied to the client's own connection on a front
 * port: the record takes its JA4 (the proxy's upstream connection has
 * none of the client's), and that connection is the one to cut. */
static const struct conn *tie_front(struct conn *c, struct exchange *x)
{
	struct dg_record *r = &x->rec;
	const struct conn *f;

	if (!c->ra->cfg.n_front_ports || !r->fwd_ip[0] || !r->fwd_port ||
	    !proxy_trusted(c->ra, c->ip))
		return NULL;
	if (!(f = dg_rx_front_conn(c->ra, r->fwd_ip, r->fwd_port))) {
		c->ra->st.front_untied++;
		return NULL;
	}
	c->ra->st.front_tied++;
	r->front_port = f->t.lport;
	if (f->ja4[0])
		memcpy(r->ja4, f->ja4, sizeof(r->ja4));
	return f;
}

void dg_rx_head_done(struct conn *c, struct exchange *x)
{
	struct dg_record *r = &x->rec;
	const struct conn *front = tie_front(c, x);
	/* The client: the peer of its own connection when tied to it, else
	 * what a trusted proxy says, else the peer. */
	const char *ip = front ? front->ip : x->xff_ip[0] ? x->xff_ip : c->ip;
	struct dg_head h;

	copy_str(r->ip, sizeof(r->ip), ip);
	if (r->key[0]) {
		memcpy(r->client, "key:", 4);
		copy_str(r->client + 4, sizeof(r->client) - 4, r->key);
	} else {
		memcpy(r->client, "ip:", 3);
		copy_str(r->client + 3, sizeof(r->client) - 3, ip[0] ? ip : "unknown");
	}
	if (!c->ra->on_head)
		return;
	memset(&h, 0, sizeof(h));
	h.conn = front ? front->id : c->id;
	h.ts = r->ts;
	memcpy(h.client, r->client, sizeof(h.client));
	memcpy(h.peer_ip, front ? front->ip : c->ip, sizeof(h.peer_ip));
	h.tied = front ? 1 : c->have_tuple;
	c->ra->on_head(&h, c->ra->head_arg);
}

int dg_rx_is_sse(const char *v, size_t len)
{
	return len >= 17 && !strncasecmp(v, "text/event-stream", 17);
}

void dg_rx_req_fields(struct exchange *x, struct dg_reqbody *rb)
{
	struct dg_req_fields f;
	struct dg_record *r = &x->rec;

	memset(&f, 0, sizeof(f));
	dg_reqbody_finish(rb, &f);
	if (f.parse_error && !f.model[0] && f.messages < 0)
		return;
	copy_str(r->model, sizeof(r->model), f.model);
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
	r->logit_bias_n = f.logit_bias_n;
	r->has_logit_bias_fp = f.has_logit_bias_fp;
	r->logit_bias_fp = f.logit_bias_fp;
	r->has_parent_fp = f.has_parent_fp;
	r->parent_fp = f.parent_fp;
	r->has_tail_fp = f.has_tail_fp;
	r->tail_fp = f.tail_fp;
	r->reasoning_param = f.reasoning_param;
	r->cot_prompt = f.cot_prompt;
	if (f.truncated)
		r->req_truncated = 1;
}

void dg_rx_resp_fields(struct exchange *x, struct dg_respbody *rb, int64_t body_bytes)
{
	struct dg_resp_fields f;

	x->rec.output_bytes = body_bytes;
	if (!rb)
		return;
	memset(&f, 0, sizeof(f));
	dg_respbody_finish(rb, &f);
	x->rec.output_tokens = f.output_tokens;
	if (f.truncated)
		x->rec.resp_truncated = 1;
	if (!x->rec.model[0] && f.model[0])
		copy_str(x->rec.model, sizeof(x->rec.model), f.model);
}

void dg_rx_emit(struct conn *c, struct exchange *x, int partial)
{
	struct dg_reasm *ra = c->ra;
	struct dg_record *r = &x->rec;

	/* A request emitted before its body ended (its answer came first, or
	 * bytes of either side were lost) says so. */
	if (!x->req_done) {
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
