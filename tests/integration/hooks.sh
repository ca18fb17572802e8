#!/bin/bash
# Root integration test of capture without syscall hooks.
#  1. syscall_hooks yes: the nested syscall and OpenSSL's own structures (tls.bpf.c
#     layout_fd, user/capture/openssl_layout.c) both tie each SSL* of a
#     Python ssl server and of nginx (socket BIOs, the system OpenSSL), and
#     they never disagree (tls_layout_agree > 0, tls_layout_mismatch 0).
#  2. syscall_hooks no (the default): no syscall tracepoint of ours is
#     attached; every TLS server gets uprobes on its own libc until its
#     SSL*s show how they are tied: Python ssl and nginx (socket BIOs) lose
#     them and are then tied from the layout alone, uvicorn serving TLS
#     itself (asyncio: memory BIOs) keeps them; every TLS request to the
#     three is recorded with its client's address, port and JA4, and plain
#     HTTP on a watched port is read from its packets (packets.bpf.c), giving
#     the same records as the syscall capture gave for the same requests.
#  3. cgroup_scope: by default the socket programs (connections, ClientHellos,
#     packets) are attached only to the watched servers' cgroups: a plain
#     server started, after the tracer, in a cgroup of its own is picked up
#     by the next scan and recorded from its packets, while the traffic of
#     an unwatched TLS nginx and its upstream in another cgroup runs none of
#     our programs; with `cgroup_scope root` the same traffic runs them.
#  4. A plain proxy on this host with both legs watched, read from packets
#     (which name no process): one record per request, with the client's
#     address, the two legs put together through the ports nginx's workers
#     listen on.
# Loopback only. Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-hooks.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

PYTLS=19740      # endpoint.py TLS (Python ssl)
PLAIN=19741      # endpoint.py plain (watched)
NGX=19742        # nginx TLS in front of UP
UP=19743         # endpoint.py plain (not watched)
UVI=19744        # uvicorn + FastAPI, TLS by uvicorn (memory BIOs)
A1=127.0.0.71
CGP=19745        # endpoint.py plain (watched), in a cgroup of its own
NGXP=19746       # a second nginx, plain, in front of UP
NGX2=19747       # ... its TLS port (unused)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGROOT/dg-hooks-$$

stop_servers() {
	sh scripts/nginx.sh stop "$W/nginx" >/dev/null 2>&1
	sh scripts/nginx.sh stop "$W/nginx2" >/dev/null 2>&1
	sh scripts/stacks/uvicorn.sh stop "$W/uvicorn" >/dev/null 2>&1
}
remove_cgroup() {   # after cleanup: its processes are gone or going
	[ -d "$CG" ] || return 0
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	for _ in $(seq 50); do rmdir "$CG" 2>/dev/null && return 0; sleep 0.1; done
	echo "hooks.sh: could not remove $CG" >&2
}
trap 'cleanup; remove_cgroup' EXIT
trap 'exit 1' INT TERM
need_root

python3 scripts/endpoint.py --tls-port $PYTLS --plain-port $PLAIN --plain-port $UP --quiet \
	--token-delay-ms 1 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $PYTLS && wait_port $PLAIN && wait_port $UP || { bad "endpoint listens"; finish; }
sh scripts/nginx.sh start "$W/nginx" $NGX $UP >"$W/nginx.out" 2>&1 ||
	{ cat "$W/nginx.out"; bad "nginx starts"; finish; }
DG_TOKEN_DELAY_MS=0.5 sh scripts/stacks/uvicorn.sh start "$W/uvicorn" $UVI >"$W/uvicorn.out" 2>&1 ||
	{ cat "$W/uvicorn.out"; bad "uvicorn starts"; finish; }

load() {   # load URL N: N requests from A1 over 2 connections, half streamed
	python3 scripts/load.py --url "$1" --connections 2 --requests "$2" --keys 2 \
		--key-prefix sk-hooks- --source-address $A1 --tokens 40 --stream-ratio 0.5 \
		>>"$W/load.out" 2>&1
}
trace() {  # trace NAME [args]: trace --json --stats in the background until ready
	local name=$1; shift
	"$DG" trace --json --stats --secret-file "$W/secret" "$@" >"$W/$name.jsonl" 2>"$W/$name.err" &
	TRACE=$!
	PIDS+=($TRACE)
	for _ in $(seq 200); do grep -q ready "$W/$name.err" 2>/dev/null && break; sleep 0.1; done
}
stop_trace() { kill -INT $TRACE; wait $TRACE 2>/dev/null; }
counter() { grep -o " $2=[0-9]*" "$W/$1.err" | head -1 | cut -d= -f2; }
tracepoints_of() {   # tracepoint attachments held by pid $1
	bpftool perf list 2>/dev/null | grep -E "^pid $1 " | grep -c tracepoint
}

