# Shared by tests/integration/run.sh and stacks.sh (bash, sourced from the
# repository root): the pass/fail counters and the final line, waiting for a
# port, and the cleanup on exit. The sourcing script sets W (its work
# directory) and defines stop_servers; it may set KILL_PID=kill_tree to
# signal the processes in PIDS with their descendants.
PASS=0
FAIL=0
PIDS=()                      # processes we started (servers, tracer, traffic)

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

finish() {
	echo "integration: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "integration tests need root (BPF)"
		if [ -n "${CI:-}" ]; then bad "running as root"; fi
		finish
	fi
}

wait_port() {   # wait_port PORT: up to 10 s for 127.0.0.1:PORT to accept connections
	for _ in $(seq 100); do
		(echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

kill_pid() {    # kill_pid SIG PID
	kill "-$1" "$2" 2>/dev/null
}

kill_tree() {   # kill_tree SIG PID: PID and its descendants (by parent id)
	local c
	for c in $(pgrep -P "$2" 2>/dev/null); do kill_tree "$1" "$c"; done
	kill "-$1" "$2" 2>/dev/null
}

cleanup() {     # the EXIT trap: SIGTERM to PIDS, stop_servers, up to 5 s for each pid
	local p        # to go, then SIGKILL; $W removed (kept with KEEP=1)
	for p in "${PIDS[@]}"; do "${KILL_PID:-kill_pid}" TERM "$p"; done
	stop_servers
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		"${KILL_PID:-kill_pid}" KILL "$p"
	done
	if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
