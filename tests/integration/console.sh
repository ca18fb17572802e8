#!/bin/bash
# Root integration test of the console, `distillguard top`, on a live
# daemon in observe mode: live TLS traffic from the scenario generator
# (conversational customers and a chain-of-thought hydra), then `top` in a
# private tmux server at 80x24, driven by keys. Checks: with no daemon
# `top` and `top --once` say so in one line and exit 1; `top --once`
# prints a plain frame (no escape codes, nothing wider than --width) whose
# rows are the daemon's clients in its order; the live console renders the
# header and the rows of live clients at 80x24 with nothing wrapped; a sort
# key reorders the rows; / filters; Enter opens the selected client's
# detail and Esc goes back; a then n cancels; b then y blocks the client
# (an operator's block in `clients --json` and `decisions --json`); a
# resize lays the frame out again; q quits with the terminal restored; so
# do SIGTERM and ^C; with NO_COLOR set no colour escape is drawn (and
# without it some are); a daemon that goes away is said on the status
# line. Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-console.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

TLS=19301                    # endpoint.py, TLS (watched)
SOCK=$W/control.sock
TS=$W/tmux.sock              # a tmux server of our own: the operator's is never touched
export DISTILLGUARD_SOCKET=$SOCK

stop_servers() { tmux -S "$TS" kill-server 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM
need_root
command -v tmux >/dev/null || { bad "tmux is installed (scripts/deps.sh)"; finish; }

tm() { tmux -S "$TS" "$@"; }
screen_of() { tm capture-pane -p -t "$1"; }        # the screen as text
wait_screen() {              # wait_screen SESSION REGEX [TENTHS]: until the screen matches
	for _ in $(seq "${3:-50}"); do
		screen_of "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	echo "  screen of $1 never matched /$2/:" >&2
	screen_of "$1" | sed 's/^/  | /' >&2
	return 1
}
# The rows of the client table on the screen: NAME SCORE, top to bottom.
rows_of() { screen_of "$1" | awk '/^CLIENT /{t=1; next} t && /^(key|ip|cidr):/{print $1, $2}'; }
# Start `top` in session NAME at 80x24 with the environment given; when it
# exits, the wrapper says how, and in what state the terminal is.
start_top() {                # start_top NAME [VAR=VALUE...]
	local name=$1; shift
	cat >"$W/$name.sh" <<EOF
trap '' INT                  # ^C is for top; this shell stays to report
env $* "$DG" top --interval 0.5
echo "EXIT=\$?"
stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo
sleep 600
EOF
	tm new-session -d -s "$name" -x 80 -y 24 "bash $W/$name.sh"
}
top_pid() { pgrep -P "$(tm display -p -t "$1" '#{pane_pid}')" -x distillguard; }
restored() {                 # restored NAME CODE: top exited with CODE, terminal as before
	wait_screen "$1" "^EXIT=$2" 50 && wait_screen "$1" "^icanon echo" 20 &&
		[ "$(tm display -p -t "$1" '#{alternate_on}')" = 0 ]
}
# SGR escapes that set a colour (30-37, 38, 40-47, 48, 90-97, 100-107), in
# a capture with escapes; the default colours (39, 49) are not colour.
colours() { python3 -c '
import re, sys
n = 0
for m in re.finditer(r"\x1b\[([0-9;]*)m", sys.stdin.read()):
    ps = [int(p) for p in m.group(1).split(";") if p]
    n += any(30 <= p <= 38 or 40 <= p <= 48 or 90 <= p <= 97 or 100 <= p <= 107 for p in ps)
print(n)'; }

# --- no daemon ------------------------------------------------------------------
check "with no daemon, top --once says so in one line and exits 1" bash -c '
	out=$("$1" top --once 2>&1); rc=$?
	[ $rc -eq 1 ] && [ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ] && printf "%s" "$out" | grep -q "no distillguard daemon"' _ "$DG"
check "with no daemon, top says so in one line and exits 1" bash -c '
	out=$("$1" top 2>&1 </dev/null); rc=$?
	[ $rc -eq 1 ] && [ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ] && printf "%s" "$out" | grep -q "no distillguard daemon"' _ "$DG"

# --- a daemon with live traffic -------------------------------------------------
python3 scripts/endpoint.py --tls-port $TLS --quiet --token-delay-ms 0 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $TLS || { bad "endpoint listens"; finish; }
printf 'tick 2\npolicy.ttl 300\n' >"$W/dg.conf"
"$DG" run --config "$W/dg.conf" --port $TLS --journal "$W/journal" --control-socket "$SOCK" \
	--secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 150); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
grep -q 'running in observe mode' "$W/run.err" || { bad "the daemon starts"; finish; }
python3 scripts/scenario.py --mode http --url https://127.0.0.1:$TLS --seed 5 --only chat,hydra \
	--scale 0.1 --speed 20 --max-seconds 40 >"$W/scenario.out" 2>&1 &
PIDS+=($!)
# Until the campaign is acted on and some customers are seen (30 s at most).
for _ in $(seq 60); do
	"$DG" clients --json >"$W/clients.json" 2>/dev/null &&
		python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
acted = [r for r in rows if r["action"] != "none"]
calm = [r for r in rows if r["action"] == "none"]
sys.exit(0 if len(acted) >= 3 and len(calm) >= 3 else 1)' "$W/clients.json" && break
	sleep 0.5
done
check "live traffic: clients acted on and clients not" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
sys.exit(0 if sum(r["action"] != "none" for r in rows) >= 3 and sum(r["action"] == "none" for r in rows) >= 3 else 1)' "$W/clients.json"

# --- top --once -----------------------------------------------------------------
"$DG" top --once --width 80 >"$W/once.txt" 2>"$W/once.err"
RC=$?
check "top --once: a frame with the header, the heads and rows, exit 0" bash -c "
	[ $RC -eq 0 ] && head -1 '$W/once.txt' | grep -q '^distillguard  observe mode  up ' &&
	grep -q '^req/s .*  out tok/s .*  conns .*  events lost .*  bpf cpu ' '$W/once.txt' &&
	grep -q '^CLIENT  *SCORE REQ/M TOK/M KEYS  IPS ACTION    REASONS$' '$W/once.txt' &&
	[ \$(grep -cE '^(key|ip):' '$W/once.txt') -ge 3 ]"
check "top --once: no escape code, no line wider than --width 80" bash -c "
	! grep -q \$'\\x1b' '$W/once.txt' && ! grep -qP '[^\\x20-\\x7e]' '$W/once.txt' &&
	[ \$(awk '{ if (length(\$0) > m) m = length(\$0) } END { print m }' '$W/once.txt') -le 80 ]"
"$DG" clients --json >"$W/order.json"
"$DG" top --once --top 3 --width 200 >"$W/once3.txt"
check "top --once --top 3: the daemon's first three clients, in its order, and how many more" \
	python3 - "$W/order.json" "$W/once3.txt" <<'EOF'
import json, re, sys
daemon = [r["client"] for r in json.load(open(sys.argv[1]))]
lines = open(sys.argv[2]).read().splitlines()
rows = [l.split()[0] for l in lines if re.match(r"(key|ip|cidr):", l)]
more = [l for l in lines if re.fullmatch(r"\(\d+ more\)", l)]
print("  daemon:", daemon[:3], "once:", rows, more)
sys.exit(0 if rows == daemon[:3] and more else 1)
EOF

# --- the live console at 80x24 ------------------------------------------------------
start_top main
check "top at 80x24: the header and rows of live clients" \
	wait_screen main '^CLIENT +SCORE' 50
screen_of main >"$W/screen1.txt"
rows_of main >"$W/rows1.txt"
check "... header: mode, host totals, decisions in force; rows of the daemon's clients" bash -c "
	grep -q '^distillguard  observe mode  up .*clients [0-9]*  in force [0-9]' '$W/screen1.txt' &&
	grep -q '^req/s .*events lost ' '$W/screen1.txt' && [ \$(wc -l <'$W/rows1.txt') -ge 10 ] &&
	python3 -c '
import json, sys
names = {r[\"client\"] for r in json.load(open(sys.argv[1]))}
rows = [l.split()[0] for l in open(sys.argv[2])]
sys.exit(0 if sum(r in names for r in rows) >= 10 else 1)' '$W/order.json' '$W/rows1.txt'"
check "... highest score first, the keys on the last line, nothing wrapped" bash -c "
	python3 -c '
import sys
s = [float(l.split()[1].rstrip(\"^v=+\")) for l in open(sys.argv[1])]
sys.exit(0 if s == sorted(s, reverse=True) else 1)' '$W/rows1.txt' &&
	[ \$(wc -l <'$W/screen1.txt') -eq 24 ] && tail -1 '$W/screen1.txt' | grep -q '^q:quit' &&
	tmux -S '$TS' capture-pane -p -J -t main | awk '{ if (length(\$0) > 80) exit 1 }'"

tm send-keys -t main n
wait_screen main 'sort CLIENT asc' 30 >/dev/null
sleep 0.6
rows_of main >"$W/rows2.txt"
check "a sort key: n sorts by client name, and the order changed" bash -c "
	grep -q 'sort CLIENT asc' <(tmux -S '$TS' capture-pane -p -t main) &&
	cut -d' ' -f1 '$W/rows2.txt' | LC_ALL=C sort -c &&
	! cmp -s <(cut -d' ' -f1 '$W/rows1.txt') <(cut -d' ' -f1 '$W/rows2.txt')"
tm send-keys -t main s

# A customer nobody acts on: filtered down to its row, it is the selection.
TARGET=$(python3 -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["action"] == "none" and r["client"].startswith("key:")]
print(rows[0]["client"] if rows else "")' "$W/order.json")
tm send-keys -t main -l "/$TARGET"
tm send-keys -t main Enter
check "/ filters: one row, the client typed ($TARGET)" bash -c "
	for _ in \$(seq 30); do
		tmux -S '$TS' capture-pane -p -t main | grep -q 'filter \"$TARGET\": 1 of ' && break; sleep 0.1
	done
	[ \"\$(tmux -S '$TS' capture-pane -p -t main | awk '/^CLIENT /{t=1; next} t && /^(key|ip|cidr):/{print \$1}')\" = '$TARGET' ]"
tm send-keys -t main Enter
check "Enter opens the selected client's detail: reasons, features, addresses, decisions" \
	bash -c "for _ in \$(seq 50); do
		s=\$(tmux -S '$TS' capture-pane -p -t main)
		printf '%s\n' \"\$s\" | grep -q '^client $TARGET' && printf '%s\n' \"\$s\" | grep -q '^features' && break
		sleep 0.1
	done
	printf '%s\n' \"\$s\" | grep -q '^$TARGET  score ' && printf '%s\n' \"\$s\" | grep -q '^in force: ' &&
	printf '%s\n' \"\$s\" | grep -q '^applied: nothing (observe mode' &&
	tmux -S '$TS' send-keys -t main G && sleep 0.5 &&
	tmux -S '$TS' capture-pane -p -t main | grep -q '^decisions'"
tm send-keys -t main Escape
check "Esc goes back to the list" wait_screen main '^CLIENT +SCORE' 30

tm send-keys -t main a
wait_screen main "^allow $TARGET \(for the daemon's default TTL\)\? y/n" 20 >/dev/null
tm send-keys -t main n
check "a then n: cancelled, no decision made" bash -c "
	for _ in \$(seq 20); do tmux -S '$TS' capture-pane -p -t main | grep -q '^allow $TARGET: cancelled' && break; sleep 0.1; done
	tmux -S '$TS' capture-pane -p -t main | grep -q '^allow $TARGET: cancelled' &&
	! '$DG' decisions --json | grep -q '\"client\":\"$TARGET\",\"action\":\"allow\"'"
tm send-keys -t main b
check "b asks to confirm the block on the status line" \
	wait_screen main "^block $TARGET \(for the daemon's default TTL\)\? y/n" 20
tm send-keys -t main y
check "y: the daemon's answer on the status line" \
	wait_screen main "^block $TARGET for 1h, until ([A-Z][a-z]{2} [0-9]{1,2} )?[0-9:]+ [A-Z]+ \(observe mode" 30
check "... an operator's block, noted, in decisions --json and clients --json" bash -c "
	'$DG' decisions --json | grep -q '\"client\":\"$TARGET\",\"action\":\"block\",\"by\":\"operator\"' &&
	'$DG' decisions --json | grep -q '\"note\":\"distillguard top\"' &&
	for _ in \$(seq 30); do
		'$DG' clients --json | python3 -c '
import json, sys
sys.exit(0 if any(r[\"client\"] == \"$TARGET\" and r[\"action\"] == \"block\" for r in json.load(sys.stdin)) else 1)' && exit 0
		sleep 0.2
	done; exit 1"
check "... and its row says block" wait_screen main "^$TARGET .* block( |$)" 30

tm resize-window -t main -x 132 -y 30
check "a resize to 132x30: the CLUSTER column appears, 30 lines" bash -c "
	for _ in \$(seq 30); do tmux -S '$TS' capture-pane -p -t main | grep -q '^CLIENT  *CLUSTER  *SCORE' && break; sleep 0.1; done
	tmux -S '$TS' capture-pane -p -t main | grep -q '^CLIENT  *CLUSTER  *SCORE' &&
	[ \$(tmux -S '$TS' capture-pane -p -t main | wc -l) -eq 30 ]"
tm resize-window -t main -x 50 -y 16
check "a resize to 50x16: columns go, nothing wraps" bash -c "
	for _ in \$(seq 30); do tmux -S '$TS' capture-pane -p -t main | grep -q '^CLIENT  *SCORE ACTION' && break; sleep 0.1; done
	tmux -S '$TS' capture-pane -p -t main | grep -q '^CLIENT  *SCORE ACTION' &&
	tmux -S '$TS' capture-pane -p -J -t main | awk '{ if (length(\$0) > 50) exit 1 }'"
tm resize-window -t main -x 80 -y 24
tm send-keys -t main q
check "q quits (exit 0) and the terminal is restored" restored main 0

# --- colour ------------------------------------------------------------------------
start_top colour
start_top plain NO_COLOR=1
wait_screen colour '^CLIENT +SCORE' 50 >/dev/null
wait_screen plain '^CLIENT +SCORE' 50 >/dev/null
sleep 1.2                    # a refresh or two
C=$(tm capture-pane -p -e -t colour | colours)
N=$(tm capture-pane -p -e -t plain | colours)
check "colour by default ($C colour escapes), none with NO_COLOR set ($N)" \
	test "$C" -gt 0 -a "$N" -eq 0
kill -TERM "$(top_pid colour)"
check "SIGTERM: top exits (143) and the terminal is restored" restored colour 143
tm send-keys -t plain C-c
check "^C: top exits (130) and the terminal is restored" restored plain 130

# --- the daemon goes away --------------------------------------------------------------
start_top gone
wait_screen gone '^CLIENT +SCORE' 50 >/dev/null
kill -TERM $DAEMON
check "the daemon gone: the last frame stays, the status line says why" \
	wait_screen gone '^no distillguard daemon is running' 50
tm send-keys -t gone q
check "... and q still quits cleanly" restored gone 0
finish
