#!/usr/bin/env python3
"""bench_phase.py — one measured phase of `make bench` (scripts/bench.sh).

    bench_phase.py --name NAME --results FILE [--group NAME=PID,PID...]...
                   [--tracer-pid PID] [--dg-socket PATH] [--dg DG] -- CMD...
    bench_phase.py --maps-of PID FILE   (the BPF maps PID holds, their memory)

Runs CMD (tests/bench/bench_load: it prints a `LOAD key=value...` line) and
notes, from just before to just after it:
  - host CPU: busy time of every CPU from /proc/stat (user, nice, system,
    irq, softirq, steal), less the load generator's own CPU (its cpu_s);
  - each --group's CPU (utime + stime of each pid, threads included, from
    /proc/PID/stat): the server's processes, the tracer, ksoftirqd;
  - with --tracer-pid: each BPF program that pid holds, its run count and
    run time (bpf_stats, through `bpftool prog show --json`, the programs found
    through /proc/PID/fdinfo);
  - with --dg-socket: distillguard's records and events lost (status --json).
Appends one JSON object to FILE. Measures; asserts nothing.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HZ = os.sysconf("SC_CLK_TCK")


def host_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / HZ


def pid_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return 0.0
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / HZ   # utime, stime


def owned(pid, kind):
    """Ids of the BPF programs (kind "prog") or maps ("map") pid holds open:
    from /proc/PID/fdinfo (Debian's bpftool lists no pids)."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for l in f:
                    if l.startswith(kind + "_id:"):
                        ids.add(int(l.split()[1]))
        except (OSError, ValueError):
            pass
    return ids


def bpftool(what):
    try:
        out = subprocess.run(["bpftool", what, "show", "--json"], capture_output=True,
                             text=True, timeout=20).stdout
        return json.loads(out or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


def progs(pid):
    ids = owned(pid, "prog")
    res = {}
    for p in bpftool("prog"):
        if p.get("id") not in ids:
            continue
        name = p.get("name", "?")
        key = name
        k = 2
        while key in res and res[key]["id"] != p["id"]:
            key = f"{name}#{k}"
            k += 1
        res[key] = {"id": p["id"], "type": p.get("type"), "cnt": p.get("run_cnt", 0),
                    "ns": p.get("run_time_ns", 0)}
    return res


def dg_status(dg, sock):
    try:
        out = subprocess.run([dg, "status", "--json"], capture_output=True, text=True, timeout=10,
                             env=dict(os.environ, DISTILLGUARD_SOCKET=sock)).stdout
        s = json.loads(out)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if isinstance(s, dict) and "daemon" in s and isinstance(s["daemon"], dict):
        s = s["daemon"]
    return s


def find(d, key):
    """The first value of key anywhere in a JSON tree."""
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(d, list):
        for v in d:
            r = find(v, key)
            if r is not None:
                return r
    return None


def maps_of(pid, results):
    """Appends what the maps pid holds take (bytes_memlock), largest first."""
    ids = owned(pid, "map")
    maps = [m for m in bpftool("map") if m.get("id") in ids]
    big = sorted(maps, key=lambda m: -m.get("bytes_memlock", 0))[:6]
    with open(results, "a") as f:
        f.write(json.dumps({"name": "maps", "n": len(maps),
                            "bytes": sum(m.get("bytes_memlock", 0) for m in maps),
                            "top": [[m.get("name"), m.get("type"), m.get("max_entries"),
                                     m.get("bytes_memlock", 0)] for m in big]}) + "\n")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--maps-of":
        maps_of(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--group", action="append", default=[])
    ap.add_argument("--tracer-pid", type=int)
    ap.add_argument("--dg-socket")
    ap.add_argument("--dg", default="./distillguard")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    groups = {}
    for g in a.group:
        name, _, pids = g.partition("=")
        groups[name] = [int(p) for p in pids.replace(",", " ").split() if p.strip()]

    st0 = dg_status(a.dg, a.dg_socket) if a.dg_socket else None
    p0 = progs(a.tracer_pid) if a.tracer_pid else {}
    g0 = {n: sum(pid_cpu(p) for p in ps) for n, ps in groups.items()}
    h0 = host_busy()
    r = subprocess.run(cmd, capture_output=True, text=True)
    h1 = host_busy()
    g1 = {n: sum(pid_cpu(p) for p in ps) for n, ps in groups.items()}
    p1 = progs(a.tracer_pid) if a.tracer_pid else {}
    st1 = dg_status(a.dg, a.dg_socket) if a.dg_socket else None

    m = re.search(r"^LOAD (.*)$", r.stdout, re.M)
    if not m:
        sys.stderr.write(f"bench_phase: {a.name}: no LOAD line from {' '.join(cmd)}:\n"
                         f"{r.stdout}{r.stderr}\n")
        sys.exit(1)
    load = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    out = {"name": a.name, "load": load, "host_s": h1 - h0,
           "host_less_client_s": (h1 - h0) - load["cpu_s"],
           "groups": {n: g1[n] - g0[n] for n in groups}}
    if a.tracer_pid:
        out["progs"] = {k: {"type": v["type"], "cnt": v["cnt"] - p0.get(k, {}).get("cnt", 0),
                            "ns": v["ns"] - p0.get(k, {}).get("ns", 0)} for k, v in p1.items()}
    if st0 is not None and st1 is not None:
        def num(s, k):
            v = find(s, k)
            return v if isinstance(v, (int, float)) else 0
        out["dg"] = {"records": num(st1, "records") - num(st0, "records"),
                     "events_lost": num(st1, "events_lost") - num(st0, "events_lost"),
                     "rss": num(st1, "memory_rss_bytes"), "connections": num(st1, "connections")}
    with open(a.results, "a") as f:
        f.write(json.dumps(out) + "\n")
    n = max(load["requests"], 1)
    ours = sum(out["groups"].values())
    sys.stderr.write("bench: %-24s %7d req %7.0f req/s  CPU %7.1f us/req (host %7.1f)%s\n" % (
        a.name, load["requests"], load["rps"], ours / n * 1e6, out["host_less_client_s"] / n * 1e6,
        ("  records %d lost %d" % (out["dg"]["records"], out["dg"]["events_lost"]))
        if "dg" in out else ""))


if __name__ == "__main__":
    main()
