#!/bin/bash
# BPF integration tests (root) of enforcement: `distillguard run --enforce`
# in front of a TLS endpoint in a cgroup of its own, with clients in two
# network namespaces joined to the host by veth pairs (A: 10.231.1.2-4 and
# fd00:231:1::2; B: 10.231.2.2-3 and fd00:231:2::2). Checks, in the order
# they run:
#  - a block of an address (IPv4, IPv6) refuses its new connections at SYN
#    while other addresses are served, is journaled, and is lifted at once;
#  - a blocked key is cut at its request head (the cut's delay from the
#    daemon's counters) while another key from the same address is served;
#  - a stream is cut mid-answer by a block of its address or of its key;
#  - a rate limit paces answers to within 20% of ratelimit.pace, on a
#    connection open before it (the sweep) and on a new one (sockops);
#  - exemptions: loopback, the allow list, the peers of SSH sessions (on
#    enforce.ssh_port and on a port of a process named sshd), unwatched
#    ports; an SSH peer is no longer exempt once its session ends, and a
#    server started after the daemon is found (both by the 5 s rescan);
#  - a live hydra campaign from A is cut automatically while chat customers
#    from B lose nothing;
#  - budgets (requests_per_minute, set by SIGHUP): requests over it on an
#    open connection are cut, new connections over it refused at SYN;
#  - SIGTERM, and SIGKILL with a short TTL: clients served again at once,
#    none of the daemon's programs left loaded, nothing on the cgroup.
# Nothing of the host's own interfaces is touched; namespaces, veths,
# cgroups and every process started are removed at the end, even on
# failure or a signal.
# Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-enforce.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh
KILL_PID=kill_tree

TLS=19201                    # endpoint.py, TLS (watched)
UNW=19202                    # endpoint.py, plain HTTP on the same process (not watched)
TLS2=19203                   # a second endpoint, started after the daemon (watched)
SSHP=19222                   # a listener standing for sshd (enforce.ssh_port)
SSHD=19223                   # a listener in a process named sshd (not configured)
export DISTILLGUARD_SOCKET=$W/control.sock

NA=dg-enf-a-$$ NB=dg-enf-b-$$            # network namespaces
VA=dgea$$ VB=dgeb$$                      # host ends of the veth pairs
HA=10.231.1.1 A=10.231.1.2 A2=10.231.1.3 A3=10.231.1.4 HA6=fd00:231:1::1 A6=fd00:231:1::2
HB=10.231.2.1 B=10.231.2.2 B2=10.231.2.3 HB6=fd00:231:2::1 B6=fd00:231:2::2
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CGNAME=dg-enforce-test-$$
CG=$CGROOT/$CGNAME
CG2=$CG-late                 # the second endpoint's cgroup
PAYLOAD='{"model":"dg-small","stream":STREAM,"messages":[{"role":"user","content":"Tell me a story about a lighthouse."}]}'
T0=$SECONDS

