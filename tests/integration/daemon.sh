#!/bin/bash
# BPF integration tests (root) of the live daemon, `distillguard run`, in
# observe mode: live TLS traffic from the scenario generator (conversational
# customers and a chain-of-thought hydra campaign of many keys behind a few
# proxies), each client on a loopback address of its own. Checks: the
# campaign's keys show in `clients --json` with reasons within the run and
# the customers' do not; every request is answered; `status` and `client`
# answer; an operator's block is a decision; replaying the journal gives
# the same decisions; a journal cut in the middle of a gzip member replays
# up to the cut; SIGHUP with a bad config file keeps the old config, a good
# one is applied; a non-root caller is refused; with no daemon the CLI says
# so in one line; SIGTERM stops it with nothing left loaded.
# Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-daemon.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

TLS=19101                    # endpoint.py, TLS (watched)
SOCK=$W/control.sock
export DISTILLGUARD_SOCKET=$SOCK

stop_servers() { :; }
trap cleanup EXIT
trap 'exit 1' INT TERM
need_root

our_progs() {
	bpftool prog show 2>/dev/null | grep -cE "name (ssl_|tls_enter_|plain_e|dg_sockops|dg_hello)" || true
}
BEFORE=$(our_progs)

check "with no daemon, the CLI says so in one line and exits 1" bash -c '
	out=$("$1" status 2>&1); rc=$?
	[ $rc -eq 1 ] && [ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ] && printf "%s" "$out" | grep -q "no distillguard daemon"' _ "$DG"

python3 scripts/endpoint.py --tls-port $TLS --quiet --token-delay-ms 0 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $TLS || { bad "endpoint listens"; finish; }

cat >"$W/dg.conf" <<EOF
# test config
tick 2
policy.ttl 300
EOF
"$DG" run --config "$W/dg.conf" --port $TLS --journal "$W/journal" --control-socket "$SOCK" \
	--secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 150); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
check "the daemon starts in observe mode with its control socket" \
	bash -c "[ -S '$SOCK' ] && grep -q 'running in observe mode' '$W/run.err'"
check "the control socket is root's alone (0600)" \
	bash -c "[ \"\$(stat -c %a '$SOCK')\" = 600 ]"

# --- live traffic: customers and a hydra, 20x simulated time ----------------
python3 scripts/scenario.py --mode http --url https://127.0.0.1:$TLS --seed 4 \
	--only chat,hydra --scale 0.3 --speed 20 --max-seconds 90 \
	--truth "$W/truth.jsonl" --truth-raw-keys >"$W/scenario.out" 2>&1
check "observe mode: every request answered" \
	grep -q " 0 failed" "$W/scenario.out"
sleep 3                      # a pass after the traffic stopped

python3 -c '
import json, sys
for l in open(sys.argv[1]):
    t = json.loads(l)
    if t.get("raw_key"):
        print(t["raw_key"], "campaign" if t["label"]["population"] == "campaign" else "customer")' \
	"$W/truth.jsonl" | sort -u >"$W/keys.txt"
cut -d' ' -f1 "$W/keys.txt" | "$DG" key-id --secret-file "$W/secret" >"$W/ids.txt"
paste -d' ' "$W/keys.txt" "$W/ids.txt" | awk '{print $3, $2}' >"$W/labels.txt"

"$DG" clients --json >"$W/clients.json" 2>"$W/cli.err"
check "clients --json: the campaign's keys are acted on, with reasons; no customer is" \
	python3 - "$W/clients.json" "$W/labels.txt" <<'EOF'
import json, sys
rows = {r["client"]: r for r in json.load(open(sys.argv[1]))}
labels = dict(l.split() for l in open(sys.argv[2]))
camp = [k for k, v in labels.items() if v == "campaign"]
cust = [k for k, v in labels.items() if v == "customer"]
hit = [k for k in camp if rows.get(k, {}).get("action") in ("ratelimit", "block") and rows[k]["reasons"]]
wrong = [k for k in cust if rows.get(k, {}).get("action") not in (None, "none")]
print(f"  campaign keys acted on: {len(hit)} of {len(camp)}; customers acted on: {len(wrong)} of {len(cust)}")
sys.exit(0 if camp and len(hit) >= 0.95 * len(camp) and not wrong else 1)
EOF
FIRST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["client"])' "$W/clients.json")
check "client NAME answers (text and JSON: view, features, addresses, decisions)" bash -c "
	'$DG' client '$FIRST' | grep -q '^$FIRST  score' &&
	'$DG' client '$FIRST' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"view\"][\"client\"]==\"$FIRST\" and \"features\" in d and d[\"addresses\"] and d[\"decisions\"]'"
