#!/bin/bash
# `make bench`: what distillguard costs on this machine, as ONE table from
# one run (tests/bench/bench_table.py prints it; BENCHMARKS.md keeps one).
# Numbers only, no assertions: compare ratios within the run, these
# machines are noisy.
#
#  1. the machine's floor: an empty uprobe per hit, and what empty global
#     syscall hooks cost another process (build/bench/bench_floor);
#  2. user space alone: ring buffer samples -> records per second on one
#     core (build/bench/bench_reasm); a scoring pass over 100,000 clients,
#     memory per idle client and per idle connection, connection bounds
#     (build/bench/bench_scale);
#  3. (root) CPU per request for a TLS front end (nginx, TLS on FRONT,
#     HTTP/1.1 keep-alive to a plain upstream): without distillguard, with
#     `distillguard run` in TLS mode (uprobes in the front nginx), in
#     upstream mode (the plain upstream watched, the front followed:
#     --front-port), both again with `syscall_hooks yes` and `cgroup_scope
#     root` (hooks/root: every process and socket of the host), and with
#     bcc's sslsniff attached, each at saturation
#     and at a fixed rate (a quarter of the unwatched saturation rate), for
#     JSON answers (upstream: a static nginx) and for SSE streams of 64
#     events (upstream: scripts/endpoint.py); the throughput of an
#     unwatched TLS server (a static nginx on OTHER) in each case; and what
#     an unrelated process's read+write pair costs in each case. CPU =
#     utime + stime of the server processes, the tracer and ksoftirqd
#     (/proc/PID/stat) per request, the load generator's (build/bench/
#     bench_load) apart; per BPF program run time and runs from bpf_stats
#     (bpftool). BENCH_ROUNDS rounds (default 3) run every configuration in
#     turn; the table shows medians (tests/bench/bench_table.py).
#
# The served stack (both fronts, both upstreams) runs in a cgroup of its
# own (CGROOT/dg-bench-PID), as a systemd service or a container would; the
# unwatched nginx, the unrelated process and the load generator do not.
#
# Loopback only, ports 19850-19854. Starts its own nginx instances
# (scripts/nginx.sh, never the system service) and leaves nothing behind:
# on exit, ^C or failure every process it started is stopped, the
# servers too, their cgroup removed, kernel.bpf_stats_enabled is put back and the work
# directory removed (BENCH_KEEP=1 keeps it: results.jsonl, the daemon's
# logs). BENCH_SECONDS (default 5) is each phase's length. BENCH_PERF=DIR
# also records a system-wide perf profile of each tracer's JSON
# fixed-rate phase in the first round (DIR/perf-CONFIG.data).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
DG=$ROOT/distillguard
B=$ROOT/build/bench
D=${BENCH_SECONDS:-5}
FRONT=19850 UP=19851 SSE_FRONT=19852 SSE_UP=19853 OTHER=19854

[ -z "${BENCH_PERF:-}" ] || mkdir -p "$BENCH_PERF"
W=$(mktemp -d /tmp/dg-bench.XXXXXX)
R=$W/results.jsonl
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=
if [ -n "$CGROOT" ] && mkdir "$CGROOT/dg-bench-$$" 2>/dev/null; then CG=$CGROOT/dg-bench-$$; fi
PIDS=()
STATS_OLD=
NGINX_DIRS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for d in "${NGINX_DIRS[@]}"; do sh scripts/nginx.sh stop "$d" >/dev/null 2>&1; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "$CG" ]; then
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		for _ in $(seq 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	fi
	[ -z "$STATS_OLD" ] || sysctl -q kernel.bpf_stats_enabled="$STATS_OLD"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM
say() { echo "bench: $*" >&2; }

# --- the machine and the command ---------------------------------------------
python3 - "$R" <<'PY'
import json, os, platform, subprocess, sys
cpu = "?"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip()
        break
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                       text=True).stdout.strip()
u = os.uname()
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({"name": "machine", "uname": f"{u.sysname} {u.release} {u.machine}",
                        "cpu": cpu, "cores": os.cpu_count(), "rev": rev + ("+" if dirty else ""),
                        "date": subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"],
                                               capture_output=True, text=True).stdout.strip(),
                        "seconds": float(os.environ.get("BENCH_SECONDS", "5"))}) + "\n")