# --- 1. syscall_hooks yes: both ties, checked against each other ---------------
printf 'syscall_hooks yes\n' >"$W/hooks.conf"
trace both --config "$W/hooks.conf" --port $PYTLS --port $NGX --port $PLAIN
load https://127.0.0.1:$PYTLS 20
load https://127.0.0.1:$NGX 20
load http://127.0.0.1:$PLAIN 20
check "syscall_hooks yes: the syscall tracepoints are attached ($(tracepoints_of $TRACE))" \
	test "$(tracepoints_of $TRACE)" -gt 0
stop_trace
check "syscall_hooks yes: the layout is known for both servers (layout_known=$(counter both layout_known))" \
	test "$(counter both layout_known)" -ge 2
check "syscall_hooks yes: the layout and the nested syscall agree (agree=$(counter both tls_layout_agree), mismatch=$(counter both tls_layout_mismatch))" \
	bash -c "[ '$(counter both tls_layout_agree)' -gt 0 ] && [ '$(counter both tls_layout_mismatch)' = 0 ]"
check "syscall_hooks yes: 60 records" test "$(grep -c '"ts"' "$W/both.jsonl")" = 60

# --- 2. syscall_hooks no --------------------------------------------------------
printf 'syscall_hooks no\n' >"$W/nohooks.conf"
trace nohooks --config "$W/nohooks.conf" --port $PYTLS --port $NGX --port $PLAIN --port $UVI
check "syscall_hooks no: no syscall tracepoint of ours is attached" \
	test "$(tracepoints_of $TRACE)" = 0
# Half the requests before the servers' SSL*s have shown their BIOs, half
# after (the check runs every 100 ms).
load https://127.0.0.1:$PYTLS 10
load https://127.0.0.1:$NGX 10
load http://127.0.0.1:$PLAIN 20
load https://127.0.0.1:$UVI 2
load https://127.0.0.1:$NGX 10
sleep 1
load https://127.0.0.1:$PYTLS 10
load https://127.0.0.1:$UVI 20
stop_trace
check "syscall_hooks no: every TLS request recorded with the client's address, port and JA4" \
	python3 - "$W/nohooks.jsonl" $A1 $PYTLS $NGX <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"ts"' in l]
by = {}
for r in recs:
    if r.get("ip") == sys.argv[2] and r.get("ja4") and r.get("status") == 200:
        by[r["port"]] = by.get(r["port"], 0) + 1
print(f"  {len(recs)} records; complete TLS ones by port: {by}")
sys.exit(0 if by.get(int(sys.argv[3])) == 20 and by.get(int(sys.argv[4])) == 20 else 1)
EOF
check "syscall_hooks no: the socket-BIO servers lose their libc probes (libc_probed=$(counter nohooks libc_probed), libc_dropped=$(counter nohooks libc_dropped)), then are tied from the layout (layout_tied=$(counter nohooks tls_layout_tied)), which agrees with the nested libc call before (agree=$(counter nohooks tls_layout_agree), mismatch=$(counter nohooks tls_layout_mismatch))" \
	bash -c "[ '$(counter nohooks libc_dropped)' -ge 2 ] && [ '$(counter nohooks tls_layout_tied)' -gt 0 ] &&
		 [ '$(counter nohooks tls_layout_agree)' -gt 0 ] && [ '$(counter nohooks tls_layout_mismatch)' = 0 ]"
# Linux 6.6 and later: one uprobe_multi link per program and process (3 on
# OpenSSL, 2 per libc side); older kernels: one perf-event uprobe per
# function (11 and 8).
if [ "$(counter nohooks uprobe_multi)" = 1 ]; then PER_SSL=3 PER_LIBC=4; else PER_SSL=11 PER_LIBC=16; fi
check "uprobe links: $PER_SSL per process on OpenSSL, $PER_LIBC on libc at most (links=$(counter nohooks uprobe_links), servers=$(counter nohooks servers_probed), libc_probed=$(counter nohooks libc_probed), uprobe_multi=$(counter nohooks uprobe_multi))" \
	test "$(counter nohooks uprobe_links)" -le \
		$(( PER_SSL * $(counter nohooks servers_probed) + PER_LIBC * $(counter nohooks libc_probed) ))
check "syscall_hooks no: uvicorn keeps its libc probes and every one of its requests is recorded" \
	python3 - "$W/nohooks.jsonl" $A1 $UVI <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"ts"' in l]
good = [r for r in recs if r.get("port") == int(sys.argv[3]) and r.get("ip") == sys.argv[2]
        and r.get("ja4") and r.get("status") == 200 and r.get("output_tokens") is not None]
print(f"  uvicorn: {len(good)} complete records of 22 requests")
sys.exit(0 if len(good) == 22 else 1)
EOF
check "syscall_hooks no: plain HTTP from its packets (pkt_segments=$(counter nohooks pkt_segments)), no syscall capture" \
	bash -c "[ '$(counter nohooks pkt_segments)' -gt 0 ] && [ '$(counter nohooks plain_calls)' = 0 ]"
