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

is_port() { case "$1" in '' | *[!0-9]*) return 1 ;; *) [ "$1" -gt 0 ] && [ "$1" -lt 65536 ] ;; esac; }

port_open() { # port_open HOST PORT
	"$py" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close()' "$1" "$2" 2>/dev/null
}

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

start() {
	[ $# -ge 2 ] && [ $# -le 3 ] || usage
	dir=$1 port=$2 bind=${3:-127.0.0.1}
	is_port "$port" || usage
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/uvicorn.pid" ] && alive "$(cat "$dir/uvicorn.pid")"; then
		echo "uvicorn.sh: already running in $dir (pid $(cat "$dir/uvicorn.pid"))" >&2
		exit 1
	fi
	if [ ! -s "$dir/cert.pem" ] || [ ! -s "$dir/key.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$dir/key.pem" -out "$dir/cert.pem" -days 365 -subj /CN=localhost \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
	fi
	DG_TOKEN_DELAY_MS=${DG_TOKEN_DELAY_MS:-1} "$py" -m uvicorn uvicorn_app:app \
		--app-dir "$here" --host "$bind" --port "$port" \
		--loop asyncio --http h11 --no-access-log --log-level warning \
		--timeout-keep-alive 300 --backlog 1024 \
		--ssl-keyfile "$dir/key.pem" --ssl-certfile "$dir/cert.pem" \
		</dev/null >"$dir/uvicorn.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/uvicorn.pid"
	i=0
	until port_open "$bind" "$port"; do
		i=$((i + 1))
		if ! alive "$pid" || [ $i -ge 150 ]; then
			echo "uvicorn.sh: uvicorn did not come up on $bind:$port; $dir/uvicorn.log:" >&2
			tail -5 "$dir/uvicorn.log" >&2 || true
			stop "$dir" >/dev/null 2>&1 || true
			exit 1
		fi
		sleep 0.1
	done
}

stop() {
	[ $# -eq 1 ] || usage
	pidf=$1/uvicorn.pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	case "$pid" in '' | *[!0-9]*) echo "uvicorn.sh: bad pid file $pidf" >&2; exit 1 ;; esac
	# only signal it if it really is that uvicorn
	if ! alive "$pid" || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "uvicorn"; then
		rm -f "$pidf"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while alive "$pid"; do
		i=$((i + 1))
		[ $i -eq 100 ] && kill -KILL "$pid" 2>/dev/null
		if [ $i -ge 150 ]; then
			echo "uvicorn.sh: pid $pid still alive" >&2
			exit 1
		fi
		sleep 0.1
	done
	rm -f "$pidf"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
start) start "$@" ;;
stop) stop "$@" ;;
*) usage ;;
esac