PY

# --- user space alone ----------------------------------------------------------
say "user space: decode + reassembly + records (bench_reasm)"
TMPDIR=$W "$B/bench_reasm" "${BENCH_N:-100000}" >"$W/reasm.out" || say "bench_reasm failed"
say "scoring pass, memory per client and connection (bench_scale)"
"$B/bench_scale" "${BENCH_CLIENTS:-100000}" >"$W/scale.out" || say "bench_scale failed"
python3 - "$R" "$W/reasm.out" "$W/scale.out" <<'PY'
import json, re, sys
kv = {}
for path in sys.argv[2:]:
    for l in open(path):
        if l.startswith(("PATH ", "SCALE ")):
            kv.update({k: float(v) for k, v in (x.split("=") for x in l.split()[1:])})
open(sys.argv[1], "a").write(json.dumps({"name": "user", **kv}) + "\n")
PY

if [ "$(id -u)" != 0 ]; then
	say "kernel parts skipped (need root: sudo make bench)"
	python3 tests/bench/bench_table.py "$R"
	exit 0
fi

# --- the floor -----------------------------------------------------------------
say "the machine's floor (bench_floor)"
"$B/bench_floor" >"$W/floor.out" || say "bench_floor failed"
python3 - "$R" "$W/floor.out" <<'PY'
import json, sys
kv = {}
for l in open(sys.argv[2]):
    if l.startswith("FLOOR "):
        kv = {k: float(v) for k, v in (x.split("=") for x in l.split()[1:])}
open(sys.argv[1], "a").write(json.dumps({"name": "floor", **kv}) + "\n")
PY

# --- servers -------------------------------------------------------------------
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1

# A static nginx: $1 dir, $2 listen line. Answers every request with the
# same non-streamed chat completion (64 tokens).
static_nginx() {
	local dir=$1 listen=$2 body
	body='{"id":"chatcmpl-bench","object":"chat.completion","model":"dg-large","choices":[{"index":0,"message":{"role":"assistant","content":"'
	for i in $(seq 0 63); do body="${body}tok$i "; done
	body="$body"'"},"finish_reason":"stop"}],"usage":{"prompt_tokens":80,"completion_tokens":64,"total_tokens":144}}'
	mkdir -p "$dir/tmp"
	cp "$W/front/cert.pem" "$W/front/key.pem" "$dir/" 2>/dev/null
	cat >"$dir/nginx.conf" <<EOF
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        $listen
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;
        location / { default_type application/json; return 200 '$body'; }
    }
}
EOF
	NGINX_DIRS+=("$dir")
	nginx -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || return 1
	for _ in $(seq 50); do [ -s "$dir/nginx.pid" ] && return 0; sleep 0.1; done
	return 1
}
nginx_pids() { local m; m=$(cat "$1/nginx.pid" 2>/dev/null) && echo "$m" $(pgrep -P "$m"); }

# The served stack runs in a cgroup of its own, as a systemd service or a
# container would; the unwatched nginx and the load generator stay in ours.
say "servers: nginx TLS :$FRONT -> static nginx :$UP; nginx TLS :$SSE_FRONT -> endpoint.py :$SSE_UP (in ${CG:-our cgroup}); unwatched static nginx TLS :$OTHER"
in_cg() { ( [ -z "$CG" ] || echo $BASHPID >"$CG/cgroup.procs"; "$@" ); }
NGINX_DIRS+=("$W/front" "$W/sse" "$W/up")
in_cg sh scripts/nginx.sh start "$W/front" $FRONT $UP --forwarded >"$W/front.out" 2>&1 ||
	{ cat "$W/front.out" >&2; exit 1; }
in_cg static_nginx "$W/up" "listen 127.0.0.1:$UP;" || { say "upstream nginx did not start"; exit 1; }
static_nginx "$W/other" "listen 127.0.0.1:$OTHER ssl;" || { say "unwatched nginx did not start"; exit 1; }
bash -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' _ "$CG" \
	python3 scripts/endpoint.py --plain-port $SSE_UP --tls-port 0 --quiet --token-delay-ms 0 \
	>"$W/endpoint.log" 2>&1 &
