#!/usr/bin/env python3
"""Compare what clients sent with what `distillguard trace --json` saw.

usage: verify.py SENT.jsonl TRACE.jsonl KEYMAP.tsv [--ip IP] [--label L]

SENT lines come from scripts/load.py (and the other drivers): path, model,
stream, key (raw), tokens. KEYMAP maps raw keys to the 12-hex ids that
`distillguard key-id` prints. Every sent request must appear exactly once:
the multisets of (path, model, stream, key id, ip) must be equal, and within
each such group the output-token counts must pair up within +-1.
Prints one line per problem, then "ok N requests" or "FAILED ...".
"""
import json
import sys
from collections import defaultdict


def load_lines(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
    return out


def main():
    args = sys.argv[1:]
    ip = None
    label = "requests"
    if "--ip" in args:
        i = args.index("--ip")
        ip = None if args[i + 1] == "none" else args[i + 1]
        del args[i:i + 2]
    if "--label" in args:
        i = args.index("--label")
        label = args[i + 1]
        del args[i:i + 2]
    sent_path, trace_path, keymap_path = args
    keymap = {}
    with open(keymap_path) as f:
        for line in f:
            raw, _, kid = line.rstrip("\n").partition("\t")
            keymap[raw] = kid.replace("key:", "")
    sent = load_lines(sent_path)
    seen = [r for r in load_lines(trace_path) if r.get("event") is None]

    def group(r, is_sent):
        key = keymap.get(r.get("key")) if is_sent else r.get("key")
        return (r.get("path"), r.get("model"), bool(r.get("stream")), key,
                ip if is_sent else r.get("ip"))

    want = defaultdict(list)
    for r in sent:
        want[group(r, True)].append(int(r.get("tokens", 0)))
    got = defaultdict(list)
    for r in seen:
        got[group(r, False)].append(r.get("output_tokens"))

    problems = 0
    for g in sorted(set(want) | set(got), key=str):
        w, s = sorted(want.get(g, [])), got.get(g, [])
        if len(w) != len(s):
            problems += 1
            print(f"  {g}: sent {len(w)}, traced {len(s)}")
            continue
        if any(t is None for t in s):
            problems += 1
            print(f"  {g}: {sum(t is None for t in s)} records without output_tokens")
            continue
        s = sorted(s)
        bad = [(a, b) for a, b in zip(w, s) if abs(a - b) > 1]
        if bad:
            problems += 1
            print(f"  {g}: output tokens differ (sent, traced): {bad[:5]}")
    # Privacy: no raw key anywhere in the trace.
    text = open(trace_path).read()
    for raw in keymap:
        if raw and raw in text:
            problems += 1
            print(f"  raw API key {raw[:6]}... appears in the trace output")
            break
    if problems:
        print(f"FAILED {label}: {problems} problem(s); sent {len(sent)}, traced {len(seen)}")
        return 1
    print(f"ok {label}: {len(sent)} requests, each traced exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
