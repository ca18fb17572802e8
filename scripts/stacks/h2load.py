#!/usr/bin/python3
"""HTTP/2 client for distillguard tests: httpx (http2=True) under Debian's
/usr/bin/python3 (python3-httpx, python3-h2).

usage: /usr/bin/python3 h2load.py [--url https://127.0.0.1:19002] [--connections C]
                  [--streams S] [--requests N] [--require-h2] [--threads]
                  [load.py's options: --stream-ratio --seed --keys --key-prefix --api
                   --tokens --models --source-address --messages-first --prompt-bytes
                   --tokens-list --answer-bytes --logprobs] [--name NAME]

C httpx clients, each one HTTP/2 connection (ALPN h2; a server without h2
gets HTTP/1.1, and then httpx opens as many connections as requests in
flight); request i goes to client i % C, and S tasks per client send its
requests concurrently, so up to S streams are open at once on one
connection, streamed (SSE) and not. By default these are httpx.AsyncClient
in one asyncio loop (as the openai Python SDK's AsyncOpenAI does): TLS
through asyncio's memory BIO, no syscall inside an SSL call. With --threads,
httpx.Client shared by S threads instead: TLS on the socket (ssl.SSLSocket,
each SSL call makes its own syscall); httpcore 0.16.3 is not thread-safe on
one HTTP/2 connection, and about one run in ten loses a connection
("Server disconnected") that way, so the tests use the default. The
requests are
load.py's (same plan for the same --seed). One "sent" JSON line per completed
request (scripts/stacks/clientlib.py) with "http" the negotiated version and,
on HTTP/2, "stream_id"; --require-h2 fails a request answered over another
version. Exit 1 if any request failed.

httpcore 0.16 (Debian 12) sends a request body's END_STREAM in a DATA frame
of its own after the body; when the server has already answered and reset
the stream (nginx sends RST_STREAM(NO_ERROR) once its response is complete
and the request is not), h2 raises KeyError there and the answer is lost.
This client sends END_STREAM on the last DATA frame of the body, as curl and
browsers do (patched below).
"""
import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clientlib  # noqa: E402

try:
    import httpx
    import httpcore._async.http2 as _ah2
    import httpcore._sync.http2 as _sh2
except ImportError:
    sys.exit("h2load.py: needs httpx with h2 (Debian: python3-httpx python3-h2; "
             "run with /usr/bin/python3)")


def _send_request_body_sync(self, request, stream_id):
    if not _sh2.has_body_headers(request):
        return
    data = b"".join(request.stream)
    while True:
        flow = self._wait_for_outgoing_flow(request, stream_id) if data else 0
        chunk, data = data[:flow], data[flow:]
        self._h2_state.send_data(stream_id, chunk, end_stream=not data)
        self._write_outgoing_data(request)
        if not data:
            return


async def _send_request_body_async(self, request, stream_id):
    if not _ah2.has_body_headers(request):
        return
    parts = []
    async for part in request.stream:
        parts.append(part)
    data = b"".join(parts)
    while True:
        flow = await self._wait_for_outgoing_flow(request, stream_id) if data else 0
        chunk, data = data[:flow], data[flow:]
        self._h2_state.send_data(stream_id, chunk, end_stream=not data)
        await self._write_outgoing_data(request)
        if not data:
            return


_sh2.HTTP2Connection._send_request_body = _send_request_body_sync
_ah2.AsyncHTTP2Connection._send_request_body = _send_request_body_async


ERRORS = (httpx.HTTPError, OSError, ValueError, KeyError)


def new_client(opts, asynchronous):
    """An httpx client (async or not) of its own HTTP/2 connection."""
    transport_cls, client_cls = ((httpx.AsyncHTTPTransport, httpx.AsyncClient) if asynchronous
                                 else (httpx.HTTPTransport, httpx.Client))
    transport = transport_cls(http2=True, verify=False, retries=0,
                              local_address=opts.source_address)
    return client_cls(http2=True, verify=False, transport=transport, timeout=opts.timeout)


def clients_for(opts, per_conn, asynchronous):
    """(c, items, client) of each connection that has requests."""
    return [(c, items, new_client(opts, asynchronous))
            for c, items in enumerate(per_conn) if items]


def start_one(opts, c, item):
    """(Req, url) of one planned request."""
    r = clientlib.Req(opts, c, item, clientlib.key_for(opts, c))
    return r, clientlib.url_for(opts, r.path)


def finish_one(opts, r, em, resp, raw):
    http = {"HTTP/2": "2", "HTTP/1.1": "1.1"}.get(resp.http_version, resp.http_version)
    rec, err = r.result(opts, resp.status_code, raw, http)
    sid = resp.extensions.get("stream_id")
    if sid is not None:
        rec["stream_id"] = sid
    if err is None and opts.require_h2 and http != "2":
        err = "request %d: answered over HTTP/%s, not HTTP/2" % (r.i, http)
    em.emit(rec, err)


def failed_one(em, c, r, e):
    em.emit(None, "conn %d request %d: %s: %s" % (c, r.i, type(e).__name__, e))


def worker(opts, client, q, em):
    while True:
        try:
            c, item = q.get_nowait()
        except queue.Empty:
            return
        r, url = start_one(opts, c, item)
        try:
            with client.stream("POST", url, content=r.data, headers=r.headers) as resp:
                raw = resp.read()
            finish_one(opts, r, em, resp, raw)
        except ERRORS as e:
            failed_one(em, c, r, e)


async def async_worker(opts, client, q, em):
    while q:
        c, item = q.pop(0)
        r, url = start_one(opts, c, item)
        try:
            async with client.stream("POST", url, content=r.data, headers=r.headers) as resp:
                raw = await resp.aread()
            finish_one(opts, r, em, resp, raw)
        except ERRORS as e:
            failed_one(em, c, r, e)


async def async_main(opts, per_conn, em):
    import asyncio
    clients, tasks = [], []
    for c, items, client in clients_for(opts, per_conn, True):
        clients.append(client)
        q = [(c, item) for item in items]
        tasks += [async_worker(opts, client, q, em) for _ in range(max(1, opts.streams))]
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()
    return len(clients)


def main():
    ap = clientlib.parser(__doc__)
    clientlib.add_args(ap, "https://127.0.0.1:19002")
    ap.add_argument("--streams", type=int, default=4, help="concurrent requests per connection")
    ap.add_argument("--require-h2", action="store_true")
    ap.add_argument("--threads", action="store_true",
                    help="sync httpx.Client shared by S threads instead of asyncio")
    opts = clientlib.finish(ap, ap.parse_args())
    em = clientlib.Emitter("h2load.py")
    per_conn = clientlib.per_conn(opts)
    t0 = time.monotonic()
    if not opts.threads:
        import asyncio
        n = asyncio.run(async_main(opts, per_conn, em))
        sys.exit(em.summary(", %d async clients x %d streams, %.2f s"
                            % (n, opts.streams, time.monotonic() - t0)))
    clients, threads = [], []
    for c, items, client in clients_for(opts, per_conn, False):
        clients.append(client)
        q = queue.Queue()
        for item in items:
            q.put((c, item))
        for _ in range(max(1, opts.streams)):
            t = threading.Thread(target=worker, args=(opts, client, q, em), daemon=True)
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    sys.exit(em.summary(", %d clients x %d streams, %.2f s"
                        % (len(clients), opts.streams, time.monotonic() - t0)))


if __name__ == "__main__":
    main()
