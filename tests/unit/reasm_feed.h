/* reasm_feed.h — captured calls fed to a reassembler on one connection
 * (10.1.2.3 to 127.0.0.1:8443, 1 ms apart), and the chat request and answer
 * the reassembly tests share (test_reassemble, test_http1, test_exchange). */
#ifndef REASM_FEED_H
#define REASM_FEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "reassemble.h"

static const uint8_t secret[16] = "0123456789abcdef";

#define SINK_SECRET secret
#include "reasm_sink.h"

static uint64_t now = 1000000000ULL;

/* One captured call: head bytes, then len - head - tail bytes not sent
 * (the call's bound is head), then tail bytes: two pieces, as the kernel
 * sends them. */
static inline void put_cut(struct dg_reasm *ra, uint64_t conn, int dir, const char *data,
			   size_t len, size_t head, size_t tail)
{
	struct dg_chunk c = dg_chunk_call(conn, dir, data, head);

	c.src = DG_SRC_TLS;
	c.t.family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", c.t.raddr);
	inet_pton(AF_INET, "127.0.0.1", c.t.laddr);
	c.t.lport = 8443;
	c.t.rport = 40000;
	now += 1000000;     /* 1 ms per call */
	c.ts_ns = now;
	c.call_len = (uint32_t)len;
	c.bound = tail ? (uint32_t)head : 0;
	dg_reasm_chunk(ra, &c);
	if (!tail)
		return;
	c.off = (uint32_t)(len - tail);
	c.data = (const uint8_t *)data + len - tail;
	c.len = tail;
	dg_reasm_chunk(ra, &c);
}

static inline void put(struct dg_reasm *ra, uint64_t conn, int dir, const char *data,
		       size_t len)
{
	put_cut(ra, conn, dir, data, len, len, 0);
}

static inline void put_str(struct dg_reasm *ra, uint64_t conn, int dir, const char *s)
{
	put(ra, conn, dir, s, strlen(s));
}

static const char REQ_BODY[] =
	"{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
	"{\"role\":\"user\",\"content\":\"Think step by step: what is 17 * 23?\"}],"
	"\"model\":\"gpt-test\",\"max_tokens\":100,\"stream\":false,\"temperature\":0.5}";

static inline char *chat_request(const char *key, const char *path, const char *body)
{
	char *buf = malloc(8192);

	snprintf(buf, 8192,
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
		 "Accept: application/json\r\nContent-Type: application/json\r\n"
		 "User-Agent: OpenAI/JS 4.104.0\r\nAuthorization: Bearer %s\r\n"
		 "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s",
		 path, key, strlen(body), body);
	return buf;
}

static const char RESP_JSON[] =
	"HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.7\r\n"
	"Content-Type: application/json\r\nContent-Length: 240\r\n\r\n"
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-test\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"tok1 tok2 tok3 \"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":3,"
	"\"total_tokens\":23}}";

#endif