EP=$!
PIDS+=($EP)
in_cg sh scripts/nginx.sh start "$W/sse" $SSE_FRONT $SSE_UP --forwarded >"$W/sse.out" 2>&1 ||
	{ cat "$W/sse.out" >&2; exit 1; }
SERVER="$(nginx_pids "$W/front") $(nginx_pids "$W/up") $(nginx_pids "$W/sse") $EP $(nginx_pids "$W/other")"
SERVER=$(echo $SERVER | tr ' ' ',')
SOFTIRQ=$(pgrep '^ksoftirqd/' | tr '\n' ',')

LOAD="$B/bench_load -c 8 -d $D"
say "warm-up"
$LOAD -d 1 127.0.0.1 $FRONT >/dev/null
$LOAD -d 1 -s 127.0.0.1 $SSE_FRONT >/dev/null
$LOAD -d 1 127.0.0.1 $OTHER >/dev/null

# phase NAME [--tracer-pid P --dg-socket S] -- LOAD ARGS
phase() {
	local name=$1
	shift
	python3 tests/bench/bench_phase.py --name "$name" --results "$R" --dg "$DG" \
		--group server="$SERVER" --group tracer="${TRACER:-}" --group softirq="$SOFTIRQ" \
		${TRACER:+--tracer-pid $TRACER} ${DG_SOCK:+--dg-socket $DG_SOCK} -- "$@" ||
		{ say "phase $name failed"; exit 1; }
	# A server that died would leave every later phase at zero: stop here.
	tail -1 "$R" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["load"]["requests"] == 0)' ||
		{ say "phase $name: no request answered (a server died?); stopping"; exit 1; }
}
tax() {
	"$B/bench_floor" tax "${BENCH_TAX_N:-500000}" | python3 -c '
import json, sys
kv = dict(x.split("=") for x in sys.stdin.read().split()[1:])
open(sys.argv[1], "a").write(json.dumps({"name": sys.argv[2], "rw_ns": float(kv["rw_ns"])}) + "\n")' "$R" "$1"
}

# The same phases for each configuration: $1 the configuration, $2 the
# round. The fixed rates are set by the first round's unwatched saturation.
phases() {
	phase "$1/json/sat@$2" $LOAD 127.0.0.1 $FRONT
	[ -n "${RATE:-}" ] || RATE=$(tail -1 "$R" | python3 -c 'import json,sys; print(max(10, int(json.load(sys.stdin)["load"]["rps"] / 4)))')
	phase "$1/sse/sat@$2" $LOAD -s 127.0.0.1 $SSE_FRONT
	if [ -z "${RATE_SSE:-}" ]; then
		RATE_SSE=$(tail -1 "$R" | python3 -c 'import json,sys; print(max(10, int(json.load(sys.stdin)["load"]["rps"] / 4)))')
		say "fixed rates: $RATE req/s (JSON), $RATE_SSE req/s (SSE): a quarter of the unwatched saturation"
	fi
	if [ -n "${BENCH_PERF:-}" ] && [ "$2" = 1 ] && [ -n "${TRACER:-}" ]; then
		# A system-wide profile of this phase, for BENCHMARKS.md (it adds
		# its own cost: not for the table's run).
		perf record -a -g -o "$BENCH_PERF/perf-$1.data" -- sleep "$D" >/dev/null 2>&1 &
		PIDS+=($!)
	fi
	phase "$1/json/rate@$2" $LOAD -r "$RATE" 127.0.0.1 $FRONT
	phase "$1/sse/rate@$2" $LOAD -s -r "$RATE_SSE" 127.0.0.1 $SSE_FRONT
	phase "$1/other/sat@$2" $LOAD 127.0.0.1 $OTHER
	tax "$1/tax@$2"
}

