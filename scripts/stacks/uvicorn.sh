#!/bin/sh
# A private uvicorn + FastAPI server terminating TLS itself (as vLLM/SGLang
# API servers do with --ssl-keyfile/--ssl-certfile), serving
# scripts/stacks/uvicorn_app.py (endpoint.py's fake OpenAI/Anthropic API).
#
#   scripts/stacks/uvicorn.sh start DIR PORT [BIND]
#   scripts/stacks/uvicorn.sh stop DIR
#
# start: a self-signed cert (DIR/cert.pem, DIR/key.pem, made once), then
# `/usr/bin/python3 -m uvicorn` (Debian's python3-uvicorn: asyncio loop, h11)
# on BIND (127.0.0.1):PORT in the background; pid in DIR/uvicorn.pid, log in
# DIR/uvicorn.log. Returns once the port accepts connections.
# Env: DG_TOKEN_DELAY_MS (SSE pacing, default 1), UVICORN_PYTHON
# (/usr/bin/python3).
# stop: SIGTERM, then SIGKILL after 10 s; waits until the process is gone.
# Never touches a system service.
set -eu

usage() {
	echo "usage: $0 start DIR PORT [BIND] | stop DIR" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
py=${UVICORN_PYTHON:-/usr/bin/python3}
prog=uvicorn.sh port_py=$py
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

start() {
	[ $# -ge 2 ] && [ $# -le 3 ] || usage
	dir=$1 port=$2 bind=${3:-127.0.0.1}
	is_port "$port" || usage
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	not_running "$dir" "$dir/uvicorn.pid"
	make_cert "$dir"
	DG_TOKEN_DELAY_MS=${DG_TOKEN_DELAY_MS:-1} "$py" -m uvicorn uvicorn_app:app \
		--app-dir "$here" --host "$bind" --port "$port" \
		--loop asyncio --http h11 --no-access-log --log-level warning \
		--timeout-keep-alive 300 --backlog 1024 \
		--ssl-keyfile "$dir/key.pem" --ssl-certfile "$dir/cert.pem" \
		</dev/null >"$dir/uvicorn.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/uvicorn.pid"
	wait_up 150 "$pid" port_open "$port" "$bind" ||
		give_up "$dir" "uvicorn did not come up on $bind:$port; $dir/uvicorn.log:" "$dir/uvicorn.log"
}

stop() {
	[ $# -eq 1 ] || usage
	pidf=$1/uvicorn.pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	check_pid "$pid" "$pidf"
	# only signal it if it really is that uvicorn
	if ! alive "$pid" || ! cmdline_has "$pid" "uvicorn"; then
		rm -f "$pidf"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid"; then
		echo "uvicorn.sh: pid $pid still alive" >&2
		exit 1
	fi
	rm -f "$pidf"
}

main "$@"
