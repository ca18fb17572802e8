#!/bin/bash
# `sudo make demo`: the main job end to end on this machine. A TLS
# inference endpoint (scripts/endpoint.py), distillguard in enforce mode in
# front of nothing but the kernel, conversational customers and a
# distillation hydra (many keys behind a few proxies, templated
# chain-of-thought prompts) at the same time, the console as it runs, and a
# summary: who was flagged and why, what was done, and that every customer
# was served.
#
# Everything runs on 127.0.0.0/8 (each simulated client on an address of
# its own), so the demo turns on enforce.loopback, which is off by default:
# in production loopback is never acted on. It starts its own endpoint on
# its own port, touches no service of the host, and stops all it started.
set -u
cd "$(dirname "$0")/.."
DG=$PWD/distillguard
W=$(mktemp -d /tmp/dg-demo.XXXXXX)
PORT=18743
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-60}
PIDS=()
DAEMON=""
cleanup() {
	[ -n "$DAEMON" ] && kill -TERM "$DAEMON" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for _ in $(seq 100); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo): BPF needs it"; exit 1; }
TTY=0
[ -t 1 ] && TTY=1
say() { printf '\n== %s\n' "$*"; }

say "a TLS inference endpoint on 127.0.0.1:$PORT (first token after 50 ms)"
python3 scripts/endpoint.py --tls-port $PORT --quiet --token-delay-ms 0 --first-token-ms 50 \
	>"$W/endpoint.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

say "distillguard run --enforce --port $PORT   (tick 2 s; enforce.loopback on for the demo)"
"$DG" run --enforce --port $PORT --set enforce.loopback=yes --set tick=2 \
	--metrics 127.0.0.1:0 --journal "$W/journal" --control-socket "$W/control.sock" \
	--secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 200); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
if ! grep -q 'running in' "$W/run.err"; then
	cat "$W/run.err"
	echo "demo: the daemon did not start"
	exit 1
fi
sed 's/^/   /' "$W/run.err"
export DISTILLGUARD_SOCKET=$W/control.sock
METRICS=$(grep -o 'port [0-9]*' "$W/run.err" | head -1 | awk '{print $2}')

say "traffic for $SECONDS_OF_TRAFFIC s, 20 times faster than real time:"
echo "   customers: people chatting (scripts/scenario.py --only chat)"
echo "   campaign:  a hydra of 60 keys behind 3 proxies harvesting chain-of-thought answers"
common=(--mode http --url "https://127.0.0.1:$PORT" --speed 20 --max-seconds "$SECONDS_OF_TRAFFIC"
	--grace 10 --scale 0.3 --truth-raw-keys)
python3 scripts/scenario.py "${common[@]}" --only chat --seed 3 --truth "$W/truth-customers.jsonl" \
	>"$W/customers.out" 2>&1 &
CUST=$!
PIDS+=($CUST)
python3 scripts/scenario.py "${common[@]}" --only hydra --seed 4 --truth "$W/truth-campaign.jsonl" \
	>"$W/campaign.out" 2>&1 &
CAMP=$!
PIDS+=($CAMP)

frame() {
	[ $TTY = 1 ] && printf '\033[H\033[2J'
	say "distillguard top --once   (t = $1 s; \`distillguard top\` is the live version)"
	"$DG" top --once --top 14 --width 120 2>&1
}
T0=$(date +%s)
while kill -0 $CUST 2>/dev/null || kill -0 $CAMP 2>/dev/null; do
	sleep 10
	frame $(($(date +%s) - T0))
done
wait $CUST $CAMP 2>/dev/null
sleep 3                         # a scoring pass after the traffic
frame $(($(date +%s) - T0))

say "one campaign key in depth: distillguard client NAME"
python3 - "$W" "$DG" <<'EOF' >"$W/labels.txt"
import json, subprocess, sys
w, dg = sys.argv[1], sys.argv[2]
keys = {}
for who, f in (("customer", "truth-customers.jsonl"), ("campaign", "truth-campaign.jsonl")):
    for line in open(f"{w}/{f}"):
        t = json.loads(line)
        if t.get("raw_key"):
            keys[t["raw_key"]] = who