# dg_start NAME ARGS...: the daemon in observe mode, its own config, journal
# and control socket; returns once it runs.
dg_start() {
	local name=$1
	shift
	printf '%s\n' "${DG_CONF:-}" >"$W/dg.conf"
	rm -f "$W/ctl.sock"
	"$DG" run --config "$W/dg.conf" --metrics off --journal "$W/journal-$name" \
		--control-socket "$W/ctl.sock" --secret-file "$W/secret" "$@" 2>"$W/dg-$name.err" &
	TRACER=$!
	PIDS+=($TRACER)
	DG_SOCK=$W/ctl.sock
	for _ in $(seq 300); do
		grep -q 'running in' "$W/dg-$name.err" 2>/dev/null && return 0
		kill -0 $TRACER 2>/dev/null || break
		sleep 0.1
	done
	say "distillguard ($name) did not start:"
	tail -5 "$W/dg-$name.err" >&2
	exit 1
}
tracer_stop() {   # $1: the signal; $2: a distillguard configuration, whose stop is timed
	local links= t0 t1
	[ -z "${2:-}" ] || links=$(DISTILLGUARD_SOCKET=$DG_SOCK "$DG" status --json 2>/dev/null |
		python3 -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        if "uprobe_links" in o:
            return o["uprobe_links"]
        for v in o.values():
            r = find(v)
            if r is not None:
                return r
print(find(json.load(sys.stdin)))' 2>/dev/null)
	t0=$(date +%s%N)
	kill "-$1" "$TRACER" 2>/dev/null
	for _ in $(seq 1000); do kill -0 "$TRACER" 2>/dev/null || break; sleep 0.01; done
	t1=$(date +%s%N)
	kill -KILL "$TRACER" 2>/dev/null
	wait "$TRACER" 2>/dev/null
	TRACER= DG_SOCK=
	# How long distillguard takes to stop (its uprobes' detach dominates).
	[ -z "${2:-}" ] || python3 -c 'import json,sys; open(sys.argv[1],"a").write(json.dumps(
		{"name": "stop", "config": sys.argv[2], "ms": int(sys.argv[3]) / 1e6,
		 "links": None if sys.argv[4] in ("", "None") else int(sys.argv[4])}) + "\n")' \
		"$R" "$2" "$((t1 - t0))" "$links"
}

# What idle connections to the watched front cost the daemon: its tracked
# connections and RSS before and after BENCH_IDLE (default 1,500: the
# front nginx's workers keep 1,024 descriptors each) TLS connections that
# made their handshake and sent nothing.
dg_status() {
	DISTILLGUARD_SOCKET=$DG_SOCK "$DG" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
s = s.get("daemon", s)
print(s.get("connections", 0), s.get("memory_rss_bytes", 0))'
}
idle_conns() {
	local before after h
	before=$(dg_status)
	python3 tests/bench/bench_idle.py 127.0.0.1 $FRONT "${BENCH_IDLE:-1500}" >"$W/idle.out" 2>&1 &
	h=$!
	PIDS+=($h)
	for _ in $(seq 600); do grep -q IDLE "$W/idle.out" && break; kill -0 $h 2>/dev/null || break; sleep 0.1; done
	sleep 2
	after=$(dg_status)
	kill -TERM $h 2>/dev/null
	wait $h 2>/dev/null
	python3 -c '
import json, sys
b, a = sys.argv[2].split(), sys.argv[3].split()
n = int((open(sys.argv[4]).read().split("open=") + ["0"])[1].split()[0] or 0)
open(sys.argv[1], "a").write(json.dumps({"name": "idle", "open": n, "conns": int(a[0]) - int(b[0]),
    "rss": int(a[1]) - int(b[1])}) + "\n")' "$R" "$before" "$after" "$W/idle.out"
	say "idle connections: $(cat "$W/idle.out")"
}

# --- a peer: bcc's sslsniff -----------------------------------------------------
# Debian's bcc 0.26 needs kernel headers; this kernel ships none
# (/lib/modules/$(uname -r)/build), so it gets Debian 12's own
# linux-headers (6.1, merged into one tree as bcc expects), and its
# min() on size_t, which those headers refuse to compile in BPF, is
# replaced by the same comparison written out. Its uprobes are what it
# always attaches: every process using libssl (no -p: nginx has two
# workers; the load generator's own traps are in its CPU, left out).
SS=$(command -v sslsniff-bpfcc || true)
SS_NOTE= SS_ENV=()
if [ -z "$SS" ]; then
	SS_NOTE="not run: sslsniff-bpfcc not installed (sh scripts/deps.sh bench)"
