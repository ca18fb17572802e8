#!/usr/bin/env python3
"""Writes deploy/grafana/distillguard.json, the Grafana dashboard for
distillguard's /metrics. The panels' queries are listed once here so that
tests/integration/metrics.sh can run each against a live Prometheus.

    python3 deploy/grafana/make_dashboard.py            # (re)write the JSON
    python3 deploy/grafana/make_dashboard.py --queries  # print the queries
    python3 deploy/grafana/make_dashboard.py --out FILE # write it elsewhere
"""
import json
import os
import sys

PANELS = [
    # (title, kind, unit, [(query, legend)])
    ("Requests per second", "timeseries", "reqps",
     [('sum by (instance) (rate(distillguard_requests_total[$__rate_interval]))', "{{instance}}")]),
    ("Output tokens per second", "timeseries", "short",
     [('sum by (instance) (rate(distillguard_output_tokens_total[$__rate_interval]))', "{{instance}}")]),
    ("Clients by action", "timeseries", "short",
     [('sum by (action) (distillguard_clients)', "{{action}}")]),
    ("Decisions in force", "timeseries", "short",
     [('sum by (action) (distillguard_decisions_in_force)', "{{action}}")]),
    ("Highest client scores", "table", "none",
     [('topk(20, max by (client, action) (distillguard_client_score))', "{{client}}")]),
    ("Enforcement actions per second", "timeseries", "ops",
     [('sum by (action) (rate(distillguard_enforcement_actions_total[$__rate_interval]))', "{{action}}")]),
    ("Request duration (p50, p95)", "timeseries", "s",
     [('histogram_quantile(0.5, sum by (le) (rate(distillguard_request_duration_seconds_bucket[$__rate_interval])))', "p50"),
      ('histogram_quantile(0.95, sum by (le) (rate(distillguard_request_duration_seconds_bucket[$__rate_interval])))', "p95")]),
    ("Time to first byte (p50, p95)", "timeseries", "s",
     [('histogram_quantile(0.5, sum by (le) (rate(distillguard_time_to_first_byte_seconds_bucket[$__rate_interval])))', "p50"),
      ('histogram_quantile(0.95, sum by (le) (rate(distillguard_time_to_first_byte_seconds_bucket[$__rate_interval])))', "p95")]),
    ("Output tokens per request (p50, p95)", "timeseries", "short",
     [('histogram_quantile(0.5, sum by (le) (rate(distillguard_output_tokens_bucket[$__rate_interval])))', "p50"),
      ('histogram_quantile(0.95, sum by (le) (rate(distillguard_output_tokens_bucket[$__rate_interval])))', "p95")]),
    ("Events lost per second", "timeseries", "ops",
     [('sum by (reason) (rate(distillguard_events_lost_total[$__rate_interval]))', "{{reason}}")]),
    ("BPF CPU (cores)", "timeseries", "short",
     [('sum by (program) (rate(distillguard_bpf_run_time_seconds_total[$__rate_interval]))', "{{program}}")]),
    ("Scoring pass duration", "timeseries", "s",
     [('max by (instance) (distillguard_scoring_pass_seconds)', "{{instance}}")]),
]


def dashboard():
    panels = []
    for i, (title, kind, unit, targets) in enumerate(PANELS):
        panels.append({
            "id": i + 1,
            "type": kind,
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": chr(65 + j), "expr": q, "legendFormat": legend,
                         "instant": kind == "table"}
                        for j, (q, legend) in enumerate(targets)],
        })
    return {
        "title": "distillguard",
        "uid": "distillguard",
        "tags": ["distillguard", "llm", "ebpf"],
        "timezone": "browser",
        "schemaVersion": 38,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "type": "datasource", "query": "prometheus",
            "label": "Prometheus"}]},
        "panels": panels,
    }


def queries():
    for _, _, _, targets in PANELS:
        for q, _ in targets:
            yield q.replace("$__rate_interval", "1m")


if __name__ == "__main__":
    if "--queries" in sys.argv:
        for q in queries():
            print(q)
    else:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distillguard.json")
        if "--out" in sys.argv:
            path = sys.argv[sys.argv.index("--out") + 1]
        with open(path, "w") as f:
            json.dump(dashboard(), f, indent=1)
            f.write("\n")
