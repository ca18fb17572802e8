#!/usr/bin/env python3
"""curl as a distillguard test client: HTTP/1.1 or HTTP/2, one connection.

usage: curl_load.py [--url https://127.0.0.1:19002] [--http 1.1|2] [--parallel S]
                    [--connections C (1)] [--requests N] [--expect-connections K]
                    [load.py's options: --stream-ratio --seed --keys --key-prefix --api
                     --tokens --models --source-address --messages-first
                     --prompt-bytes --tokens-list --answer-bytes --logprobs]
                    [--header 'Name: value']... [--name NAME]

The requests are load.py's (same plan for the same --seed: bodies, headers,
x-dg-tokens), each body written to a file and sent with --data-binary. Each of
the C curl processes (request i goes to process i % C) gets all its requests
in one config file (-K), so they share one connection: with --http 1.1 one
after the other on a keep-alive connection, with --http 2 (`--http2`, ALPN
h2) up to S at once (--parallel --parallel-max S) as streams of one
connection (curl waits for the first connection to know it can multiplex).
--source-address binds with --interface. --header adds a header to every
request (e.g. a client-supplied X-Forwarded-For). One "sent" JSON line per
request (scripts/stacks/clientlib.py) with "http" the version curl reports
(%{http_version}); --expect-connections K fails the run when curl opened
another number of connections in total (%{num_connects}). Exit 1 if any
request failed.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clientlib  # noqa: E402


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_curl(opts, c, items, tmp, em, conns):
    key = clientlib.key_for(opts, c)
    reqs = [clientlib.Req(opts, c, item, key) for item in items]
    cfg = []
    for n, r in enumerate(reqs):
        body = os.path.join(tmp, "req-%d-%d.json" % (c, n))
        with open(body, "wb") as f:
            f.write(r.data)
        cfg += ["url = " + q(clientlib.url_for(opts, r.path)), "http2" if opts.http == "2" else "http1.1",
                "insecure", "silent", "show-error",
                "output = " + q(os.path.join(tmp, "resp-%d-%d" % (c, n))),
                "data-binary = " + q("@" + body),
                "max-time = %g" % opts.timeout,
                "write-out = " + q("%{urlnum} %{http_code} %{http_version} %{num_connects}\\n")]
        if opts.source_address:
            cfg.append("interface = " + q(opts.source_address))
        for k, v in r.headers.items():
            if k.lower() != "user-agent":
                cfg.append("header = " + q("%s: %s" % (k, v)))
        for h in opts.header:
            cfg.append("header = " + q(h))
        if n + 1 < len(reqs):
            cfg.append("next")
    cfgfile = os.path.join(tmp, "curl-%d.cfg" % c)
    with open(cfgfile, "w") as f:
        f.write("\n".join(cfg) + "\n")
    args = ["curl", "-K", cfgfile]
    if opts.http == "2" and opts.parallel > 1:
        args[1:1] = ["--parallel", "--parallel-max", str(opts.parallel)]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        em.emit(None, "curl %d exited %d: %s" % (c, p.returncode, p.stderr.decode()[-300:]))
    seen = set()
    for line in p.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        n, status, http, nconn = int(parts[0]), int(parts[1]), parts[2], int(parts[3])
        with em.lock:
            conns[0] += nconn
        seen.add(n)
        r = reqs[n]
        try:
            with open(os.path.join(tmp, "resp-%d-%d" % (c, n)), "rb") as f:
                raw = f.read()
        except OSError:
            raw = b""
        rec, err = r.result(opts, status, raw, http)
        em.emit(rec, err)
    for n, r in enumerate(reqs):
        if n not in seen:
            em.emit(None, "curl %d: no result for request %d" % (c, r.i))


def main():
    ap = clientlib.parser(__doc__)
    clientlib.add_args(ap, "https://127.0.0.1:19002")
    ap.add_argument("--http", choices=["1.1", "2"], default="1.1")
    ap.add_argument("--parallel", type=int, default=4,
                    help="HTTP/2: transfers at once on the connection (default 4)")
    ap.add_argument("--expect-connections", type=int)
    ap.add_argument("--header", action="append", default=[])
    ap.set_defaults(connections=1)
    opts = clientlib.finish(ap, ap.parse_args())
    if not opts.name:
        opts.name = "curl-h" + opts.http
    em = clientlib.Emitter("curl_load.py")
    per_conn = clientlib.per_conn(opts)
    conns = [0]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dg-curl-") as tmp:
        threads = [threading.Thread(target=run_curl, args=(opts, c, items, tmp, em, conns))
                   for c, items in enumerate(per_conn) if items]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if opts.expect_connections is not None and conns[0] != opts.expect_connections:
        em.emit(None, "curl opened %d connections, expected %d"
                % (conns[0], opts.expect_connections))
    sys.exit(em.summary(", %d connections opened, %.2f s" % (conns[0], time.monotonic() - t0)))


if __name__ == "__main__":
    main()
