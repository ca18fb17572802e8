/* test_exchange.c — one request and its response on the way to a record
 * (exchange.c), driven directly on a connection built by hand: the client
 * named by its API key or address, the head told as soon as it is parsed,
 * trusted proxies' X-Forwarded-For and X-Real-IP, Forwarded, the body
 * fields, timings and emitting; and the same through the reassembler. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "keyhash.h"
#include "netaddr.h"
#include "reassemble_int.h"
#include "reasm_feed.h"

/* A connection and its reassembler built by hand, so that exchange.c is
 * driven directly: a TLS connection from `peer` to port 8443, optionally
 * behind trusted proxies in `proxy`; records land in last, heads in head. */
struct rig {
	struct dg_reasm ra;
	struct conn c;
	struct dg_record last;
	int n;
	struct dg_head head;
	int heads;
};

static void rig_record(const struct dg_record *r, void *arg)
{
	struct rig *g = arg;

	g->last = *r;
	g->n++;
}

static void rig_head(const struct dg_head *h, void *arg)
{
	struct rig *g = arg;

	g->head = *h;
	g->heads++;
}

static struct rig *rig_new(const char *peer, const char *proxy)
{
	struct rig *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->ra.cfg.secret = secret;
	g->ra.cfg.mono_to_real = 1700000000.0;
	snprintf(g->ra.cfg.client_port_header, sizeof(g->ra.cfg.client_port_header),
		 "x-forwarded-port");
	if (proxy) {
		assert_int_equal(dg_prefix_parse(proxy, &g->ra.cfg.proxies[0]), 0);
		g->ra.cfg.n_proxies = 1;
	}
	g->ra.on_record = rig_record;
	g->ra.arg = g;
	g->c.ra = &g->ra;
	g->c.id = 77;
	g->c.tls = 1;
	g->c.t.lport = 8443;
	g->c.t.rport = 40000;
	g->c.pid = 1234;
	snprintf(g->c.ip, sizeof(g->c.ip), "%s", peer);
	snprintf(g->c.proc, sizeof(g->c.proc), "python3/1234");
	snprintf(g->c.ja4, sizeof(g->c.ja4), "t13d1812h1_85036bcba153_b26ce05bbdd6");
	g->c.now_ns = 5000000000ULL;
	return g;
}

static void hdr(struct rig *g, struct exchange *x, const char *name, const char *v)
{
	dg_rx_header(&g->c, x, name, v, strlen(v), 0);
}

/* A new exchange with up to two request headers, its head then done:
 * the record's client and ip are named. */
static struct exchange *named(struct rig *g, const char *h1, const char *v1, const char *h2,
			      const char *v2)
{
	struct exchange *x = dg_rx_exchange(&g->c);

	assert_non_null(x);
	if (h1)
		hdr(g, x, h1, v1);
	if (h2)
		hdr(g, x, h2, v2);
	dg_rx_head_done(&g->c, x);
	return x;
}

/* A new exchange takes the connection's time, identity and process. */
static void test_new_exchange(void **state)
{
	struct rig *g = rig_new("10.1.2.3", NULL);
	struct exchange *x = dg_rx_exchange(&g->c);

	assert_non_null(x);
	assert_true(dg_rx_unix(&g->ra, 2500000000ULL) == 1700000002.5);
	assert_true(x->rec.ts == 1700000005.0);
	assert_int_equal(x->t_start, 5000000000ULL);
	assert_int_equal(x->rec.conn, 77);
	assert_int_equal(x->rec.tls, 1);
	assert_int_equal(x->rec.port, 8443);
	assert_int_equal(x->rec.peer_port, 40000);
	assert_int_equal(x->rec.srv_pid, 1234);
	assert_string_equal(x->rec.peer_ip, "10.1.2.3");
	assert_string_equal(x->rec.proc, "python3/1234");
	assert_string_equal(x->rec.ja4, "t13d1812h1_85036bcba153_b26ce05bbdd6");
	assert_int_equal(x->rec.status, -1);
	assert_int_equal(x->rec.output_tokens, -1);
	assert_string_equal(x->rec.key, "");
	free(x);
	free(g);
}

/* An API key names the client by its keyed hash; the first key header
 * wins, and nothing of the raw key stays in the record. */
