#!/bin/bash
# BPF integration tests (root) on the serving stacks distillguard was not
# built on, all from Debian 12 packages, all private to this run:
#   - uvicorn + FastAPI terminating TLS itself (asyncio SSL: memory BIOs),
#     like vLLM/SGLang API servers started with --ssl-keyfile/--ssl-certfile;
#   - HAProxy 2.6 terminating TLS (h2 and http/1.1) in front of a plain
#     endpoint.py upstream, both legs watched;
#   - nginx with HTTP/2 on TLS in front of the same upstream;
#   - a second uvicorn on a port that is NOT watched.
# Clients: curl --http1.1 and --http2, Python http.client (load.py), an
# asyncio client written by hand (aioload.py), httpx over HTTP/2 (h2load.py)
# and the official openai npm client; each on a loopback address of its own
# (127.0.0.2..10), so the real client address is told apart from the
# proxies' 127.0.0.1 (the one trusted proxy).
# Checks, per stack: every request exactly once, with the client's own
# address, on the client-facing port (never a second time from the proxy's
# upstream leg); a JA4 on every TLS record; request bodies of 100 B to
# 1048000 B whole (req_bytes, the fields after "messages", not truncated);
# answers across the 16 KiB/20 KiB capture bounds counted right; nothing from
# the unwatched port; no record without a port; no loss, no parse error, no
# raw key; no BPF program left. Prints "integration: N passed, N failed".
#
#   sudo tests/integration/stacks.sh          (DG=path/to/distillguard; KEEP=1 keeps $W)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
PY=/usr/bin/python3          # Debian's python3: uvicorn, fastapi, httpx, h2
W=$(mktemp -d /tmp/dg-stacks.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh
KILL_PID=kill_tree           # servers and clients, with their children
T0=$(date +%s)

UVI=19001        # uvicorn + FastAPI, TLS by uvicorn (watched)
HAP=19002        # haproxy TLS, h2 + http/1.1 -> UP (watched)
NGX=19003        # nginx TLS, http2 -> UP (watched)
UP=19010         # endpoint.py plain: the proxies' upstream (watched: the second leg)
UNW=19020        # a second uvicorn TLS server, NOT watched
LATE=19030       # endpoint.py TLS, started after the tracer (watched)

A_CURL=127.0.0.2; A_PY=127.0.0.3; A_AIO=127.0.0.4; A_H2=127.0.0.5; A_NODE=127.0.0.6
A_DIRECT=127.0.0.7; A_UNW=127.0.0.8; A_SIZE=127.0.0.9; A_SPOOF=127.0.0.10; A_LATE=127.0.0.11
PROMPT_SIZES=100,16383,16384,16385,20479,20480,20481,65536,300000,1048000
ANSWER_SIZES=16383,16384,16385,20479,20480,20481,32768,65536,262144

stop_servers() {
	sh scripts/stacks/haproxy.sh stop "$W/haproxy" >/dev/null 2>&1
	sh scripts/nginx.sh stop "$W/nginx" >/dev/null 2>&1
	sh scripts/stacks/uvicorn.sh stop "$W/uvicorn" >/dev/null 2>&1
	sh scripts/stacks/uvicorn.sh stop "$W/unwatched" >/dev/null 2>&1
}

trap cleanup EXIT
trap 'bad "interrupted"; finish' INT TERM

need_root
for t in haproxy nginx curl node openssl bpftool; do
	command -v $t >/dev/null || { bad "$t installed (scripts/deps.sh)"; finish; }
done
$PY -c 'import uvicorn, fastapi, httpx, h2' 2>/dev/null ||
	{ bad "python3-uvicorn python3-fastapi python3-httpx python3-h2 installed"; finish; }
[ -x "$DG" ] || { bad "distillguard binary at $DG (make, or DG=...)"; finish; }

our_prog_ids() {   # ids of loaded BPF programs named like distillguard's
	bpftool prog show 2>/dev/null | sed -nE 's/^([0-9]+): .* name (ssl_|tls_enter_|plain_e|dg_sockops)[^ ]*.*/\1/p' | sort
}
BEFORE_IDS=$(our_prog_ids)

# --- servers ---------------------------------------------------------------
$PY scripts/endpoint.py --tls-port 0 --plain-port $UP --quiet --token-delay-ms 0.5 \
	--pid-file "$W/upstream.pid" >"$W/upstream.log" 2>&1 &
PIDS+=($!)
DG_TOKEN_DELAY_MS=0.5 sh scripts/stacks/uvicorn.sh start "$W/uvicorn" $UVI >"$W/uvicorn.out" 2>&1 ||
	{ cat "$W/uvicorn.out"; bad "uvicorn starts"; finish; }
DG_TOKEN_DELAY_MS=0.5 sh scripts/stacks/uvicorn.sh start "$W/unwatched" $UNW >"$W/unwatched.out" 2>&1 ||
	{ cat "$W/unwatched.out"; bad "unwatched uvicorn starts"; finish; }
wait_port $UP || { bad "upstream endpoint.py listening on $UP"; finish; }
sh scripts/stacks/haproxy.sh start "$W/haproxy" $HAP $UP --h2 >"$W/haproxy.out" 2>&1 ||
	{ cat "$W/haproxy.out"; bad "haproxy starts"; finish; }
sh scripts/nginx.sh start "$W/nginx" $NGX $UP --http2 --forwarded >"$W/nginx.out" 2>&1 ||
	{ cat "$W/nginx.out"; bad "nginx starts"; finish; }
ok "servers up: uvicorn :$UVI, haproxy :$HAP, nginx :$NGX -> endpoint.py :$UP, unwatched uvicorn :$UNW"
(cd tests/node && { [ -d node_modules/openai ] || npm ci --no-audit --no-fund >"$W/npm.log" 2>&1; }) ||
	bad "npm ci in tests/node"

# --- the tracer ------------------------------------------------------------
"$DG" trace --json --conns --stats --port $UVI --port $HAP --port $NGX --port $UP --port $LATE \
	--trusted-proxy 127.0.0.1 --secret-file "$W/secret" \
	>"$W/trace.jsonl" 2>"$W/trace.err" &
TRACE=$!
PIDS+=($TRACE)
for _ in $(seq 300); do   # up to 30 s, while it lives
	grep -q "ready" "$W/trace.err" 2>/dev/null && break
	kill -0 $TRACE 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "ready" "$W/trace.err"; then
	cat "$W/trace.err"
	bad "distillguard trace starts"
	finish
fi
ok "distillguard trace starts and attaches ($(grep -o 'OpenSSL in [0-9]* server process[es]*' "$W/trace.err"))"
# Uprobes go only into the servers of watched ports, each for its own pid.
PROBED=$(grep -o 'OpenSSL in .*' "$W/trace.err")
check "the watched uvicorn has uprobes, the unwatched one none" bash -c "
	echo '$PROBED' | grep -Eq '[:,] $(cat "$W/uvicorn/uvicorn.pid") ' &&
	! echo '$PROBED' | grep -Eq '[:,] $(cat "$W/unwatched/uvicorn.pid") '"
# A server that starts after the tracer is picked up (rescans every 5 s).
$PY scripts/endpoint.py --tls-port $LATE --quiet --token-delay-ms 0 >"$W/late.log" 2>&1 &
PIDS+=($!)
# the programs this trace loaded (another distillguard on the host keeps its own)
MINE=$(comm -13 <(echo "$BEFORE_IDS") <(our_prog_ids) | tr '\n' ' ')

# --- traffic ---------------------------------------------------------------
# client NAME CMD...: runs CMD, its "sent" lines to $W/sent-NAME.jsonl, and
# records whether it succeeded in $W/rc-NAME (checked after the wait).
client() {
	local name=$1
	shift
	"$@" >"$W/sent-$name.jsonl" 2>"$W/err-$name.txt"
	echo $? >"$W/rc-$name"
}

tag_ip() {   # tag_ip IP FILE: add "ip" to the lines of a client that has no such option
	$PY -c '
import json, sys
ip, path = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path) if l.strip()]
with open(path, "w") as f:
    for r in lines:
        r.setdefault("ip", ip)
        f.write(json.dumps(r) + "\n")' "$1" "$2"
}

