#!/usr/bin/env python3
"""bench_idle.py HOST PORT N — holds N idle TLS connections (handshake done,
no request) to HOST:PORT for scripts/bench.sh, to measure what a watched
server's idle connection costs the daemon. Prints "IDLE open=K" once K
connections are up (fewer than N if the server refused some), then holds
them until SIGTERM, and closes them."""
import resource
import signal
import socket
import ssl
import sys


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=5)
            conns.append(ctx.wrap_socket(s, server_hostname="localhost"))
        except OSError:
            break
    print(f"IDLE open={len(conns)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause()
    finally:
        for c in conns:
            c.close()


if __name__ == "__main__":
    main()