static void test_api_key_headers(void **state)
{
	struct rig *g = rig_new("10.1.2.3", NULL);
	const char *raw = "sk-live-0123456789abcdef";
	char want[13], other[13];
	struct exchange *x;

	dg_key_hash(secret, raw, strlen(raw), want);
	dg_key_hash(secret, "sk-other", 8, other);
	x = named(g, "Authorization", "Bearer sk-live-0123456789abcdef", "x-api-key", "sk-other");
	assert_string_equal(x->rec.key, want);
	assert_string_equal(x->rec.client + 4, want);
	assert_true(!strncmp(x->rec.client, "key:", 4));
	assert_string_equal(x->rec.ip, "10.1.2.3");
	assert_null(memmem(&x->rec, sizeof(x->rec), "0123456789abcdef", 16));
	free(x);

	x = named(g, "X-API-KEY", "sk-other", "Authorization", "Bearer sk-live-0123456789abcdef");
	assert_string_equal(x->rec.key, other);
	free(x);

	/* Not a key: the client is its address. */
	x = named(g, "Authorization", "Basic c2stbGl2ZQ==", "Proxy-Authorization", "Bearer sk-x");
	assert_string_equal(x->rec.key, "");
	assert_string_equal(x->rec.client, "ip:10.1.2.3");
	free(x);

	/* No address known either. */
	g->c.ip[0] = 0;
	x = named(g, NULL, NULL, NULL, NULL);
	assert_string_equal(x->rec.client, "ip:unknown");
	assert_string_equal(x->rec.ip, "");
	free(x);
	free(g);
}

/* When its head is parsed, a request is told to on_head, if set, named
 * as its record will be. */
static void test_head_done(void **state)
{
	struct rig *g = rig_new("10.1.2.3", "10.1.2.0/24");
	struct exchange *x;
	char want[13];

	x = named(g, "x-api-key", "sk-head", NULL, NULL);
	assert_int_equal(g->heads, 0);                    /* none asked for */
	free(x);
	g->ra.on_head = rig_head;
	g->ra.head_arg = g;
	g->c.have_tuple = 1;
	g->c.now_ns = 7250000000ULL;
	x = named(g, "x-api-key", "sk-head", "X-Forwarded-For", "203.0.113.7");
	dg_key_hash(secret, "sk-head", 7, want);
	assert_int_equal(g->heads, 1);
	assert_int_equal(g->head.conn, 77);
	assert_true(g->head.ts == 1700000007.25);
	assert_string_equal(g->head.client, x->rec.client);
	assert_string_equal(g->head.client + 4, want);
	assert_string_equal(g->head.peer_ip, "10.1.2.3");  /* the socket's, not the proxy's client */
	assert_int_equal(g->head.tied, 1);
	free(x);
	g->c.have_tuple = 0;
	x = named(g, "X-Forwarded-For", "203.0.113.7", NULL, NULL);
	assert_int_equal(g->heads, 2);
	assert_string_equal(g->head.client, "ip:203.0.113.7");
	assert_int_equal(g->head.tied, 0);
	free(x);
	free(g);
}

/* Behind a trusted proxy the client is the first hop from the right of
 * X-Forwarded-For that is not a trusted proxy (else X-Real-IP); junk keeps
 * the peer. From an untrusted peer those headers change nothing. */
