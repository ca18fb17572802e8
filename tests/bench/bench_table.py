#!/usr/bin/env python3
"""bench_table.py RESULTS — the one table of `make bench`, from the JSON
lines scripts/bench.sh and tests/bench/bench_phase.py wrote in one run,
with item 5's targets (issue 14) set against the numbers. A phase run in
several rounds (NAME@ROUND) shows the median of its rounds. Prints only."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
single = {r["name"]: r for r in rows if "@" not in r["name"]}
rounds = {}
for r in rows:
    if "@" in r["name"]:
        rounds.setdefault(r["name"].split("@")[0], []).append(r)
out = []


def p(s=""):
    out.append(s)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def metrics(r):
    """One phase's numbers, per request where it says so (us)."""
    if "load" not in r:
        return {"rw_ns": r.get("rw_ns")}
    ld = r["load"]
    n = max(ld["requests"], 1)
    g = r["groups"]
    ours = g.get("server", 0) + g.get("tracer", 0) + g.get("softirq", 0)
    m = {"requests": ld["requests"], "rps": ld["rps"], "cpu": ours / n * 1e6,
         "server": g.get("server", 0) / n * 1e6, "tracer": g.get("tracer", 0) / n * 1e6,
         "softirq": g.get("softirq", 0) / n * 1e6, "client": ld["cpu_s"] / n * 1e6,
         "events": ld["events"] / n, "failed": ld["failed"],
         "others": (r["host_s"] - ld["cpu_s"] - ours) / ld["seconds"]}
    if "dg" in r:
        m["records"] = r["dg"]["records"] / n
        m["lost"] = r["dg"]["events_lost"]
    if "progs" in r:
        m["progs"] = {k: (v["ns"] / v["cnt"] if v["cnt"] else None, v["cnt"] / n)
                      for k, v in r["progs"].items()}
        m["bpf"] = sum(v["ns"] for v in r["progs"].values()) / n / 1000
    return m


def get(name):
    """The median over rounds of each number of phase name."""
    rs = [metrics(r) for r in rounds.get(name, [])]
    if not rs:
        return None
    res = {"rounds": len(rs)}
    for k in rs[0]:
        if k == "progs":
            names = set().union(*(x.get("progs", {}).keys() for x in rs))
            res["progs"] = {pn: (med([x["progs"].get(pn, (None, 0))[0] for x in rs]),
                                 med([x["progs"].get(pn, (None, 0))[1] for x in rs])) for pn in names}
        elif k == "lost":
            res[k] = max(x.get(k, 0) for x in rs)
        else:
            res[k] = med([x.get(k) for x in rs])
    return res


def f(v, fmt="%.1f", none="-"):
    return none if v is None else fmt % v


m = single.get("machine", {})
nr = max((len(v) for v in rounds.values()), default=0)
p("distillguard `make bench` on %s, %s, %s cores (git %s, %s)" % (
    m.get("uname", "?"), m.get("cpu", "?"), m.get("cores", "?"), m.get("rev", "?"), m.get("date", "?")))
p("command: sudo make bench   (scripts/bench.sh: %d rounds, phases of %.0f s; medians of rounds)" % (
    nr, m.get("seconds", 5)))
p()

fl = single.get("floor")
p("MACHINE FLOOR (bench_floor: empty programs, median of 5 rounds)")
if fl:
    p("  empty uprobe, per hit                       %8.0f ns" % fl["uprobe_ns"])
    p("  empty uprobe + uretprobe, per call          %8.0f ns" % fl["uprobe_ret_ns"])
    p("  global hooks, per read(2) of ANOTHER process: raw_tp/sys_enter %.0f ns, "
      "sys_enter_read %.0f ns, sys_enter_read+sys_exit_read %.0f ns" % (
          fl["raw_tp_ns"], fl["tp_read_ns"], fl["tp_read_pair_ns"]))
else:
    p("  not measured (needs root)")
p()

modes = [("base", "without"), ("tls", "TLS mode"), ("up", "upstream mode"),
         ("tlsh", "TLS, hooks/root"), ("uph", "upstream, hooks/root"), ("sslsniff", "bcc sslsniff")]
