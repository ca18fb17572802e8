#!/bin/bash
# `make bench`: print numbers, assert nothing. Ratios within one run are
# what to compare; these machines are noisy.
#  1. user space: captured calls -> records (build/bench/bench_reasm)
#  2. kernel + user: requests/s through the demo endpoint without and with
#     `distillguard trace` attached, and the BPF run time per request
#     (kernel bpf_stats). Needs root; skipped with a message otherwise.
set -u
cd "$(dirname "$0")/.."
echo "== user space: decode + reassembly + body parsing + fingerprints"
build/bench/bench_reasm "${BENCH_N:-100000}"

[ "$(id -u)" = 0 ] || { echo "== kernel overhead: skipped (needs root)"; exit 0; }
W=$(mktemp -d /tmp/dg-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
python3 scripts/endpoint.py --tls-port 18843 --quiet --token-delay-ms 0 >/dev/null 2>&1 &
PIDS+=($!)
sleep 1
N=${BENCH_REQUESTS:-3000}
load() {
	python3 scripts/load.py --url https://127.0.0.1:18843 --connections 20 --requests "$N" \
		--stream-ratio 0.5 --keys 10 --tokens 32 --api mixed 2>&1 >/dev/null |
		sed -n 's/.* \([0-9.]*\) req\/s.*/\1/p'
}
load >/dev/null   # warm up
base=$(load)
./distillguard trace --json --stats --port 18843 --secret-file "$W/secret" >"$W/t.jsonl" 2>"$W/t.err" &
T=$!
PIDS+=($T)
for _ in $(seq 100); do grep -q ready "$W/t.err" 2>/dev/null && break; sleep 0.1; done
traced=$(load)
sleep 1
kill -INT $T; wait $T 2>/dev/null
ns=$(sed -n 's/.*bpf_run_ns=\([0-9]*\).*/\1/p' "$W/t.err")
recs=$(grep -c . "$W/t.jsonl")
echo "== kernel overhead: $N requests over 20 TLS keep-alive connections (Python ssl), half streamed"
echo "without tracer: $base req/s"
echo "with tracer:    $traced req/s   (ratio $(python3 -c "print(round($traced/$base, 3))"))"
echo "records: $recs   BPF run time: $ns ns in all, $(python3 -c "print(round($ns/max($recs,1)/1000, 1))") us per request"

# 3. What whole request bodies cost: bytes the kernel copies to user space
#    (ring buffer samples) per request, against the HTTP bytes the request
#    moved, for growing prompts (request bodies are sent whole up to
#    max_body, responses as their first 16 KiB and last 4 KiB per call).
echo "== kernel -> user bandwidth: TLS (Python ssl), non-streamed, answers of 64 tokens"
printf '%-12s %10s %14s %14s %10s %12s\n' "body bytes" "req/s" "HTTP B/req" "copied B/req" "copied/HTTP" "BPF us/req"
for size in 1000 16384 65536 262144 1000000; do
	M=$(( size >= 262144 ? 200 : 1000 ))
	./distillguard trace --json --stats --port 18843 --secret-file "$W/secret" >"$W/b.jsonl" 2>"$W/b.err" &
	T=$!
	PIDS+=($T)
	for _ in $(seq 100); do grep -q ready "$W/b.err" 2>/dev/null && break; sleep 0.1; done
	rps=$(python3 scripts/load.py --url https://127.0.0.1:18843 --connections 10 --requests "$M" \
		--stream-ratio 0 --keys 5 --tokens 64 --api openai --messages-first --prompt-bytes "$size" 2>&1 >/dev/null |
		sed -n 's/.* \([0-9.]*\) req\/s.*/\1/p')
	sleep 1
	kill -INT $T; wait $T 2>/dev/null
	python3 - "$W/b.jsonl" "$W/b.err" "$size" "$rps" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
recs = [r for r in recs if r.get("event") is None]
err = open(sys.argv[2]).read()
ring = int(re.search(r"ring_bytes=(\d+)", err).group(1))
ns = int(re.search(r"bpf_run_ns=(\d+)", err).group(1))
http = sum((r.get("req_bytes") or 0) + (r.get("output_bytes") or 0) + 300 for r in recs)
n = max(len(recs), 1)
whole = sum(1 for r in recs if not r.get("req_truncated"))
print("%-12s %10s %14d %14d %10.2f %12.1f   (%d records, %d bodies whole)" % (
    sys.argv[3], sys.argv[4], http / n, ring / n, ring / max(http, 1), ns / n / 1000, len(recs), whole))
PY
done
echo "(HTTP B/req counts bodies plus ~300 bytes of headers; copied B/req is every ring buffer"
echo " sample, headers of the events included.)"
