#!/usr/bin/env python3
"""Quality report: how well the scorer separates distillation campaigns
from legitimate traffic on labelled scenarios.

  python3 scripts/evaluate.py [--seed N] [--scale F] [--duration 1h]
                              [--records FILE] [--replay-args "..."] [--json]

Generates labelled request records with scripts/scenario.py (or reads
--records), scores them with `distillguard replay --json` (which never sees
the labels), and prints per population and campaign style: clients,
flagged (action other than none: for a campaign key at the end, or at any
time when it sent nothing in the last hour; for a legitimate client at any
time), blocked, detection or false-positive
rate, and the time and requests from a client's first request to its first
flag (median / 95th percentile / max). Ends with the targets of the scoring
issue, each marked met or not. Prints numbers; asserts nothing unless
--check is given (then it exits 1 when a target is missed).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def fmt_t(x):
    if x is None:
        return "-"
    return f"{x:.0f}s" if x < 120 else f"{x / 60:.1f}m"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration", default="1h")
    ap.add_argument("--records", help="use this labelled JSON-lines file instead of generating")
    ap.add_argument("--replay-args", default="", help="extra arguments for distillguard replay")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="dg-eval.")
    records = a.records
    if not records:
        records = os.path.join(tmp, "records.jsonl")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/scenario.py"), "--seed", str(a.seed),
                        "--scale", str(a.scale), "--duration", a.duration, "--out", records],
                       check=True)
    out = subprocess.run([os.path.join(ROOT, "distillguard"), "replay", "--json"] + a.replay_args.split()
                         + [records], check=True, capture_output=True, text=True)
    table = json.loads(out.stdout)

    # Ground truth: each client's majority label, and its first request.
    labels = defaultdict(Counter)
    first, last = {}, {}
    with open(records) as f:
        for line in f:
            r = json.loads(line)
            lab = r.get("label") or {}
            c = r["client"]
            labels[c][(lab.get("population"), lab.get("style"))] += 1
            first.setdefault(c, r["ts"])
            last[c] = r["ts"]
    end = max(last.values()) if last else 0

    groups = defaultdict(lambda: {"clients": 0, "flagged": 0, "blocked": 0, "t": [], "n": []})
    legit_top = 0.0   # the highest score a legitimate client ends with: the margin
    for row in table:
        c = row["client"]
        if c not in labels:
            continue
        pop, style = labels[c].most_common(1)[0][0]
        if pop != "campaign":
            legit_top = max(legit_top, row["score"])
        g = groups[(pop, style)]
        g["clients"] += 1
        # A campaign key counts as detected when it is flagged at the end, or
        # was flagged and sent nothing in the last hour (a sparse key gone
        # quiet: its decision has lapsed, with nothing left to act on); a
        # legitimate client as a false positive when it was ever flagged
        # (rate-limited for a while is still a customer hurt).
        flagged = row.get("first_flagged") is not None
        if row["action"] != "none" or (flagged and (pop != "campaign" or last[c] < end - 3600)):
            g["flagged"] += 1
        if row["action"] == "block":
            g["blocked"] += 1
        if row.get("first_flagged") is not None:
            g["t"].append(row["first_flagged"] - first[c])
            g["n"].append(row["requests_to_flag"])

    rows = []
    legit = {"clients": 0, "flagged": 0}
    for (pop, style), g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "campaign", str(kv[0]))):
        camp = pop == "campaign"
        rate = g["flagged"] / g["clients"] if g["clients"] else 0
        rows.append({
            "population": pop, "style": style, "clients": g["clients"], "flagged": g["flagged"],
            "blocked": g["blocked"], "rate": rate, "kind": "detection" if camp else "false positive",
            "t_median": pct(g["t"], 0.5), "t_p95": pct(g["t"], 0.95), "t_max": max(g["t"]) if g["t"] else None,
            "n_median": pct(g["n"], 0.5), "n_max": max(g["n"]) if g["n"] else None,
        })
        if not camp:
            legit["clients"] += g["clients"]
            legit["flagged"] += g["flagged"]

    targets = []
    for r in rows:
        if r["population"] == "campaign":
            # Waves hide every per-key and template signal but their timing:
            # keys in lockstep are known after they have stopped and started
            # together twice (user/lockstep.h), which at the default 4-minute
            # period takes 8 to 9 minutes. They get 10.
            limit = 600 if r["style"] == "waves" else 300
            ok = r["rate"] >= 0.95 and (r["t_p95"] is not None and r["t_p95"] <= limit)
            if r["style"] == "loud":
                ok = ok and r["n_max"] is not None and r["n_max"] <= 200
            targets.append((f"campaign {r['style']}: >= 95% flagged, within {limit // 60} min"
                            + (" and 200 requests" if r["style"] == "loud" else ""), ok))
        if r["population"] in ("batch", "eval"):
            targets.append((f"{r['population']} not blocked", r["blocked"] == 0))
        # Legitimate crowds that look like campaigns one way or another: an
        # evaluation harness asking for log-probabilities and biasing its
        # answer letters, a class on one worksheet behind its school's
        # address, a company's staff on one assistant behind one egress.
        if r["population"] in ("eval", "class", "staff"):
            targets.append((f"{r['population']}: no client flagged", r["flagged"] == 0))
    fp = legit["flagged"] / legit["clients"] if legit["clients"] else 0
    targets.append(("legitimate clients flagged <= 0.2%", fp <= 0.002))

    if a.json:
        print(json.dumps({"rows": rows, "legit_fp": fp, "legit_top_score": legit_top, "targets": targets}, indent=1))
    else:
        print(f"{'population':<10} {'style':<12} {'clients':>7} {'flagged':>7} {'blocked':>7} "
              f"{'rate':>7}  {'to flag: t50':>12} {'t95':>6} {'tmax':>6} {'reqs50':>6} {'reqsmax':>7}")
        for r in rows:
            print(f"{r['population']:<10} {r['style'] or '-':<12} {r['clients']:>7} {r['flagged']:>7} "
                  f"{r['blocked']:>7} {100 * r['rate']:>6.1f}%  {fmt_t(r['t_median']):>12} "
                  f"{fmt_t(r['t_p95']):>6} {fmt_t(r['t_max']):>6} "
                  f"{r['n_median'] if r['n_median'] is not None else '-':>6} "
                  f"{r['n_max'] if r['n_max'] is not None else '-':>7}")
        print(f"legitimate clients flagged: {legit['flagged']} of {legit['clients']} ({100 * fp:.2f}%), "
              f"highest final score {legit_top:.1f}")
        for name, ok in targets:
            print(f"  [{'met' if ok else 'MISSED'}] {name}")
    if not a.records:
        os.remove(records)
        os.rmdir(tmp)
    return 1 if a.check and not all(ok for _, ok in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
