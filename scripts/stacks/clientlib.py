"""What scripts/load.py and the stack clients (aioload.py, h2load.py,
curl_load.py) share: the options, the plan (which request is streamed, which
API and model), the request bytes (build_request), the answer counting and
the "sent" JSON lines that tests/integration/verify.py compares with the
trace. Standard library only, so it runs under any python3.

Each stack client prints one line per completed request:
  {"conn": c, "i": i, "path": ..., "model": ..., "stream": bool, "key": raw key
   or null, "tokens": T, "status": 200, "output_tokens": n, "req_bytes": body
   size sent, "max_tokens": T, "answer_bytes": body size received,
   "http": "1.1" | "2", "client": NAME, "ip": source address (when bound)}
(load.py leaves out "req_bytes" .. "ip" unless given one of its extended
options, and never writes "client".)
"""
import argparse
import json
import random
import ssl
import sys
import threading
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


# the help of the shared options; load.py words some of them its own way
HELP = {
    "keys": "number of API keys <prefix><i> (0: send none)",
    "key_header": None,
    "messages_first": None,
    "prompt_bytes": "comma list: request i's body is LIST[i %% len] bytes",
    "tokens_list": "comma list: request i asks LIST[i %% len] tokens",
    "answer_bytes": "comma list: x-dg-body-bytes of non-streamed request i",
    "logprobs": "chat requests ask for top_logprobs K",
}


def add_args(ap, url_default="https://127.0.0.1:19001", connections=2, requests=20,
             name=True, helps=None):
    """The options load.py and the stack clients share (--name when name)."""
    h = dict(HELP, **(helps or {}))
    ap.add_argument("--url", default=url_default)
    ap.add_argument("--connections", type=int, default=connections)
    ap.add_argument("--requests", type=int, default=requests)
    ap.add_argument("--stream-ratio", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=1, help=h["keys"])
    ap.add_argument("--key-prefix", default="sk-test-")
    ap.add_argument("--key-header", choices=["bearer", "auto"], default="bearer",
                    help=h["key_header"])
    ap.add_argument("--api", choices=["openai", "anthropic", "mixed"], default="openai")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--models", default="dg-small")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--source-address", help="local address to connect from")
    ap.add_argument("--messages-first", action="store_true", help=h["messages_first"])
    ap.add_argument("--prompt-bytes", help=h["prompt_bytes"])
    ap.add_argument("--tokens-list", help=h["tokens_list"])
    ap.add_argument("--answer-bytes", help=h["answer_bytes"])
    ap.add_argument("--logprobs", type=int, help=h["logprobs"])
    if name:
        ap.add_argument("--name", default=None, help="client name written in each line")


def check_counts(ap, opts):
    if opts.connections < 1 or opts.requests < 0 or opts.tokens < 0:
        ap.error("need --connections >= 1, --requests >= 0, --tokens >= 0")
    if not 0.0 <= opts.stream_ratio <= 1.0:
        ap.error("--stream-ratio must be within 0..1")


def parse_lists(opts):
    """--prompt-bytes, --tokens-list, --answer-bytes: comma lists to lists (or None)."""
    opts.prompt_bytes = int_list(opts.prompt_bytes, "--prompt-bytes") if opts.prompt_bytes else None
    opts.tokens_list = int_list(opts.tokens_list, "--tokens-list") if opts.tokens_list else None
    opts.answer_bytes = int_list(opts.answer_bytes, "--answer-bytes") if opts.answer_bytes else None


def parse_url(opts):
    """opts.https, host, port and base (the path before /v1) from opts.url;
    False when it is not http(s)://HOST[:PORT][/PATH]."""
    u = urlsplit(opts.url)
    if u.scheme not in ("http", "https") or not u.hostname:
        return False
    opts.https = u.scheme == "https"
    opts.host = u.hostname
    opts.port = u.port or (443 if opts.https else 80)
    base = u.path.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    opts.base = base
    return True


def finish(ap, opts):
    check_counts(ap, opts)
    parse_lists(opts)
    if not parse_url(opts):
        ap.error("--url must be http(s)://HOST:PORT")
    return opts


def url_for(opts, path):
    return "%s://%s:%d%s" % ("https" if opts.https else "http", opts.host, opts.port, path)


def tls_context():
    """An HTTP/1.1 (ALPN) client context that checks no certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def per_conn(opts):
    """The plan split by connection: request i goes to connection i % C."""
    out = [[] for _ in range(opts.connections)]
    for item in build_plan(opts):
        out[item[0] % opts.connections].append(item)
    return out


def key_for(opts, c):
    return "%s%d" % (opts.key_prefix, c % opts.keys) if opts.keys > 0 else None


class Req:
    """One planned request: what to send and what to expect back."""

    def __init__(self, opts, c, item, key):
        i, api, stream, model, prompt = item
        self.c, self.i, self.api, self.stream, self.model, self.key = c, i, api, stream, model, key
        self.T = opts.tokens_list[i % len(opts.tokens_list)] if opts.tokens_list else opts.tokens
        ab = opts.answer_bytes[i % len(opts.answer_bytes)] if opts.answer_bytes else None
        self.path, self.headers, self.data = build_request(
            opts.base, api, stream, model, prompt, key, self.T, opts.key_header,
            messages_first=opts.messages_first,
            prompt_bytes=opts.prompt_bytes[i % len(opts.prompt_bytes)] if opts.prompt_bytes else None,
            answer_bytes=ab, logprobs=opts.logprobs)
        self.answer_bytes = int(self.headers["x-dg-body-bytes"]) if "x-dg-body-bytes" in self.headers else None

    def record(self, opts, status, raw, http, extended=True):
        """The sent line, before the answer is counted; without extended
        (load.py's short lines) only conn .. status."""
        rec = {"conn": self.c, "i": self.i, "path": self.path, "model": self.model,
               "stream": self.stream, "key": self.key, "tokens": self.T, "status": status}
        if extended:
            rec.update({"req_bytes": len(self.data), "max_tokens": self.T,
                        "answer_bytes": len(raw) if raw is not None else None, "http": http})
            if getattr(opts, "name", None):
                rec["client"] = opts.name
            if opts.source_address:
                rec["ip"] = opts.source_address
        return rec

    def check(self, rec, status, raw):
        """The error of an answer (None: right), its output tokens put in rec.
        An answer that does not parse raises ValueError."""
        if status != 200:
            return "request %d: HTTP %s: %s" % (self.i, status, (raw or b"")[:200])
        n = output_tokens(self.api, self.stream, raw)
        rec["output_tokens"] = n
        if n != self.T:
            return "request %d: %s output tokens, expected %d" % (self.i, n, self.T)
        if self.answer_bytes is not None and len(raw) != self.answer_bytes:
            return "request %d: answer of %d bytes, asked for %d" % (
                self.i, len(raw), self.answer_bytes)
        return None

    def result(self, opts, status, raw, http):
        """(sent line, error or None) once the whole answer is in."""
        rec = self.record(opts, status, raw, http)
        try:
            return rec, self.check(rec, status, raw)
        except ValueError as e:
            return rec, "request %d: answer not parsed: %s" % (self.i, e)


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
