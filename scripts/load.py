#!/usr/bin/env python3
"""Load generator for distillguard tests and demos (standard library only).

usage: load.py [--url https://127.0.0.1:18443] [--connections C] [--requests N]
               [--stream-ratio R] [--seed S] [--keys K] [--api openai|anthropic|mixed]
               [--tokens T] [--models a,b] [--key-header bearer|auto]
               [--timeout SEC]

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
"""
import argparse
import http.client
import json
import random
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

TOPICS = ["sorting algorithms", "binary search trees", "dynamic programming",
          "prime numbers", "graph colouring", "regular expressions",
          "matrix multiplication", "hash tables", "TCP congestion control",
          "integer factorisation", "recursion", "linear regression"]


def count_openai_stream(body):
    """(content chunks, usage completion_tokens or None) of an OpenAI SSE body."""
    chunks, usage = 0, None
    for line in body.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            continue
        ev = json.loads(data)
        for ch in ev.get("choices") or []:
            d = ch.get("delta")
            text = d.get("content") if isinstance(d, dict) else ch.get("text")
            if text:
                chunks += 1
        u = ev.get("usage")
        if isinstance(u, dict):
            usage = u.get("completion_tokens")
    return usage if usage is not None else chunks


def count_anthropic_stream(body):
    deltas, usage = 0, None
    for line in body.split(b"\n"):
        if line.startswith(b"data:"):
            ev = json.loads(line[5:].strip())
            if ev.get("type") == "content_block_delta":
                deltas += 1
            elif ev.get("type") == "message_delta":
                usage = (ev.get("usage") or {}).get("output_tokens")
    return usage if usage is not None else deltas


def output_tokens(api, stream, body):
    if stream:
        return count_anthropic_stream(body) if api == "anthropic" else count_openai_stream(body)
    obj = json.loads(body)
    u = obj.get("usage") or {}
    return u.get("output_tokens") if api == "anthropic" else u.get("completion_tokens")


def build_plan(opts):
    rng = random.Random(opts.seed)
    models = [m for m in opts.models.split(",") if m] or ["dg-small"]
    plan = []
    for i in range(opts.requests):
        stream = rng.random() < opts.stream_ratio
        if opts.api == "mixed":
            api = "anthropic" if rng.random() < 0.5 else "openai"
        else:
            api = opts.api
        model = models[rng.randrange(len(models))]
        topic = TOPICS[rng.randrange(len(TOPICS))]
        plan.append((i, api, stream, model, "Request %d: explain %s in detail, variant %d."
                     % (i, topic, rng.randrange(1 << 20))))
    return plan


class Runner:
    def __init__(self, opts):
        self.opts = opts
        u = urlsplit(opts.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            sys.exit("load.py: --url must be http(s)://HOST:PORT")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        base = u.path.rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self.base = base
        if self.https:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self.ctx = ctx
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0

    def connect(self):
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                               timeout=self.opts.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.opts.timeout)

    def emit(self, rec, good, err=None):
        with self.lock:
            if good:
                self.ok += 1
            else:
                self.failed += 1
            if rec is not None:
                sys.stdout.write(json.dumps(rec) + "\n")
                sys.stdout.flush()
            if err:
                sys.stderr.write("load.py: %s\n" % err)

    def request(self, conn, c, key, item):
        i, api, stream, model, prompt = item
        T = self.opts.tokens
        headers = {"Content-Type": "application/json", "Accept":
                   "text/event-stream" if stream else "application/json",
                   "x-dg-tokens": str(T), "User-Agent": "dg-load/1.0"}
        if api == "anthropic":
            path = self.base + "/v1/messages"
            body = {"model": model, "max_tokens": T,
                    "system": "You are a helpful assistant.",
                    "messages": [{"role": "user", "content": prompt}]}
            headers["anthropic-version"] = "2023-06-01"
            if key and self.opts.key_header == "auto":
                headers["x-api-key"] = key
            elif key:
                headers["Authorization"] = "Bearer " + key
        else:
            path = self.base + "/v1/chat/completions"
            body = {"model": model, "max_tokens": T,
                    "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                 {"role": "user", "content": prompt}]}
            if stream:
                body["stream_options"] = {"include_usage": True}
            if key:
                headers["Authorization"] = "Bearer " + key
        if stream:
            body["stream"] = True
        data = json.dumps(body).encode()
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()   # whole body, chunked streams included
        rec = {"conn": c, "i": i, "path": path, "model": model, "stream": stream,
               "key": key, "tokens": T, "status": resp.status}
        if resp.status != 200:
            return rec, "request %d: HTTP %d: %s" % (i, resp.status, raw[:200])
        n = output_tokens(api, stream, raw)
        rec["output_tokens"] = n
        if n != T:
            return rec, "request %d: %s output tokens, expected %d" % (i, n, T)
        return rec, None

    def worker(self, c, items):
        key = None
        if self.opts.keys > 0:
            key = "%s%d" % (self.opts.key_prefix, c % self.opts.keys)
        conn = self.connect()
        for item in items:
            try:
                rec, err = self.request(conn, c, key, item)
                self.emit(rec, err is None, err)
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.emit(None, False, "conn %d request %d: %s: %s"
                          % (c, item[0], type(e).__name__, e))
                conn.close()
                conn = self.connect()
        conn.close()


def main():
    ap = argparse.ArgumentParser(
        description="keep-alive load generator for distillguard tests")
    ap.add_argument("--url", default="https://127.0.0.1:18443")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--stream-ratio", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=1,
                    help="number of API keys sk-test-<i> (0: send none)")
    ap.add_argument("--key-prefix", default="sk-test-")
    ap.add_argument("--key-header", choices=["bearer", "auto"], default="bearer",
                    help="bearer: Authorization: Bearer everywhere; "
                         "auto: x-api-key on the Anthropic API")
    ap.add_argument("--api", choices=["openai", "anthropic", "mixed"], default="openai")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--models", default="dg-small")
    ap.add_argument("--timeout", type=float, default=60.0)
    opts = ap.parse_args()
    if opts.connections < 1 or opts.requests < 0 or opts.tokens < 0:
        ap.error("need --connections >= 1, --requests >= 0, --tokens >= 0")
    if not 0.0 <= opts.stream_ratio <= 1.0:
        ap.error("--stream-ratio must be within 0..1")

    runner = Runner(opts)
    plan = build_plan(opts)
    per_conn = [[] for _ in range(opts.connections)]
    for item in plan:
        per_conn[item[0] % opts.connections].append(item)
    t0 = time.monotonic()
    threads = [threading.Thread(target=runner.worker, args=(c, items), daemon=True)
               for c, items in enumerate(per_conn) if items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    sys.stderr.write("load.py: %d ok, %d failed, %d connections, %.2f s, %.0f req/s\n"
                     % (runner.ok, runner.failed, len(threads), dt,
                        (runner.ok + runner.failed) / dt if dt > 0 else 0))
    sys.exit(1 if runner.failed else 0)


if __name__ == "__main__":
    main()
