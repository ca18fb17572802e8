#!/bin/bash
# Root integration test of /metrics: `distillguard run --metrics` on a TLS
# endpoint with live traffic, scraped by a real Prometheus server (Debian's
# prometheus, run privately: its own config, port and data directory). It
# checks that promtool accepts a live scrape, that Prometheus scrapes the
# daemon and answers queries on it, that every query of the Grafana
# dashboard is valid PromQL that returns data or an empty result, that the
# alerting rules pass promtool's check and tests, that per-client series
# stay within metrics.top_clients, and that other paths and methods are
# refused. Prints "integration: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DG=${DG:-$ROOT/distillguard}
W=$(mktemp -d /tmp/dg-metrics.XXXXXX)
# shellcheck source=SCRIPTDIR/lib.sh
source tests/integration/lib.sh

TLS=19401                    # endpoint.py (watched)
MET=19402                    # /metrics
PROM=19403                   # the private Prometheus
SOCK=$W/control.sock
export DISTILLGUARD_SOCKET=$SOCK

stop_servers() { :; }
trap cleanup EXIT
trap 'exit 1' INT TERM
need_root
for t in prometheus promtool curl; do
	command -v $t >/dev/null || { bad "$t installed (scripts/deps.sh)"; finish; }
done

python3 scripts/endpoint.py --tls-port $TLS --quiet --token-delay-ms 0 >"$W/endpoint.log" 2>&1 &
PIDS+=($!)
wait_port $TLS || { bad "endpoint listens"; finish; }
"$DG" run --port $TLS --metrics 127.0.0.1:$MET --set metrics.top_clients=3 --set tick=1 \
	--journal "$W/journal" --control-socket "$SOCK" --secret-file "$W/secret" 2>"$W/run.err" &
DAEMON=$!
PIDS+=($DAEMON)
for _ in $(seq 150); do grep -q 'running in' "$W/run.err" 2>/dev/null && break; sleep 0.1; done
check "the daemon serves /metrics where it was told" grep -q "metrics on 127.0.0.1:$MET" "$W/run.err"

python3 scripts/load.py --url https://127.0.0.1:$TLS --connections 4 --requests 200 --keys 8 \
	--stream-ratio 0.5 >"$W/load.out" 2>&1
sleep 3                      # a scoring pass after the traffic

curl -s -D "$W/headers" "http://127.0.0.1:$MET/metrics" >"$W/scrape.txt"
check "a live scrape passes promtool check metrics" bash -c "promtool check metrics <'$W/scrape.txt'"
check "text format 0.0.4" grep -qi "content-type: text/plain; version=0.0.4" "$W/headers"
check "the contract's metrics are there, with HELP and TYPE" python3 - "$W/scrape.txt" <<'EOF'
import sys
text = open(sys.argv[1]).read()
need = ["distillguard_requests_total", "distillguard_client_score",
        "distillguard_enforcement_actions_total", "distillguard_events_lost_total",
        "distillguard_bpf_run_time_seconds_total", "distillguard_bpf_run_count_total",
        "distillguard_request_duration_seconds", "distillguard_time_to_first_byte_seconds",
        "distillguard_output_tokens"]
for n in need:
    assert f"# TYPE {n} " in text and f"# HELP {n} " in text, n
req = [l for l in text.splitlines() if l.startswith("distillguard_requests_total ")]
assert req and float(req[0].split()[1]) >= 200, req
assert "distillguard_request_duration_seconds_bucket{le=\"+Inf\"} " in text
assert any(l.startswith("distillguard_kernel_ringbuf_full_total ") for l in text.splitlines())
EOF
check "per-client series only for the top 3 clients, of more" python3 - "$W/scrape.txt" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
scores = [l for l in lines if l.startswith("distillguard_client_score{")]
clients = [l for l in lines if l.startswith('distillguard_clients{action="none"}')]
print(f"  client_score series: {len(scores)}; clients with no action: {clients}")
assert len(scores) == 3 and float(clients[0].split()[1]) > 3
EOF
check "other paths are 404, other methods 405" bash -c "
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MET/)\" = 404 ] &&
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$MET/metrics)\" = 405 ]"

# --- a real Prometheus ----------------------------------------------------------
cat >"$W/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/deploy/prometheus/distillguard.rules.yml
scrape_configs:
  - job_name: distillguard
    static_configs:
      - targets: ['127.0.0.1:$MET']
EOF
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address=127.0.0.1:$PROM >"$W/prometheus.log" 2>&1 &
PIDS+=($!)
query() {   # query PROMQL: the JSON answer of an instant query
	curl -s -G "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1"
}
got=""
for _ in $(seq 60); do
	got=$(query 'distillguard_requests_total{job="distillguard"}' 2>/dev/null)
	echo "$got" | grep -q '"value"' && break
	sleep 0.5
done
check "Prometheus scrapes the daemon and answers a query on it" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v = float(d["data"]["result"][0]["value"][1])
print(f"  distillguard_requests_total = {v:.0f}")
assert d["status"] == "success" and v >= 200' "$got"
up=$(query 'up{job="distillguard"}')
check "the scrape target is up" bash -c "echo '$up' | grep -q '\"value\":\[[0-9.]*,\"1\"\]'"
bad_q=0
while IFS= read -r q; do
	r=$(query "$q")
	if ! echo "$r" | grep -q '"status":"success"'; then
		echo "  dashboard query failed: $q -> $r"
		bad_q=$((bad_q + 1))
	fi
done < <(python3 deploy/grafana/make_dashboard.py --queries)
check "every query of the Grafana dashboard is valid on live data" test "$bad_q" -eq 0
check "the dashboard JSON is what make_dashboard.py writes" bash -c "
	python3 deploy/grafana/make_dashboard.py --out '$W/dash.json' &&
	cmp -s '$W/dash.json' deploy/grafana/distillguard.json"
check "the alerting rules pass promtool check rules" \
	promtool check rules deploy/prometheus/distillguard.rules.yml
check "the alerting rules pass their promtool tests" bash -c \
	"cd deploy/prometheus && promtool test rules distillguard.rules.test.yml"
check "Prometheus loaded the rules" bash -c "
	curl -s http://127.0.0.1:$PROM/api/v1/rules | grep -q DistillguardEventsLost"

kill -TERM $DAEMON
for _ in $(seq 100); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.1; done
check "SIGTERM: the daemon stops and /metrics with it" bash -c "
	! kill -0 $DAEMON 2>/dev/null && ! curl -s -m 2 http://127.0.0.1:$MET/metrics >/dev/null"
finish