drive() {   # drive STACK PORT H2: every client against one stack, one after the other
	local s=$1 port=$2 h2=$3 url=https://127.0.0.1:$2
	local par=1 req_h2=
	if [ "$h2" = 1 ]; then par=4; req_h2=--require-h2; fi
	client $s-curl1 $PY scripts/stacks/curl_load.py --url $url --http 1.1 --requests 12 \
		--api mixed --models $s-curl1 --key-prefix sk-$s-curl1- --source-address $A_CURL \
		--expect-connections 1 --tokens 9 --seed 11
	client $s-curl2 $PY scripts/stacks/curl_load.py --url $url --http 2 --parallel $par \
		--requests 12 --api mixed --models $s-curl2 --key-prefix sk-$s-curl2- \
		--source-address $A_CURL --expect-connections 1 --tokens 10 --seed 12
	client $s-py $PY scripts/load.py --url $url --connections 4 --requests 40 --api mixed \
		--models $s-py --keys 4 --key-prefix sk-$s-py- --source-address $A_PY --tokens 20 --seed 13
	client $s-aio $PY scripts/stacks/aioload.py --url $url --connections 3 --requests 30 \
		--api mixed --models $s-aio --keys 3 --key-prefix sk-$s-aio- --source-address $A_AIO \
		--tokens 15 --seed 14
	client $s-h2 $PY scripts/stacks/h2load.py --url $url --connections 1 --streams 6 \
		--requests 30 --api mixed --models $s-h2 --keys 1 --key-prefix sk-$s-h2- \
		--source-address $A_H2 --tokens 11 --seed 15 $req_h2
	for st in stream no-stream; do
		client $s-node-$st env DG_LOCAL_ADDRESS=$A_NODE node --require ./scripts/stacks/node_bind.cjs \
			tests/node/client.mjs --base-url $url/v1 --api-key sk-$s-node --requests 8 \
			--concurrency 3 --$st --model $s-node --max-tokens 12 --tokens 12
		tag_ip $A_NODE "$W/sent-$s-node-$st.jsonl"
	done
	# a client that claims to be someone else: its own address must win
	client $s-spoof $PY scripts/stacks/curl_load.py --url $url --http 1.1 --requests 4 \
		--models $s-spoof --key-prefix sk-$s-spoof- --source-address $A_SPOOF --tokens 6 \
		--header 'X-Forwarded-For: 198.51.100.9' --header 'X-Real-IP: 198.51.100.10' \
		--header 'Forwarded: for="198.51.100.11:1234"' --seed 17
	# request bodies across the capture bounds, HTTP/1.1 and HTTP/2
	client $s-size1 $PY scripts/load.py --url $url --connections 2 --requests 20 --api mixed \
		--models $s-size1 --keys 1 --key-prefix sk-$s-size1- --source-address $A_SIZE \
		--prompt-bytes $PROMPT_SIZES --tokens-list 5,40 --seed 18
	client $s-size2 $PY scripts/stacks/h2load.py --url $url --connections 1 --streams 3 \
		--requests 10 --api mixed --models $s-size2 --keys 1 --key-prefix sk-$s-size2- \
		--source-address $A_SIZE --prompt-bytes $PROMPT_SIZES --tokens-list 7 --seed 19 $req_h2
	# answers across the capture bounds: padded JSON, logprobs, long streams
	client $s-ans1 $PY scripts/load.py --url $url --connections 2 --requests 18 --api mixed \
		--stream-ratio 0 --models $s-ans1 --keys 1 --key-prefix sk-$s-ans1- \
		--source-address $A_SIZE --answer-bytes $ANSWER_SIZES --tokens 30 --seed 20
	client $s-ans2 $PY scripts/stacks/h2load.py --url $url --connections 1 --streams 3 \
		--requests 9 --api mixed --stream-ratio 0 --models $s-ans2 --keys 1 \
		--key-prefix sk-$s-ans2- --source-address $A_SIZE --answer-bytes $ANSWER_SIZES \
		--tokens 25 --seed 21 $req_h2
	client $s-lp $PY scripts/load.py --url $url --connections 2 --requests 6 --api openai \
		--models $s-lp --keys 1 --key-prefix sk-$s-lp- --source-address $A_SIZE \
		--logprobs 5 --tokens-list 40,400 --seed 22
	client $s-long $PY scripts/load.py --url $url --connections 2 --requests 2 --api mixed \
		--stream-ratio 1 --models $s-long --keys 1 --key-prefix sk-$s-long- \
		--source-address $A_SIZE --tokens 1500 --seed 23
}

