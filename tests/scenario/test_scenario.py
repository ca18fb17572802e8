"""Tests of scripts/scenario.py (standard library only).

Run: python3 -m unittest discover -s tests/scenario -v
"""
import collections
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "scenario.py")
ENDPOINT = os.path.join(ROOT, "scripts", "endpoint.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.dont_write_bytecode = True      # no scripts/__pycache__ from this import
import scenario  # noqa: E402

FIELDS = ["ts", "conn", "client", "ip", "key", "ja4", "method", "path", "status", "model",
          "stream", "messages", "prompt_bytes", "system_fp", "prompt_fp", "prompt_simhash",
          "tail_fp", "parent_fp", "max_tokens", "n", "temperature", "logprobs", "top_logprobs", "logit_bias",
          "logit_bias_n", "logit_bias_fp", "reasoning_param", "cot_prompt", "output_tokens", "output_bytes", "ttfb_ms",
          "duration_ms", "port", "tls", "label"]
HEX12 = re.compile(r"^[0-9a-f]{12}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
RANGES = [ipaddress.ip_network(n) for n in ("198.18.0.0/15", "100.64.0.0/10", "2001:db8::/32")]
SMALL = ["--duration", "20m", "--scale", "0.2", "--seed", "7"]


def generate(args, jobs=None):
    cmd = [sys.executable, SCRIPT] + args
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        raise AssertionError("scenario.py failed: %s" % p.stderr.decode()[-2000:])
    return p.stdout, p.stderr.decode()


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


class Records(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.raw, cls.err = generate(SMALL + ["--summary"])
        cls.recs = [json.loads(line) for line in cls.raw.decode().splitlines()]
        cls.by = collections.defaultdict(list)
        for r in cls.recs:
            lab = r["label"]
            cls.by[lab["style"] or lab["population"]].append(r)

    def test_reproducible(self):
        again, _ = generate(SMALL + ["--summary"], jobs=1)
        self.assertEqual(self.raw, again, "same seed, one process: same bytes")
        other, _ = generate(SMALL[:-1] + ["8"])
        self.assertNotEqual(self.raw, other, "another seed: other records")

    def test_parallel_matches_single_process(self):
        a, _ = generate(["--duration", "5m", "--scale", "0.1", "--seed", "3"], jobs=1)
        b, _ = generate(["--duration", "5m", "--scale", "0.1", "--seed", "3"], jobs=2)
        self.assertGreater(len(a), 1000)
        self.assertEqual(a, b)

    def test_fields_and_types(self):
        start = scenario.parse_start(scenario.DEFAULT_START)
        self.assertGreater(len(self.recs), 5000)
        last = 0.0
        for r in self.recs:
            self.assertEqual(list(r), FIELDS)
            self.assertIsInstance(r["ts"], float)
            self.assertTrue(start <= r["ts"] < start + 1200)
            self.assertGreaterEqual(r["ts"], last)
            last = r["ts"]
            self.assertIsInstance(r["conn"], int)
            ip = ipaddress.ip_address(r["ip"])
            self.assertTrue(any(ip in n for n in RANGES), r["ip"])
            if r["key"] is None:
                self.assertEqual(r["client"], "ip:" + r["ip"])
            else:
                self.assertRegex(r["key"], HEX12)
                self.assertEqual(r["client"], "key:" + r["key"])
            self.assertRegex(r["ja4"], r"^t13d\d{4}h[12]_[0-9a-f]{12}_[0-9a-f]{12}$")
            self.assertEqual(r["method"], "POST")
            self.assertIn(r["path"], ("/v1/chat/completions", "/v1/messages"))
            self.assertIn(r["status"], (200, 429, 500))
            self.assertIsInstance(r["model"], str)
            for k in ("stream", "logprobs", "logit_bias", "reasoning_param", "cot_prompt",
                      "tls"):
                self.assertIsInstance(r[k], bool, k)
            for k in ("messages", "prompt_bytes", "output_tokens", "output_bytes", "port"):
                self.assertIsInstance(r[k], int, k)
                self.assertGreaterEqual(r[k], 0, k)
            self.assertGreaterEqual(r["messages"], 1)
            for k in ("system_fp", "prompt_fp", "prompt_simhash"):
                self.assertRegex(r[k], HEX16)
            self.assertTrue(r["tail_fp"] is None or HEX16.match(r["tail_fp"]))
            self.assertIsInstance(r["logit_bias_n"], int)
            self.assertEqual(r["logit_bias"], r["logit_bias_n"] > 0)
            self.assertEqual(r["logit_bias_fp"] is not None, r["logit_bias"])
            for k in ("max_tokens", "n", "top_logprobs"):
                self.assertTrue(r[k] is None or isinstance(r[k], int), k)
            self.assertTrue(r["temperature"] is None or isinstance(r["temperature"], (int, float)))
            for k in ("ttfb_ms", "duration_ms"):
                self.assertIsInstance(r[k], float)
                self.assertGreater(r[k], 0)
            self.assertLessEqual(r["ttfb_ms"], r["duration_ms"] + 1e-6)
            if r["status"] != 200:
                self.assertEqual(r["output_tokens"], 0)
            if r["max_tokens"] is not None:
                self.assertLessEqual(r["output_tokens"], r["max_tokens"] * (r["n"] or 1))
            lab = r["label"]
            self.assertEqual(list(lab), ["population", "style", "actor", "campaign"])
            self.assertIn(lab["population"], ("chat", "agent", "batch", "eval", "corp", "class",
                                              "staff", "campaign"))
            self.assertIsInstance(lab["actor"], str)
            if lab["population"] == "campaign":
                self.assertIn(lab["style"],
                              ("loud", "hydra", "lowslow", "mixed-proxy", "waves", "stack",
                               "logit", "logitspread", "sparse", "rush", "mimic"))
                self.assertEqual(lab["campaign"], lab["actor"])
            else:
                self.assertIsNone(lab["style"])
                self.assertIsNone(lab["campaign"])

    def test_every_population_present_and_summary(self):
        for k in ("chat", "agent", "batch", "eval", "corp", "loud", "hydra", "lowslow",
                  "mixed-proxy", "waves", "stack", "logit", "logitspread", "sparse", "rush",
                  "mimic", "class", "staff"):
            self.assertIn(k, self.by)
        self.assertIn("population", self.err)
        total = [line for line in self.err.splitlines() if line.startswith("total")]
        self.assertEqual(int(total[0].split()[1]), len(self.recs))

    def test_default_mix(self):
        with tempfile.TemporaryDirectory() as tmp:
            _, err = generate(["--summary", "--out", os.path.join(tmp, "r.jsonl")])
        rows = [line.split() for line in err.splitlines()[1:]]
        # rows: population style requests clients keys addrs actors; total has no style
        total = rows[-1]
        self.assertEqual(total[0], "total")
        self.assertTrue(50000 < int(total[1]) < 200000, total)     # about 100k in one hour
        camp = sum(int(r[3]) for r in rows if r[0] == "campaign")
        # enough legitimate clients that the 0.2% target means two at most
        self.assertGreater(int(total[2]) - camp, 1000, "legitimate clients")

    def test_connections(self):
        # a connection belongs to one client and one address; keep-alive reuse happens
        owner = {}
        for r in self.recs:
            self.assertEqual(owner.setdefault(r["conn"], (r["client"], r["ip"])),
                             (r["client"], r["ip"]))
        per = collections.Counter(r["conn"] for r in self.by["batch"])
        self.assertLess(len(per), len(self.by["batch"]) / 2)

    def test_hydra(self):
        rs = self.by["hydra"]
        keys = {r["key"] for r in rs}
        ips = {r["ip"] for r in rs}
        self.assertGreaterEqual(len(keys), 30)
        self.assertLessEqual(len(ips), 3)
        self.assertEqual(len({r["system_fp"] for r in rs}), 1)
        self.assertEqual(len({r["ja4"] for r in rs}), 1)
        per_key_ips = collections.defaultdict(set)
        times = collections.defaultdict(list)
        for r in rs:
            per_key_ips[r["key"]].add(r["ip"])
            times[r["key"]].append(r["ts"])
        self.assertTrue(all(len(v) >= min(2, len(ips)) for v in per_key_ips.values()))
        for ts in times.values():   # about 2 per minute, machine-regular
            gaps = [b - a for a, b in zip(ts, ts[1:])]
            self.assertTrue(all(25 < g < 35 for g in gaps), gaps)
        self.assertTrue(all(r["cot_prompt"] and r["max_tokens"] == 4096 for r in rs))
        self.assertTrue(all(r["messages"] == 2 for r in rs))

    def test_lowslow(self):
        rs = self.by["lowslow"]
        self.assertGreaterEqual(len({r["key"] for r in rs}), 80)
        nets = {".".join(r["ip"].split(".")[:3]) for r in rs}
        self.assertGreaterEqual(len(nets), 10)
        self.assertTrue(all(r["cot_prompt"] for r in rs))
        self.assertEqual(len({r["prompt_fp"] for r in rs}), len(rs), "paraphrases: not exact")
        hs = [r["prompt_simhash"] for r in rs]
        near = sum(1 for j, h in enumerate(hs)
                   if any(hamming(h, x) <= 12 for x in hs[:j] + hs[j + 1:]))
        self.assertGreater(near / len(hs), 0.9)
        # batch payloads dominate their prompts: far apart
        bs = [r["prompt_simhash"] for r in self.by["batch"][:300]]
        near_b = sum(1 for j, h in enumerate(bs) if any(hamming(h, x) <= 12 for x in bs[:j]))
        self.assertLess(near_b / len(bs), 0.1)

    def test_waves(self):
        # One scheduler: every key active in the same minutes and idle in the
        # same minutes; each request a frame of its own; one address per key.
        rs = self.by["waves"]
        keys = collections.defaultdict(list)
        for r in rs:
            keys[r["key"]].append(r)
        self.assertGreaterEqual(len(keys), 10)
        self.assertTrue(all(len({r["ip"] for r in v}) == 1 for v in keys.values()))
        self.assertEqual(len({r["ip"] for r in rs}), len(keys))
        self.assertGreater(len({r["system_fp"] for r in rs}), 0.95 * len(rs))
        self.assertTrue(all(r["cot_prompt"] and r["messages"] == 1 for r in rs))
        t0 = min(r["ts"] for r in rs)
        # In the 4-minute period (2 on, 2 off), the requests of all keys
        # leave one shared quiet arc of close to 2 minutes.
        phases = sorted(r["ts"] % 240 for r in rs)
        gaps = [b - a for a, b in zip(phases, phases[1:])] + [phases[0] + 240 - phases[-1]]
        self.assertGreater(max(gaps), 90)
        for v in keys.values():
            self.assertLess(min(r["ts"] for r in v) - t0, 240 + 20)

    def test_stack(self):
        # Tied only by their TLS client: one JA4 that no legitimate client
        # uses, a frame per request, one address per key, no shared pace.
        rs = self.by["stack"]
        keys = collections.defaultdict(list)
        for r in rs:
            keys[r["key"]].append(r)
        self.assertGreaterEqual(len(keys), 10)
        self.assertEqual(len({r["ja4"] for r in rs}), 1)
        legit = {r["ja4"] for p in ("chat", "agent", "batch", "eval") for r in self.by[p]}
        self.assertNotIn(rs[0]["ja4"], legit)
        self.assertTrue(all(len({r["ip"] for r in v}) == 1 for v in keys.values()))
        self.assertEqual(len({r["ip"] for r in rs}), len(keys))
        self.assertGreater(len({r["system_fp"] for r in rs}), 0.95 * len(rs))
        self.assertTrue(all(r["cot_prompt"] and r["messages"] == 1 for r in rs))
        # No shared pace: the keys' first requests spread over minutes.
        firsts = sorted(min(r["ts"] for r in v) for v in keys.values())
        self.assertGreater(firsts[-1] - firsts[0], 60)

    def test_corp(self):
        # A legitimate crowd that looks like a hydra on most axes: many keys
        # behind two addresses, one system prompt that asks for
        # step-by-step reasoning, single-turn; but human-paced, and the
        # answers are shorter than the prompts.
        rs = self.by["corp"]
        self.assertGreaterEqual(len({r["key"] for r in rs}), 5)
        self.assertLessEqual(len({r["ip"] for r in rs}), 2)
        self.assertEqual(len({r["system_fp"] for r in rs}), 1)
        self.assertEqual(len({r["ja4"] for r in rs}), 1)
        self.assertTrue(all(r["cot_prompt"] and r["messages"] == 2 for r in rs))
        out = sum(r["output_tokens"] for r in rs)
        inp = sum(r["prompt_bytes"] / 4 for r in rs)
        self.assertLess(out, inp)

    def test_logit_sweeps(self):
        # One-token answers, the maximum top_logprobs, and a new set of
        # biased ids on (nearly) every request, from one key or many.
        for style in ("logit", "logitspread"):
            rs = self.by[style]
            self.assertGreater(len(rs), 50, style)
            self.assertTrue(all(r["max_tokens"] == 1 and r["top_logprobs"] == 20 and
                                r["logprobs"] and r["logit_bias_n"] >= 100 for r in rs), style)
            # consecutive requests bias different sets (a sweep of 333 sets
            # of 300 ids over a 100,000-token vocabulary, again per prompt)
            fps = [r["logit_bias_fp"] for r in rs]
            self.assertGreater(len(set(fps[:200])), 160, style)
            self.assertGreater(len(set(fps)), min(250, 0.9 * len(fps)), style)
        self.assertEqual(len({r["key"] for r in self.by["logit"]}), 1)
        self.assertGreater(len({r["key"] for r in self.by["logitspread"]}), 5)

    def test_eval_bias_is_one_set(self):
        # A harness biases its answer letters: one small set, again and again.
        rs = [r for r in self.by["eval"] if r["logit_bias"]]
        self.assertGreater(len(rs), 20)
        self.assertEqual(len({r["logit_bias_fp"] for r in rs}), 1)
        self.assertTrue(all(r["logit_bias_n"] <= 4 for r in rs))

    def test_parent_fp(self):
        # A real follow-up names the request whose answer it carries; a
        # campaign's fake second turn names one its key never sent.
        for pop, lo, hi in (("chat", 0.8, 1.0), ("class", 0.9, 1.0), ("mimic", 0.0, 0.0)):
            seen, cont, multi = collections.defaultdict(set), 0, 0
            for r in self.by[pop]:
                if r["parent_fp"] is not None:
                    multi += 1
                    cont += r["parent_fp"] in seen[r["client"]]
                seen[r["client"]].add(r["prompt_fp"])
            self.assertGreater(multi, 10, pop)
            self.assertTrue(lo <= cont / multi <= hi, (pop, cont / multi))
        self.assertTrue(all((r["messages"] > 2) == (r["parent_fp"] is not None)
                            for r in self.by["mimic"]))

    def test_sparse(self):
        rs = self.by["sparse"]
        per_key = collections.Counter(r["key"] for r in rs)
        self.assertGreater(len(per_key), 20)
        self.assertLessEqual(max(per_key.values()), 6)     # 1.5 an hour, 20 minutes
        self.assertGreater(len({r["ip"] for r in rs}), 0.5 * len(per_key))

    def test_rush(self):
        start = scenario.parse_start(scenario.DEFAULT_START)
        rs = self.by["rush"]
        self.assertTrue(all(r["ts"] >= start + 600 for r in rs))   # released at 50%
        new = sum(r["model"] == "dg-next" for r in rs) / len(rs)
        self.assertTrue(0.6 < new < 0.95, new)

    def test_mimic(self):
        rs = self.by["mimic"]
        multi = sum(r["messages"] >= 3 for r in rs) / len(rs)
        self.assertTrue(0.15 < multi < 0.5, multi)
        self.assertGreater(len({tuple(r["ip"].split(".")[:2]) for r in rs}), 3)

    def test_class_and_staff(self):
        # Human crowds behind one address each: browsers, conversations.
        for pop, maxip in (("class", 2), ("staff", 1)):
            rs = self.by[pop]
            self.assertGreaterEqual(len({r["key"] for r in rs}), 3, pop)
            self.assertLessEqual(len({r["ip"] for r in rs}), maxip, pop)
            self.assertGreater(sum(r["messages"] > 2 for r in rs) / len(rs), 0.2, pop)
            jas = collections.Counter(r["ja4"] for r in rs)
            self.assertEqual(jas.most_common(1)[0][0], scenario.JA4S["chrome"], pop)

    def test_batch(self):
        rs = self.by["batch"]
        per_actor = collections.defaultdict(list)
        for r in rs:
            per_actor[r["label"]["actor"]].append(r)
        for actor, xs in per_actor.items():
            self.assertEqual(len({r["key"] for r in xs}), 1)
            self.assertEqual(len({r["ip"] for r in xs}), 1)
            self.assertEqual(len({r["system_fp"] for r in xs}), 1)
            self.assertGreater(len({r["prompt_fp"] for r in xs}), 0.99 * len(xs))
            self.assertFalse(any(r["cot_prompt"] or r["logprobs"] or r["reasoning_param"]
                                 for r in xs))
            self.assertEqual({r["temperature"] for r in xs}, {0})
            self.assertLessEqual(max(r["output_tokens"] for r in xs), 512)
            self.assertGreater(len(xs), 5 * 60 * 20 * 0.9)    # 6 req/s, default first job

    def test_eval(self):
        rs = self.by["eval"]
        self.assertGreater(len(rs), 1000)
        self.assertGreater(len({r["prompt_fp"] for r in rs}) / len(rs), 0.98)
        self.assertEqual({r["temperature"] for r in rs}, {0})
        self.assertTrue(any(r["logprobs"] for r in rs))
        self.assertLess(sum(r["cot_prompt"] for r in rs) / len(rs), 0.1)

    def test_loud(self):
        rs = self.by["loud"]
        self.assertEqual(len({r["client"] for r in rs}), 1)
        self.assertEqual(len({r["ip"] for r in rs}), 1)
        self.assertTrue(all(r["logprobs"] and r["top_logprobs"] and r["cot_prompt"] and
                            r["max_tokens"] == 4096 and r["messages"] <= 2 for r in rs))
        self.assertGreater(len(rs), 2.0 * 1200 * 0.9)

    def test_chat_and_agent_conversations(self):
        for pop in ("chat", "agent"):
            grow = 0
            last = {}
            for r in self.by[pop]:
                if r["messages"] > last.get(r["client"], 99):
                    grow += 1
                last[r["client"]] = r["messages"]
            self.assertGreater(grow, len(self.by[pop]) * 0.3, pop)
        chat = self.by["chat"]
        self.assertGreater(len({r["model"] for r in chat}), 2)
        self.assertGreater(sum(r["stream"] for r in chat) / len(chat), 0.6)
        agent_keys = collections.defaultdict(set)
        for r in self.by["agent"]:
            if "/" not in r["label"]["actor"]:      # not behind the commercial proxy
                agent_keys[r["key"]].add(r["ip"])
        self.assertTrue(all(1 <= len(v) <= 2 for v in agent_keys.values()))

    def test_mixed_proxy_carries_both(self):
        camp = self.by["mixed-proxy"]
        ips = {r["ip"] for r in camp}
        legit = {r["client"] for r in self.recs
                 if r["ip"] in ips and r["label"]["population"] != "campaign"}
        self.assertGreater(len(legit), 0)
        self.assertGreater(len({r["client"] for r in camp}), 3)

    def test_hydra_without_frame(self):
        # Tied by its proxies alone: every request a frame of its own.
        raw, _ = generate(["--duration", "5m", "--scale", "0.1", "--only", "hydra",
                           "--hydra-preamble-share", "1",
                           "--hydra-templates", "cot-math-2,cot-logic-1"])
        rs = [json.loads(line) for line in raw.decode().splitlines()]
        self.assertGreater(len(rs), 50)
        self.assertLessEqual(len({r["ip"] for r in rs}), 3)
        self.assertGreater(len({r["system_fp"] for r in rs}), 0.95 * len(rs))

    def test_new_model(self):
        raw, _ = generate(["--duration", "30m", "--scale", "0.1", "--only", "hydra,chat",
                           "--new-model", "dg-next", "--new-model-at", "10m",
                           "--new-model-lag", "5m", "--new-model-campaign-share", "1"])
        start = scenario.parse_start(scenario.DEFAULT_START)
        for line in raw.decode().splitlines():
            r = json.loads(line)
            if r["label"]["population"] == "campaign":
                if r["ts"] < start + 600:
                    self.assertNotEqual(r["model"], "dg-next")
                elif r["ts"] >= start + 900:
                    self.assertEqual(r["model"], "dg-next")


class Hashes(unittest.TestCase):
    """The piecewise hashes equal hashes of the joined text."""

    def test_normalise_and_simhash(self):
        h = scenario.install_hasher(b"t")
        self.assertEqual(scenario.normalise("  Hello\t\nWORLD 123 x45y  "), "hello world 0 x0y")
        self.assertEqual(h.simhash_text(""), 0)
        a = h.simhash_text("one two")
        self.assertEqual(a, h.simhash_final(h.vote(("one", "two")), 1))
        t = "the quick brown fox jumps over the lazy dog " * 3
        self.assertEqual(h.simhash_text(scenario.normalise(t)),
                         h.simhash_text(scenario.normalise(t.upper() + "\n")))
        self.assertNotEqual(h.simhash_text(t), 0)
        long1 = " ".join("w%d" % i for i in range(2000))
        self.assertEqual(h.simhash_text(long1), h.simhash_text(long1 + " tail words here"))

    @staticmethod
    def plain_simhash(norm, secret):
        """SimHash the slow, obvious way: 64 counters."""
        import hashlib
        ws = re.findall("[a-z0-9\u0080-\U0010ffff]+",
                        norm.encode()[:4096].decode("utf-8", "ignore"))
        if not ws:
            return 0
        sh = [ws[i:i + 4] for i in range(len(ws) - 3)] or [ws]
        cnt = [0] * 64
        for s in sh:
            h = int.from_bytes(hashlib.blake2b(" ".join(s).encode(), digest_size=8,
                                               key=secret).digest(), "little")
            for b in range(64):
                cnt[b] += 1 if (h >> b) & 1 else -1
        return sum(1 << b for b in range(64) if cnt[b] > 0)

    def test_simhash_against_plain_counters(self):
        h = scenario.install_hasher(b"k2")
        texts = ["", "one", "one two three", "one two three four",
                 "the quick brown fox jumps over the lazy dog " * 40,
                 " ".join("w%d" % i for i in range(1500))]
        for t in texts:
            n = scenario.normalise(t)
            self.assertEqual(h.simhash_text(n), self.plain_simhash(n, b"k2"), t[:30])

    def test_requests_match_reference(self):
        ap = scenario.make_parser()
        o = ap.parse_args(["--mode", "http", "--scale", "0.05", "--duration", "10m"])
        o.start_ts = scenario.parse_start(o.start)
        o.duration_s = 600.0
        ctx = scenario.Ctx(o)
        H = ctx.hasher
        n = 0
        for ts, i, r in scenario.merged(ctx, scenario.build_actors(ctx)):
            conv = r.conv
            msgs = conv.msgs[:r.k]
            texts = ["".join(raws) for role, raws in msgs]
            if r.path == "/v1/messages" and conv.system is not None:
                texts = ["".join(conv.system)] + texts
            norm = scenario.normalise("\n".join(texts))
            self.assertEqual(r.pfp, H.fp(norm.encode()))
            self.assertEqual(r.sim, H.simhash_text(norm))
            if n % 100 == 0:
                self.assertEqual(r.sim, self.plain_simhash(norm, o.secret.encode()))
            self.assertEqual(r.pbytes, sum(len(t.encode()) for t in texts))
            self.assertEqual(r.cot, scenario._COT.search(norm) is not None)
            if conv.system is not None:
                sysfp = H.fp(scenario.normalise("".join(conv.system)).encode())
            else:
                first = next("".join(raws) for role, raws in msgs if role == "user")
                skel = scenario.normalise(scenario.frame_skeleton(first))
                sysfp = H.fp(skel.encode()[:256])
            self.assertEqual(r.sysfp, sysfp)
            body = json.loads(r.body())
            self.assertEqual(len(body["messages"]), r.nmsg)
            n += 1
            if n >= 3000:
                break
        self.assertGreater(n, 1000)


def free_port():
    for port in range(18900, 19000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise unittest.SkipTest("no free port in 18900-18999")


class Http(unittest.TestCase):
    def test_http_mode_sends_what_truth_says(self):
        with tempfile.TemporaryDirectory(prefix="dg-scenario-") as tmp:
            self.run_http(tmp)

    def run_http(self, tmp):
        port = free_port()
        log = open(os.path.join(tmp, "endpoint.log"), "w")
        ep = subprocess.Popen([sys.executable, ENDPOINT, "--tls-port", str(port),
                               "--token-delay-ms", "0"], stderr=log, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or ep.poll() is not None:
                        self.fail("endpoint.py did not start")
                    time.sleep(0.1)
            truth = os.path.join(tmp, "truth.jsonl")
            t0 = time.monotonic()
            p = subprocess.run([sys.executable, SCRIPT, "--mode", "http", "--url",
                                "https://127.0.0.1:%d" % port, "--max-requests", "50",
                                "--max-seconds", "20", "--truth", truth, "--scale", "0.3",
                                "--seed", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertLess(time.monotonic() - t0, 20)
            time.sleep(0.3)
        finally:
            ep.terminate()
            ep.wait(10)
            log.close()
        with open(truth) as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual(len(rows), 50)
        self.assertEqual(sorted(r["seq"] for r in rows), list(range(50)))
        src_of = {}
        for r in rows:
            self.assertEqual(r["status"], 200, r)
            self.assertIsNone(r["error"])
            self.assertRegex(r["src"], r"^127\.\d+\.\d+\.\d+$")
            self.assertFalse(r["src"].startswith("127.0.0."))
            self.assertEqual(src_of.setdefault(r["ip"], r["src"]), r["src"])
            self.assertTrue(r["key"] is None or HEX12.match(r["key"]))
            self.assertIn("population", r["label"])
        self.assertEqual(len(set(src_of.values())), len(src_of), "one source per address")
        # the endpoint logs "ADDR "POST PATH HTTP/1.1" STATUS -" per request
        seen = collections.Counter()
        with open(os.path.join(tmp, "endpoint.log")) as f:
            for line in f:
                m = re.match(r'^(\S+) "POST (\S+) HTTP/1.1" (\d+)', line)
                if m:
                    seen[(m.group(1), m.group(2), int(m.group(3)))] += 1
        want = collections.Counter((r["src"], r["path"], r["status"]) for r in rows)
        self.assertEqual(seen, want)
        # the same requests as the records of the same options
        recs, _ = generate(["--scale", "0.3", "--seed", "5"])
        first = [json.loads(x) for x in recs.decode().splitlines()[:50]]
        self.assertEqual(sorted((r["ts"], r["conn"]) for r in rows),
                         sorted((r["ts"], r["conn"]) for r in first))


if __name__ == "__main__":
    unittest.main()
