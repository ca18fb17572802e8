"""What the stack clients (aioload.py, h2load.py, curl_load.py) share with
scripts/load.py: the options, the plan (which request is streamed, which API
and model), the request bytes (load.build_request), the answer counting and
the "sent" JSON lines that tests/integration/verify.py compares with the
trace. Standard library only, so it runs under any python3.

Each client prints one line per completed request:
  {"conn": c, "i": i, "path": ..., "model": ..., "stream": bool, "key": raw key
   or null, "tokens": T, "status": 200, "output_tokens": n, "req_bytes": body
   size sent, "max_tokens": T, "answer_bytes": body size received,
   "http": "1.1" | "2", "client": NAME, "ip": source address (when bound)}
"""
import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import load  # noqa: E402  (scripts/load.py)


def add_args(ap, url_default="https://127.0.0.1:19001"):
    ap.add_argument("--url", default=url_default)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--stream-ratio", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=1,
                    help="number of API keys <prefix><i> (0: send none)")
    ap.add_argument("--key-prefix", default="sk-test-")
    ap.add_argument("--key-header", choices=["bearer", "auto"], default="bearer")
    ap.add_argument("--api", choices=["openai", "anthropic", "mixed"], default="openai")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--models", default="dg-small")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--source-address", help="local address to connect from")
    ap.add_argument("--messages-first", action="store_true")
    ap.add_argument("--prompt-bytes", help="comma list: request i's body is LIST[i %% len] bytes")
    ap.add_argument("--tokens-list", help="comma list: request i asks LIST[i %% len] tokens")
    ap.add_argument("--answer-bytes", help="comma list: x-dg-body-bytes of non-streamed request i")
    ap.add_argument("--logprobs", type=int, help="chat requests ask for top_logprobs K")
    ap.add_argument("--name", default=None, help="client name written in each line")


def finish(ap, opts):
    if opts.connections < 1 or opts.requests < 0 or opts.tokens < 0:
        ap.error("need --connections >= 1, --requests >= 0, --tokens >= 0")
    if not 0.0 <= opts.stream_ratio <= 1.0:
        ap.error("--stream-ratio must be within 0..1")
    opts.prompt_bytes = load.int_list(opts.prompt_bytes, "--prompt-bytes") if opts.prompt_bytes else None
    opts.tokens_list = load.int_list(opts.tokens_list, "--tokens-list") if opts.tokens_list else None
    opts.answer_bytes = load.int_list(opts.answer_bytes, "--answer-bytes") if opts.answer_bytes else None
    from urllib.parse import urlsplit
    u = urlsplit(opts.url)
    if u.scheme not in ("http", "https") or not u.hostname:
        ap.error("--url must be http(s)://HOST:PORT")
    opts.https = u.scheme == "https"
    opts.host = u.hostname
    opts.port = u.port or (443 if opts.https else 80)
    base = u.path.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    opts.base = base
    return opts


def plan(opts):
    return load.build_plan(opts)


def key_for(opts, c):
    return "%s%d" % (opts.key_prefix, c % opts.keys) if opts.keys > 0 else None


class Req:
    """One planned request: what to send and what to expect back."""

    def __init__(self, opts, c, item, key):
        i, api, stream, model, prompt = item
        self.c, self.i, self.api, self.stream, self.model, self.key = c, i, api, stream, model, key
        self.T = opts.tokens_list[i % len(opts.tokens_list)] if opts.tokens_list else opts.tokens
        ab = opts.answer_bytes[i % len(opts.answer_bytes)] if opts.answer_bytes else None
        self.path, self.headers, self.data = load.build_request(
            opts.base, api, stream, model, prompt, key, self.T, opts.key_header,
            messages_first=opts.messages_first,
            prompt_bytes=opts.prompt_bytes[i % len(opts.prompt_bytes)] if opts.prompt_bytes else None,
            answer_bytes=ab, logprobs=opts.logprobs)
        self.answer_bytes = int(self.headers["x-dg-body-bytes"]) if "x-dg-body-bytes" in self.headers else None

    def result(self, opts, status, raw, http):
        """(sent line, error or None) once the whole answer is in."""
        rec = {"conn": self.c, "i": self.i, "path": self.path, "model": self.model,
               "stream": self.stream, "key": self.key, "tokens": self.T, "status": status,
               "req_bytes": len(self.data), "max_tokens": self.T,
               "answer_bytes": len(raw) if raw is not None else None, "http": http}
        if opts.name:
            rec["client"] = opts.name
        if opts.source_address:
            rec["ip"] = opts.source_address
        if status != 200:
            return rec, "request %d: HTTP %s: %s" % (self.i, status, (raw or b"")[:200])
        try:
            n = load.output_tokens(self.api, self.stream, raw)
        except ValueError as e:
            return rec, "request %d: answer not parsed: %s" % (self.i, e)
        rec["output_tokens"] = n
        if n != self.T:
            return rec, "request %d: %s output tokens, expected %d" % (self.i, n, self.T)
        if self.answer_bytes is not None and len(raw) != self.answer_bytes:
            return rec, "request %d: answer of %d bytes, asked for %d" % (
                self.i, len(raw), self.answer_bytes)
        return rec, None


class Emitter:
    def __init__(self, prog):
        self.prog = prog
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0

    def emit(self, rec, err=None):
        with self.lock:
            if err is None and rec is not None:
                self.ok += 1
            else:
                self.failed += 1
            if rec is not None:
                sys.stdout.write(json.dumps(rec) + "\n")
                sys.stdout.flush()
            if err:
                sys.stderr.write("%s: %s\n" % (self.prog, err))
                sys.stderr.flush()

    def summary(self, extra=""):
        sys.stderr.write("%s: %d ok, %d failed%s\n" % (self.prog, self.ok, self.failed, extra))
        return 1 if self.failed else 0


def parser(doc):
    return argparse.ArgumentParser(description=doc.strip().split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
