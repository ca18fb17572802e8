#!/usr/bin/env python3
"""Compare what clients sent with what `distillguard trace --json` saw.

usage: verify.py SENT.jsonl TRACE.jsonl KEYMAP.tsv [--ip IP] [--label L] [--strict]

SENT lines come from scripts/load.py (and the other drivers): path, model,
stream, key (raw), tokens. KEYMAP maps raw keys to the 12-hex ids that
`distillguard key-id` prints. Every sent request must appear exactly once:
the multisets of (path, model, stream, key id, ip) must be equal, and within
each such group the output-token counts must pair up within +-1.
Prints one line per problem, then "ok N requests" or "FAILED ...".

A sent line may carry its own "ip" (the client's source address); it wins
over --ip for that line. With --strict, also (for sent lines that carry
them) the multiset of (req_bytes, max_tokens) of each group must be found in
the traced records of that group, and no traced record whose req_bytes is at
most 1 MiB may be req_truncated. When a group is missing, the traced groups
that differ from it only by ip or key are named, to show what was seen.
"""
import json
import sys
from collections import Counter, defaultdict

REQ_BODY_BOUND = 1 << 20


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
    strict = "--strict" in args
    if strict:
        args.remove("--strict")
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
        if is_sent:
            addr = r["ip"] if "ip" in r else ip
        else:
            addr = r.get("ip")
        return (r.get("path"), r.get("model"), bool(r.get("stream")), key, addr)

    want = defaultdict(list)
    want_sizes = defaultdict(Counter)
    for r in sent:
        want[group(r, True)].append(int(r.get("tokens", 0)))
        if strict and "req_bytes" in r:
            want_sizes[group(r, True)][(r.get("req_bytes"), r.get("max_tokens"))] += 1
    got = defaultdict(list)
    got_recs = defaultdict(list)
    got_sizes = defaultdict(Counter)
    truncated = []
    for r in seen:
        got[group(r, False)].append(r.get("output_tokens"))
        got_recs[group(r, False)].append(r)
        got_sizes[group(r, False)][(r.get("req_bytes"), r.get("max_tokens"))] += 1
        rb = r.get("req_bytes")
        if strict and r.get("req_truncated") and isinstance(rb, int) and rb <= REQ_BODY_BOUND:
            truncated.append(r)

    problems = 0
    for g in sorted(set(want) | set(got), key=str):
        w, s = sorted(want.get(g, [])), got.get(g, [])
        if len(w) != len(s):
            problems += 1
            print(f"  {g}: sent {len(w)}, traced {len(s)}")
            if len(w) > len(s):
                near = [(h, len(got[h])) for h in got if h != g and h[:3] == g[:3]
                        and len(got[h]) > len(want.get(h, []))]
                for h, n in near[:3]:
                    print(f"      traced instead as ip={h[4]!r} key={h[3]!r}: {n}")
            continue
        if g in want_sizes:
            missing = want_sizes[g] - got_sizes[g]
            if missing:
                problems += 1
                extra = got_sizes[g] - want_sizes[g]
                print(f"  {g}: (req_bytes, max_tokens) sent but not traced: "
                      f"{sorted(missing.elements(), key=str)[:6]}; traced instead: "
                      f"{sorted(extra.elements(), key=str)[:6]}")
        if any(t is None for t in s):
            problems += 1
            print(f"  {g}: {sum(t is None for t in s)} records without output_tokens"
                  + (f" (their output_bytes: "
                     f"{sorted(str(r.get('output_bytes')) for r in got_recs[g] if r.get('output_tokens') is None)[:6]})"
                     if strict else ""))
            continue
        s = sorted(s)
        bad = [(a, b) for a, b in zip(w, s) if abs(a - b) > 1]
        if bad:
            problems += 1
            print(f"  {g}: output tokens differ (sent, traced): {bad[:5]}")
    if truncated:
        problems += 1
        print(f"  {len(truncated)} records req_truncated with req_bytes <= {REQ_BODY_BOUND}: "
              f"{sorted({r.get('req_bytes') for r in truncated})[:8]}")
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
