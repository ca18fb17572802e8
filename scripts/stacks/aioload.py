#!/usr/bin/env python3
"""asyncio HTTP/1.1 keep-alive client for distillguard tests.

usage: aioload.py [--url https://127.0.0.1:19001] [--connections C] [--requests N]
                  [load.py's options: --stream-ratio --seed --keys --key-prefix --api
                   --tokens --models --source-address --messages-first --prompt-bytes
                   --tokens-list --answer-bytes --logprobs] [--name NAME]

C connections opened with asyncio.open_connection (TLS through asyncio's own
SSL transport: a memory BIO, so no SSL call of this client makes a syscall),
all in one event loop; request i goes to connection i % C, each connection
sends its requests one after the other and reads each answer to its end
(Content-Length or chunked, written and parsed here by hand, no HTTP
library). The requests are load.py's (same plan for the same --seed). One
"sent" JSON line per completed request (scripts/stacks/clientlib.py), exit 1
if any failed.
"""
import asyncio
import ssl
import sys
import time

import clientlib


class HTTPError(Exception):
    pass


async def read_response(reader):
    """(status, body bytes) of one HTTP/1.1 response."""
    line = await reader.readline()
    if not line:
        raise HTTPError("connection closed before the status line")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HTTPError("bad status line %r" % line[:80])
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise HTTPError("connection closed inside the headers")
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if status in (100, 101, 102, 103):
        return await read_response(reader)
    close = headers.get("connection", "").lower() == "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await reader.readline()
            if not size_line:
                raise HTTPError("connection closed inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return status, bytes(body), close
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), close
    return status, await reader.read(), True


async def connection(opts, c, items, em, ctx):
    key = clientlib.key_for(opts, c)
    reader = writer = None

    async def connect():
        local = (opts.source_address, 0) if opts.source_address else None
        return await asyncio.open_connection(
            opts.host, opts.port, ssl=ctx, server_hostname=opts.host if ctx else None,
            local_addr=local, limit=1 << 20)

    for item in items:
        r = clientlib.Req(opts, c, item, key)
        try:
            if writer is None:
                reader, writer = await connect()
            head = ["POST %s HTTP/1.1" % r.path, "Host: %s:%d" % (opts.host, opts.port)]
            head += ["%s: %s" % kv for kv in r.headers.items()]
            head += ["Content-Length: %d" % len(r.data), "", ""]
            writer.write("\r\n".join(head).encode("latin-1"))
            writer.write(r.data)
            await writer.drain()
            status, raw, close = await asyncio.wait_for(read_response(reader), opts.timeout)
            rec, err = r.result(opts, status, raw, "1.1")
            em.emit(rec, err)
            if close:
                writer.close()
                writer = None
        except (OSError, HTTPError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                ssl.SSLError, ValueError) as e:
            em.emit(None, "conn %d request %d: %s: %s" % (c, r.i, type(e).__name__, e))
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


async def run(opts, em):
    ctx = clientlib.tls_context() if opts.https else None
    await asyncio.gather(*(connection(opts, c, items, em, ctx)
                           for c, items in enumerate(clientlib.per_conn(opts)) if items))


def main():
    ap = clientlib.parser(__doc__)
    clientlib.add_args(ap)
    opts = clientlib.finish(ap, ap.parse_args())
    em = clientlib.Emitter("aioload.py")
    t0 = time.monotonic()
    asyncio.run(run(opts, em))
    sys.exit(em.summary(", %d connections, %.2f s" % (opts.connections, time.monotonic() - t0)))


if __name__ == "__main__":
    main()