teardown() {    # everything but $W: cgroup, veths, namespaces (idempotent)
	local p cg
	for cg in "$CG" "$CG2"; do
		[ -n "$CGROOT" ] && [ -d "$cg" ] || continue
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		for _ in $(seq 50); do [ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null; done
		rmdir "$cg" 2>/dev/null
	done
	ip link del "$VA" 2>/dev/null
	ip link del "$VB" 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	return 0
}
stop_servers() { :; }
trap 'cleanup; teardown' EXIT
trap 'exit 1' INT TERM
need_root

section() { echo "# $* (t=$((SECONDS - T0)) s)"; }

# --- helpers ---------------------------------------------------------------
# curl from a namespace (NS URL [curl options]): the HTTP status on stdout,
# curl's exit status as ours. -m 3: a dropped SYN is a timeout (exit 28).
fetch() {
	local ns=$1 url=$2
	shift 2
	ip netns exec "$ns" curl -sk -g -m 3 -o /dev/null -w '%{http_code}' "$@" "$url"
}
served() { [ "$(fetch "$@")" = 200 ]; }
refused() { fetch "$@" >/dev/null; [ $? -eq 28 ]; }
# A connection attempt in the background whose exit status lands in $W/NAME.rc.
bg_fetch() {   # bg_fetch NAME NS URL [curl options]
	local name=$1
	shift
	(fetch "$@" >/dev/null; echo $? >"$W/$name.rc") &
}
rc_is() {      # rc_is NAME RC: wait for bg_fetch NAME and compare
	for _ in $(seq 100); do [ -s "$W/$1.rc" ] && break; sleep 0.1; done
	[ "$(cat "$W/$1.rc" 2>/dev/null)" = "$2" ]
}
health() { echo "https://$1:$TLS/health"; }
health6() { echo "https://[$1]:$TLS/health"; }
# A streamed chat answer of TOKENS tokens: stream NS HOST KEY TOKENS OUT
# (the events in OUT, curl's exit status in OUT.rc).
stream() {
	ip netns exec "$1" curl -sSkN -g -m 30 "https://$2:$TLS/v1/chat/completions" \
		-H "Authorization: Bearer $3" -H "x-dg-tokens: $4" -H 'Content-Type: application/json' \
		-d "${PAYLOAD/STREAM/true}" -o "$5" 2>"$5.err"
	echo $? >"$5.rc"
}
tokens() { grep -o 'tok[0-9][0-9]*' "$1" 2>/dev/null | wc -l; }
# A non-streamed answer padded to BYTES: download NS HOST BYTES -> "code size speed"
download() {
	ip netns exec "$1" curl -sk -m 30 -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' \
		"https://$2:$TLS/v1/chat/completions" -H "Authorization: Bearer sk-enf-pace-$$" \
		-H "x-dg-body-bytes: $3" -H 'Content-Type: application/json' -d "${PAYLOAD/STREAM/false}"
}
key_id() { echo "$1" | "$DG" key-id --secret-file "$W/secret"; }
counter() {    # counter NAME: status --json counters.enforce.NAME
	"$DG" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["enforce"][sys.argv[1]])' "$1"
}
journaled() {  # journaled CLIENT ACTION: a decision line in the journal
	zcat "$W"/journal/*.gz 2>/dev/null | grep '^{"decision":' |
		grep -qF "\"client\":\"$1\",\"action\":\"$2\""
}
wait_log() {   # wait_log FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	grep -q "$2" "$1" 2>/dev/null
}
prog_ids() {   # the BPF programs a process holds (fds and links), by id
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u
}
progs_gone() { # progs_gone FILE: none of the ids in FILE is loaded (waits up to 5 s)
	local left
	for _ in $(seq 50); do
		left=$(bpftool prog show 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p' | grep -cxFf "$1")
		[ "$left" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "  still loaded: $left of $(wc -l <"$1")"
	return 1
}
cgroup_bare() { [ -z "$(bpftool cgroup show "$CG" 2>/dev/null)" ]; }
our_progs() {
	bpftool prog show 2>/dev/null |
		grep -cE "name (dg_ingress|dg_sweep|dg_pace_open|ssl_|tls_enter_|plain_e|dg_sockops|dg_hello)" || true
}
start_daemon() {   # start_daemon N: DAEMON, its log $W/runN.err, its programs $W/progsN
	"$DG" run --enforce --port $TLS --port $TLS2 --config "$W/dg.conf" --journal "$W/journal" \
		--control-socket "$DISTILLGUARD_SOCKET" --secret-file "$W/secret" 2>"$W/run$1.err" &
	DAEMON=$!
	PIDS+=($DAEMON)
	wait_log "$W/run$1.err" 'running in' 15 && wait_log "$W/run$1.err" "attached to cgroup /$CGNAME" 10
	local rc=$?
	prog_ids $DAEMON >"$W/progs$1"
	return $rc
}
stop_daemon() {    # SIGTERM, up to 20 s to go
	kill -TERM $DAEMON 2>/dev/null
	for _ in $(seq 200); do kill -0 $DAEMON 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

[ -n "$CGROOT" ] || { bad "a cgroup v2 mount"; finish; }
BEFORE=$(our_progs)

# --- the topology --------------------------------------------------------------
section "setup"
setup() {
	ip netns add "$NA" && ip netns add "$NB" || return 1
	ip link add "$VA" type veth peer name eth0 netns "$NA" || return 1
	ip link add "$VB" type veth peer name eth0 netns "$NB" || return 1
	ip addr add $HA/24 dev "$VA" && ip addr add $HA6/64 dev "$VA" nodad &&
		ip addr add $HB/24 dev "$VB" && ip addr add $HB6/64 dev "$VB" nodad &&
		ip link set "$VA" up && ip link set "$VB" up || return 1
	ip -n "$NA" addr add $A/24 dev eth0 && ip -n "$NA" addr add $A2/24 dev eth0 &&
		ip -n "$NA" addr add $A3/24 dev eth0 &&
		ip -n "$NA" addr add $A6/64 dev eth0 nodad || return 1
	ip -n "$NB" addr add $B/24 dev eth0 && ip -n "$NB" addr add $B2/24 dev eth0 &&
		ip -n "$NB" addr add $B6/64 dev eth0 nodad || return 1
	for ns in "$NA" "$NB"; do
		ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up || return 1
	done
	mkdir "$CG"
}
check "setup: two namespaces on veth pairs and a cgroup for the server ($CGNAME)" setup

# The server: TLS (watched) and plain HTTP (not watched) on every address,
# in the test's cgroup from its start (its sockets are the cgroup's). SSE
# tokens every 20 ms and 100 ms before any answer, so that a cut shows.
bash -c 'echo $$ >"$1/cgroup.procs" && exec "${@:2}"' _ "$CG" \
	python3 scripts/endpoint.py --tls-port $TLS --plain-port $UNW --bind 0.0.0.0 --bind :: \
	--token-delay-ms 20 --first-token-ms 100 --quiet >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
# Stand-ins for sshd on the host: a listener on enforce.ssh_port, and one
# in a process named sshd on another port; a session to each from A's
# second and third addresses.
LISTENER='
import socket, sys
s = socket.create_server(("0.0.0.0", int(sys.argv[1])))
held = []
while True:
    held.append(s.accept()[0])'
SESSION_PY='
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), source_address=(sys.argv[3], 0))
print("connected", flush=True)
time.sleep(600)'
python3 -c "$LISTENER" $SSHP >"$W/ssh.log" 2>&1 &
PIDS+=($!)
ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$W/sshd"
"$W/sshd" -c "$LISTENER" $SSHD >"$W/sshd.log" 2>&1 &
PIDS+=($!)
wait_port $TLS && wait_port $SSHP && wait_port $SSHD || { bad "the endpoint and the SSH stand-ins listen"; finish; }
ip netns exec "$NA" python3 -c "$SESSION_PY" $HA $SSHP $A2 >"$W/session.log" 2>&1 &
SESSION=$!
PIDS+=($SESSION)
ip netns exec "$NA" python3 -c "$SESSION_PY" $HA $SSHD $A3 >"$W/session2.log" 2>&1 &
PIDS+=($!)
reachable() {
	for _ in $(seq 50); do
		served "$NA" "$(health $HA)" && served "$NA" "$(health6 $HA6)" &&
			served "$NB" "$(health $HB)" && served "$NB" "$(health6 $HB6)" &&
			grep -q connected "$W/session.log" && grep -q connected "$W/session2.log" && return 0
		sleep 0.1
	done
	return 1
}
check "setup: A and B reach the endpoint over IPv4 and IPv6; the SSH sessions are open" reachable

cat >"$W/dg.conf" <<EOF
# enforce.sh
tick 2
policy.ttl 300
ratelimit.pace 1m
enforce.ssh_port $SSHP
allow ip:$B2
EOF
if start_daemon 1 && grep -q 'running in enforce mode' "$W/run1.err"; then
	ok "the daemon starts in enforce mode and attaches to the server's cgroup"
else
	bad "the daemon starts in enforce mode and attaches to the server's cgroup"
	sed 's/^/  /' "$W/run1.err"
	finish
fi
check "status --json: enforce mode, our cgroup, programs dg_ingress, dg_sweep, dg_pace_open" \
	python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {p["name"] for p in d["programs"]}
assert d["mode"] == "enforce" and "/" + sys.argv[1] in d["enforcing_cgroups"], d["enforcing_cgroups"]
assert {"dg_ingress", "dg_sweep", "dg_pace_open"} <= names, names' "$CGNAME" < <("$DG" status --json)
check "bpftool: dg_ingress and dg_pace_open on the test cgroup" bash -c "
	bpftool cgroup show '$CG' | grep -q dg_ingress && bpftool cgroup show '$CG' | grep -q dg_pace_open"
# Key-less requests: the addresses become clients (for the exemption checks).
served "$NA" "$(health $HA)" --interface $A2
served "$NB" "$(health $HB)" --interface $B2
curl -sk -m 3 -o /dev/null "$(health 127.0.0.1)"

# --- block and unblock an address ------------------------------------------
section "block by address"
check "block ip:$A: applied" bash -c "'$DG' block ip:$A --ttl 120 --reason enforce.sh | grep -q '^block ip:$A for 2m, until .*(applied)'"
bg_fetch a4 "$NA" "$(health $HA)"
check "  B is served while A is blocked" served "$NB" "$(health $HB)"
check "  A's other address ($A2) and A's IPv6 are served" \
	eval 'served "$NA" "$(health $HA)" --interface $A2 && served "$NA" "$(health6 $HA6)"'
check "exemptions: an unwatched port of the same server serves a blocked address" \
	served "$NA" "http://$HA:$UNW/health"
check "  A's new connection times out (SYN dropped)" rc_is a4 28
check "  the block is in the journal" journaled "ip:$A" block
"$DG" unblock ip:$A >/dev/null
check "unblock ip:$A: A is served again at once" served "$NA" "$(health $HA)"
check "  counters: dropped_blocked > 0" test "$(counter dropped_blocked)" -gt 0

check "block ip:$A6 (IPv6): applied" bash -c "'$DG' block ip:$A6 --ttl 120 | grep -q '^block ip:$A6 for 2m, until .*(applied)'"
bg_fetch a6 "$NA" "$(health6 $HA6)"
check "  B's IPv6 and A's IPv4 are served while A's IPv6 is blocked" \
	eval 'served "$NB" "$(health6 $HB6)" && served "$NA" "$(health $HA)"'
check "  A's new IPv6 connection times out" rc_is a6 28
check "  the block is in the journal" journaled "ip:$A6" block
"$DG" unblock ip:$A6 >/dev/null
check "unblock ip:$A6: A is served again over IPv6 at once" served "$NA" "$(health6 $HA6)"

# --- a blocked key, another key from the same address ------------------------
section "block by key"
KB=sk-enf-blocked-$$-0123456789abcdef
KO=sk-enf-other-$$-0123456789abcdef
KBID=$(key_id $KB)
check "block $KBID (a key): applied" bash -c "'$DG' block $KBID --ttl 300 | grep -q '(applied)'"
stream "$NA" $HA $KB 50 "$W/kb.sse" &
stream "$NA" $HA $KO 50 "$W/ko.sse"
wait $!
for _ in $(seq 50); do [ -s "$W/kb.sse.rc" ] && break; sleep 0.1; done
NKB=$(tokens "$W/kb.sse")
NKO=$(tokens "$W/ko.sse")
check "  the blocked key's answer is cut ($NKB of 50 tokens, curl exit $(cat "$W/kb.sse.rc"))" \
	eval '[ "$(cat "$W/kb.sse.rc")" != 0 ] && [ "$NKB" -lt 10 ]'
check "  the other key from the same address gets all of its answer ($NKO of 50 tokens)" \
	eval '[ "$(cat "$W/ko.sse.rc")" = 0 ] && [ "$NKO" -eq 50 ]'
CUT_HEAD=$(counter requests_cut_at_head)
CUT_MS=$(counter cut_after_request_ms_max)
check "  counters: requests_cut_at_head $CUT_HEAD > 0, cut_after_request_ms_max $CUT_MS < 50" \
	eval '[ "$CUT_HEAD" -gt 0 ] && [ "$CUT_MS" -lt 50 ]'

# --- a stream cut mid-answer -------------------------------------------------
section "streams cut"
stream "$NA" $HA $KO 200 "$W/mid.sse" &
sleep 1.5
"$DG" block ip:$A --ttl 120 >/dev/null
for _ in $(seq 100); do [ -s "$W/mid.sse.rc" ] && break; sleep 0.1; done
NMID=$(tokens "$W/mid.sse")
check "a streamed answer is cut mid-stream by block ip:$A ($NMID of 200 tokens, curl exit $(cat "$W/mid.sse.rc" 2>/dev/null))" \
	eval '[ "$(cat "$W/mid.sse.rc" 2>/dev/null)" != 0 ] && [ "$NMID" -gt 10 ] && [ "$NMID" -lt 150 ]'
check "  counters: conns_cut > 0" test "$(counter conns_cut)" -gt 0
"$DG" unblock ip:$A >/dev/null
KS=sk-enf-streaming-$$-0123456789abcdef
stream "$NA" $HA $KS 200 "$W/key.sse" &
sleep 1.5
"$DG" block "$(key_id $KS)" --ttl 120 >/dev/null
for _ in $(seq 100); do [ -s "$W/key.sse.rc" ] && break; sleep 0.1; done
NKEY=$(tokens "$W/key.sse")
check "a key's open stream is cut when the key is blocked ($NKEY of 200 tokens, curl exit $(cat "$W/key.sse.rc" 2>/dev/null))" \
	eval '[ "$(cat "$W/key.sse.rc" 2>/dev/null)" != 0 ] && [ "$NKEY" -gt 10 ] && [ "$NKEY" -lt 150 ]'

# --- pacing ----------------------------------------------------------------
section "pacing"
# A keep-alive client: one 4 MiB answer, then (once $W/go exists) another
# on the same connection; prints bytes/s of each.
cat >"$W/keepalive.py" <<'EOF'
import http.client, json, os, ssl, sys, time
host, port, size, flag, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
body = json.dumps({"model": "dg-small", "messages": [{"role": "user", "content": "pad me"}]})
def get():
    t = time.monotonic()
    c.request("POST", "/v1/chat/completions", body=body, headers={
        "Content-Type": "application/json", "x-dg-body-bytes": str(size),
        "Authorization": "Bearer " + key})
    n = len(c.getresponse().read())
    return n / (time.monotonic() - t)
print("%.0f" % get(), flush=True)
while not os.path.exists(flag):
    time.sleep(0.02)
print("%.0f" % get(), flush=True)
EOF
SIZE=$((4 << 20))
CAP=$((1 << 20))
ip netns exec "$NA" python3 "$W/keepalive.py" $HA $TLS $SIZE "$W/go" sk-enf-pace-$$ >"$W/keepalive.out" 2>&1 &
KA=$!
PIDS+=($KA)
for _ in $(seq 100); do [ -s "$W/keepalive.out" ] && break; sleep 0.1; done
"$DG" ratelimit ip:$A --ttl 120 >"$W/ratelimit.out"
touch "$W/go"
wait $KA
read -r D_FREE D_OPEN < <(tr '\n' ' ' <"$W/keepalive.out")
read -r CODE NBYTES D_NEW < <(download "$NA" $HA $SIZE)
D_NEW=${D_NEW%.*}
within() { python3 -c 'import sys; v, cap = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(v - cap) <= 0.2 * cap else 1)' "$1" "$2"; }
mib() { python3 -c 'import sys; print("%.2f MiB/s" % (float(sys.argv[1] or 0) / 1048576))' "${1:-0}"; }
echo "  4 MiB answer: before $(mib "$D_FREE"); rate-limited at 1 MiB/s: open connection $(mib "$D_OPEN"), new connection $(mib "$D_NEW") (HTTP $CODE, $NBYTES bytes)"
check "ratelimit ip:$A: applied" grep -q '(applied)' "$W/ratelimit.out"
check "  before the rate limit the answer is much faster than the cap ($(mib "$D_FREE"))" \
	eval '[ "${D_FREE%.*}" -gt $((3 * CAP)) ]'
check "  a connection open before the rate limit is paced within 20% of 1 MiB/s ($(mib "$D_OPEN"))" \
	within "${D_OPEN:-0}" $CAP
check "  a new connection is paced within 20% of 1 MiB/s (curl: $(mib "$D_NEW"))" \
	eval '[ "$CODE" = 200 ] && [ "$NBYTES" = $SIZE ] && within "$D_NEW" $CAP'
check "  counters: conns_paced > 0 (sweep), conns_paced_at_open > 0 (sockops)" \
	eval '[ "$(counter conns_paced)" -gt 0 ] && [ "$(counter conns_paced_at_open)" -gt 0 ]'
"$DG" unblock ip:$A >/dev/null

# --- exemptions ----------------------------------------------------------------
section "exemptions"
# Meanwhile a second server starts, in a cgroup of its own: the daemon's
# rescan (every 5 s) should find it and attach there too.
mkdir "$CG2"
bash -c 'echo $$ >"$1/cgroup.procs" && exec "${@:2}"' _ "$CG2" \
	python3 scripts/endpoint.py --tls-port $TLS2 --bind 0.0.0.0 --quiet >"$W/endpoint2.log" 2>&1 &
PIDS+=($!)
LATE_T0=$SECONDS
check "loopback: block ip:127.0.0.1 is not applied (exempt)" bash -c "
	'$DG' block ip:127.0.0.1 --ttl 120 | grep -q 'not applied: exempt, loopback'"
check "  a loopback client is still served" \
	test "$(curl -sk -m 3 -o /dev/null -w '%{http_code}' "$(health 127.0.0.1)")" = 200
check "allow list: block ip:$B2 is not applied (exempt)" bash -c "
	'$DG' block ip:$B2 --ttl 120 | grep -q 'not applied: exempt, allow list'"
check "  $B2 is still served" served "$NB" "$(health $HB)" --interface $B2
check "SSH peer: block ip:$A2 (a session to port $SSHP open) is not applied (exempt)" bash -c "
	'$DG' block ip:$A2 --ttl 120 | grep -q 'not applied: exempt, ssh peer'"
check "  $A2 is still served" served "$NA" "$(health $HA)" --interface $A2
check "SSH peer: block ip:$A3 (a session to a process named sshd, port $SSHD) is not applied (exempt)" bash -c "
	'$DG' block ip:$A3 --ttl 120 | grep -q 'not applied: exempt, ssh peer'"
check "  $A3 is still served" served "$NA" "$(health $HA)" --interface $A3
check "  client ip:$A2 says why" bash -c "'$DG' client ip:$A2 | grep -q 'enforcement: block not applied (exempt: ssh peer)'"
check "  clients --json: exempt \"loopback\", \"allow list\", \"ssh peer\"" bash -c "
	'$DG' clients --json | python3 -c '
import json, sys
e = {r[\"client\"]: r[\"enforcement\"] for r in json.load(sys.stdin)}
want = {\"ip:127.0.0.1\": \"loopback\", \"ip:$B2\": \"allow list\", \"ip:$A2\": \"ssh peer\"}
for c, why in want.items():
    assert e.get(c) and e[c][\"applied\"] is False and e[c][\"exempt\"] == why, (c, e.get(c))'"
kill_tree TERM $SESSION
ssh_ended() {   # the exemption goes with the session: refused within a rescan (5 s)
	for _ in $(seq 15); do refused "$NA" "$(health $HA)" --interface $A2 -m 1 && return 0; sleep 0.5; done
	return 1
}
check "  once the SSH session ends, the block on $A2 applies (within a rescan)" ssh_ended
for c in ip:127.0.0.1 ip:$B2 ip:$A2 ip:$A3; do "$DG" unblock $c >/dev/null; done
late_attached() {
	wait_log "$W/run1.err" "attached to cgroup /$CGNAME-late" $((LATE_T0 + 12 - SECONDS)) &&
		bpftool cgroup show "$CG2" | grep -q dg_ingress
}
check "rescan: a server started after the daemon is found and its cgroup attached (within 5 s + slack)" late_attached

# --- a live campaign cut automatically, customers untouched ---------------------
section "a live campaign (hydra from A, chat customers from B)"
CAMP_T0=$(date +%s.%N)
ip netns exec "$NA" python3 scripts/scenario.py --mode http --no-bind --url "https://$HA:$TLS" \
	--seed 4 --only hydra --scale 0.3 --speed 20 --max-seconds 40 --grace 3 --timeout 10 \
	--truth "$W/hydra.jsonl" --truth-raw-keys >"$W/hydra.out" 2>&1 &
HYDRA=$!
PIDS+=($HYDRA)
ip netns exec "$NB" python3 scripts/scenario.py --mode http --no-bind --url "https://$HB:$TLS" \
	--seed 4 --only chat --scale 0.3 --speed 20 --max-seconds 40 --grace 3 --http-token-cap 20 \
	--truth "$W/chat.jsonl" --truth-raw-keys >"$W/chat.out" 2>&1 &
CHAT=$!
PIDS+=($CHAT)
wait $HYDRA                  # (in the background, so that a signal is handled at once)
wait $CHAT
sed 's/^/  /' "$W/hydra.out" "$W/chat.out"
sleep 2.5                    # a pass after the traffic stopped
"$DG" clients --json >"$W/clients.json"
python3 -c '
import json, sys
for f in sys.argv[1:]:
    for l in open(f):
        t = json.loads(l)
        if t.get("raw_key"):
            print(t["raw_key"], "campaign" if t["label"]["population"] == "campaign" else "customer")' \
	"$W/hydra.jsonl" "$W/chat.jsonl" | sort -u >"$W/keys.txt"
cut -d' ' -f1 "$W/keys.txt" | "$DG" key-id --secret-file "$W/secret" >"$W/ids.txt"
paste -d' ' "$W/keys.txt" "$W/ids.txt" | awk '{print $3, $2}' >"$W/labels.txt"
check "campaign: the customers from B lose nothing (0 failed)" grep -q " 0 failed" "$W/chat.out"
check "campaign: its keys are decided and enforced (clients --json), no customer's is" \
	python3 - "$W/clients.json" "$W/labels.txt" <<'EOF'
import json, sys
rows = {r["client"]: r for r in json.load(open(sys.argv[1]))}
labels = dict(l.split() for l in open(sys.argv[2]))
camp = [k for k, v in labels.items() if v == "campaign"]
cust = [k for k, v in labels.items() if v == "customer"]
hit = [k for k in camp if rows.get(k, {}).get("action") in ("ratelimit", "block")
       and (rows[k].get("enforcement") or {}).get("applied") is True]
cut = sum((rows[k]["enforcement"] or {}).get("connections_cut", 0) for k in hit)
wrong = [k for k in cust if rows.get(k, {}).get("action") not in (None, "none")
         or rows.get(k, {}).get("enforcement") is not None]
print(f"  campaign keys enforced: {len(hit)} of {len(camp)} ({cut} connections cut); "
      f"customers acted on: {len(wrong)} of {len(cust)}")
sys.exit(0 if camp and len(hit) >= 0.95 * len(camp) and not wrong else 1)
EOF
check "campaign: its requests fail once its keys are flagged, not before" \
	python3 - "$W/clients.json" "$W/hydra.jsonl" "$CAMP_T0" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
t0 = float(sys.argv[3])
flags = [r["first_flagged"] for r in rows if r.get("first_flagged") and r["action"] != "none"]
reqs = [json.loads(l) for l in open(sys.argv[2])]
if not flags:
    print("  no key flagged")
    sys.exit(1)
flag = min(flags) - t0
failed = [r for r in reqs if r["error"] or r["status"] != 200]
before = [r for r in failed if r["wall"] < flag - 1.0]
after = [r for r in reqs if r["wall"] > flag + 2.0]
after_failed = [r for r in after if r["error"] or r["status"] != 200]
print(f"  first flag {flag:.1f} s into the run; {len(reqs)} requests, {len(failed)} failed, "
      f"{len(before)} of them before the flag; {len(after_failed)} of {len(after)} failed after it")
sys.exit(0 if not before and after and len(after_failed) >= 0.9 * len(after) else 1)
EOF
ONE=$(python3 -c '
import json, sys
print(next(r["client"] for r in json.load(open(sys.argv[1])) if r["action"] != "none" and r["enforcement"]))' "$W/clients.json")
check "campaign: client $ONE shows what is applied" bash -c "
	'$DG' client '$ONE' | grep -E '^  enforcement: (block|ratelimit) applied by (connection|address): .* connections cut'"

# --- budgets ------------------------------------------------------------
section "budgets (SIGHUP: ratelimit.requests_per_minute 5)"
echo "ratelimit.requests_per_minute 5" >>"$W/dg.conf"
kill -HUP $DAEMON
check "SIGHUP: the new config is applied" bash -c "
	for _ in \$(seq 30); do '$DG' status --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"reloads\"] != 1)' && exit 0; sleep 0.1; done; exit 1"
# Requests over the budget on an open connection: the connection is cut.
"$DG" ratelimit ip:$B --ttl 120 >/dev/null
ip netns exec "$NB" python3 - $HB $TLS >"$W/budget.out" 2>&1 <<'EOF'
import http.client, json, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection(sys.argv[1], int(sys.argv[2]), context=ctx, timeout=5)
body = json.dumps({"model": "dg-small", "messages": [{"role": "user", "content": "hi"}]})
ok = 0
for _ in range(8):
    try:
        c.request("POST", "/v1/chat/completions", body=body,
                  headers={"Content-Type": "application/json", "x-dg-tokens": "5"})
        r = c.getresponse()
        r.read()
        ok += r.status == 200
    except (OSError, http.client.HTTPException) as e:
        print(ok, type(e).__name__)
        sys.exit(0)
print(ok, "none")
EOF
read -r BOK BERR <"$W/budget.out"
check "a rate-limited address's requests over budget on an open connection are cut ($BOK served, then $BERR)" \
	eval '[ "$BOK" -ge 4 ] && [ "$BOK" -le 6 ] && [ "$BERR" != none ] && [ "$(counter requests_cut_over_budget)" -gt 0 ]'
"$DG" unblock ip:$B >/dev/null
"$DG" ratelimit ip:$A --ttl 120 >/dev/null
NOK=0 NREF=0
for _ in $(seq 8); do
	rc=0
	code=$(fetch "$NA" "$(health $HA)" -m 2) || rc=$?
	if [ "$code" = 200 ]; then NOK=$((NOK + 1)); elif [ $rc -eq 28 ]; then NREF=$((NREF + 1)); fi
done
check "a rate-limited address gets ~5 new connections a minute ($NOK served), then is refused ($NREF timeouts of $((8 - NOK)))" \
	eval '[ $NOK -ge 4 ] && [ $NOK -le 6 ] && [ $NREF -eq $((8 - NOK)) ]'
SYN_DROPS=$(counter dropped_syn_budget)
check "  counters: dropped_syn_budget $SYN_DROPS > 0" test "$SYN_DROPS" -gt 0
"$DG" unblock ip:$A >/dev/null

# --- SIGTERM ------------------------------------------------------------------
section "SIGTERM"
check "SIGTERM: the daemon stops, everything lifted and detached" \
	eval 'stop_daemon && grep -q "everything lifted and detached" "$W/run1.err" && grep -q stopped "$W/run1.err"'
check "SIGTERM: none of its $(wc -l <"$W/progs1") BPF programs is left loaded" progs_gone "$W/progs1"
check "SIGTERM: nothing attached to the test cgroup (bpftool cgroup show)" cgroup_bare
check "SIGTERM: A is served" served "$NA" "$(health $HA)"

# --- SIGKILL with a short TTL ---------------------------------------------------
section "SIGKILL"
start_daemon 2
check "a second daemon starts and attaches" grep -q "attached to cgroup /$CGNAME" "$W/run2.err"
"$DG" block ip:$A --ttl 5 >/dev/null
BLOCKED_AT=$(date +%s.%N)
check "block ip:$A --ttl 5: A refused" refused "$NA" "$(health $HA)" -m 1
kill -KILL $DAEMON
# Served again as soon as the links go with the process's files, well
# before the rule's 5 s are up.
served_again() {
	for _ in $(seq 20); do served "$NA" "$(health $HA)" -m 0.5 && return 0; done
	return 1
}
served_again
AGAIN=$?
SINCE=$(python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$BLOCKED_AT")
check "SIGKILL: A is served again at once (${SINCE} s after the block, TTL 5 s)" \
	eval '[ $AGAIN -eq 0 ] && python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 5)" "$SINCE"'
wait $DAEMON 2>/dev/null
check "SIGKILL: none of its $(wc -l <"$W/progs2") BPF programs is left loaded" progs_gone "$W/progs2"
check "SIGKILL: nothing attached to the test cgroup" cgroup_bare

# --- nothing left -------------------------------------------------------------------
section "cleanup"
for p in "${PIDS[@]}"; do kill_tree TERM "$p"; done
sleep 0.5
for p in "${PIDS[@]}"; do kill_tree KILL "$p"; done
PIDS=()
teardown
left() {
	for _ in $(seq 50); do
		! ip netns list | grep -qE "^($NA|$NB)( |$)" && ! ip link show "$VA" >/dev/null 2>&1 &&
			! ip link show "$VB" >/dev/null 2>&1 && [ ! -d "$CG" ] && [ ! -d "$CG2" ] && return 0
		sleep 0.1
	done
	ip netns list; ip -br link | grep -E "^($VA|$VB)"; ls -d "$CG" "$CG2"
	return 1
}
check "no namespace, veth or cgroup of ours is left" left
AFTER=$(our_progs)
echo "  programs named like ours loaded: $AFTER, before the test $BEFORE (other daemons on the host count too)"
echo "  run time $((SECONDS - T0)) s"
finish
