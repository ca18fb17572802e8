#!/usr/bin/env python3
"""Load generator for distillguard tests and demos (standard library only).

usage: load.py [--url https://127.0.0.1:18443] [--connections C] [--requests N]
               [--stream-ratio R] [--seed S] [--keys K] [--api openai|anthropic|mixed]
               [--tokens T] [--models a,b] [--key-header bearer|auto]
               [--timeout SEC] [--source-address IP] [--messages-first]
               [--prompt-bytes LIST] [--tokens-list LIST] [--answer-bytes LIST]
               [--logprobs K]

C persistent keep-alive connections (one thread each) share N requests:
request i goes to connection i % C. Connection c uses the API key
sk-test-<c % K> (none when K is 0), sent as "Authorization: Bearer"
(--key-header auto sends x-api-key on the Anthropic API instead). Each request
asks for T output tokens with the x-dg-tokens header (and max_tokens T), so
the answer length is known. Whether a request streams, which API and which
model it uses are drawn from --seed, so a run is reproducible.

Every response is read to its end (streams included) before the connection
sends its next request. One JSON line per completed request on stdout:
  {"conn": c, "i": i, "path": ..., "model": ..., "stream": bool,
   "key": raw key or null, "tokens": T, "status": 200, "output_tokens": n}
A summary goes to stderr. Exit status 1 if any request failed (transport
error, status other than 200, or an answer of the wrong length).

Optional (none of these changes a run that does not give them):
  --source-address IP  connect from IP (e.g. 127.0.0.3), so the server sees
                       this client apart from a proxy on 127.0.0.1.
  --messages-first     "messages" is the body's first field, then "model",
                       "max_tokens", "stream", "stream_options", "logprobs",
                       "top_logprobs" (the default order has "model" first).
  --prompt-bytes LIST  comma list; request i's body is exactly LIST[i % len]
                       bytes (the user message is padded or cut; no system
                       prompt), or the smallest it can be when that is more.
                       Implies --messages-first, so the fields after a long
                       "messages" are what a capture bound would lose.
  --tokens-list LIST   request i asks for LIST[i % len] tokens (instead of T).
  --answer-bytes LIST  non-streamed request i sends x-dg-body-bytes:
                       LIST[i % len] (0: none): the JSON answer is padded to
                       exactly that many body bytes by the server.
  --logprobs K         chat requests ask for logprobs with top_logprobs K and
                       send x-dg-logprobs: 1 (the server then returns them).
With any of these, each output line also has "req_bytes" (the body size
sent), "max_tokens", "answer_bytes" (the body size received), "http" ("1.1")
and, with --source-address, "ip".
The request builder, the plan, the answer counters and the sent lines are
scripts/stacks/clientlib.py's, shared with aioload.py, h2load.py and
curl_load.py there.
"""
import argparse
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stacks"))
import clientlib  # noqa: E402  (scripts/stacks/clientlib.py)

# load.py's own words for some of the shared options
HELP = {
    "keys": "number of API keys sk-test-<i> (0: send none)",
    "key_header": "bearer: Authorization: Bearer everywhere; "
                  "auto: x-api-key on the Anthropic API",
    "messages_first": "put \"messages\" first in the request body",
    "answer_bytes": "comma list: x-dg-body-bytes for non-streamed request i (0: none)",
    "logprobs": "ask chat requests for top_logprobs K",
}


class Runner:
    def __init__(self, opts):
        self.opts = opts
        if not clientlib.parse_url(opts):
            sys.exit("load.py: --url must be http(s)://HOST:PORT")
        if opts.https:
            self.ctx = clientlib.tls_context()
        self.em = clientlib.Emitter("load.py")

    def connect(self):
        o = self.opts
        src = (o.source_address, 0) if o.source_address else None
        if o.https:
            return http.client.HTTPSConnection(o.host, o.port, context=self.ctx,
                                               timeout=o.timeout, source_address=src)
        return http.client.HTTPConnection(o.host, o.port, timeout=o.timeout,
                                          source_address=src)

    def request(self, conn, c, key, item):
        r = clientlib.Req(self.opts, c, item, key)
        conn.request("POST", r.path, body=r.data, headers=r.headers)
        resp = conn.getresponse()
        raw = resp.read()   # whole body, chunked streams included
        rec = r.record(self.opts, resp.status, raw, "1.1", extended=self.opts.extended)
        return rec, r.check(rec, resp.status, raw)   # an answer not parsed: ValueError

    def worker(self, c, items):
        key = clientlib.key_for(self.opts, c)
        conn = self.connect()
        for item in items:
            try:
                self.em.emit(*self.request(conn, c, key, item))
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.em.emit(None, "conn %d request %d: %s: %s"
                             % (c, item[0], type(e).__name__, e))
                conn.close()
                conn = self.connect()
        conn.close()


def main():
    ap = argparse.ArgumentParser(
        description="keep-alive load generator for distillguard tests")
    clientlib.add_args(ap, "https://127.0.0.1:18443", connections=4, requests=100,
                       name=False, helps=HELP)
    opts = ap.parse_args()
    opts.extended = any(v is not None and v is not False for v in (
        opts.source_address, opts.prompt_bytes, opts.tokens_list, opts.answer_bytes,
        opts.logprobs)) or opts.messages_first
    clientlib.parse_lists(opts)
    clientlib.check_counts(ap, opts)

    runner = Runner(opts)
    per_conn = clientlib.per_conn(opts)
    t0 = time.monotonic()
    threads = [threading.Thread(target=runner.worker, args=(c, items), daemon=True)
               for c, items in enumerate(per_conn) if items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    em = runner.em
    sys.exit(em.summary(", %d connections, %.2f s, %.0f req/s"
                        % (len(threads), dt, (em.ok + em.failed) / dt if dt > 0 else 0)))


if __name__ == "__main__":
    main()
