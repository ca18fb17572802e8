#!/bin/bash
# The packaging (root): `make install` into a scratch DESTDIR puts the
# binary, the systemd unit, the config (an existing one kept) and the docs
# where the README says; the unit passes `systemd-analyze verify`; the
# daemon runs in enforce mode with exactly the capabilities the unit
# grants (read from the unit) and records live requests; `make uninstall`
# removes what install put, keeping the config. Prints
# "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$(mktemp -d /tmp/dg-install.XXXXXX)
D=$W/root
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

TLS=19501
stop_servers() { :; }
trap cleanup EXIT
trap 'exit 1' INT TERM
need_root

make -s install DESTDIR="$D" >"$W/install.log" 2>&1
check "make install: binary, unit, config, example, docs, rules, dashboard" bash -c "
	cd '$D' && test -x usr/local/sbin/distillguard && test -f etc/systemd/system/distillguard.service &&
	test -f etc/distillguard/distillguard.conf && test -f etc/distillguard/distillguard.conf.example &&
	test -f usr/local/share/doc/distillguard/README.md &&
	test -f usr/local/share/doc/distillguard/prometheus/distillguard.rules.yml &&
	test -f usr/local/share/doc/distillguard/grafana/distillguard.json"
echo "port 9999   # mine" >>"$D/etc/distillguard/distillguard.conf"
make -s install DESTDIR="$D" >>"$W/install.log" 2>&1
check "a second install keeps the config that is there" grep -q "port 9999   # mine" "$D/etc/distillguard/distillguard.conf"
check "the installed binary answers --help for each command" bash -c "
	for c in run clients client status decisions block trace replay key-id; do
		'$D/usr/local/sbin/distillguard' \$c --help | grep -q '^usage: distillguard' || exit 1
	done"

UNIT=$D/etc/systemd/system/distillguard.service
if command -v systemd-analyze >/dev/null; then
	sed "s#^ExecStart=/usr/local/sbin/distillguard#ExecStart=$D/usr/local/sbin/distillguard#;
	     s#^ExecReload=/bin/kill#ExecReload=$(command -v kill)#" "$UNIT" >"$W/distillguard.service"
	check "systemd-analyze verify passes on the unit" systemd-analyze verify "$W/distillguard.service"
else
	echo "skip - systemd-analyze not on this machine"
fi

# The daemon with only the unit's capabilities, as systemd would give them.
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
python3 scripts/endpoint.py --tls-port $TLS --quiet --token-delay-ms 0 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $TLS || { bad "endpoint listens"; finish; }
setpriv --bounding-set "-all,$CAPS" "$D/usr/local/sbin/distillguard" run --enforce --port $TLS \
	--metrics off --journal "$W/journal" --control-socket "$W/control.sock" \
	--secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 150); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
python3 scripts/load.py --url https://127.0.0.1:$TLS --connections 2 --requests 40 --keys 3 \
	>"$W/load.out" 2>&1
sleep 2
check "with only the unit's capabilities ($CAPS) it enforces and records" bash -c "
	grep -q 'running in enforce mode' '$W/run.err' &&
	DISTILLGUARD_SOCKET='$W/control.sock' '$D/usr/local/sbin/distillguard' status --json |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"records\"]>=40 and d[\"mode\"]==\"enforce\" and d[\"bpf_run_ns\"]>0, d[\"records\"]'"
check "... and holds no other capability" bash -c "
	[ \"\$(grep CapBnd /proc/$DAEMON/status | awk '{print \$2}')\" = \"\$(setpriv --bounding-set '-all,$CAPS' grep CapBnd /proc/self/status | awk '{print \$2}')\" ]"
kill -TERM $DAEMON
for _ in $(seq 100); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done

make -s uninstall DESTDIR="$D" >>"$W/install.log" 2>&1
check "make uninstall removes what install put, and keeps the config" bash -c "
	cd '$D' && ! test -e usr/local/sbin/distillguard && ! test -e etc/systemd/system/distillguard.service &&
	! test -e usr/local/share/doc/distillguard && test -f etc/distillguard/distillguard.conf"
finish