TRAFFIC=()
drive uvi $UVI 0 &
TRAFFIC+=($!)
drive hap $HAP 1 &
TRAFFIC+=($!)
drive ngx $NGX 1 &
TRAFFIC+=($!)
# requests straight to the upstream's port: they are its own, and must appear
client direct-py $PY scripts/load.py --url http://127.0.0.1:$UP --connections 2 --requests 20 \
	--api mixed --models direct-py --keys 2 --key-prefix sk-direct- --source-address $A_DIRECT \
	--tokens 8 --seed 30 &
TRAFFIC+=($!)
# ... with request bodies and answers across the capture bounds (plain reads and
# writes of up to 1 MiB in one call)
{
	client direct-size $PY scripts/load.py --url http://127.0.0.1:$UP --connections 2 \
		--requests 20 --api mixed --models direct-size --keys 1 --key-prefix sk-direct-size- \
		--source-address $A_DIRECT --prompt-bytes $PROMPT_SIZES --tokens-list 5,40 --seed 33
	client direct-ans $PY scripts/load.py --url http://127.0.0.1:$UP --connections 2 \
		--requests 18 --api mixed --stream-ratio 0 --models direct-ans --keys 1 \
		--key-prefix sk-direct-ans- --source-address $A_DIRECT --answer-bytes $ANSWER_SIZES \
		--tokens 30 --seed 34
} &
TRAFFIC+=($!)
# the late server's traffic, once a rescan has had time to find it
{
	sleep 7
	client late $PY scripts/load.py --url https://127.0.0.1:$LATE --connections 2 --requests 12 \
		--api openai --models late-srv --keys 1 --key-prefix sk-late- --source-address $A_LATE \
		--tokens 6 --seed 35
} &
TRAFFIC+=($!)
# traffic on the unwatched port: must leave no record at all
client unw-py $PY scripts/load.py --url https://127.0.0.1:$UNW --connections 2 --requests 20 \
	--api mixed --models unw-py --keys 1 --key-prefix sk-unw- --source-address $A_UNW \
	--tokens 8 --seed 31 &