static void test_trusted_proxy_headers(void **state)
{
	static const struct {
		const char *h1, *v1, *h2, *v2, *ip;
	} cases[] = {
		{ "X-Forwarded-For", "203.0.113.7, 10.1.2.200", NULL, NULL, "203.0.113.7" },
		{ "x-forwarded-for", "198.51.100.1, 203.0.113.7", NULL, NULL, "203.0.113.7" },
		{ "X-Forwarded-For", "198.51.100.1,203.0.113.7,\t10.1.2.9 ,10.1.2.8", NULL, NULL,
		  "203.0.113.7" },
		{ "X-Forwarded-For", "10.1.2.9", NULL, NULL, "10.1.2.9" },     /* only a proxy */
		{ "X-Forwarded-For", "2001:db8::5, 10.1.2.200", NULL, NULL, "2001:db8::5" },
		{ "X-Forwarded-For", "203.0.113.7, junk", NULL, NULL, "10.1.2.3" },
		{ "X-Forwarded-For", "", NULL, NULL, "10.1.2.3" },
		{ "X-Real-IP", "198.51.100.4", NULL, NULL, "198.51.100.4" },
		{ "X-Real-IP", "not an address", NULL, NULL, "10.1.2.3" },
		{ "X-Forwarded-For", "203.0.113.7", "X-Real-IP", "198.51.100.4", "203.0.113.7" },
		{ "X-Real-IP", "198.51.100.4", "X-Forwarded-For", "203.0.113.7", "203.0.113.7" },
		{ "Authorization", "Bearer sk-1", "X-Forwarded-For", "203.0.113.7", "203.0.113.7" },
	};
	struct rig *g = rig_new("10.1.2.3", "10.1.2.0/24");
	struct rig *untrusted = rig_new("192.0.2.1", "10.1.2.0/24");
	struct rig *none = rig_new("10.1.2.3", NULL);
	struct exchange *x;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = named(g, cases[i].h1, cases[i].v1, cases[i].h2, cases[i].v2);
		assert_string_equal(x->rec.ip, cases[i].ip);
		if (!x->rec.key[0]) {
			assert_true(!strncmp(x->rec.client, "ip:", 3));
			assert_string_equal(x->rec.client + 3, cases[i].ip);
		}
		/* The socket's own peer is kept whatever the headers say. */
		assert_string_equal(x->rec.peer_ip, "10.1.2.3");
		free(x);
		x = named(untrusted, cases[i].h1, cases[i].v1, cases[i].h2, cases[i].v2);
		assert_string_equal(x->rec.ip, "192.0.2.1");
		free(x);
		x = named(none, cases[i].h1, cases[i].v1, cases[i].h2, cases[i].v2);
		assert_string_equal(x->rec.ip, "10.1.2.3");
		free(x);
	}
	free(g);
	free(untrusted);
	free(none);
}

/* A client that writes its own X-Forwarded-For hops cannot pass for
 * another: the hop the proxy added (the right end) decides, however many
 * hops come before it; a prefix is not an address; a value cut by the
 * header bound names nobody. */
static void test_xff_spoofing(void **state)
{
	struct rig *g = rig_new("10.1.2.3", "10.1.2.0/24");
	char many[2048];
	size_t n = 0;
	struct exchange *x;

	(void)state;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "198.51.100.%d, ", i);
	snprintf(many + n, sizeof(many) - n, "203.0.113.7, 10.1.2.200");
	x = named(g, "X-Forwarded-For", many, NULL, NULL);
	assert_string_equal(x->rec.ip, "203.0.113.7");
	free(x);
	x = named(g, "X-Forwarded-For", "203.0.113.7/24", NULL, NULL);
	assert_string_equal(x->rec.ip, "10.1.2.3");
	free(x);
	x = named(g, "X-Real-IP", "203.0.113.0/24", NULL, NULL);
	assert_string_equal(x->rec.ip, "10.1.2.3");
	free(x);
	/* Cut by the bound: the proxy's hop is gone. */
	x = dg_rx_exchange(&g->c);
	dg_rx_header(&g->c, x, "x-forwarded-for", "198.51.100.9", 12, 1);
	dg_rx_head_done(&g->c, x);
	assert_string_equal(x->rec.ip, "10.1.2.3");
	free(x);
	free(g);
}

/* Whatever the peer, the client a proxy names is noted apart (fwd_ip,
 * fwd_port); Forwarded wins over X-Forwarded-For and -Port in either
 * order, unless it names nobody. */
static void test_forwarded_fields(void **state)
{
	struct rig *g = rig_new("192.0.2.1", NULL);
	struct exchange *x;

	x = named(g, "Forwarded", "for=\"192.0.2.43:4711\";proto=https", NULL, NULL);
	assert_string_equal(x->rec.fwd_ip, "192.0.2.43");
	assert_int_equal(x->rec.fwd_port, 4711);
	assert_string_equal(x->rec.ip, "192.0.2.1");
	free(x);

	x = named(g, "X-Forwarded-For", "203.0.113.7, 198.51.100.9", "X-Forwarded-Port", "8443");
	assert_string_equal(x->rec.fwd_ip, "198.51.100.9");
	assert_int_equal(x->rec.fwd_port, 8443);
	assert_string_equal(x->rec.ip, "192.0.2.1");
	free(x);

	x = named(g, "Forwarded", "for=192.0.2.43", "X-Forwarded-For", "198.51.100.9");
	assert_string_equal(x->rec.fwd_ip, "192.0.2.43");
	assert_int_equal(x->rec.fwd_port, 0);
	free(x);

	x = dg_rx_exchange(&g->c);
	hdr(g, x, "X-Forwarded-For", "198.51.100.9");
	hdr(g, x, "X-Forwarded-Port", "9000");
	hdr(g, x, "Forwarded", "for=\"[2001:db8:cafe::17]\"");
	hdr(g, x, "X-Forwarded-Port", "9001");
	assert_string_equal(x->rec.fwd_ip, "2001:db8:cafe::17");
	assert_int_equal(x->rec.fwd_port, 0);
	free(x);

	x = named(g, "Forwarded", "for=unknown", "X-Forwarded-For", "198.51.100.9");
	assert_string_equal(x->rec.fwd_ip, "198.51.100.9");
	free(x);

	x = named(g, "X-Forwarded-For", "198.51.100.9, junk", "X-Forwarded-Port", "99999");
	assert_string_equal(x->rec.fwd_ip, "");
	assert_int_equal(x->rec.fwd_port, 0);
	free(x);
	free(g);
}

