# Shared by scripts/nginx.sh, scripts/stacks/uvicorn.sh and
# scripts/stacks/haproxy.sh (POSIX sh, sourced): checking a port, making the
# self-signed certificate, waiting for a server to come up, and stopping
# processes found in a pid file. Set before sourcing:
#   prog      the script's name, in front of its messages (nginx.sh, ...)
#   port_py   the python that probes ports (default python3; without one,
#             curl does)
# Each script defines usage, start and stop, and ends with `main "$@"`.
# Nothing here touches a system service.

is_port() { case "$1" in '' | *[!0-9]*) return 1 ;; *) [ "$1" -gt 0 ] && [ "$1" -lt 65536 ] ;; esac; }

# port_open PORT [HOST]: does HOST (127.0.0.1):PORT accept connections?
port_open() {
	if command -v "${port_py:-python3}" >/dev/null 2>&1; then
		"${port_py:-python3}" -c 'import socket,sys; socket.create_connection((sys.argv[2], int(sys.argv[1])), 0.5).close()' "$1" "${2:-127.0.0.1}" 2>/dev/null
	else
		curl -s -o /dev/null --max-time 1 "http://${2:-127.0.0.1}:$1/" 2>/dev/null
		[ $? -ne 7 ]
	fi
}

# alive PID: exists and is not a zombie
alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

# cmdline_has PID PATTERN: the command line of PID matches PATTERN (grep)
cmdline_has() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "$2"
}

# not_running DIR PIDFILE: exit 1 if a pid in PIDFILE is alive
not_running() {
	[ -f "$2" ] || return 0
	for p in $(cat "$2"); do
		if alive "$p"; then
			echo "$prog: already running in $1 (pid $p)" >&2
			exit 1
		fi
	done
}

# check_pid PID PIDFILE: exit 1 unless PID (read from PIDFILE) is a number
check_pid() {
	case "$1" in '' | *[!0-9]*) echo "$prog: bad pid file $2" >&2; exit 1 ;; esac
}

# make_cert DIR: a self-signed localhost cert, DIR/cert.pem and DIR/key.pem
# (made once)
make_cert() {
	if [ ! -s "$1/cert.pem" ] || [ ! -s "$1/key.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$1/key.pem" -out "$1/cert.pem" -days 365 -subj /CN=localhost \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
	fi
}

# wait_up TRIES PID CMD...: run CMD every 0.1 s until it succeeds; fails
# after TRIES tries, or as soon as PID (when not empty) is gone
wait_up() {
	tries=$1 wpid=$2
	shift 2
	i=0
	until "$@"; do
		i=$((i + 1))
		if { [ -n "$wpid" ] && ! alive "$wpid"; } || [ $i -ge "$tries" ]; then
			return 1
		fi
		sleep 0.1
	done
}

# give_up DIR MESSAGE [LOG]: MESSAGE and the end of LOG on stderr, then stop
# DIR (unless DIR is empty) and exit 1
give_up() {
	echo "$prog: $2" >&2
	if [ -n "${3:-}" ]; then tail -5 "$3" >&2 || true; fi
	if [ -n "$1" ]; then stop "$1" >/dev/null 2>&1 || true; fi
	exit 1
}

# wait_gone PID...: wait until every PID is gone, SIGKILL what is left after
# 10 s; fails after 15 s, the pids still alive in $left
wait_gone() {
	i=0
	while :; do
		left=
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && return 0
		i=$((i + 1))
		if [ $i -eq 100 ]; then # 10 s: force it
			for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
		fi
		if [ $i -ge 150 ]; then
			return 1
		fi
		sleep 0.1
	done
}

main() {
	[ $# -ge 1 ] || usage
	cmd=$1
	shift
	case "$cmd" in
	start) start "$@" ;;
	stop) stop "$@" ;;
	*) usage ;;
	esac
}