raw = sorted(keys)
ids = subprocess.run([dg, "key-id", "--secret-file", f"{w}/secret"], input="\n".join(raw) + "\n",
                     capture_output=True, text=True).stdout.split()
for k, name in zip(raw, ids):
    print(name, keys[k])
EOF
# The client table goes through a file: it is larger than one argument may be.
"$DG" clients --json >"$W/clients.json"
ONE=$(python3 -c '
import json, sys
labels = dict(l.split() for l in open(sys.argv[1]))
rows = json.load(open(sys.argv[2]))
for r in rows:
    if labels.get(r["client"]) == "campaign" and r["action"] != "none":
        print(r["client"]); break' "$W/labels.txt" "$W/clients.json")
[ -n "$ONE" ] && "$DG" client "$ONE" | sed 's/^/   /'

say "summary"
python3 - "$W" "$W/clients.json" <<'EOF'
import collections, json, re, sys
w, rows = sys.argv[1], json.load(open(sys.argv[2]))
labels = dict(l.split() for l in open(f"{w}/labels.txt"))
by = {r["client"]: r for r in rows}
def run_counts(name):
    m = re.search(r"(\d+) sent, (\d+) ok, (\d+) failed", open(f"{w}/{name}.out").read())
    return tuple(map(int, m.groups())) if m else (0, 0, 0)
camp = [k for k, v in labels.items() if v == "campaign"]
cust = [k for k, v in labels.items() if v == "customer"]
flagged = [k for k in camp if by.get(k, {}).get("action") in ("ratelimit", "block")]
wrong = [k for k in cust if by.get(k, {}).get("action") not in (None, "none")]
reasons = collections.Counter(r for k in flagged for r in by[k]["reasons"][:2])
delays = sorted(by[k]["first_flagged"] - by[k]["first_seen"] for k in flagged if by[k].get("first_flagged"))
enf = collections.Counter()
for k in flagged:
    e = by[k].get("enforcement") or {}
    for f in ("connections_cut", "requests_cut"):
        enf[f] += e.get(f, 0)
cs, cok, cfail = run_counts("customers")
hs, hok, hfail = run_counts("campaign")
print(f"   campaign keys flagged: {len(flagged)} of {len(camp)}"
      + (f", first flag {delays[0]:.0f} s after a key's first request (median {delays[len(delays)//2]:.0f} s)" if delays else ""))
print("   why, most often:")
for r, n in reasons.most_common(4):
    print(f"     {n:3d} keys: {r}")
print(f"   what was done: {enf['connections_cut']} of their connections cut, "
      f"{enf['requests_cut']} requests cut as their heads arrived")
print(f"   campaign requests: {hs} sent, {hok} answered, {hfail} cut or refused")
print(f"   customers acted on: {len(wrong)} of {len(cust)}; their requests: {cs} sent, {cok} answered, {cfail} failed")
if cfail == 0 and cs > 0 and not wrong:
    print("   every customer was served.")
else:
    print("   NOT every customer was served: see above.")
EOF

say "from /metrics (127.0.0.1:$METRICS)"
curl -s "http://127.0.0.1:$METRICS/metrics" |
	grep -E '^distillguard_(requests_total|enforcement_actions_total|clients\{|events_lost_total\{reason="ringbuf_full"\})' |
	sed 's/^/   /'

say "stopping: SIGTERM lifts every decision and detaches every program"
kill -TERM $DAEMON
for _ in $(seq 100); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
DAEMON=""
tail -2 "$W/run.err" | sed 's/^/   /'
echo "   the journal of this run (records and decisions, gzip JSON lines) was in $W/journal;"
echo "   \`distillguard replay DIR\` scores such a journal offline. Removed with the demo."
