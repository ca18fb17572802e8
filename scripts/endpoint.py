#!/usr/bin/env python3
"""A local OpenAI/Anthropic-compatible inference endpoint for demos and tests.

It terminates TLS itself with Python's ssl module (libssl.so.3: the server
reads with SSL_read_ex and writes with SSL_write_ex, the calls distillguard's
uprobes watch) and can also serve plain HTTP. HTTP/1.1 with keep-alive, so a
client may send many requests on one connection. Standard library only.

usage: endpoint.py [--tls-port N]... [--plain-port N]... [--bind ADDR]...
                   [--cert F --key F] [--token-delay-ms X] [--first-token-ms X]
                   [--idle-timeout S] [--pid-file F] [--quiet]

Defaults: TLS on 127.0.0.1:18443, no plain port (--tls-port 0: no TLS).
Each --bind address listens on every port; an IPv6 one (such as ::) takes
IPv4 too (dual stack) unless an IPv4 address is also given.
With a timeout (the default) Python keeps sockets non-blocking inside, so an
SSL_read_ex may fail with WANT_READ (read(2) -> EAGAIN) and be retried after
poll(2); --idle-timeout 0 keeps sockets blocking: one read(2) per record.

Answers are fake and deterministic: "tok0 tok1 ...". The number of output
tokens is the request header `x-dg-tokens: N` when present, else
min(max_tokens | max_completion_tokens | 64, 4096).

Endpoints: POST /v1/chat/completions, POST /v1/completions, POST /v1/messages
(each with "stream": true for SSE), GET /v1/models, GET /health.

Optional request headers (tests; without them nothing changes):
  x-dg-body-bytes: N  a non-streamed JSON answer is padded to exactly N body
                      bytes with a leading "dg_pad" string field (usage stays
                      last); 400 if N is below the unpadded size + 12.
                      The body is still written in one write (one
                      SSL_write_ex on TLS, one send on plain), headers before it
                      in another.
  x-dg-logprobs: 1    a request that asks for "logprobs" (chat: true, plus
                      "top_logprobs": K; completions: an integer K) gets them:
                      one entry per token with K alternatives (big JSON).
The answer builders below (openai_once_obj, openai_stream_events, ...) are
shared with scripts/stacks/uvicorn_app.py.
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TLS_PORT = 18443
DEFAULT_TOKENS = 64
MAX_TOKENS = 4096
MAX_BODY = 64 << 20
MODELS = ["dg-small", "dg-large", "gpt-4o-mini", "claude-sonnet-4"]


class BadRequest(Exception):
    pass


def gen_cert(directory):
    """Self-signed EC P-256 certificate for localhost/127.0.0.1 via the openssl CLI."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "365", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def text_of(content):
    """Flatten OpenAI/Anthropic message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                t = part.get("text")
                if isinstance(t, str):
                    out.append(t)
                elif "content" in part:
                    out.append(text_of(part.get("content")))
        return " ".join(out)
    return str(content)


def prompt_tokens_of(req, kind):
    """A deterministic prompt-token estimate: about 4 bytes per token."""
    parts = []
    if kind == "completions":
        p = req.get("prompt")
        if isinstance(p, list):
            parts.extend(str(x) for x in p)
        elif p is not None:
            parts.append(str(p))
    else:
        if kind == "messages":
            parts.append(text_of(req.get("system")))
        for m in req.get("messages") or []:
            if isinstance(m, dict):
                parts.append(text_of(m.get("content")))
    n = sum(len(p.encode("utf-8", "replace")) for p in parts)
    return max(1, (n + 3) // 4)


def int_or_none(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def output_tokens_for(req, headers):
    """(tokens, hit_limit): x-dg-tokens wins, else max_tokens capped at 4096."""
    h = headers.get("x-dg-tokens")
    if h is not None:
        n = int_or_none(h)
        if n is None or n < 0:
            raise BadRequest("x-dg-tokens must be a non-negative integer")
        return n, False
    limit = int_or_none(req.get("max_tokens"))
    if limit is None:
        limit = int_or_none(req.get("max_completion_tokens"))
    if limit is None or limit < 0:
        return DEFAULT_TOKENS, False
    return min(limit, MAX_TOKENS), True


def token(i):
    return "tok%d " % i


def new_id(prefix, body):
    h = hashlib.sha1(body + str(time.time_ns()).encode() +
                     str(threading.get_ident()).encode()).hexdigest()
    return prefix + h[:24]


# --- answers, shared with scripts/stacks/uvicorn_app.py ----------------------
def body_bytes_for(headers):
    """x-dg-body-bytes: the exact size asked for a non-streamed answer, or None."""
    h = headers.get("x-dg-body-bytes")
    if h is None:
        return None
    n = int_or_none(h)
    if n is None or n < 0:
        raise BadRequest("x-dg-body-bytes must be a non-negative integer")
    return n


def logprobs_for(req, headers, kind):
    """K alternatives per token when x-dg-logprobs is set and the request asks
    for logprobs (chat: logprobs true + top_logprobs; completions: logprobs K)."""
    if (headers.get("x-dg-logprobs") or "").strip().lower() not in ("1", "true", "yes"):
        return None
    if kind == "chat":
        if req.get("logprobs") is not True:
            return None
        k = int_or_none(req.get("top_logprobs"))
        return max(0, min(k if k is not None else 0, 20))
    if kind == "completions":
        k = int_or_none(req.get("logprobs"))
        return None if k is None else max(0, min(k, 20))
    return None


def _lp(i, j):
    return -round(0.001 + 0.03125 * ((i * 7 + j * 3) % 97) + 0.001 * j, 6)


def chat_logprob_entry(i, k):
    t = token(i)
    return {"token": t, "logprob": _lp(i, 0), "bytes": list(t.encode()),
            "top_logprobs": [{"token": "alt%d_%d " % (i, j), "logprob": _lp(i, j + 1),
                              "bytes": list(("alt%d_%d " % (i, j)).encode())}
                             for j in range(k)]}


def completion_logprobs(start, n, k, offset=0):
    toks = [token(i) for i in range(start, start + n)]
    offs, o = [], offset
    for t in toks:
        offs.append(o)
        o += len(t)
    return {"tokens": toks, "token_logprobs": [_lp(i, 0) for i in range(start, start + n)],
            "top_logprobs": [{("alt%d_%d " % (i, j)): _lp(i, j + 1) for j in range(k)}
                             for i in range(start, start + n)],
            "text_offset": offs}


def json_bytes(obj, size=None):
    """Compact JSON; with size, padded to exactly size bytes by a leading
    "dg_pad" field (so "usage" stays the last field, as OpenAI writes it)."""
    data = json.dumps(obj, separators=(",", ":")).encode()
    if size is None or size == len(data):
        return data
    pad = size - len(data) - len(b'"dg_pad":"",')
    if pad < 0:
        raise BadRequest("x-dg-body-bytes %d is below the smallest padded answer (%d)"
                         % (size, len(data) + len(b'"dg_pad":"",')))
    return json.dumps(dict([("dg_pad", "x" * pad)] + list(obj.items())),
                      separators=(",", ":")).encode()


def openai_once_obj(kind, body, model, ptoks, n, hit_limit, logprobs_k=None):
    text = "".join(token(i) for i in range(n))
    finish = "length" if hit_limit else "stop"
    if kind == "chat":
        lp = None
        if logprobs_k is not None:
            lp = {"content": [chat_logprob_entry(i, logprobs_k) for i in range(n)],
                  "refusal": None}
        choice = {"index": 0, "message": {"role": "assistant", "content": text,
                                          "refusal": None},
                  "logprobs": lp, "finish_reason": finish}
        obj, oid = "chat.completion", new_id("chatcmpl-", body)
    else:
        lp = None if logprobs_k is None else completion_logprobs(0, n, logprobs_k)
        choice = {"index": 0, "text": text, "logprobs": lp, "finish_reason": finish}
        obj, oid = "text_completion", new_id("cmpl-", body)
    return {
        "id": oid, "object": obj, "created": int(time.time()), "model": model,
        "system_fingerprint": "fp_distillguard", "choices": [choice],
        "usage": {"prompt_tokens": ptoks, "completion_tokens": n,
                  "total_tokens": ptoks + n}}


def sse_bytes(obj, event=None):
    data = json.dumps(obj, separators=(",", ":")).encode()
    if event:
        return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


def openai_stream_events(kind, body, model, ptoks, n, hit_limit, usage, logprobs_k=None):
    """The SSE events of a streamed OpenAI answer: (bytes, is_token) pairs;
    a server paces after each token event."""
    created = int(time.time())
    if kind == "chat":
        oid, obj = new_id("chatcmpl-", body), "chat.completion.chunk"
    else:
        oid, obj = new_id("cmpl-", body), "text_completion"

    def event(choices, **extra):
        e = {"id": oid, "object": obj, "created": created, "model": model,
             "system_fingerprint": "fp_distillguard", "choices": choices}
        if usage:
            e["usage"] = None
        e.update(extra)
        return sse_bytes(e)

    offset = 0
    for i in range(n):
        if kind == "chat":
            delta = {"content": token(i)}
            if i == 0:
                delta = {"role": "assistant", "content": token(i)}
            lp = None
            if logprobs_k is not None:
                lp = {"content": [chat_logprob_entry(i, logprobs_k)], "refusal": None}
            yield event([{"index": 0, "delta": delta, "logprobs": lp,
                          "finish_reason": None}]), True
        else:
            lp = None
            if logprobs_k is not None:
                lp = completion_logprobs(i, 1, logprobs_k, offset)
                offset += len(token(i))
            yield event([{"index": 0, "text": token(i), "logprobs": lp,
                          "finish_reason": None}]), True
    finish = "length" if hit_limit else "stop"
    if kind == "chat":
        delta = {} if n else {"role": "assistant", "content": ""}
        yield event([{"index": 0, "delta": delta, "logprobs": None,
                      "finish_reason": finish}]), False
    else:
        yield event([{"index": 0, "text": "", "logprobs": None,
                      "finish_reason": finish}]), False
    if usage:
        yield event([], usage={"prompt_tokens": ptoks, "completion_tokens": n,
                               "total_tokens": ptoks + n}), False
    yield b"data: [DONE]\n\n", False


def messages_once_obj(body, model, ptoks, n, hit_limit):
    text = "".join(token(i) for i in range(n))
    return {
        "id": new_id("msg_", body), "type": "message", "role": "assistant",
        "model": model, "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if hit_limit else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": ptoks, "output_tokens": n}}


def messages_stream_events(body, model, ptoks, n, hit_limit):
    """The SSE events of a streamed Anthropic answer: (bytes, is_token) pairs."""
    yield sse_bytes({"type": "message_start", "message": {
        "id": new_id("msg_", body), "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": ptoks, "output_tokens": 1}}}, "message_start"), False
    yield sse_bytes({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "text", "text": ""}},
                    "content_block_start"), False
    for i in range(n):
        yield sse_bytes({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": token(i)}},
                        "content_block_delta"), True
    yield sse_bytes({"type": "content_block_stop", "index": 0}, "content_block_stop"), False
    yield sse_bytes({"type": "message_delta",
                     "delta": {"stop_reason": "max_tokens" if hit_limit else "end_turn",
                               "stop_sequence": None},
                     "usage": {"output_tokens": n}}, "message_delta"), False
    yield sse_bytes({"type": "message_stop"}, "message_stop"), False


def error_obj(status, message, anthropic=False):
    etype = {400: "invalid_request_error", 404: "not_found_error",
             413: "request_too_large"}.get(status, "api_error")
    if anthropic:
        return {"type": "error", "error": {"type": etype, "message": message}}
    return {"error": {"message": message, "type": etype, "param": None, "code": None}}


def models_obj(started):
    now = int(started)
    return {"object": "list", "data": [
        {"id": m, "object": "model", "created": now, "owned_by": "distillguard"}
        for m in MODELS]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dg-endpoint/1.0"
    disable_nagle_algorithm = True   # each SSE event leaves at once
    timeout = None                   # set per server from --idle-timeout

    def version_string(self):
        return self.server_version

    # --- connection setup: TLS handshake in the worker thread -------------
    def setup(self):
        self.timeout = self.server.idle_timeout
        ctx = self.server.ssl_context
        if ctx is not None:
            self.request.settimeout(self.timeout)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, OSError):
            self.close_connection = True

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def log_request(self, code="-", size="-"):
        if not self.server.quiet:
            super().log_request(code, size)

    # --- bodies -----------------------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    self.close_connection = True
                    raise BadRequest("request body too large")
                out += self.rfile.read(size)
                self.rfile.readline(3)  # CRLF after the chunk
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        n = int_or_none(cl)
        if n is None or n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise BadRequest("bad or too large Content-Length")
        return self.rfile.read(n)

    def send_bytes(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, size=None):
        self.send_bytes(status, "application/json", json_bytes(obj, size))

    def send_error_json(self, status, message, anthropic=False):
        self.send_json(status, error_obj(status, message, anthropic))

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        """One HTTP chunk, one write (one SSL_write_ex on TLS)."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")

    def pace(self):
        d = self.server.token_delay
        if d > 0:
            time.sleep(d)

    def sse(self, obj, event=None):
        self.chunk(sse_bytes(obj, event))

    def send_events(self, events):
        self.start_stream()
        for data, is_token in events:
            self.chunk(data)
            if is_token:
                self.pace()
        self.end_stream()

    # --- routes -----------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self.send_json(200, {"status": "ok"})
        elif path in ("/v1/models", "/models"):
            self.send_json(200, models_obj(self.server.started))
        else:
            self.send_error_json(404, "no such endpoint: GET %s" % path)

    do_HEAD = do_GET

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        kind = {"/v1/chat/completions": "chat", "/v1/completions": "completions",
                "/v1/messages": "messages"}.get(path)
        anthropic = kind == "messages"
        try:
            body = self.read_body()
        except BadRequest as e:
            self.send_error_json(413, str(e), anthropic)
            return
        except ValueError:
            self.close_connection = True
            self.send_error_json(400, "malformed chunked body", anthropic)
            return
        if kind is None:
            self.send_error_json(404, "no such endpoint: POST %s" % path)
            return
        try:
            req = json.loads(body.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("body is not a JSON object")
            n, hit_limit = output_tokens_for(req, self.headers)
            size = body_bytes_for(self.headers)
            lp_k = logprobs_for(req, self.headers, kind)
        except BadRequest as e:
            self.send_error_json(400, str(e), anthropic)
            return
        except ValueError as e:  # includes JSONDecodeError and UnicodeDecodeError
            self.send_error_json(400, "could not parse the JSON body: %s" % e, anthropic)
            return
        if self.server.first_token_delay > 0:   # time to first token, any answer
            time.sleep(self.server.first_token_delay)
        model = req.get("model") if isinstance(req.get("model"), str) else MODELS[0]
        ptoks = prompt_tokens_of(req, kind)
        stream = req.get("stream") is True
        try:
            if kind == "messages":
                if stream:
                    self.send_events(messages_stream_events(body, model, ptoks, n, hit_limit))
                else:
                    self.send_json(200, messages_once_obj(body, model, ptoks, n, hit_limit),
                                   size)
            else:
                so = req.get("stream_options")
                usage = isinstance(so, dict) and so.get("include_usage") is True
                if stream:
                    self.send_events(openai_stream_events(kind, body, model, ptoks, n,
                                                          hit_limit, usage, lp_k))
                else:
                    self.send_json(200, openai_once_obj(kind, body, model, ptoks, n,
                                                        hit_limit, lp_k), size)
        except BadRequest as e:   # x-dg-body-bytes too small: nothing sent yet
            self.send_error_json(400, str(e), anthropic)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, ssl_context, opts, v6only=False):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.v6only = v6only
        self.ssl_context = ssl_context
        self.quiet = opts.quiet
        self.token_delay = max(0.0, opts.token_delay_ms / 1000.0)
        self.first_token_delay = max(0.0, opts.first_token_ms / 1000.0)
        self.idle_timeout = opts.idle_timeout if opts.idle_timeout > 0 else None
        self.started = time.time()
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(self.v6only))
        super().server_bind()

    def handle_error(self, request, client_address):
        if not self.quiet:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tls-port", type=int, action="append", default=None,
                    help="TLS port (repeatable; 0 for none; default %d)" % DEFAULT_TLS_PORT)
    ap.add_argument("--plain-port", type=int, action="append", default=None,
                    help="plain HTTP port (repeatable; default none)")
    ap.add_argument("--bind", action="append", default=None,
                    help="address to listen on (repeatable; default 127.0.0.1; "
                         "an IPv6 one is dual stack unless an IPv4 one is given too)")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--token-delay-ms", type=float, default=5.0,
                    help="SSE pacing per token (default 5)")
    ap.add_argument("--first-token-ms", type=float, default=0.0,
                    help="wait this long before answering a POST, streamed or not "
                         "(time to first token; default 0)")
    ap.add_argument("--idle-timeout", type=float, default=300.0,
                    help="close idle connections after S seconds (default 300); "
                         "0: no timeout, sockets stay blocking")
    ap.add_argument("--pid-file")
    ap.add_argument("--quiet", action="store_true")
    opts = ap.parse_args()

    tls_ports = [p for p in (opts.tls_port if opts.tls_port is not None
                             else [DEFAULT_TLS_PORT]) if p > 0]
    plain_ports = [p for p in (opts.plain_port or []) if p > 0]
    if not tls_ports and not plain_ports:
        ap.error("no ports to listen on")
    if bool(opts.cert) != bool(opts.key):
        ap.error("--cert and --key go together")

    tmpdir = None
    ctx = None
    if tls_ports:
        cert, key = opts.cert, opts.key
        if not cert:
            tmpdir = tempfile.TemporaryDirectory(prefix="dg-endpoint-")
            cert, key = gen_cert(tmpdir.name)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])

    binds = opts.bind or ["127.0.0.1"]
    v6only = any(":" not in b for b in binds)
    servers = []
    try:
        for b in binds:
            for p in tls_ports:
                servers.append((Server((b, p), ctx, opts, v6only), "https", b, p))
            for p in plain_ports:
                servers.append((Server((b, p), None, opts, v6only), "http", b, p))
    except OSError as e:
        sys.exit("endpoint.py: cannot listen: %s" % e)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for srv, _, _, _ in servers:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True)
        t.start()
        threads.append(t)
    if opts.pid_file:
        with open(opts.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(opts.pid_file + ".tmp", opts.pid_file)
    if not opts.quiet:
        for _, scheme, b, p in servers:
            host = "[%s]" % b if ":" in b else b
            sys.stderr.write("endpoint.py: listening on %s://%s:%d\n" % (scheme, host, p))
        sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for srv, _, _, _ in servers:
            srv.shutdown()
            srv.server_close()
        if opts.pid_file:
            try:
                os.unlink(opts.pid_file)
            except OSError:
                pass
        if tmpdir is not None:
            tmpdir.cleanup()


if __name__ == "__main__":
    main()