check "syscall_hooks no: the plain records are the ones the syscall capture gave" \
	python3 - "$W/both.jsonl" "$W/nohooks.jsonl" $PLAIN $A1 <<'EOF'
import json, sys
KEEP = ("ip", "key", "method", "path", "status", "model", "stream", "messages", "prompt_bytes",
        "max_tokens", "output_tokens", "output_bytes", "req_bytes", "req_truncated",
        "resp_truncated", "tls")
def plain(path):
    recs = [json.loads(l) for l in open(path) if '"ts"' in l]
    return sorted(json.dumps({k: r.get(k) for k in KEEP}, sort_keys=True)
                  for r in recs if r.get("port") == int(sys.argv[3]))
a, b = plain(sys.argv[1]), plain(sys.argv[2])
good = [r for r in map(json.loads, b)
        if r["ip"] == sys.argv[4] and r["status"] == 200 and r["output_tokens"] is not None]
print(f"  plain records: {len(a)} from syscalls, {len(b)} from packets, {len(good)} complete")
for x, y in zip(a, b):
    if x != y:
        print("  syscalls:", x)
        print("  packets: ", y)
        break
sys.exit(0 if len(a) == 20 and a == b and len(good) == 20 else 1)
EOF

# --- 3. cgroup_scope ------------------------------------------------------------
# The same load twice: 20 requests to a plain server in its own cgroup (started
# after the tracer, so found by a rescan), 40 through the unwatched TLS nginx
# and its upstream, which share the test's cgroup.
scope_run() {   # scope_run NAME SCOPE
	printf 'syscall_hooks no\ncgroup_scope %s\n' "$2" >"$W/$1.conf"
	trace "$1" --config "$W/$1.conf" --port $CGP
	if [ "$2" = servers ]; then
		bash -c 'echo $$ >"$1/cgroup.procs" && exec "${@:2}"' _ "$CG" \
			python3 scripts/endpoint.py --plain-port $CGP --quiet --token-delay-ms 1 \
			>"$W/cg-endpoint.log" 2>&1 &
		PIDS+=($!)
		wait_port $CGP || bad "the endpoint in $CG listens"
		sleep 6            # the tracer's next scan (every 5 s)
	fi
	load http://127.0.0.1:$CGP 20
	load https://127.0.0.1:$NGX 40
	stop_trace
}
scope_records() {   # complete records of the cgroup's server in NAME's output
	python3 - "$W/$1.jsonl" $A1 $CGP <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"ts"' in l]
print(sum(1 for r in recs if r.get("port") == int(sys.argv[3]) and r.get("ip") == sys.argv[2]
          and r.get("status") == 200 and r.get("output_tokens") is not None))
EOF
}
if [ -n "$CGROOT" ] && mkdir "$CG"; then
	scope_run scoped servers
	scope_run rooted root
	check "cgroup_scope servers: attached to one cgroup (cgroups=$(counter scoped cgroups)), the server started later recorded ($(scope_records scoped) of 20)" \
		bash -c "[ '$(counter scoped cgroups)' = 1 ] && [ '$(scope_records scoped)' = 20 ]"
	check "cgroup_scope root: the same records ($(scope_records rooted) of 20)" \
		test "$(scope_records rooted)" = 20
	# Each of the 40 unwatched requests crosses 4 sockets (client, nginx both
	# ways, upstream) in a few packets each: with the root scope every one
	# runs our programs; scoped, none does.
	check "cgroup_scope servers: unwatched traffic runs none of our programs (BPF runs: $(counter scoped bpf_runs) scoped, $(counter rooted bpf_runs) on the root)" \
		bash -c "[ \$(( $(counter rooted bpf_runs) - $(counter scoped bpf_runs) )) -ge 320 ]"
else
	bad "a cgroup v2 mount to make $CG in"
fi

# --- 4. a plain proxy's two legs -----------------------------------------------
# A fresh nginx: legs are put together through the upstream connects seen,
# and the first nginx keeps its upstream connections from before.
sh scripts/nginx.sh start "$W/nginx2" $NGX2 $UP $NGXP >"$W/nginx2.out" 2>&1 ||
	{ cat "$W/nginx2.out"; bad "the second nginx starts"; }
trace legs --port $NGXP --port $UP
load http://127.0.0.1:$NGXP 20
stop_trace
check "plain proxy, both legs watched: one record per request (linked=$(counter legs linked))" \
	python3 - "$W/legs.jsonl" $A1 $NGXP $UP <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"ts"' in l]
front = [r for r in recs if r.get("port") == int(sys.argv[3]) and r.get("ip") == sys.argv[2]
         and r.get("status") == 200 and r.get("output_tokens") is not None]
up = [r for r in recs if r.get("port") == int(sys.argv[4])]
print(f"  {len(front)} records on the proxy's port from the client, {len(up)} on the upstream's")
sys.exit(0 if len(front) == 20 and not up else 1)
EOF
finish