static void test_is_sse(void **state)
{
	const char *v = "text/event-stream; charset=utf-8";

	assert_true(dg_rx_is_sse("text/event-stream", 17));
	assert_true(dg_rx_is_sse(v, strlen(v)));
	assert_true(dg_rx_is_sse("Text/Event-Stream", 17));
	assert_false(dg_rx_is_sse("text/event-stream", 16));
	assert_false(dg_rx_is_sse("text/event", 10));
	assert_false(dg_rx_is_sse("application/json", 16));
	assert_false(dg_rx_is_sse("", 0));
}

/* Emitting: durations from the exchange's times, what is unfinished said,
 * the connection's and reassembler's counts, the record handed on. */
static void test_emit(void **state)
{
	struct rig *g = rig_new("10.1.2.3", NULL);
	struct exchange *x = dg_rx_exchange(&g->c);

	x->t_start = 1000000000ULL;
	x->t_req_end = 1500000000ULL;
	x->t_resp_first = 2000000000ULL;
	x->t_resp_end = 3000000000ULL;
	x->req_done = 1;
	x->rec.ja4[0] = 0;                  /* the JA4 came after the exchange began */
	dg_rx_emit(&g->c, x, 0);
	assert_int_equal(g->n, 1);
	assert_true(g->last.duration_ms == 2000);
	assert_true(g->last.ttfb_ms == 500);
	assert_int_equal(g->last.req_truncated, 0);
	assert_int_equal(g->last.resp_truncated, 0);
	assert_string_equal(g->last.ja4, g->c.ja4);
	assert_int_equal(g->c.requests, 1);
	assert_int_equal(g->c.partial, 0);
	assert_int_equal(g->ra.st.records, 1);
	free(x);

	/* Answered before the request ended; request unfinished; cut. */
	x = dg_rx_exchange(&g->c);
	x->t_start = 1000000000ULL;
	x->t_req_end = 2500000000ULL;
	x->t_resp_first = 2000000000ULL;
	dg_rx_emit(&g->c, x, 1);
	assert_int_equal(g->n, 2);
	assert_true(g->last.ttfb_ms == 0);
	assert_true(g->last.duration_ms < 0);   /* no end of response */
	assert_int_equal(g->last.req_truncated, 1);
	assert_int_equal(g->last.resp_truncated, 1);
	assert_int_equal(x->req_done, 1);
	assert_int_equal(g->c.requests, 2);
	assert_int_equal(g->c.partial, 1);
	assert_int_equal(g->ra.st.records, 2);
	assert_int_equal(g->ra.st.records_partial, 1);
	free(x);

	/* No response at all: no time to first byte. */
	x = dg_rx_exchange(&g->c);
	x->t_req_end = 2500000000ULL;
	x->req_done = 1;
	dg_rx_emit(&g->c, x, 1);
	assert_true(g->last.ttfb_ms < 0);
	free(x);
	free(g);
}

