#!/bin/bash
# BPF integration tests (root): real TLS stacks, real clients, the real
# kernel. Starts the demo endpoint (Python ssl: SSL_read_ex/SSL_write_ex)
# and nginx in front of it (SSL_read/SSL_write), drives them with load.py,
# curl, openssl s_client and the official `openai` Node client, and checks
# that every request appears exactly once in `distillguard trace --json`.
# Everything runs on 127.0.0.0/8; everything started is stopped, and the
# kernel is checked for leftovers at the end.
# Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=$ROOT/distillguard
W=$(mktemp -d /tmp/dg-it.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

PY_TLS=18443      # endpoint.py, TLS (Python ssl)
NGX_TLS=18444     # nginx TLS -> UPSTREAM
UPSTREAM=18080    # endpoint.py plain, behind nginx (not watched)
PLAIN=18081       # endpoint.py plain, watched directly
NODE_TLS=18445    # Node https server: static OpenSSL, memory BIOs
V6=18446          # python http.server on [::1]

stop_servers() {
	sh scripts/nginx.sh stop "$W/nginx" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root

our_progs() {
	bpftool prog show 2>/dev/null | grep -cE "name (ssl_|tls_enter_|plain_e|dg_sockops)" || true
}
BEFORE=$(our_progs)

wait_for() {   # wait_for FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- servers ---------------------------------------------------------------
python3 scripts/endpoint.py --tls-port $PY_TLS --plain-port $PLAIN --quiet \
	--token-delay-ms 1 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
python3 scripts/endpoint.py --tls-port 0 --plain-port $UPSTREAM --quiet \
	--token-delay-ms 1 >"$W/upstream.log" 2>&1 &
PIDS+=($!)
mkdir -p "$W/nginx"
sh scripts/nginx.sh start "$W/nginx" $NGX_TLS $UPSTREAM >"$W/nginx.log" 2>&1 ||
	{ cat "$W/nginx.log"; bad "nginx starts"; finish; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-keyout "$W/node-key.pem" -out "$W/node-cert.pem" >/dev/null 2>&1
node tests/node/server.mjs $NODE_TLS "$W/node-cert.pem" "$W/node-key.pem" >"$W/node-server.log" 2>&1 &
NODE_SERVER=$!
PIDS+=($NODE_SERVER)
mkdir -p "$W/www" && echo hello >"$W/www/index.html"
python3 -m http.server --bind ::1 --directory "$W/www" $V6 >/dev/null 2>&1 &
PIDS+=($!)
for p in $PY_TLS $PLAIN $UPSTREAM $NGX_TLS $NODE_TLS; do
	wait_port $p || { bad "port $p listening"; finish; }
done

# --- the tracer ------------------------------------------------------------
"$DG" trace --json --conns --stats --port $PY_TLS --port $NGX_TLS --port $PLAIN \
	--port $NODE_TLS --port $V6 --ssl-binary "$(command -v node)" --trusted-proxy 127.0.0.2 --secret-file "$W/secret" \
	>"$W/trace.jsonl" 2>"$W/trace.err" &
TRACE=$!
PIDS+=($TRACE)
if ! wait_for "$W/trace.err" "ready" 30; then
	cat "$W/trace.err"
	bad "distillguard trace starts"
	finish
fi
ok "distillguard trace starts and attaches"
check "uprobes attached to libssl" grep -q "OpenSSL in [1-9]" "$W/trace.err"
check "uprobes attached to the node binary (--ssl-binary)" grep -q "OpenSSL in .*/node" "$W/trace.err"

# --- traffic ---------------------------------------------------------------
run_load() {   # run_load NAME URL CONNS REQS KEYPREFIX [more load.py args]
	local name=$1 url=$2 conns=$3 reqs=$4 prefix=$5
	shift 5
	if python3 scripts/load.py --url "$url" --connections "$conns" --requests "$reqs" \
		--stream-ratio 0.5 --keys 25 --key-prefix "$prefix" --seed 7 "$@" \
		>"$W/sent-$name.jsonl" 2>"$W/load-$name.err"; then
		ok "load $name: $reqs requests over $conns connections"
	else
		tail -5 "$W/load-$name.err"
		bad "load $name"
	fi
}

run_load py https://127.0.0.1:$PY_TLS 50 1000 sk-py- --api mixed --tokens 40 --models gpt-a,gpt-b
run_load nginx https://127.0.0.1:$NGX_TLS 50 1000 sk-ngx- --api mixed --tokens 33 --models gpt-c
run_load plain http://127.0.0.1:$PLAIN 10 300 sk-pl- --api openai --tokens 21 --models gpt-d

# Node in two parts: by default (no syscall hooks) its memory BIOs show at
# its first SSL calls and only then are its libc's writes probed, which
# confirm each tie; the reads that tie were probed from the start.
run_load node-server https://127.0.0.1:$NODE_TLS 5 50 sk-nsrv- --api openai --tokens 11 --models node-srv
sleep 0.5
run_load node-server-later https://127.0.0.1:$NODE_TLS 5 50 sk-nsrv- --api openai --tokens 11 \
	--models node-srv --seed 8

# Request bodies bigger than one call (plain read() of 64 KiB, SSL_read of
# 16 KiB) are parsed whole up to max_body (1 MiB): the fields a client
# serialises after a long "messages" array are found. Past the bound the size
# and the fields before the cut are still reported, marked truncated.
python3 - $PLAIN $PY_TLS >"$W/big.out" 2>&1 <<'EOF'
import http.client, json, ssl, sys
for port, tls in ((int(sys.argv[1]), False), (int(sys.argv[2]), True)):
    for name, size in (("big-model", 200000), ("huge-model", 1100000)):
        body = json.dumps({"messages": [{"role": "user", "content": "z" * size}],
                           "model": name, "stream": False, "max_tokens": 7, "logprobs": True})
        c = (http.client.HTTPSConnection("127.0.0.1", port, context=ssl._create_unverified_context())
             if tls else http.client.HTTPConnection("127.0.0.1", port))
        c.request("POST", "/v1/chat/completions", body, {"x-dg-tokens": "7", "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        print(name, port, r.status, len(body))
EOF

# curl (connection reuse) and openssl s_client against both TLS stacks.
if sh scripts/curl_s_client.sh $PY_TLS sk-curl-py 5 >"$W/sent-curl-py.jsonl" 2>"$W/curl.err" &&
   sh scripts/curl_s_client.sh $NGX_TLS sk-curl-ngx 5 >"$W/sent-curl-ngx.jsonl" 2>>"$W/curl.err"; then
	ok "curl and openssl s_client requests"
else
	cat "$W/curl.err"; bad "curl and openssl s_client requests"
fi

# The official openai Node client (npm), streaming and not.
NODE_OK=0
if (cd tests/node && { [ -d node_modules/openai ] || npm ci --no-audit --no-fund >"$W/npm.log" 2>&1; }); then
	NODE_OK=1
	for port in $PY_TLS $NGX_TLS; do
		for stream in stream no-stream; do
			if ! node tests/node/client.mjs --base-url https://127.0.0.1:$port/v1 \
				--api-key sk-node-$port --requests 10 --concurrency 3 --$stream \
				--model node-model --max-tokens 12 \
				>"$W/node-$port-$stream.jsonl" 2>"$W/node.err"; then
				NODE_OK=0
				tail -5 "$W/node.err"
			fi
		done
	done
fi
check "openai Node client requests" test $NODE_OK = 1

# X-Forwarded-For: honoured from a trusted proxy address only.
curl -s --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.7' -H 'x-dg-tokens: 3' \
	-d '{"model":"xff-model","messages":[{"role":"user","content":"x"}]}' \
	http://127.0.0.1:$PLAIN/v1/chat/completions >/dev/null
curl -s -H 'X-Forwarded-For: 198.51.100.8' -H 'x-dg-tokens: 3' \
	-d '{"model":"xff-untrusted","messages":[{"role":"user","content":"x"}]}' \
	http://127.0.0.1:$PLAIN/v1/chat/completions >/dev/null

# IPv6.
for _ in $(seq 50); do curl -s -g "http://[::1]:$V6/index.html" -o /dev/null && break; sleep 0.1; done

# A connection that never sends a whole request is still seen.
python3 - $PLAIN <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le")
time.sleep(0.2)
s.close()
EOF

sleep 2
kill -INT $TRACE
for _ in $(seq 100); do kill -0 $TRACE 2>/dev/null || break; sleep 0.1; done
check "distillguard trace exits on SIGINT" bash -c "! kill -0 $TRACE 2>/dev/null"
echo "--- trace stats:"; grep -E "^(kernel|reassembly):" "$W/trace.err"

# --- checks ----------------------------------------------------------------
# Raw keys -> the ids distillguard gives them (same secret).
cat "$W"/sent-*.jsonl | python3 -c '
import json, sys
keys = sorted({json.loads(l)["key"] for l in sys.stdin if l.strip() and json.loads(l).get("key")})
print("\n".join(keys))' >"$W/keys.txt"
for port in $PY_TLS $NGX_TLS; do echo "sk-node-$port"; done >>"$W/keys.txt"
"$DG" key-id --secret-file "$W/secret" <"$W/keys.txt" >"$W/ids.txt"
paste "$W/keys.txt" "$W/ids.txt" >"$W/keymap.tsv"

by_port() {   # by_port PORT: the trace's request records on that port
	python3 -c '
import json, sys
port = int(sys.argv[1])
for l in open(sys.argv[2]):
    r = json.loads(l)
    if r.get("event") is None and r.get("port") == port:
        print(l, end="")' "$1" "$W/trace.jsonl"
}

node_sent() {   # node_sent PORT: the Node client's lines carry path, key, tokens
	cat "$W"/node-"$1"-*.jsonl 2>/dev/null
}

# The oversized-body requests are checked on their own below.
by_port $PY_TLS | grep -v '"req_bytes":[0-9]\{6,\}' >"$W/trace-py.jsonl"
cat "$W/sent-py.jsonl" "$W/sent-curl-py.jsonl" >"$W/want-py.jsonl"
node_sent $PY_TLS >>"$W/want-py.jsonl"
check "Python ssl (SSL_read_ex/SSL_write_ex): every request traced once" \
	python3 tests/integration/verify.py "$W/want-py.jsonl" "$W/trace-py.jsonl" "$W/keymap.tsv" \
	--ip 127.0.0.1 --label python-tls

by_port $NGX_TLS >"$W/trace-ngx.jsonl"
cat "$W/sent-nginx.jsonl" "$W/sent-curl-ngx.jsonl" >"$W/want-ngx.jsonl"
node_sent $NGX_TLS >>"$W/want-ngx.jsonl"
check "nginx (SSL_read/SSL_write): every request traced once" \
	python3 tests/integration/verify.py "$W/want-ngx.jsonl" "$W/trace-ngx.jsonl" "$W/keymap.tsv" \
	--ip 127.0.0.1 --label nginx-tls

by_port $PLAIN | grep -v '"xff-\|"req_bytes":[0-9]\{6,\}' >"$W/trace-plain.jsonl"
check "plain HTTP: every request traced once" \
	python3 tests/integration/verify.py "$W/sent-plain.jsonl" "$W/trace-plain.jsonl" "$W/keymap.tsv" \
	--ip 127.0.0.1 --label plain

# A memory-BIO server is tied to its socket by the reads and writes of its
# thread: its records carry the client's address, the port and JA4.
by_port $NODE_TLS >"$W/trace-nsrv.jsonl"
cat "$W/sent-node-server.jsonl" "$W/sent-node-server-later.jsonl" >"$W/want-nsrv.jsonl"
check "Node server (static OpenSSL, memory BIOs): every request traced once, with its address" \
	python3 tests/integration/verify.py "$W/want-nsrv.jsonl" "$W/trace-nsrv.jsonl" "$W/keymap.tsv" \
	--ip 127.0.0.1 --label node-server
check "memory-BIO ties: made, confirmed by the ciphertext writes, never contradicted" \
	grep -Eq "bio_tied=[1-9][0-9]* bio_confirmed=[1-9][0-9]* bio_mismatch=0 bio_conflict=0" "$W/trace.err"
check "the Node clients (not servers) get no uprobe: none of their TLS calls reach us" \
	grep -Eq "tls_untied=0 " "$W/trace.err"
check "every record names its port" python3 -c '
import json, sys
bad = [l for l in open(sys.argv[1]) if (r := json.loads(l)).get("event") is None and not r.get("port")]
sys.exit(1 if bad else 0)' "$W/trace.jsonl"

for port in $PLAIN $PY_TLS; do
	BIG_LEN=$(awk -v p=$port '$1 == "big-model" && $2 == p {print $4}' "$W/big.out")
	HUGE_LEN=$(awk -v p=$port '$1 == "huge-model" && $2 == p {print $4}' "$W/big.out")
	check "a 200 KB request body on port $port is parsed whole (fields after messages)" \
		grep -q '"model":"big-model",.*"max_tokens":7,.*"logprobs":true,.*"output_tokens":7,.*"req_bytes":'"$BIG_LEN"',"req_truncated":false,.*"port":'$port',' "$W/trace.jsonl"
	check "a body over max_body on port $port: its size, marked truncated" \
		grep -q '"output_tokens":7,.*"req_bytes":'"$HUGE_LEN"',"req_truncated":true,.*"port":'$port',' "$W/trace.jsonl"
done

check "X-Forwarded-For from a trusted proxy names the client" \
	grep -q '"ip":"198.51.100.7".*"model":"xff-model"' "$W/trace.jsonl"
check "X-Forwarded-For from an untrusted peer is ignored" \
	grep -q '"client":"ip:127.0.0.1","ip":"127.0.0.1".*"model":"xff-untrusted"' "$W/trace.jsonl"
check "connection events carry the kernel's per-connection counters" \
	grep -Eq '"event":"conn".*"port":'$PY_TLS',"tls":true,.*"app_bytes_in":[1-9]' "$W/trace.jsonl"
# JA4: what the tracer computed from the packets equals the reference
# implementation's JA4 of the same curl's ClientHello.
CURL_JA4=$(python3 -c '
import sys
sys.path.insert(0, "tests/unit/fixtures")
import record_hellos as r
print(r.capture("curl_ip", lambda: r.run(["curl", "-sk", "--http1.1", "--max-time", "2",
      "https://127.0.0.1:%d/" % r.PORT]), outdir=sys.argv[1]))' "$W")
check "JA4 of each TLS connection, equal to the reference for curl ($CURL_JA4)" \
	grep -q '"key":"'"$(grep sk-curl-py "$W/keymap.tsv" | cut -f2 | sed 's/key://')"'","ja4":"'"$CURL_JA4"'"' "$W/trace.jsonl"
check "every TLS record has a JA4 (Python, nginx, Node)" python3 -c '
import json, sys
bad = [l for l in open(sys.argv[1]) if (r := json.loads(l)).get("event") is None and r.get("tls")
       and not (r.get("ja4") or "").startswith("t1")]
sys.exit(1 if bad else 0)' "$W/trace.jsonl"
check "IPv6 clients are named by their address" \
	grep -q '"client":"ip:::1","ip":"::1",.*"method":"GET","path":"/index.html","status":200' "$W/trace.jsonl"
check "a connection without a whole request is reported" \
	grep -q '"event":"conn".*"port":'$PLAIN',.*"requests":0' "$W/trace.jsonl"
check "no events lost (ring buffer, maps, reads) and no stream byte lost" \
	bash -c "grep -q 'ringbuf_full=0 .*map_full=0 .*read_fail=0' '$W/trace.err' &&
		grep -q ' gaps=0 gap_bytes=0 .*overlap_dropped=0 seq_resets=0' '$W/trace.err'"
check "no HTTP parse errors, no ciphertext taken for plain HTTP" \
	grep -q "parse_errors=0 .*mixed_dropped=0" "$W/trace.err"
check "no raw API key in the trace" bash -c "! grep -q 'sk-py-\|sk-ngx-\|sk-pl-\|sk-node' '$W/trace.jsonl'"

# --- the kernel is clean again ------------------------------------------------
sleep 0.5
AFTER=$(our_progs)
check "no BPF programs of ours left loaded ($AFTER, before $BEFORE)" test "$AFTER" -le "$BEFORE"
finish
