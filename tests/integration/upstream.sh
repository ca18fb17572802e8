#!/bin/bash
# Root integration test of upstream mode: nginx terminates TLS on a front
# port (--front-port: no uprobe in nginx, only its connections and
# ClientHellos followed) and forwards plain HTTP to the demo endpoint on a
# watched port, passing the client as `X-Forwarded-For` and `Forwarded:
# for="ip:port"` (scripts/nginx.sh --forwarded). Checks: every request is
# recorded once on the upstream with the client's own address and the JA4
# of the client's TLS connection to nginx (tied through the forwarded
# port), nginx gets no uprobe and no SSL call reaches our programs; and in
# enforce mode a blocked key's own TLS connection to nginx is cut at its
# request head while another key is served. Loopback only (enforce.loopback
# on for the test). Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-upstream.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

FRONT=19720      # nginx TLS (front port: not probed)
UP=19721         # endpoint.py plain (watched)
A1=127.0.0.61; A2=127.0.0.62

stop_servers() { sh scripts/nginx.sh stop "$W/nginx" >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 1' INT TERM
need_root

python3 scripts/endpoint.py --plain-port $UP --tls-port 0 --quiet --token-delay-ms 20 \
	>"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $UP || { bad "endpoint listens"; finish; }
sh scripts/nginx.sh start "$W/nginx" $FRONT $UP --forwarded >"$W/nginx.out" 2>&1 ||
	{ cat "$W/nginx.out"; bad "nginx starts"; finish; }

# --- trace: records on the upstream, tied to the client's TLS connection ------
"$DG" trace --json --stats --port $UP --front-port $FRONT --trusted-proxy 127.0.0.1 \
	--secret-file "$W/secret" --duration 15 >"$W/trace.jsonl" 2>"$W/trace.err" &
TRACE=$!
PIDS+=($TRACE)
for _ in $(seq 200); do grep -q ready "$W/trace.err" 2>/dev/null && break; sleep 0.1; done
check "trace starts with a front port" grep -q "front $FRONT" "$W/trace.err"
MASTER=$(cat "$W/nginx/nginx.pid")
NGINX_PIDS=$(echo $MASTER $(pgrep -P "$MASTER") | tr '\n' ' ')
check "nginx gets no uprobe (its pids $NGINX_PIDS are not among the probed)" bash -c "
	line=\$(grep -o 'OpenSSL in .*' '$W/trace.err')
	for p in $NGINX_PIDS; do echo \"\$line\" | grep -Eq \"[:,] \$p \" && exit 1; done; exit 0"
python3 scripts/load.py --url https://127.0.0.1:$FRONT --connections 2 --requests 20 --keys 2 \
	--key-prefix sk-up- --source-address $A1 --tokens 4 --stream-ratio 0.5 >"$W/load.out" 2>&1
wait $TRACE
check "every request recorded once on the upstream, with the client's address and JA4" \
	python3 - "$W/trace.jsonl" $A1 $FRONT <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"event"' not in l]
good = [r for r in recs if r.get("ip") == sys.argv[2] and r.get("ja4") and
        r.get("front_port") == int(sys.argv[3]) and r.get("status") == 200]
print(f"  {len(recs)} records, {len(good)} with the client's address, its JA4 and the front port")
sys.exit(0 if len(recs) == 20 and len(good) == 20 else 1)
EOF
check "no SSL call reached our programs; all 20 tied to the front" bash -c "
	grep -q 'tls_calls=0 ' '$W/trace.err' && grep -q 'front_tied=20 ' '$W/trace.err' &&
	grep -q 'front_untied=0' '$W/trace.err'"

# --- enforce: a blocked key's TLS connection to nginx is cut at its head ------
export DISTILLGUARD_SOCKET=$W/control.sock
"$DG" run --enforce --port $UP --front-port $FRONT --trusted-proxy 127.0.0.1 \
	--set enforce.loopback=yes --metrics off --journal "$W/journal" --control-socket "$W/control.sock" \
	--secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 200); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
KEY=$(echo sk-up-blocked | "$DG" key-id --secret-file "$W/secret")
check "block $KEY: applied" bash -c "'$DG' block $KEY --ttl 300 | grep -q '(applied)'"
ask() {   # ask KEY ADDRESS: streamed answer of 40 tokens (800 ms); prints data lines got
	curl -sk -m 10 --interface "$2" -N https://127.0.0.1:$FRONT/v1/chat/completions \
		-H "Authorization: Bearer $1" -H 'content-type: application/json' \
		-d '{"model":"m","stream":true,"max_tokens":40,"messages":[{"role":"user","content":"hi"}]}' \
		2>/dev/null | grep -c '^data: {' || true
}
got_blocked=$(ask sk-up-blocked $A2)
got_other=$(ask sk-up-other $A2)
check "the blocked key's answer is cut ($got_blocked of 40 tokens), another key's from the same address whole ($got_other)" \
	bash -c "[ $got_blocked -lt 40 ] && [ $got_other -ge 40 ]"
check "... cut at its head: on the client's connection to nginx" bash -c "
	'$DG' status --json | python3 -c '
import json,sys
e=json.load(sys.stdin)[\"counters\"][\"enforce\"]
print(\"  requests_cut_at_head\", e[\"requests_cut_at_head\"], \"conns_cut\", e[\"conns_cut\"], \"ms\", e[\"cut_after_request_ms_max\"])
assert e[\"requests_cut_at_head\"] >= 1 and e[\"conns_cut\"] >= 1'"
kill -TERM $DAEMON
for _ in $(seq 100); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
check "the daemon stops, everything lifted" grep -q 'everything lifted and detached' "$W/run.err"
finish