TRAFFIC+=($!)
client unw-curl $PY scripts/stacks/curl_load.py --url https://127.0.0.1:$UNW --http 1.1 \
	--requests 6 --models unw-curl --key-prefix sk-unw-curl- --source-address $A_UNW \
	--tokens 5 --seed 32 &
TRAFFIC+=($!)
PIDS+=("${TRAFFIC[@]}")
wait "${TRAFFIC[@]}"
echo "--- traffic done after $(($(date +%s) - T0)) s"

for f in "$W"/rc-*; do
	name=${f##*/rc-}
	n=$(grep -c . "$W/sent-$name.jsonl" 2>/dev/null)
	if [ "$(cat "$f")" = 0 ]; then
		ok "client $name: $n requests answered right"
	else
		tail -3 "$W/err-$name.txt"
		bad "client $name ($n lines)"
	fi
done
# what the HTTP/2 clients negotiated
$PY -c '
import json, sys, glob, collections
c = collections.Counter()
for p in sorted(glob.glob(sys.argv[1] + "/sent-*.jsonl")):
    name = p.rsplit("/sent-", 1)[1][:-6]
    if name.split("-")[-1] in ("curl2", "h2", "size2", "ans2"):
        for l in open(p):
            c[(name, json.loads(l).get("http"))] += 1
print("--- HTTP/2 clients got:", " ".join("%s:HTTP/%s*%d" % (k + (v,)) for k, v in sorted(c.items())))' "$W"

sleep 1
kill -INT $TRACE
for _ in $(seq 150); do kill -0 $TRACE 2>/dev/null || break; sleep 0.1; done
check "distillguard trace exits on SIGINT" bash -c "! kill -0 $TRACE 2>/dev/null"
echo "--- trace stats:"; grep -E "^(kernel|reassembly):" "$W/trace.err"

# --- checks ----------------------------------------------------------------
cat "$W"/sent-*.jsonl | $PY -c '
import json, sys
keys = sorted({json.loads(l)["key"] for l in sys.stdin if l.strip() and json.loads(l).get("key")})
print("\n".join(keys))' >"$W/keys.txt"
"$DG" key-id --secret-file "$W/secret" <"$W/keys.txt" >"$W/ids.txt"
paste "$W/keys.txt" "$W/ids.txt" >"$W/keymap.tsv"

echo "--- request records per port, address and model family:"
$PY -c '
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event") is None:
        m = r.get("model") or "-"
        c[(str(r.get("port")), str(r.get("ip")), m.split("-")[0] + "-" + (m.split("-")[1] if "-" in m else ""))] += 1
for k, v in sorted(c.items()):
    print("   port=%s ip=%s model=%s*: %d" % (k + (v,)))' "$W/trace.jsonl"

records() {   # records PORT MODEL_PREFIX: request records on PORT whose model starts so
	$PY -c '
import json, sys
port, prefix = sys.argv[1], sys.argv[2]
for l in open(sys.argv[3]):
    r = json.loads(l)
    if r.get("event") is None and str(r.get("port")) == port and (r.get("model") or "").startswith(prefix):
        print(l, end="")' "$1" "$2" "$W/trace.jsonl"
}

verify_stack() {   # verify_stack STACK PORT WHAT LABEL: the sent lines of STACK-WHAT* vs records
	local s=$1 port=$2 what=$3 label=$4
	cat "$W"/sent-$s-$what*.jsonl >"$W/want-$s-$what.jsonl" 2>/dev/null
	records "$port" "$s-$what" >"$W/got-$s-$what.jsonl"
	$PY tests/integration/verify.py "$W/want-$s-$what.jsonl" "$W/got-$s-$what.jsonl" \
		"$W/keymap.tsv" --strict --label "$s-$what" >"$W/verify-$s-$what.txt" 2>&1
	local rc=$?
	if [ $rc = 0 ]; then ok "$label"; return; fi
	head -8 "$W/verify-$s-$what.txt"
	# where did the records of these requests go, if not all to this port?
	$PY -c '
import json, sys, collections
port, prefix = sys.argv[1], sys.argv[2]
c = collections.Counter()
for r in map(json.loads, open(sys.argv[3])):
    if r.get("event") is None and (r.get("model") or "").startswith(prefix) and str(r.get("port")) != port:
        c[(r.get("port"), r.get("ip"), r.get("ja4") is not None)] += 1
for (p, ip, ja4), n in sorted(c.items(), key=str):
    print("      elsewhere: %d records of %s* with port=%s ip=%s ja4=%s" % (n, prefix, p, ip, "yes" if ja4 else "no"))' \
		"$port" "$s-$what" "$W/trace.jsonl"
	bad "$label"
}

only_known_models() {   # only_known_models STACK PORT: every record on PORT is one of STACK's requests
	$PY -c '
import json, sys, collections
stack, port = sys.argv[1], sys.argv[2]
odd = collections.Counter()
for l in open(sys.argv[3]):
    r = json.loads(l)
    if r.get("event") is None and str(r.get("port")) == port and not (r.get("model") or "").startswith(stack + "-"):
        odd[(r.get("model"), r.get("path"), r.get("ip"))] += 1
for k, v in odd.most_common(5):
    print("  unexpected on port %s: model=%s path=%s ip=%s: %d" % ((port,) + k + (v,)))
sys.exit(1 if odd else 0)' "$1" "$2" "$W/trace.jsonl"
}

ja4_on() {   # ja4_on PORT: records exist on PORT, every one tls with a JA4 "t1..."
	$PY -c '
import json, sys
port = sys.argv[1]
rs = [r for r in map(json.loads, open(sys.argv[2])) if r.get("event") is None and str(r.get("port")) == port]
badr = [r for r in rs if not r.get("tls") or not (r.get("ja4") or "").startswith("t1")]
for r in badr[:3]:
    print("  port %s: tls=%s ja4=%s model=%s" % (port, r.get("tls"), r.get("ja4"), r.get("model")))
print("  port %s: %d records, %d without a JA4 (%s)" % (port, len(rs), len(badr),
      ",".join(sorted({(r.get("ja4") or "-")[:10] for r in rs})[:4])))
sys.exit(0 if rs and not badr else 1)' "$1" "$W/trace.jsonl"
}

check_stack() {   # check_stack STACK PORT DESCRIPTION
	local s=$1 port=$2 desc=$3
	echo "--- $desc on :$port"
	verify_stack $s $port curl1 "$desc: curl --http1.1, each request once, client address $A_CURL"
	verify_stack $s $port curl2 "$desc: curl --http2, each request once, client address $A_CURL"
	verify_stack $s $port py "$desc: Python http.client (load.py), each once, $A_PY"
	verify_stack $s $port aio "$desc: asyncio client (aioload.py), each once, $A_AIO"
	verify_stack $s $port h2 "$desc: httpx http2 (h2load.py), each once, $A_H2"
	verify_stack $s $port node "$desc: openai npm client, each once, $A_NODE"
	verify_stack $s $port spoof "$desc: a spoofed X-Forwarded-For/X-Real-IP/Forwarded is not believed ($A_SPOOF)"
	verify_stack $s $port size "$desc: request bodies of 100 B..1048000 B (h1+h2): req_bytes, fields after messages, not truncated"
	verify_stack $s $port ans "$desc: answers of 16383 B..256 KiB (h1+h2): output tokens"
	verify_stack $s $port lp "$desc: logprobs answers (20..190 KB JSON, SSE): output tokens"
	verify_stack $s $port long "$desc: 1500-token streams: output tokens"
	check "$desc: no other record on :$port" only_known_models $s $port
	check "$desc: every record on :$port is TLS with a JA4" ja4_on $port
}
check_stack uvi $UVI "uvicorn+FastAPI (TLS by uvicorn)"
check_stack hap $HAP "haproxy (TLS, h2) -> upstream"
check_stack ngx $NGX "nginx (TLS, http2) -> upstream"

echo "--- upstream leg :$UP"
verify_stack direct $UP py "upstream :$UP: requests sent straight to it are traced, each once ($A_DIRECT)"
verify_stack direct $UP size "upstream :$UP (plain): request bodies of 100 B..1048000 B: req_bytes, fields after messages, not truncated"
verify_stack direct $UP ans "upstream :$UP (plain): answers of 16383 B..256 KiB in one write: output tokens"
check "upstream :$UP: no second record of a request that came through haproxy or nginx" $PY -c '
import json, sys, collections
port = int(sys.argv[1])
c = collections.Counter()
for r in map(json.loads, open(sys.argv[2])):
    if r.get("event") is None and r.get("port") == port and not (r.get("model") or "").startswith("direct-"):
        c[(r.get("model") or "-", r.get("ip"), bool(r.get("req_truncated")))] += 1
for (model, ip, trunc), n in sorted(c.items(), key=str):
    print("  %d records of %s requests on :%d, ip=%s%s" % (n, model, port, ip, " req_truncated" if trunc else ""))
sys.exit(1 if c else 0)' $UP "$W/trace.jsonl"
check "a server started after the tracer is found: its 12 requests recorded" $PY -c '
import json, sys
n = sum(1 for r in map(json.loads, open(sys.argv[2])) if r.get("event") is None and
        r.get("port") == int(sys.argv[1]) and r.get("model") == "late-srv" and r.get("ja4"))
print("  %d records from the late server" % n)
sys.exit(0 if n == 12 else 1)' $LATE "$W/trace.jsonl"
check "no record from the unwatched port :$UNW (by port or by its models)" $PY -c '
import json, sys
port = int(sys.argv[1])
bad = [r for r in map(json.loads, open(sys.argv[2])) if r.get("event") is None and
       (r.get("port") == port or (r.get("model") or "").startswith("unw-"))]
if bad:
    print("  %d records, e.g. port=%s ip=%s model=%s" % (len(bad), bad[0].get("port"), bad[0].get("ip"), bad[0].get("model")))
sys.exit(1 if bad else 0)' $UNW "$W/trace.jsonl"
check "no request record without a port, none on a port not watched" $PY -c '
import json, sys, collections
watched = set(map(int, sys.argv[1].split(",")))
bad = collections.Counter()
for r in map(json.loads, open(sys.argv[2])):
    if r.get("event") is None and r.get("port") not in watched:
        bad[(r.get("port"), (r.get("model") or "-").split("-")[0], r.get("proc"))] += 1
for k, v in bad.most_common(6):
    print("  port=%s model=%s* proc=%s: %d records" % (k + (v,)))
sys.exit(1 if bad else 0)' "$UVI,$HAP,$NGX,$UP,$LATE" "$W/trace.jsonl"

check "connection events (--conns): each on a watched port with an address, tls:true on the TLS ports" $PY -c '
import json, sys, collections
watched = set(map(int, sys.argv[1].split(",")))
tls_ports = set(map(int, sys.argv[2].split(",")))
bad = collections.Counter()
n = 0
for r in map(json.loads, open(sys.argv[3])):
    if r.get("event") != "conn":
        continue
    n += 1
    if r.get("port") not in watched or not r.get("ip"):
        bad[("port=%s ip=%r" % (r.get("port"), r.get("ip")), "tls=%s" % r.get("tls"))] += 1
    elif r.get("port") in tls_ports and not r.get("tls"):
        bad[("port=%s" % r.get("port"), "tls=%s" % r.get("tls"))] += 1
for k, v in bad.most_common(4):
    print("  %d connection events with %s %s" % ((v,) + k))
sys.exit(1 if bad or not n else 0)' "$UVI,$HAP,$NGX,$UP,$LATE" "$UVI,$HAP,$NGX,$LATE" "$W/trace.jsonl"

stat_zero() {   # stat_zero NAME...: each counter is 0 in the --stats lines
	local n ok=0
	for n in "$@"; do
		if ! grep -Eq "^(kernel|reassembly):.* $n=0( |$)" "$W/trace.err"; then
			echo "  $(grep -Eo " $n=[0-9]+" "$W/trace.err" | head -1)"
			ok=1
		fi
	done
	return $ok
}
check "no events lost (ringbuf_full=0 map_full=0 read_fail=0)" stat_zero ringbuf_full map_full read_fail
check "no HTTP parse errors (parse_errors=0)" stat_zero parse_errors
check "no raw API key in the trace output" bash -c "! grep -q 'sk-[a-z0-9]*-' '$W/trace.jsonl' '$W/trace.err'"

# --- everything we started is gone, and the kernel is clean again ---------------
stop_servers
for p in "${PIDS[@]}"; do kill_tree TERM "$p"; done
for p in "${PIDS[@]}"; do
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
left=$(for f in "$W"/upstream.pid "$W"/uvicorn/uvicorn.pid "$W"/unwatched/uvicorn.pid \
	"$W"/haproxy/haproxy.pid "$W"/nginx/nginx.pid; do [ -s "$f" ] && cat "$f"; done; \
	for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
check "servers and clients stopped${left:+ (left: $left)}" test -z "$left"
sleep 0.5
LEFT=$(for id in $MINE; do our_prog_ids | grep -qx "$id" && echo "$id"; done | tr '\n' ' ')
check "no BPF program of this trace left loaded (it loaded: ${MINE:-none}; left: ${LEFT:-none})" \
	test -n "$MINE" -a -z "$LEFT"
echo "--- total $(($(date +%s) - T0)) s"
finish
