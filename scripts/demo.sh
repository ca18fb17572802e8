#!/bin/bash
# `sudo make demo`: start a local OpenAI-compatible endpoint (Python ssl)
# and nginx in front of it, send it a little traffic of several kinds, and
# show what `distillguard trace` sees: one line per request, then the JSON
# record of the last one, then the kernel and reassembly counters.
# Everything is on 127.0.0.1 and is stopped at the end.
set -u
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/dg-demo.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sh scripts/nginx.sh stop "$W/nginx" >/dev/null 2>&1
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo): BPF needs it"; exit 1; }

python3 scripts/endpoint.py --tls-port 18443 --plain-port 18080 --quiet --token-delay-ms 2 \
	>"$W/endpoint.log" 2>&1 &
PIDS+=($!)
mkdir -p "$W/nginx"
sh scripts/nginx.sh start "$W/nginx" 18444 18080 >/dev/null || { echo "demo: nginx failed"; exit 1; }
sleep 1

echo "== distillguard trace --port 18443 --port 18444   (Python ssl on 18443, nginx on 18444)"
./distillguard trace --port 18443 --port 18444 --conns --stats --secret-file "$W/secret" \
	--duration 12 >"$W/trace.txt" 2>"$W/trace.err" &
TRACE=$!
PIDS+=($TRACE)
for _ in $(seq 100); do grep -q ready "$W/trace.err" 2>/dev/null && break; sleep 0.1; done
grep -v ready "$W/trace.err"
tail -f "$W/trace.txt" &
TAIL=$!
PIDS+=($TAIL)

chat() {   # chat PORT KEY BODY
	curl -sk --http1.1 "https://127.0.0.1:$1/v1/chat/completions" \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3" -o /dev/null
}
# An interactive user: a growing conversation.
chat 18443 sk-alice-1 '{"model":"demo-large","messages":[{"role":"user","content":"Plan a trip to Lisbon"}]}'
chat 18443 sk-alice-1 '{"model":"demo-large","stream":true,"messages":[{"role":"user","content":"Plan a trip to Lisbon"},{"role":"assistant","content":"..."},{"role":"user","content":"and Porto?"}]}'
# A harvester: templated, chain-of-thought and log-probabilities, at the cap.
for i in 1 2 3 4 5 6; do
	chat 18444 sk-harvest-7 '{"model":"demo-large","max_tokens":4096,"logprobs":true,"top_logprobs":5,"messages":[{"role":"system","content":"You are an expert solver."},{"role":"user","content":"Think step by step and show your reasoning. Problem '$i': integrate x^'$i' dx"}]}'
done
# Anthropic-style with extended thinking, streamed.
curl -sk --http1.1 https://127.0.0.1:18444/v1/messages -H 'x-api-key: sk-ant-bob' \
	-d '{"model":"demo-claude","max_tokens":64,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"Why is the sky blue?"}]}' -o /dev/null
# Load: 200 requests over 10 keep-alive connections, half streamed.
python3 scripts/load.py --url https://127.0.0.1:18444 --connections 10 --requests 200 \
	--stream-ratio 0.5 --keys 10 --key-prefix sk-load- --api mixed --tokens 24 >/dev/null
wait $TRACE
sleep 0.3
kill $TAIL 2>/dev/null
echo
echo "== counters (kernel side, then reassembly)"
grep -E "^(kernel|reassembly):" "$W/trace.err" | fold -s -w 120
echo
echo "== one request record as \`trace --json\` prints it: sizes, flags and hashes only"
./distillguard trace --json --port 18444 --secret-file "$W/secret" --duration 3 \
	>"$W/one.jsonl" 2>"$W/one.err" &
ONE=$!
for _ in $(seq 100); do grep -q ready "$W/one.err" 2>/dev/null && break; sleep 0.1; done
chat 18444 sk-harvest-7 '{"model":"demo-large","max_tokens":4096,"logprobs":true,"messages":[{"role":"user","content":"Think step by step: 2+2?"}]}'
wait $ONE
python3 -m json.tool <(head -1 "$W/one.jsonl")