check "status answers: mode, programs with run time, loss counters, memory" bash -c "
	'$DG' status | grep -q 'observe mode' &&
	'$DG' status --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert d[\"mode\"]==\"observe\" and d[\"records\"]>1000 and d[\"memory_rss_bytes\"]>0
assert any(p[\"runs\"]>0 for p in d[\"programs\"])
k=d[\"counters\"][\"kernel\"]; assert k[\"ringbuf_full\"]==0 and k[\"map_full\"]==0
assert d[\"counters\"][\"journal\"][\"write_errors\"]==0'"
check "an operator's block is a decision, with its note, in decisions --json" bash -c "
	'$DG' block cidr:198.51.100.0/24 --ttl 120 --reason 'ticket 42' | grep -q '^block cidr:198.51.100.0/24' &&
	'$DG' decisions --json | grep -q '\"client\":\"cidr:198.51.100.0/24\",\"action\":\"block\",\"by\":\"operator\"'"
check "an operator's allow shows on the client in clients --json (verb, by, expiry)" bash -c "
	'$DG' allow '$FIRST' --ttl 300 --reason 'known partner' >/dev/null &&
	'$DG' clients --json | python3 -c '
import json,sys
c=[r for r in json.load(sys.stdin) if r[\"client\"]==\"$FIRST\"][0]
d=c[\"decision\"]
assert d[\"verb\"]==\"allow\" and d[\"by\"]==\"operator\" and d[\"expires\"]>0, d'"
check "status shows the policy in use: thresholds, hysteresis, TTLs" bash -c "
	'$DG' status | grep -q 'policy: ratelimit at score' &&
	'$DG' status --json | python3 -c '
import json,sys
p=json.load(sys.stdin)[\"policy\"]
assert 0 < p[\"ratelimit_at\"] < p[\"block_at\"] <= 100 and p[\"ttl_s\"] > 0 and p[\"manual_ttl_s\"] > 0, p'"
check "a bad client name is refused with a reason" bash -c "
	! '$DG' block bob 2>'$W/bad.err' && grep -q 'key:<12 hex>' '$W/bad.err'"

# --- the control socket refuses whoever is not root --------------------------
check "a non-root caller cannot reach the socket" bash -c "
	! setpriv --reuid=65534 --regid=65534 --clear-groups '$DG' status 2>'$W/nobody.err' &&
	grep -q 'permission denied' '$W/nobody.err'"
chmod 0666 "$SOCK"
chmod 0711 "$W"
check "... and is refused by the daemon itself when the socket is opened up" bash -c "
	! setpriv --reuid=65534 --regid=65534 --clear-groups '$DG' status >'$W/nobody2.out' 2>'$W/nobody2.err' &&
	grep -q 'root only' '$W/nobody2.err'"
chmod 0600 "$SOCK"
chmod 0700 "$W"

# --- SIGHUP --------------------------------------------------------------------
echo "tick banana" >>"$W/dg.conf"
kill -HUP $DAEMON
sleep 1
check "SIGHUP with a bad file: FILE:LINE logged, the old config stays" bash -c "
	grep -q 'reload: $W/dg.conf:4: tick' '$W/run.err' &&
	'$DG' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"reload_errors\"]==1 and d[\"reloads\"]==0'"
sed -i 's/^tick banana$/policy.hysteresis 5/' "$W/dg.conf"
kill -HUP $DAEMON
sleep 1
check "SIGHUP with a good file: applied, and journaled for replay" bash -c "
	'$DG' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"reloads\"]==1'"

# --- SIGTERM -------------------------------------------------------------------
kill -TERM $DAEMON
for _ in $(seq 100); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
check "SIGTERM: the daemon exits cleanly" bash -c "! kill -0 $DAEMON 2>/dev/null && grep -q 'stopped' '$W/run.err'"
check "SIGTERM: the control socket is gone" test ! -e "$SOCK"
sleep 0.5
AFTER=$(our_progs)
check "SIGTERM: no BPF program of ours left loaded ($AFTER, before $BEFORE)" test "$AFTER" -le "$BEFORE"

# --- the journal ----------------------------------------------------------------
check "the journal is gzip that zcat reads: records, decisions, settings, ticks" bash -c "
	zcat '$W'/journal/dg-*.json.gz >'$W/journal.jsonl' &&
	grep -q '^{\"ts\":' '$W/journal.jsonl' && grep -q '^{\"decision\":' '$W/journal.jsonl' &&
	grep -q '^{\"settings\":{\"start\":true' '$W/journal.jsonl' &&
	grep -q '^{\"settings\":{\"start\":false' '$W/journal.jsonl'"
check "no raw API key in the journal or the daemon's log" bash -c "
	! grep -qF \"\$(head -1 '$W/keys.txt' | cut -d' ' -f1)\" '$W/journal.jsonl' '$W/run.err'"
grep '^{"decision":' "$W/journal.jsonl" | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)["decision"]
    print(d["client"], d["action"], d["by"], d["ts"], d["expires"], d["score"])' | sort >"$W/live.dec"
"$DG" replay --decisions "$W/journal" 2>"$W/replay.err" | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)["decision"]
    print(d["client"], d["action"], d["by"], d["ts"], d["expires"], d["score"])' | sort >"$W/replay.dec"
check "replaying the journal gives the live run's decisions ($(wc -l <"$W/live.dec") of them)" \
	bash -c "[ -s '$W/live.dec' ] && diff '$W/live.dec' '$W/replay.dec'"

# A journal cut in the middle of a gzip member: replay reads up to the cut,
# says so, and does not fail.
F=$(ls "$W"/journal/dg-*.json.gz | head -1)
SIZE=$(stat -c %s "$F")
mkdir -p "$W/cut"
head -c $((SIZE * 2 / 3)) "$F" >"$W/cut/dg-0000000001-000000.json.gz"
"$DG" replay --json "$W/cut" >"$W/cut.json" 2>"$W/cut.err"
RC=$?
check "a journal cut mid-member replays up to the cut, and says where" bash -c "
	[ $RC -eq 0 ] && grep -q 'truncated or corrupt after line' '$W/cut.err' &&
	python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) > 0' '$W/cut.json'"
finish