/* The body parsers' fields go into the record. */
static void test_body_fields(void **state)
{
	struct rig *g = rig_new("10.1.2.3", NULL);
	struct dg_reqbody *rb = dg_reqbody_new(secret);
	struct dg_respbody *sb = dg_respbody_new();
	const char *resp = "{\"model\":\"gpt-served\",\"usage\":{\"completion_tokens\":42}}";
	struct exchange *x;

	assert_non_null(rb);
	assert_non_null(sb);
	x = dg_rx_exchange(&g->c);
	dg_reqbody_feed(rb, REQ_BODY, strlen(REQ_BODY));
	dg_rx_req_fields(x, rb);
	assert_string_equal(x->rec.model, "gpt-test");
	assert_int_equal(x->rec.stream, 0);
	assert_int_equal(x->rec.messages, 2);
	assert_int_equal(x->rec.max_tokens, 100);
	assert_int_equal(x->rec.cot_prompt, 1);
	assert_int_equal(x->rec.has_temperature, 1);
	assert_true(x->rec.temperature == 0.5);
	assert_int_equal(x->rec.has_system_fp, 1);
	assert_int_equal(x->rec.req_truncated, 0);
	dg_respbody_begin(sb, 0);
	dg_respbody_feed(sb, resp, strlen(resp));
	dg_rx_resp_fields(x, sb, 1234);
	assert_int_equal(x->rec.output_tokens, 42);
	assert_int_equal(x->rec.output_bytes, 1234);
	assert_string_equal(x->rec.model, "gpt-test");   /* the request's model stays */
	free(x);

	/* A body that is not JSON leaves the record's fields unknown; the
	 * response's model fills in. */
	x = dg_rx_exchange(&g->c);
	dg_reqbody_reset(rb);
	dg_reqbody_feed(rb, "\x01\x02 not json", 11);
	dg_rx_req_fields(x, rb);
	assert_string_equal(x->rec.model, "");
	assert_int_equal(x->rec.messages, -1);
	assert_int_equal(x->rec.stream, -1);
	assert_int_equal(x->rec.prompt_bytes, -1);
	assert_int_equal(x->rec.logprobs, -1);
	assert_int_equal(x->rec.cot_prompt, -1);
	dg_respbody_begin(sb, 0);
	dg_respbody_feed(sb, resp, strlen(resp));
	dg_rx_resp_fields(x, sb, 56);
	assert_string_equal(x->rec.model, "gpt-served");
	free(x);

	/* A request cut short says so; without a body parser only the size. */
	x = dg_rx_exchange(&g->c);
	dg_reqbody_reset(rb);
	dg_reqbody_feed(rb, REQ_BODY, 60);
	dg_rx_req_fields(x, rb);
	assert_int_equal(x->rec.req_truncated, 1);
	dg_rx_resp_fields(x, NULL, 99);
	assert_int_equal(x->rec.output_bytes, 99);
	assert_int_equal(x->rec.output_tokens, -1);
	free(x);
	dg_reqbody_free(rb);
	dg_respbody_free(sb);
	free(g);
}

/* The same through the reassembler: a trusted peer's header is used, an
 * untrusted one's is not. */
static void test_forwarded_for(void **state)
{
	struct sink *s = malloc(sizeof(*s));
	struct dg_reasm_config cfg;
	struct dg_reasm *ra;
	const char *req =
		"GET /health HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.200\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	memset(s, 0, sizeof(*s));
	dg_reasm_config_default(&cfg);
	cfg.secret = secret;
	dg_prefix_parse("10.1.2.0/24", &cfg.proxies[0]);
	cfg.n_proxies = 1;
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	put_str(ra, 16, DG_DIR_IN, req);
	put_str(ra, 16, DG_DIR_OUT, resp);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->recs[0].ip, "203.0.113.7");
	assert_string_equal(s->recs[0].client, "ip:203.0.113.7");
	dg_reasm_free(ra);

	/* An untrusted peer's header is ignored. */
	cfg.n_proxies = 0;
	memset(s, 0, sizeof(*s));
	ra = dg_reasm_new(&cfg, on_record, on_conn, s);
	put_str(ra, 17, DG_DIR_IN, req);
	put_str(ra, 17, DG_DIR_OUT, resp);
	assert_string_equal(s->recs[0].ip, "10.1.2.3");
	dg_reasm_free(ra);
	free(s);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_exchange),
		cmocka_unit_test(test_api_key_headers),
		cmocka_unit_test(test_head_done),
		cmocka_unit_test(test_trusted_proxy_headers),
		cmocka_unit_test(test_xff_spoofing),
		cmocka_unit_test(test_forwarded_fields),
		cmocka_unit_test(test_is_sse),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_body_fields),
		cmocka_unit_test(test_forwarded_for),
	};
	return cmocka_run_group_tests_name("exchange", tests, NULL, NULL);
}