else
	sed 's/min((size_t)MAX_BUF_SIZE, (size_t)len)/((size_t)len < (size_t)MAX_BUF_SIZE ? (size_t)len : (size_t)MAX_BUF_SIZE)/' \
		"$SS" >"$W/sslsniff.py"
	SS_NOTE="bcc $(dpkg-query -W -f '${Version}' bpfcc-tools 2>/dev/null), min() patched"
	if [ ! -e "/lib/modules/$(uname -r)/build" ]; then
		H=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
		C=${H%-amd64}-common
		if [ -n "$H" ] && [ -d "$C" ]; then
			mkdir "$W/kh"
			cp -rs "$C/." "$W/kh/" && cp -rsf "$H/." "$W/kh/"
			SS_ENV=(BCC_KERNEL_SOURCE="$W/kh")
			SS_NOTE="$SS_NOTE, compiled against ${H#/usr/src/linux-headers-} headers (this kernel ships none)"
		else
			SS=
			SS_NOTE="not run: bcc needs kernel headers and $(uname -r) has none (sh scripts/deps.sh bench installs Debian's)"
		fi
	fi
fi
ss_start() {
	env "${SS_ENV[@]}" /usr/bin/python3 "$W/sslsniff.py" >/dev/null 2>"$W/sslsniff.err" &
	TRACER=$!
	PIDS+=($TRACER)
	for _ in $(seq 900); do   # its programs loaded (bcc compiles first), then a moment to attach
		kill -0 $TRACER 2>/dev/null || break
		if ls -l /proc/$TRACER/fd 2>/dev/null | grep -q bpf-prog; then sleep 3; return 0; fi
		sleep 0.1
	done
	SS_NOTE="did not start: $(grep -v '^ ' "$W/sslsniff.err" | tail -1)"
	SS=
	tracer_stop KILL
	return 1
}

# --- the rounds -------------------------------------------------------------------
# Each round runs every configuration in turn, so that what else the host
# does drifts over all of them alike; the table takes the median of rounds.
ROUNDS=${BENCH_ROUNDS:-3}
for r in $(seq "$ROUNDS"); do
	say "round $r of $ROUNDS: without"
	TRACER= DG_SOCK=
	phases base "$r"
	say "round $r: distillguard, TLS mode: run --port $FRONT --port $SSE_FRONT"
	dg_start "tls$r" --port $FRONT --port $SSE_FRONT
	# What the kernel side holds whatever the traffic: its maps (LRU hashes
	# and ring buffers are allocated whole at load).
	[ "$r" != 1 ] || python3 tests/bench/bench_phase.py --maps-of "$TRACER" "$R"
	[ "$r" != 1 ] || idle_conns
	phases tls "$r"
	tracer_stop TERM tls
	say "round $r: distillguard, upstream mode: run --port $UP --port $SSE_UP --front-port $FRONT --front-port $SSE_FRONT --trusted-proxy 127.0.0.1"
	dg_start "up$r" --port $UP --port $SSE_UP --front-port $FRONT --front-port $SSE_FRONT --trusted-proxy 127.0.0.1
	phases up "$r"
	tracer_stop TERM up
	# The same two with the global syscall hooks and the socket programs on
	# the root cgroup (every process and socket of the host).
	say "round $r: distillguard, TLS mode, syscall_hooks yes, cgroup_scope root"
	DG_CONF=$'syscall_hooks yes\ncgroup_scope root' dg_start "tlsh$r" --port $FRONT --port $SSE_FRONT
	phases tlsh "$r"
	tracer_stop TERM tlsh
	say "round $r: distillguard, upstream mode, syscall_hooks yes, cgroup_scope root"
	DG_CONF=$'syscall_hooks yes\ncgroup_scope root' dg_start "uph$r" --port $UP --port $SSE_UP \
		--front-port $FRONT --front-port $SSE_FRONT --trusted-proxy 127.0.0.1
	phases uph "$r"
	tracer_stop TERM uph
	if [ -n "$SS" ]; then
		say "round $r: bcc sslsniff ($SS_NOTE)"
		if ss_start; then
			phases sslsniff "$r"
			tracer_stop INT
		fi
	fi
done
python3 -c 'import json,sys; open(sys.argv[1],"a").write(json.dumps({"name":"sslsniff","note":sys.argv[2]})+"\n")' \
	"$R" "$SS_NOTE"

say "done; the table:"
python3 tests/bench/bench_table.py "$R"
