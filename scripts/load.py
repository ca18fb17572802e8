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
The request builder (build_request) and the answer counters are shared with
scripts/stacks/aioload.py, h2load.py and curl_load.py.
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


FILLER = (b"The quick brown fox jumps over the lazy dog while the model explains "
          b"each step of the proof in plain words. ").decode()


def int_list(text, name):
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or any(x < 0 for x in out):
        raise SystemExit("%s: need a comma list of non-negative integers" % name)
    return out


def build_request(base, api, stream, model, prompt, key, tokens, key_header="bearer",
                  messages_first=False, prompt_bytes=None, answer_bytes=None,
                  logprobs=None):
    """(path, headers, body bytes) of one request, as load.py sends it.
    With the defaults the bytes are load.py's historical ones."""
    T = tokens
    headers = {"Content-Type": "application/json", "Accept":
               "text/event-stream" if stream else "application/json",
               "x-dg-tokens": str(T), "User-Agent": "dg-load/1.0"}
    sized = prompt_bytes is not None
    if sized:
        messages_first = True
    if api == "anthropic":
        path = base + "/v1/messages"
        msgs = [{"role": "user", "content": prompt}]
        if messages_first:
            body = {"messages": msgs, "model": model, "max_tokens": T}
            if not sized:
                body["system"] = "You are a helpful assistant."
        else:
            body = {"model": model, "max_tokens": T,
                    "system": "You are a helpful assistant.",
                    "messages": msgs}
        headers["anthropic-version"] = "2023-06-01"
        if key and key_header == "auto":
            headers["x-api-key"] = key
        elif key:
            headers["Authorization"] = "Bearer " + key
        if stream:
            body["stream"] = True
    else:
        path = base + "/v1/chat/completions"
        msgs = [{"role": "user", "content": prompt}]
        if not sized:
            msgs.insert(0, {"role": "system", "content": "You are a helpful assistant."})
        if messages_first:
            body = {"messages": msgs, "model": model, "max_tokens": T}
            if stream:
                body["stream"] = True
                body["stream_options"] = {"include_usage": True}
        else:
            body = {"model": model, "max_tokens": T, "messages": msgs}
            if stream:
                body["stream_options"] = {"include_usage": True}
        if logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = logprobs
            headers["x-dg-logprobs"] = "1"
        if key:
            headers["Authorization"] = "Bearer " + key
        if stream and not messages_first:
            body["stream"] = True
    if answer_bytes and not stream:
        headers["x-dg-body-bytes"] = str(answer_bytes)
    data = json.dumps(body).encode()
    if sized and len(data) != prompt_bytes:
        # the user message is the last "content" before the other fields:
        # grow or cut it (ASCII, so one character is one byte)
        want = len(prompt) + prompt_bytes - len(data)
        if want >= len(prompt):
            text = prompt + (FILLER * (want // len(FILLER) + 1))[:want - len(prompt)]
        else:
            text = prompt[:max(0, want)]
        msgs[-1]["content"] = text
        data = json.dumps(body).encode()
    return path, headers, data


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
        src = (self.opts.source_address, 0) if self.opts.source_address else None
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                               timeout=self.opts.timeout,
                                               source_address=src)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.opts.timeout,
                                          source_address=src)

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
        o = self.opts
        T = o.tokens_list[i % len(o.tokens_list)] if o.tokens_list else o.tokens
        path, headers, data = build_request(
            self.base, api, stream, model, prompt, key, T, o.key_header,
            messages_first=o.messages_first,
            prompt_bytes=o.prompt_bytes[i % len(o.prompt_bytes)] if o.prompt_bytes else None,
            answer_bytes=o.answer_bytes[i % len(o.answer_bytes)] if o.answer_bytes else None,
            logprobs=o.logprobs)
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()   # whole body, chunked streams included
        rec = {"conn": c, "i": i, "path": path, "model": model, "stream": stream,
               "key": key, "tokens": T, "status": resp.status}
        if o.extended:
            rec.update({"req_bytes": len(data), "max_tokens": T, "answer_bytes": len(raw),
                        "http": "1.1"})
            if o.source_address:
                rec["ip"] = o.source_address
        if resp.status != 200:
            return rec, "request %d: HTTP %d: %s" % (i, resp.status, raw[:200])
        n = output_tokens(api, stream, raw)
        rec["output_tokens"] = n
        if n != T:
            return rec, "request %d: %s output tokens, expected %d" % (i, n, T)
        ab = headers.get("x-dg-body-bytes")
        if ab is not None and len(raw) != int(ab):
            return rec, "request %d: answer of %d bytes, asked for %s" % (i, len(raw), ab)
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
    ap.add_argument("--source-address", help="local address to connect from")
    ap.add_argument("--messages-first", action="store_true",
                    help="put \"messages\" first in the request body")
    ap.add_argument("--prompt-bytes", help="comma list: request i's body is LIST[i %% len] bytes")
    ap.add_argument("--tokens-list", help="comma list: request i asks LIST[i %% len] tokens")
    ap.add_argument("--answer-bytes",
                    help="comma list: x-dg-body-bytes for non-streamed request i (0: none)")
    ap.add_argument("--logprobs", type=int, help="ask chat requests for top_logprobs K")
    opts = ap.parse_args()
    opts.extended = any(v is not None and v is not False for v in (
        opts.source_address, opts.prompt_bytes, opts.tokens_list, opts.answer_bytes,
        opts.logprobs)) or opts.messages_first
    opts.prompt_bytes = int_list(opts.prompt_bytes, "--prompt-bytes") if opts.prompt_bytes else None
    opts.tokens_list = int_list(opts.tokens_list, "--tokens-list") if opts.tokens_list else None
    opts.answer_bytes = int_list(opts.answer_bytes, "--answer-bytes") if opts.answer_bytes else None
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