OURS = [m for m in modes if m[0] not in ("base", "sslsniff")]
have_kernel = get("base/json/sat") is not None
if have_kernel:
    p("CPU PER REQUEST, nginx TLS front (2 workers) -> upstream, 8 keep-alive TLS connections from a C client")
    p("  CPU = server processes (front nginx + upstream) + tracer (distillguard | sslsniff) + ksoftirqd,")
    p("  from /proc/PID/stat; JSON: 64-token answers from a static nginx upstream; SSE: 64 token events")
    p("  + [DONE] from scripts/endpoint.py (Python); fixed rate = a quarter of the unwatched saturation")
    p("  %-17s" % "us/req (req/s)" + "".join("%22s" % t for _, t in modes))
    for w, label in [("json/sat", "JSON, saturation"), ("json/rate", "JSON, fixed rate"),
                     ("sse/sat", "SSE, saturation"), ("sse/rate", "SSE, fixed rate")]:
        base = get("base/" + w)
        cells = []
        for k, _ in modes:
            v = get(f"{k}/{w}")
            if v is None:
                cells.append("%22s" % "-")
            elif k == "base":
                cells.append("%22s" % ("%.1f (%.0f)" % (v["cpu"], v["rps"])))
            else:
                cells.append("%22s" % ("%.1f %+.1f (%.0f)" % (v["cpu"], v["cpu"] - base["cpu"], v["rps"])))
        p("  %-17s" % label + "".join(cells))
    b = get("base/sse/rate")
    epr = b["events"] if b else 0
    p("  per streamed SSE event (%.0f per request), added at the fixed rate:%s" % (
        epr, "".join("  %s %s" % (t, f((get(f"{k}/sse/rate")["cpu"] - b["cpu"]) / epr, "%+.2f us"))
                     for k, t in modes[1:] if get(f"{k}/sse/rate") and epr)))
    p("  where it went, JSON fixed rate, us/req: server | tracer | ksoftirqd | the load generator "
      "(global hooks tax it too)")
    for k, t in modes:
        v = get(f"{k}/json/rate")
        if v:
            p("    %-14s %6.1f | %5.1f | %4.1f | %5.1f%s" % (
                t, v["server"], v["tracer"], v["softirq"], v["client"],
                ("    records per request %.2f, events lost %d" % (v["records"], v["lost"]))
                if "records" in v else ""))
    oth = med([get(f"{k}/{w}")["others"] for k, _ in modes for w in ("json/sat", "json/rate")
               if get(f"{k}/{w}")])
    p("  other activity on the host while measuring (not ours, not the client): %.2f cores (median)" % oth)
    p()

    p("BPF PROGRAMS (bpf_stats), JSON at the fixed rate: ns per run x runs per request")
    for k, t in modes[1:]:
        v = get(f"{k}/json/rate")
        if not v or "progs" not in v:
            continue
        items = sorted(((n, x) for n, x in v["progs"].items() if x[1]), key=lambda kv: -kv[1][0] * kv[1][1])
        line = ["%s %.0f x %.2f" % (n, x[0], x[1]) for n, x in items]
        p("  %-14s %.1f us/req in BPF (%d programs loaded, %d ran): %s" % (
            t + ":", v["bpf"], len(v["progs"]), len(line), "; ".join(line) if line else "no runs"))
    v = get("tls/sse/rate")
    if v and "bpf" in v:
        p("  TLS mode, SSE at the fixed rate: %.1f us/req in BPF, %.2f us per event" % (
            v["bpf"], v["bpf"] / max(v["events"], 1)))
    p()

    p("AN UNWATCHED TLS SERVER (a static nginx on another port, saturated): requests/s")
    base = get("base/other/sat")
    p("  " + "   ".join("%s %s%s" % (t, f(get(f"{k}/other/sat") and get(f"{k}/other/sat")["rps"], "%.0f"),
                                     "" if k == "base" or not get(f"{k}/other/sat")
                                     else " (%.1f%%)" % (100 * get(f"{k}/other/sat")["rps"] / base["rps"]))
                        for k, t in modes))
    p("  its CPU per request (nginx only): " + "   ".join(
        "%s %s" % (t, f(get(f"{k}/other/sat") and get(f"{k}/other/sat")["server"], "%.1f us"))
        for k, t in modes))
    p("AN UNRELATED PROCESS (read + write of 1 byte, /dev/zero -> /dev/null, in a loop): ns per pair")
    bt = get("base/tax")
    p("  " + "   ".join("%s %s%s" % (t, f(get(f"{k}/tax") and get(f"{k}/tax")["rw_ns"], "%.0f"),
                                     "" if k == "base" or not get(f"{k}/tax")
                                     else " (%+.0f ns)" % (get(f"{k}/tax")["rw_ns"] - bt["rw_ns"]))
                        for k, t in modes))
    ss = single.get("sslsniff", {}).get("note")
    if ss:
        p("  sslsniff: " + ss)
    stops = [r for r in rows if r["name"] == "stop"]
    if stops:
        # SIGTERM to exit: the uprobes' detach is most of it (one grace
        # period per link, perf-event uprobes one after another).
        parts = []
        for k, t in OURS:
            ms = sorted(r["ms"] for r in stops if r["config"] == k)
            links = [r["links"] for r in stops if r["config"] == k and r["links"] is not None]
            if ms:
                parts.append("%s %.0f ms%s" % (t, ms[len(ms) // 2],
                                               " (%d uprobe links)" % max(links) if links else ""))
        p("STOPPING distillguard (SIGTERM to exit, median): " + "   ".join(parts))
    p()

u = single.get("user", {})
p("USER SPACE ALONE (one core)")
p("  ring buffer samples -> decode -> legs -> reassembly -> record: %s records/s (500 B bodies), "
  "%s records/s (32 KiB)" % (f(u.get("small"), "%.0f"), f(u.get("big"), "%.0f")))
p("  ... plus JSON line, gzip journal, engine ingest:               %s records/s (500 B), "
  "%s records/s (32 KiB)" % (f(u.get("small_daemon"), "%.0f"), f(u.get("big_daemon"), "%.0f")))
p("  scoring pass over %s clients: %s ms (median of 3 passes), %s ms when every client has a new "
  "record (worst case)" % (f(u.get("clients"), "%.0f"), f(u.get("pass_ms"), "%.0f"),
                           f(u.get("pass_all_ms"), "%.0f")))
p("  ... steady state, %s%% of the clients with new records since the last pass: %s ms (median of a "
  "minute of 5 s ticks), %s ms (the minute's edge)" % (
      f(u.get("steady_pct"), "%.0f"), f(u.get("pass_steady_ms"), "%.0f"),
      f(u.get("pass_steady_max_ms"), "%.0f")))
p("  memory: %s bytes per idle client (engine), %s bytes per idle connection (reassembler, "
  "one request pending)" % (f(u.get("client_bytes"), "%.0f"), f(u.get("conn_bytes"), "%.0f")))
idle = single.get("idle")
if idle and idle["open"]:
    p("  live, `run` in TLS mode: %d idle TLS connections to the watched nginx -> %+d tracked, daemon RSS "
      "%+.1f MiB = %.0f bytes per idle connection" % (idle["open"], idle["conns"], idle["rss"] / 1048576,
                                                    idle["rss"] / idle["open"]))
mp = single.get("maps")
if mp:
    p("  kernel maps of `run` (TLS mode), allocated at load whatever the traffic: %d maps, %.1f MiB "
      "(largest: %s)" % (mp["n"], mp["bytes"] / 1048576, ", ".join(
          "%s %.1f MiB" % (t[0], t[3] / 1048576) for t in mp["top"][:4])))
p("  connections tracked before losses: %s in user space (max_conns; past it the oldest is evicted "
  "and counted), 65,536 in the kernel (LRU maps conns, ssl_conns, conn_state)" % f(u.get("max_conns"), "%.0f"))
p()

p("TARGETS (issue 14 item 5; CPU deltas at the fixed rate)")


def verdict(ok):
    return "met" if ok else "MISSED"


if have_kernel:
    base = get("base/other/sat")
    for k, t in OURS:
        o = get(f"{k}/other/sat")
        if o:
            x = o["rps"] / base["rps"]
            p("  unwatched TLS server keeps >= 95%% of its throughput, %s: %s (%.1f%%)" % (
                t, verdict(x >= 0.95), 100 * x))
    b = get("base/json/rate")
    for k, t in (("up", "upstream mode"), ("uph", "upstream, hooks/root")):
        up, us = get(f"{k}/json/rate"), get(f"{k}/json/sat")
        if not up:
            continue
        d_up = up["cpu"] - b["cpu"]
        p("  %s adds <= 10 us CPU per request: %s (%+.1f us; %s us at saturation)" % (
            t, verdict(d_up <= 10), d_up,
            f(us["cpu"] - get("base/json/sat")["cpu"] if us else None, "%+.1f")))
    for k, lbl in (("tls", "TLS mode"), ("tlsh", "TLS, hooks/root")):
        t = get(f"{k}/json/rate")
        if t and fl and "progs" in t:
            # SSL calls per request: the runs of the return programs (one
            # per SSL_read/_write/_ex, and per SSL_do_handshake, which a
            # keep-alive connection makes none of per request).
            calls = sum(x[1] for n, x in t["progs"].items() if n in ("ssl_ret", "ssl_ex_ret"))
            d_tls = t["cpu"] - b["cpu"]
            lim = fl["uprobe_ret_ns"] / 1000 * calls + 10
            p("  %s adds <= floor x SSL calls/request + 10 us: %s (%+.1f us; nginx makes %.2f SSL "
              "read/write calls per request x %.1f us (uprobe + uretprobe floor) + 10 = %.1f us)" % (
                  lbl, verdict(d_tls <= lim), d_tls, calls, fl["uprobe_ret_ns"] / 1000, lim))
p("  user space >= 200,000 records/s per core: %s (%s with 500 B bodies, %s with 32 KiB prompts)" % (
    verdict(u.get("small", 0) >= 200000 and u.get("big", 0) >= 200000), f(u.get("small"), "%.0f"),
    f(u.get("big"), "%.0f")))
worst = u.get("pass_all_ms", u.get("pass_ms"))
p("  scoring pass over 100,000 clients <= 100 ms: %s (%s ms worst case, every client changed; %s ms "
  "steady state, %s%% changed)" % (
      verdict(max(worst or 1e9, u.get("pass_steady_ms", 0)) <= 100), f(worst, "%.0f"),
      f(u.get("pass_steady_ms"), "%.0f"), f(u.get("steady_pct"), "%.0f")))
print("\n".join(out))
