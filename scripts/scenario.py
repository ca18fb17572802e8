#!/usr/bin/env python3
"""Labelled synthetic traffic for an LLM inference host (standard library only).

usage: scenario.py [--mode records|http] [--seed N] [--start ISO|UNIX] [--duration 1h]
                   [--scale F] [--only POP,...] [--out FILE] [--summary] [--jobs N]
                   [--secret S] [--keepalive S] [--port N] [--no-tls]
                   [--max-tokens-cap N] [--template-file F] [--list-templates]
                   [--new-model NAME [--new-model-at OFFSET] [--new-model-lag DUR]
                    [--new-model-legit-share P]] [--diurnal-amplitude A]
                   [--diurnal-peak H] [--tz-offsets H,...]
                   [--url URL] [--speed X] [--concurrency N] [--max-connections N]
                   [--max-requests N] [--max-seconds S] [--truth FILE]
                   [--truth-raw-keys] [--http-token-cap N] [--timeout S]
                   [--chat-* ...] [--agent-* ...] [--batch-* ...] [--eval-* ...]
                   [--loud-* ...] [--hydra-* ...] [--lowslow-* ...] [--mixed-* ...]
                   [--waves-* ...] [--stack-* ...]

Populations (POP for --only): chat, agent, batch, eval (legitimate) and the
distillation campaign styles loud, hydra, lowslow, mixed (a commercial
proxy carrying ordinary customers' keys and a campaign's keys), waves
(keys that one scheduler starts and stops together, each request with a
frame of its own) and stack (keys tied only by their own TLS client, each
request with a frame of its own, at a steady jittered pace). Every
population has its own options (`--help` lists them with their defaults);
`--scale F` multiplies the population sizes (users, agents, jobs, harnesses,
campaigns' keys and addresses), not the rates. `--seed` fixes the output
byte for byte (whatever --jobs, interpreter or hash seed).

--mode records (default) writes one JSON line per request, sorted by ts, with
the request-record fields of DESIGN.md plus `port`, `tls` and a ground-truth
`label` {"population", "style", "actor", "campaign"} that a scorer must never
read. The prompt text is really generated (templates, paraphrases, payloads)
and hashed, never written:
  normalise: ASCII A-Z lowercased, runs of ASCII whitespace -> one space,
             trimmed, runs of digits -> "0";
  system_fp: blake2b-64 (keyed with --secret) of the normalised system prompt,
             or with none of the first 256 normalised bytes of the first user
             message's instruction-frame skeleton (frame_skeleton: its first
             line and the labels of later lines, as user/parse/fingerprint.h);
  prompt_fp: blake2b-64 of the normalised text of all messages (system
             included) joined by newlines;
  prompt_simhash: 64-bit SimHash over the first 4096 normalised bytes: words
             are runs of [a-z0-9] (or non-ASCII), each run of 4 consecutive
             words joined by a space is hashed with blake2b-64 (read little
             endian) and votes +1/-1 on 64 counters; bit i is set when counter
             i > 0; fewer than 4 words vote once; no words -> 0;
  key: blake2b(raw key, digest_size=6, key=--secret), 12 hex;
  cot_prompt: the phrase list of user/parse/reqbody.c on the normalised text.
conn is a connection id shaped like a socket cookie, (client number << 24) + n:
a client's requests share one while they follow each other within
--keepalive seconds; concurrent requests use several.
With --jobs N (default 2 on a 2-CPU machine) N worker processes generate
disjoint sets of actors and the parent merges their sorted streams.

--mode http sends the same requests to the demo endpoint (scripts/endpoint.py)
in compressed time (--speed), each simulated address (IPv6 ones included)
bound to its own 127.x.y.z source address (--no-bind: every request from
the host's own address toward --url), with keys in "Authorization:
Bearer" and "x-dg-tokens" set to the planned answer length (start the endpoint
with --token-delay-ms 0, or use --http-token-cap, to keep up). The endpoint
answers 200 where the records planned 429/500, and the JA4 is Python's own.
It stops after --max-requests or --max-seconds, whichever comes first (cutting
requests still in flight, after --grace seconds), and writes one ground-truth
JSON line per request it sent to --truth.
"""
import argparse
import bisect
import gc
import hashlib
import heapq
import http.client
import itertools
import json
import math
import os
import queue
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

DEFAULT_START = "2026-11-01T00:00:00Z"
DEFAULT_SECRET = "distillguard-scenario"
SIM_PREFIX = 4096          # simhash looks at this many normalised bytes
FRAME_LEN = 256            # normalised bytes of the instruction frame
TAIL_ELEMS = 4             # elements of the frame from the fixed end
WARMUP = 600.0             # chat and agents start this long before --start (dropped)

# --------------------------------------------------------------------- text

_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"[ \t\n\r\v\f]+")
_WORD = re.compile("[a-z0-9\u0080-\U0010ffff]+")
COT_PHRASES = ("step by step", "step-by-step", "show your reasoning",
               "explain your reasoning", "think through", "chain of thought",
               "chain-of-thought", "show your work", "reason step", "let's think",
               "let\u2019s think", "lets think", "let us think", "think step")
_COT = re.compile("|".join(re.escape(p) for p in COT_PHRASES))
_COT_HINTS = ("step", "reasoning", "think", "chain", "show your work")


def _cot_hint(norm):
    for h in _COT_HINTS:
        if h in norm:
            return True
    return False


def _cot(norm):
    """Does the normalised text ask for step-by-step reasoning?"""
    for h in _COT_HINTS:
        if h in norm:
            return _COT.search(norm) is not None
    return False


def normalise(text):
    """The normalisation of user/parse/fingerprint.h, on str."""
    t = _DIGITS.sub("0", text.translate(_UPPER))
    return _SPACES.sub(" ", t).strip(" ")


_LABEL = re.compile(r"[a-z0-9 _'#*-]{1,32}:(?= |$)")
_ENUM = re.compile(r"[a-z0][.)](?= |$)")


def frame_skeleton(text):
    """The instruction-frame skeleton of user/parse/fingerprint.h (dg_frame): per
    non-empty normalised line, a label ("passage:", at most 3 spaces) or an
    enumerator ("a.") is kept, the first line is kept whole, and a payload
    line right after the first line becomes "*" (after a label, enumerator
    or payload line it adds nothing). Joined by newlines."""
    els, absorb = [], False
    for line in text.split("\n"):
        n = normalise(line)
        if not n:
            continue
        m = _LABEL.match(n)
        if m and m.group(0).count(" ") <= 3:
            els.append(m.group(0))
            absorb = True
        elif _ENUM.match(n):
            els.append(n[:2])
            absorb = True
        elif not els:
            els.append(n)
        elif not absorb:
            els.append("*")
            absorb = True
    return "\n".join(els)


def _tail_parts(text):
    """The tail skeleton's elements before its last line, and that line
    (normalised), or None when the text has no tail (user/parse/fingerprint.h,
    dg_frame_tail)."""
    els, last, first = [], None, True
    for line in text.split("\n"):
        n = normalise(line)
        if not n:
            continue
        m = _LABEL.match(n)
        if m and m.group(0).count(" ") <= 3:
            els.append(m.group(0))
            last = None
        elif _ENUM.match(n):
            els.append(n[:2])
            last = None
        elif first:
            els.append("*")
            last = None
        else:
            last = n
        first = False
    if last is None:
        return None
    return els[-(TAIL_ELEMS - 1):], last


def tail_skeleton(text):
    """The frame from the fixed end: the last elements of the skeleton with
    a first line of free text as "*" and the last line, when it is free
    text and not the first line, kept whole; "" when there is none."""
    t = _tail_parts(text)
    if t is None:
        return ""
    els, last = t
    return "\n".join(els + [last.encode()[:FRAME_LEN].decode("utf-8", "ignore")])


def tail_bytes(text):
    """What the tail fingerprint hashes (its skeleton normalised), or None."""
    t = _tail_parts(text)
    if t is None:
        return None
    els, last = t
    return b" ".join([e.encode() for e in els] + [last.encode()[:FRAME_LEN]])


def frame_text(built):
    """A built message's text with line breaks, corpus pieces as their
    normalised text (they hold no newline; normalising is idempotent), for
    frame_skeleton."""
    raws, _, parts, _ = built
    out = []
    for i, p in enumerate(parts):
        if i:
            out.append(raws[2 * i - 1])
        out.append(p[1] if p[9] else p[0])
    return "".join(out)


def words_of(norm):
    return _WORD.findall(norm)


# A piece of text is a tuple
#   (raw, normalised, first 3 words, last 3 words, number of words,
#    sum of the votes of its inner 4-word shingles, number of inner shingles,
#    whether it holds a word of the chain-of-thought phrases, raw length,
#    whether it comes from the corpus)
# so that a message made of pieces hashes without re-reading them: only the
# (at most 3) shingles across each join are looked up. A built message is
# (list of raw strings, normalised text, list of pieces, raw length). Raw text
# of corpus pieces is only kept when it is sent (NEED_RAW, the HTTP mode).

HASHER = None          # the run's Hasher (keyed), set by install_hasher()
NEED_RAW = True        # keep the raw text of corpus pieces
_PCACHE = {}


def mkpiece(raw, norm, words):
    acc, n = HASHER.votes(words)
    return (raw, norm, words[:3], words[-3:], len(words), acc, n, _cot_hint(norm),
            len(raw.encode()), False)


def part_of(text):
    """A fixed text as a piece (cached)."""
    p = _PCACHE.get(text)
    if p is None:
        raw = text.strip(" \t\n\r\v\f")
        n = normalise(raw)
        p = _PCACHE[text] = mkpiece(raw, n, words_of(n))
    return p


def single(piece):
    """A message made of one piece."""
    return ([piece[0]], piece[1], (piece,), piece[8])


def install_hasher(secret):
    global HASHER
    HASHER = Hasher(secret)
    _PCACHE.clear()
    _TCACHE.clear()
    return HASHER


_LANE8 = [b"".join(((x >> j) & 1).to_bytes(2, "little") for j in range(8))
          for x in range(256)]
_LANE16 = [lo + hi for hi in _LANE8 for lo in _LANE8]   # 16 bits -> 16 lanes of 16 bits
_LANES1 = sum(1 << (16 * b) for b in range(64))
_MASK15 = 0x8000 * _LANES1
_FLAG_TO_BIT = bytes.maketrans(b"\x80\x00", b"10")


class _Votes(dict):
    """shingle (tuple of words) -> its vote; computed on a miss."""
    __slots__ = ("hasher",)

    def __missing__(self, shingle):
        return self.hasher.vote(shingle)


class Hasher:
    """Keyed blake2b hashes: key ids, fingerprints and SimHash shingle votes.

    A shingle's vote is kept as a 1024-bit integer with one 16-bit lane per
    bit of its hash, so summing the votes of a prompt is integer addition."""

    def __init__(self, secret):
        self.secret = secret[:64]
        self.base8 = hashlib.blake2b(digest_size=8, key=self.secret)
        self.cache = _Votes()
        self.cache.hasher = self

    def key_id(self, raw):
        return hashlib.blake2b(raw.encode(), digest_size=6, key=self.secret).hexdigest()

    def fp(self, data):
        h = self.base8.copy()
        h.update(data)
        return h.hexdigest()

    def vote_once(self, shingle):
        """The vote of a shingle that will hardly recur (not cached)."""
        v = self.cache.get(shingle)
        if v is not None:
            return v
        h = self.base8.copy()
        h.update(" ".join(shingle).encode())
        d = int.from_bytes(h.digest(), "little")
        return int.from_bytes(_LANE16[d & 0xffff] + _LANE16[(d >> 16) & 0xffff] +
                              _LANE16[(d >> 32) & 0xffff] + _LANE16[d >> 48], "little")

    def vote(self, shingle):
        h = self.base8.copy()
        h.update(" ".join(shingle).encode())
        d = int.from_bytes(h.digest(), "little")
        v = int.from_bytes(_LANE16[d & 0xffff] + _LANE16[(d >> 16) & 0xffff] +
                           _LANE16[(d >> 32) & 0xffff] + _LANE16[d >> 48], "little")
        c = self.cache
        if len(c) > 2500000:
            c.clear()
        c[shingle] = v
        return v

    def votes(self, seq):
        """Sum of the votes of the 4-word shingles of seq, and their count."""
        n = len(seq) - 3
        if n <= 0:
            return 0, 0
        return sum(map(self.cache.__getitem__, zip(seq, seq[1:], seq[2:], seq[3:]))), n

    @staticmethod
    def simhash_final(acc, nsh):
        half = nsh // 2 + 1
        flags = (acc + (0x8000 - half) * _LANES1) & _MASK15
        bits = flags.to_bytes(128, "little")[1::2].translate(_FLAG_TO_BIT)
        return int(bits[::-1], 2)

    def simhash_text(self, norm):
        """Reference SimHash of one normalised text (tests use it)."""
        ws = words_of(norm.encode()[:SIM_PREFIX].decode("utf-8", "ignore"))
        if not ws:
            return 0
        if len(ws) < 4:
            return self.simhash_final(self.vote(tuple(ws)), 1)
        acc, n = self.votes(ws)
        return self.simhash_final(acc, n)


class Conv:
    """The prompt of one request, grown message by message (a conversation
    forks it for the next turn). Keeps what the hashes need, not the text:
    the text lives in `msgs` as lists of raw pieces (for the HTTP mode)."""
    __slots__ = ("hs", "h", "acc", "nsh", "tail", "nw", "nb", "sat", "cot", "ctail", "chint",
                 "lastc", "pbytes", "nmsg", "sysfp", "msgs", "system", "anth", "ntext",
                 "tailfp", "ufirst", "parent")

    def __init__(self, hasher, anthropic=False):
        self.hs = hasher
        self.h = hasher.base8.copy()
        self.acc = 0
        self.nsh = 0
        self.tail = []
        self.nw = 0
        self.nb = 0          # normalised bytes fed to the simhash
        self.sat = False
        self.cot = False
        self.ctail = ""
        self.chint = False
        self.lastc = False
        self.pbytes = 0
        self.nmsg = 0
        self.sysfp = None
        self.msgs = []
        self.system = None
        self.anth = anthropic
        self.ntext = 0       # non-empty text values so far
        self.tailfp = None   # frame from the fixed end of the first user message
        self.ufirst = False  # the first user message with a frame was seen
        self.parent = None   # prompt_fp before the last assistant message

    def fork(self):
        c = Conv.__new__(Conv)
        c.hs = self.hs
        c.h = self.h.copy()
        c.acc = self.acc
        c.nsh = self.nsh
        c.tail = self.tail
        c.nw = self.nw
        c.nb = self.nb
        c.sat = self.sat
        c.cot = self.cot
        c.ctail = self.ctail
        c.chint = self.chint
        c.lastc = self.lastc
        c.pbytes = self.pbytes
        c.nmsg = self.nmsg
        c.sysfp = self.sysfp
        c.msgs = self.msgs[:]
        c.system = self.system
        c.anth = self.anth
        c.ntext = self.ntext
        c.tailfp = self.tailfp
        c.ufirst = self.ufirst
        c.parent = self.parent
        return c

    def _text(self, raws, norm, parts, rawlen):
        self.pbytes += rawlen
        if not norm:
            return
        if self.ntext:
            self.h.update(b" ")
        self.h.update(norm.encode())
        if not self.cot:
            # corpus pieces never hold a word of the phrases (checked at build)
            hint = False
            for p in parts:
                if p[7]:
                    hint = True
                    break
            if hint or self.chint:
                if _cot(norm) or (self.ntext and _cot(self.ctail + " " + norm[:40])):
                    self.cot = True
            self.ctail = norm[-40:]
            self.chint = hint
        self.ntext += 1
        if self.sat:
            return
        add = len(norm) + (1 if self.nb else 0)
        if self.nb + add > SIM_PREFIX:
            # the prefix ends inside this text: hash its words up to there
            room = SIM_PREFIX - self.nb - (1 if self.nb else 0)
            words = words_of(norm.encode()[:room].decode("utf-8", "ignore")) if room > 0 else []
            self.sat = True
            self.nb = SIM_PREFIX
            if words:
                seq = self.tail + words
                a, n = self.hs.votes(seq)
                self.acc += a
                self.nsh += n
                self.nw += len(words)
                self.tail = seq[-3:]
            return
        self.nb += add
        get = self.hs.cache.__getitem__
        once = self.hs.vote_once
        tail, acc, nsh, nw, lastc = self.tail, self.acc, self.nsh, self.nw, self.lastc
        for p in parts:
            L = p[4]
            if not L:
                continue
            if tail:
                seq = tail + p[2]
                if len(seq) > 3:
                    # across two corpus pieces a shingle hardly recurs: do not
                    # cache it (template text next to a sentence does recur)
                    acc += sum(map(once if lastc and p[9] else get,
                                   zip(seq, seq[1:], seq[2:], seq[3:])))
                    nsh += len(seq) - 3
            acc += p[5]
            nsh += p[6]
            tail = p[3] if L >= 3 else (tail + p[3])[-3:]
            nw += L
            lastc = p[9]
        self.tail, self.acc, self.nsh, self.nw, self.lastc = tail, acc, nsh, nw, lastc

    def add_system(self, built):
        raws, norm, parts, rawlen = built
        self.system = raws
        self.sysfp = self.hs.fp(norm.encode())
        if not self.anth:
            self.nmsg += 1
            self.msgs.append(("system", raws))
        self._text(raws, norm, parts, rawlen)

    def add(self, role, built):
        raws, norm, parts, rawlen = built
        if role == "assistant":
            # a real next turn names the request this answer came from
            self.parent = self.prompt_fp()
        if role == "user" and not self.ufirst:
            # the first user message with a frame: its head is the template
            # when there is no system prompt; its fixed end, in any case
            text = frame_text(built)
            skel = normalise(frame_skeleton(text))
            if skel:
                self.ufirst = True
                if self.sysfp is None:
                    self.sysfp = self.hs.fp(skel.encode()[:FRAME_LEN])
                tb = tail_bytes(text)
                if tb is not None:
                    self.tailfp = self.hs.fp(tb)
        self.nmsg += 1
        self.msgs.append((role, raws))
        self._text(raws, norm, parts, rawlen)

    def prompt_fp(self):
        return self.h.hexdigest()

    def simhash(self):
        if self.nsh:
            return Hasher.simhash_final(self.acc, self.nsh)
        if self.nw:
            return Hasher.simhash_final(self.hs.vote(tuple(self.tail)), 1)
        return 0


# ------------------------------------------------------------------ corpus

BASE_WORDS = """the of and to in is that for it as was with be on not he by are this at from
have or an they which one you had were her all she there would their we him been has when
who will more no if out so said what up its about into than them can only other new some
could time these two may then do first any my now such like our over man me even most made
after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see men
work long get here between both life being under never day same another know while last
might us great old year off come since against go came right used take three states himself
few house use during without again place american around however home small found thought
went say part once general high upon school every don does got united left number course war
until always away something fact though water less public put think almost hand enough far
took head yet government system better set told nothing night end why called didn eyes find
going look asked later knew point next program city business give group toward young let
room president side social given present several order national possible rather second face
per among form important often things looked early white case john become large big need
four within felt along children saw best church ever least power development light thing
seemed family interest want members mind country area others done turn although open god
service certain kind problem began different door thus help sense means whole matter perhaps
itself york times law human line above name example company hands local show five history
whether gave either today act feet across taken past quite anything having seen death body
experience half really week words field car already information tell together college shall
money period held keep sure free probably seem political real behind miss question air
office making brought whose special heard major problems ago became federal moment study
available known result street economic boy position reason change south board individual job
society areas west close turned love community true court force full seems am cost wife
future age wanted department voice center woman control common necessary following front
sometimes six girl clear further land run students provide feel party able mother music
education university child effect level stood military town short morning total outside rate
figure class art century washington north usually leave therefore evidence percent black
red plan kernel socket buffer packet thread parser index cache query vector matrix tensor
gradient array string integer pointer memory stack queue graph node edge tree heap hash key
value record field table column row schema server client request response latency token
model layer weight bias loss batch epoch sample dataset label feature metric signal noise
filter window stream file folder path module package library function method class object
interface compile build deploy release branch commit merge review test suite case mock stub
invoice payment order refund shipping delivery customer account password login profile
review product price discount coupon warranty battery screen camera phone laptop charger
garden recipe flour sugar butter oven bread soup salad travel flight hotel train ticket
museum beach mountain river weather rain snow summer winter doctor patient symptom dose
""".split()

_EXCLUDED = {"step", "think", "reason", "thought", "chain", "show", "explain", "lets", "let",
             "us", "work", "through", "reasoning"}


def _vocab():
    words = []
    seen = set()
    for w in BASE_WORDS:
        if w.isalpha() and w not in seen and w not in _EXCLUDED:
            seen.add(w)
            words.append(w)
    syl_a = ["ka", "lo", "mi", "ter", "san", "vel", "dor", "pri", "qua", "ben", "cor", "fen",
             "gal", "hin", "jo", "lum", "mar", "nes", "ost", "pel", "ral", "sto", "tun", "vis"]
    syl_b = ["ra", "to", "ne", "mi", "la", "ven", "dis", "tor", "ca", "por", "lin", "ser",
             "mo", "ta", "ri", "do", "ble", "ment", "tion", "ry"]
    syl_c = ["", "s", "ed", "er", "ing", "al", "ous", "ive", "ic", "ly"]
    for a in syl_a:
        for b in syl_b:
            for c in syl_c:
                w = a + b + c
                if w not in seen and w not in _EXCLUDED:
                    seen.add(w)
                    words.append(w)
    return words


VOCAB = _vocab()


class Corpus:
    """A fixed pseudo-text of N tokens (sentences of vocabulary words,
    capitals, punctuation, numbers). Every token holds exactly one word, so
    token i is word i; a slice of tokens is a text piece without
    re-normalising: raw and normalised text come from precomputed offsets,
    the votes of its inner shingles from prefix sums."""

    def __init__(self, seed, hasher, n=100000):
        rng = random.Random("corpus/%s" % seed)
        cum = list(itertools.accumulate(1.0 / (r + 2.7) for r in range(len(VOCAB))))
        base = rng.choices(VOCAB, cum_weights=cum, k=n)
        raws, norms = [], []
        starts = []
        left = 0
        rnd = rng.random
        for i, w in enumerate(base):
            r = rnd()
            if r < 0.02:
                num = str(rng.randrange(1, 2000))
                raw, nw = num, "0"
                base[i] = "0"
            else:
                raw, nw = w, w
            if left == 0:
                left = rng.randrange(6, 19)
                raw = raw[:1].upper() + raw[1:]
                starts.append(i)
            left -= 1
            if left == 0:
                p = "." if rnd() < 0.85 else "?"
                raw += p
                nw += p
            elif rnd() < 0.06:
                raw += ","
                nw += ","
            raws.append(raw)
            norms.append(nw)
        self.n = n
        self.starts = starts     # token index of each sentence start
        self.words = base
        self.raw = " ".join(raws) + " "
        self.norm = " ".join(norms) + " "
        assert not _cot_hint(self.norm), "the corpus must not hold chain-of-thought words"
        self.ro = list(itertools.accumulate((len(x) + 1 for x in raws), initial=0))
        self.no = list(itertools.accumulate((len(x) + 1 for x in norms), initial=0))
        # ps[i]: sum of the votes of the shingles starting before word i
        vote = hasher.vote
        self.ps = list(itertools.accumulate(
            map(vote, zip(base, base[1:], base[2:], base[3:])), initial=0))
        # (the votes stay cached too: the end of a 4096-byte prefix re-reads words)

    def piece(self, a, b):
        w = self.words
        L = b - a
        if L >= 4:
            acc, n = self.ps[b - 3] - self.ps[a], L - 3
        else:
            acc, n = 0, 0
        ra, rb = self.ro[a], self.ro[b] - 1
        return (self.raw[ra:rb] if NEED_RAW else "", self.norm[self.no[a]:self.no[b] - 1],
                w[a:a + 3], w[b - 3 if L >= 3 else a:b], L, acc, n, False, rb - ra, True)

    def random_piece(self, rng, ntok):
        """Whole sentences from a random one, at least ntok tokens (fewer at
        the end of the corpus). Sentence boundaries make the shingles across
        the joins with template text recur, so their votes stay cached."""
        st = self.starts
        ns = len(st)
        si = int(rng.random() * ns)
        a = st[si]
        j = bisect.bisect_left(st, a + ntok, si + 1)
        return self.piece(a, st[j] if j < ns else self.n)

    def chunks(self, rng, ntok, nchunks=2):
        """ntok tokens as nchunks pieces from independent places."""
        if ntok < 8 or nchunks < 2:
            return [self.random_piece(rng, ntok)]
        k = ntok // nchunks
        out = [self.random_piece(rng, k) for _ in range(nchunks - 1)]
        out.append(self.random_piece(rng, ntok - k * (nchunks - 1)))
        return out


# ---------------------------------------------------------------- templates

_PLACE = re.compile(r"\{([^{}]*)\}")


def _is_word_char(c):
    return c.isalnum() or ord(c) >= 0x80


class Template:
    """A message template: literal text, {a|b|c} paraphrase slots (the first
    alternative is the canonical one) and {NAME} placeholders filled with
    pieces. Pieces are joined with a space (a newline where the template has
    one), or glued where the template has no space next to punctuation:
    joins never split or merge words, so the hashes of the joined text are
    the hashes of its pieces."""

    def __init__(self, text):
        self.text = text
        els = []
        pos = 0
        pending_ws = ""
        pieces = []
        for m in _PLACE.finditer(text):
            pieces.append(("L", text[pos:m.start()]))
            body = m.group(1)
            if "|" in body:
                pieces.append(("A", body.split("|")))
            else:
                pieces.append(("V", body))
            pos = m.end()
        pieces.append(("L", text[pos:]))
        prev_end = None   # last character of the previous element, None if a placeholder
        for kind, x in pieces:
            if kind == "L":
                if not x:
                    continue
                lead = x[:len(x) - len(x.lstrip(" \t\n\r\v\f"))]
                ws = pending_ws + lead
                core = x.strip(" \t\n\r\v\f")
                trail = x[len(x.rstrip(" \t\n\r\v\f")):]
                if core:
                    sep = self._sep(ws, prev_end, core[0])
                    els.append(("L", sep, part_of(core)))
                    prev_end = core[-1]
                    pending_ws = trail
                else:
                    pending_ws = ws
            else:
                sep = self._sep(pending_ws, prev_end, None)
                if kind == "A":
                    els.append(("A", sep, [part_of(a) for a in x]))
                else:
                    els.append(("V", sep, x))
                prev_end = None
                pending_ws = ""
        self.els = els
        self.vars = [x for k, s, x in els if k == "V"]
        # Runs of constant elements (literals, paraphrase slots) between
        # placeholders become one piece each, cached by the paraphrases chosen.
        segs, run = [], []
        for e in els:
            if e[0] == "V":
                if run:
                    segs.append(("C", run, sum(1 for k in run if k[0] == "A")))
                    run = []
                segs.append(e)
            else:
                run.append(e)
        if run:
            segs.append(("C", run, sum(1 for k in run if k[0] == "A")))
        self.segs = segs
        self.compound = {}

    def _compound(self, i, run, choice):
        """(separator before it, piece or None) of constant run i."""
        key = (i, choice)
        c = self.compound.get(key)
        if c is None:
            texts, lead, k = [], None, 0
            for kind, sep, x in run:
                if kind == "L":
                    q = x
                else:
                    q = x[choice[k]]
                    k += 1
                if not q[1]:
                    continue
                if texts:
                    texts.append(sep)
                else:
                    lead = sep
                texts.append(q[0])
            raw = "".join(texts)
            n = normalise(raw)
            c = self.compound[key] = (lead, mkpiece(raw, n, words_of(n)) if n else None)
        return c

    @staticmethod
    def _sep(ws, left, right):
        if "\n" in ws:
            return "\n"
        if ws:
            return " "
        # glue only where one side is punctuation (not a word character)
        if left is not None and not _is_word_char(left):
            return ""
        if right is not None and not _is_word_char(right):
            return ""
        return " "

    def build(self, rng, fill, paraphrase=0.0):
        """(raws, normalised text, pieces, raw length). fill maps a
        placeholder name to a list of pieces."""
        raws, norms, parts = [], [], []
        rawlen = 0
        for i, seg in enumerate(self.segs):
            if seg[0] == "V":
                sep = seg[1]
                ps = fill[seg[2]]
            else:
                if seg[2] and paraphrase > 0.0:
                    choice = tuple(int(rng.random() * len(x)) if rng.random() < paraphrase
                                   else 0 for kind, _, x in seg[1] if kind == "A")
                else:
                    choice = (0,) * seg[2]
                sep, p = self._compound(i, seg[1], choice)
                ps = (p,) if p is not None else ()
            for p in ps:
                if not p[1]:
                    continue
                if raws:
                    raws.append(sep)
                    if sep:
                        norms.append(" ")
                        rawlen += 1
                raws.append(p[0])
                norms.append(p[1])
                parts.append(p)
                rawlen += p[8]
                sep = " "
        return raws, "".join(norms), parts, rawlen


_TCACHE = {}


def T(text):
    t = _TCACHE.get(text)
    if t is None:
        t = _TCACHE[text] = Template(text)
    return t


def built_of(text):
    """A whole fixed text as a built message."""
    return T(text).build(None, {})


SYS_CAMPAIGN_A = ("You are a meticulous senior engineer and mathematician. Always reason step by "
                  "step and show your full chain of thought before the final answer. Never skip "
                  "an intermediate step, even when it looks obvious.")

# Campaign frames: long instruction frames that ask for the reasoning, with a
# short varying payload {P}. Paraphrase slots make near-duplicates.
TEMPLATES = {
    "cot-code-1": {
        "system": "You are an expert software engineer and competitive programmer. You write "
                  "correct, efficient and well documented code, and you always explain your "
                  "reasoning in full before giving the final solution.",
        "user": "{Solve|Work through|Tackle} the following programming problem. Think step by step "
                "and show your reasoning before you write any code. First restate the problem in "
                "your own words and identify the inputs, the outputs and every constraint. Then "
                "{consider|think about|go over} the edge cases: empty inputs, very large inputs, "
                "duplicate values, negative numbers and overflow. Describe at least two possible "
                "approaches, estimate the time and memory complexity of each, and explain {why you "
                "choose one of them|which one you pick and why}. Write the solution in Python with "
                "type hints and short comments on the lines that are not obvious. After the code, "
                "walk through a small example by hand and check that the output is correct, then "
                "list the tests you would write and what each of them covers. {Be thorough|Be "
                "complete|Leave nothing out}: a short answer without the full reasoning is not "
                "acceptable, and every claim about complexity must be justified.\n\nProblem: "
                "{P}\nThe constraints are as follows: {Q}\n\nFormat the answer with the headings "
                "Understanding, Edge cases, Approaches, "
                "Solution, Walkthrough and Tests, in this order.",
        "payload": (10, 24), "topic": "coding"},
    "cot-code-2": {
        "system": SYS_CAMPAIGN_A,
        "user": "Explain step by step how to implement the following, reasoning about "
                "correctness at every step, and then give the complete code. Start with the data "
                "structures you need and why, then describe the algorithm in plain language, "
                "then prove that it terminates and that it returns the right result. Discuss the "
                "complexity in time and in memory. Point out the mistakes a beginner would make "
                "and how to avoid them. Only then write the code, in a single block, with a "
                "docstring and comments. End with three test cases and their expected outputs, "
                "and explain for each of them why the expected output is right.\n\nTask: {P}\n"
                "Additional requirements are listed here: {Q}",
        "payload": (8, 20), "topic": "coding"},
    "cot-math-1": {
        "system": SYS_CAMPAIGN_A,
        "user": "Solve the following problem. Show your reasoning step by step and justify "
                "every transformation you make, naming the rule or theorem you use. Do not "
                "combine several steps into one line. Define every variable before you use it, "
                "state the domain of each, and check the units and the signs at the end. If "
                "there are several cases, treat each case separately and say why the list of "
                "cases is complete. If a shortcut exists, first give the full derivation and "
                "then show the shortcut and why it is valid. Finish by checking the answer by "
                "substitution or with an independent method.\n\nProblem: {P}\n"
                "You are also given: {Q}\n\n"
                "Write the final answer on its own line after the words Final answer.",
        "payload": (8, 22), "topic": "maths"},
    "cot-math-2": {
        "system": None,
        "user": "{You are given|Here is|Consider} a mathematics problem. Think step by step and "
                "write out all of your reasoning. {Begin|Start} by listing what is known and what "
                "is asked, then {plan|outline} the solution before carrying it out. Show every "
                "intermediate result, every algebraic manipulation and every numerical value, "
                "and explain why each step follows from the previous ones. When you use a "
                "formula, write it out in full first and say where it comes from. If you make "
                "an assumption, state it explicitly and {explain|say} why it is reasonable. "
                "After you reach a result, {verify|double check} it by a second method or by "
                "substituting it back into the original conditions, and comment on whether it "
                "makes sense. Finally summarise the method in two sentences so that a student "
                "could reuse it on a similar problem.\n\nProblem: {P}\n"
                "Please note the following: {Q}\n\n"
                "Give the final answer in a box at the end.",
        "payload": (6, 18), "topic": "maths"},
    "cot-logic-1": {
        "system": None,
        "user": "{Here is|Below is|You are given} a reasoning puzzle. Let's think step by step. "
                "{Read|Go over|Examine} every statement carefully and translate it into a precise "
                "logical form. Keep a table of what is known after each statement and update it "
                "as you go, showing the table each time it changes. When a statement rules out a "
                "possibility, say which one and why. If you reach a dead end, go back to the "
                "last choice you made, explain the contradiction and try the other branch. Do not "
                "guess: every conclusion must follow from the statements and from conclusions "
                "you have already justified. When you have the answer, {check|verify|confirm} it "
                "against every statement one by one and explain why no other answer is "
                "possible. Write your full chain of thought before the final answer, and keep "
                "the final answer to one line.\n\nPuzzle: {P}\nHere are the extra clues: {Q}",
        "payload": (8, 20), "topic": "reasoning"},
    "cot-reason-2": {
        "system": SYS_CAMPAIGN_A,
        "user": "Answer the following question. Explain your reasoning in detail before giving "
                "the answer: list the relevant facts, the assumptions you make and the "
                "inferences that connect them, one per line, and number them. Consider at least "
                "one objection to your conclusion and answer it. Rate your confidence at the "
                "end and explain what would change your mind.\n\nQuestion: {P}\n"
                "Some relevant context follows: {Q}",
        "payload": (8, 22), "topic": "reasoning"},
    "cot-agent-1": {
        "system": None,
        "user": "{You are|Act as} an autonomous agent with the tools search, read_file, "
                "write_file, run_command and finish. Think step by step about which tool to call "
                "next and why, and write your reasoning before every call. For each call give "
                "the tool name and its arguments as JSON, then describe the result you expect "
                "and what you will do if the result is different. {Keep|Maintain} a running "
                "plan and update it after every observation, showing the whole plan each time. "
                "When the task is complete, call finish with a summary of what you did and why "
                "each step was necessary. Do not stop before the task is complete and do not "
                "ask the user for help. {Show your work|Explain your reasoning} at every step, "
                "including the steps that failed.\n\nTask: {P}\nThe environment is described here: "
                "{Q}",
        "payload": (8, 20), "topic": "agentic"},
    # Batch jobs: one short frame, a long varying payload, short answers.
    "batch-sentiment": {
        "system": "You classify the sentiment of product reviews. Read the review given by the "
                  "user and answer with exactly one word: positive, negative or neutral.",
        "user": "Title: {Q}\nThe review text follows: {P}",
        "payload": (30, 150), "out": (1, 2), "max_tokens": 5},
    "batch-extract": {
        "system": "You extract structured data from order emails. Reply with a JSON object with "
                  "the keys product, price and date, and nothing else.",
        "user": "Subject: {Q}\nThe email body follows: {P}",
        "payload": (40, 160), "out": (20, 60), "max_tokens": 128},
    "batch-summarise": {
        "system": "You summarise customer support tickets. Reply with one sentence of at most "
                  "twenty words.",
        "user": "Subject: {Q}\nThe ticket description follows: {P}",
        "payload": (40, 200), "out": (15, 40), "max_tokens": 64},
    "batch-translate": {
        "system": "You are a professional translator. Translate the product description given "
                  "by the user into French. Output only the translation.",
        "user": "Product name: {Q}\nThe description to translate: {P}",
        "payload": (30, 120), "out": (40, 160), "max_tokens": 512},
    "batch-ticket": {
        "system": "You route customer messages. Answer with one queue name only: billing, "
                  "shipping, returns, technical or other.",
        "user": "Subject: {Q}\nThe message from the customer: {P}",
        "payload": (20, 100), "out": (1, 3), "max_tokens": 5},
    # Evaluation benchmarks: short frames, fresh questions.
    "eval-mcq": {
        "system": None,
        "user": "The following is a multiple choice question about {S}. Answer with the letter "
                "of the correct option only.\n\n{Q}\nA. {O1}\nB. {O2}\nC. {O3}\nD. {O4}\nAnswer:",
        "payload": (12, 40), "out": (1, 1), "max_tokens": 1, "mcq": True},
    "eval-math": {
        "system": None,
        "user": "Question: {Q}\nAnswer:",
        "user_cot": "Question: {Q}\nLet's think step by step.",
        "payload": (20, 60), "out": (60, 350), "max_tokens": 512},
    "eval-code": {
        "system": None,
        "user": "Complete the following Python function. Return only the code.\n\n"
                "def solve(values):\n    \"\"\"{Q}\"\"\"",
        "payload": (15, 50), "out": (40, 250), "max_tokens": 512},
    "corp-review": {
        "system": "You are the code review assistant of our engineering team. Think step by "
                  "step about correctness, security and style, then list the problems you "
                  "found, most serious first.",
        "user": "Review this change to {Q}:\n{P}",
        "payload": (150, 600), "out": (150, 500), "max_tokens": 1024},
    "eval-qa": {
        "system": None,
        "user": "Read the passage and answer the question with a short phrase.\n\nPassage: "
                "{C}\n\nQuestion: {Q}\nAnswer:",
        "payload": (8, 20), "context": (60, 160), "out": (2, 15), "max_tokens": 32},
    # The question first, the fixed instruction last: no shared frame from
    # the head, one from the fixed end (user/parse/fingerprint.h).
    "tail-cot": {
        "system": None,
        "user": "{P}\n\n{Think|Reason|Work} step by step and show all of your working before "
                "you give the final answer. {Check|Verify} the answer at the end.",
        "payload": (10, 30), "topic": "maths"},
    "tail-explain": {
        "system": None,
        "user": "{P}\n{Q}\n\nExplain your reasoning in detail, step by step, and list every "
                "assumption you make. End with a one-line summary of the answer.",
        "payload": (8, 24), "topic": "reasoning"},
    "tail-code": {
        "system": None,
        "user": "{P}\n\nWrite the solution in Python. Reason step by step about the approach, "
                "the edge cases and the complexity first, then give the complete code with "
                "comments.",
        "payload": (10, 28), "topic": "coding"},
    # A teacher's worksheet: the pupils paste an exercise, the fixed line asks
    # for the working the teacher wants to see.
    "class-maths": {
        "system": None,
        "user": "{P}\n\nShow all of your working step by step, as our teacher asks, and "
                "explain each step in simple words.",
        "payload": (8, 30), "out": (250, 1500), "max_tokens": 2048},
    # A company's internal assistant: its own system prompt for every
    # employee, conversations, long careful answers.
    "staff-assist": {
        "system": "You are the internal assistant of our company. Think step by step, explain "
                  "your reasoning, and give thorough, well structured answers with examples. "
                  "Ask a clarifying question when the request is ambiguous.",
        "user": "{P}",
        "payload": (10, 60), "out": (300, 1500), "max_tokens": 4096},
}

# A fixed set of biased token ids: the answer letters " A" to " D" of a
# multiple-choice harness (the same set on every item).
MCQ_LETTER_IDS = (362, 426, 356, 423)
CLASS_FOLLOWUPS = [
    "I don't understand step {n}. Can you explain it {again|more simply}?",
    "{Why|How} do we get {P}",
    "Can you show me another example like this one?",
    "{Ok|Thanks}, and what if {P}",
    "Is there a faster way to do it?",
]
MIMIC_FOLLOWUPS = ["{Thanks|Great|Ok}. Can you go into more detail?", "Why is that? {P}",
                   "Continue.", "And what if {P}"]

CHAT_SYSTEMS = [
    "You are a helpful assistant.",
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as "
    "possible, while being safe.",
    "You are a friendly assistant. Keep answers short and clear.",
    "You are an expert assistant. Use markdown formatting where it helps.",
    "You are a helpful assistant. The current date is {D}.",
    "Respond in the same language as the user. Be concise.",
]
CHAT_PERSONAS = ["a patient maths tutor", "a senior Python developer", "a travel agent",
                 "a nutrition coach", "a copy editor", "a historian", "a career coach",
                 "a Linux administrator", "a chess coach", "a legal assistant",
                 "a product manager", "a gardening expert", "a language teacher"]
CHAT_TOPICS = ["cooking", "travel planning", "python programming", "tax forms", "gardening",
               "the history of Rome", "fitness", "a cover letter", "linear algebra",
               "home networking", "a birthday party", "learning Spanish", "personal finance",
               "a job interview", "car maintenance", "JavaScript promises", "sleep habits",
               "a short story", "chess openings", "moving house", "SQL queries",
               "photography", "a wedding speech", "climate science", "statistics homework",
               "a business plan", "dog training", "Kubernetes", "poetry", "a resignation letter"]
CHAT_OPENERS = [
    "{Can you|Could you} help me with {T}? {P}",
    "I need some advice about {T}. {P}",
    "{P} This is about {T}.",
    "Question about {T}: {P}",
    "hey, quick one on {T}. {P}",
    "I'm working on {T} and I'm stuck. {P}",
    "Write me something about {T}. {P}",
    "What do you know about {T}? {P}",
]
CHAT_FOLLOWUPS = [
    "{Thanks|Great|Ok}. Can you make it shorter?",
    "What about the second point? {P}",
    "Why is that? {P}",
    "Give me an example. {P}",
    "{Hmm|Ok}, that doesn't work for me. {P}",
    "Can you rewrite it in a more formal tone?",
    "And what if {P}",
    "{Thanks|Perfect|Nice}! One more thing: {P}",
    "Can you put that in a table?",
    "{P}",
]
CHAT_COT = "Please explain step by step."

AGENT_PRODUCTS = {
    "agent-cli": ("You are a coding assistant that runs in the user's terminal. You can read and "
                  "edit files in the repository and run shell commands. Use the tools to explore "
                  "the code before you change it. Prefer small, focused edits. Never run "
                  "destructive commands without asking. When you are done, summarise the changes "
                  "you made."),
    "agent-ide": ("You are an AI pair programmer inside an editor. The user's open files and "
                  "cursor position are given below. Answer with code edits in unified diff "
                  "format or with tool calls. Keep the existing code style, do not add new "
                  "dependencies, and do not change unrelated code."),
    "agent-ci": ("You are an automated maintenance agent running in continuous integration. "
                 "Your job is to make the failing checks pass. You may call the tools to read "
                 "logs, read and write files, and rerun the checks. Stop after the checks pass "
                 "or after the step budget is exhausted, and report the outcome."),
    "agent-review": ("You review pull requests. Read the diff and the files it touches with the "
                     "tools, then write concise review comments with file and line references. "
                     "Flag bugs, security issues and missing tests first, style last."),
}
AGENT_TOOLS = [
    ("read_file", "Read a file from the repository. Arguments: path, optional line range."),
    ("write_file", "Replace the content of a file. Arguments: path, content."),
    ("edit_file", "Apply a search and replace edit to a file. Arguments: path, old, new."),
    ("run", "Run a shell command in the repository and return its output and exit code."),
    ("search", "Search the repository for a regular expression. Arguments: pattern, glob."),
    ("list_dir", "List the entries of a directory. Arguments: path."),
    ("git_diff", "Show the current uncommitted changes."),
    ("run_tests", "Run the test suite or a subset of it. Arguments: optional filter."),
]
AGENT_TASKS = ["{Fix|Repair} the failing test in {P}", "Implement {P}",
               "Refactor {P} without changing behaviour.", "Add tests for {P}",
               "Why does this crash? {P}", "Update the documentation for {P}",
               "{Find|Track down} the cause of the slow startup: {P}"]


def agent_system(product):
    text = AGENT_PRODUCTS[product] + "\n\nTools:\n" + "\n".join(
        "- %s: %s" % t for t in AGENT_TOOLS)
    return text


# --------------------------------------------------------------- addresses

JA4S = {
    "chrome": "t13d1516h2_8daaf6152771_02713d6af862",
    "firefox": "t13d1715h2_5b57614c22b0_3d5424432f57",
    "python": "t13d1812h1_85036bcba153_b26ce05bbdd6",
    "node": "t13d1711h1_5b57614c22b0_d0a1c8e1b4f2",
    "go": "t13d1311h1_e8f1e7e78f70_6bebaf5329ec",
    "curl": "t13d3112h1_e8f1e7e78f70_ce5650b735ce",
    "java": "t13d4312h1_c7886603b240_0c6a3d9e2f11",
    "rust": "t13d0912h1_f91f431d341e_7f2e4b1c9a05",
    "envoy": "t13d2613h2_2a284e3b0c56_a4c1e7f3b829",
    "okhttp": "t13d1613h2_46e7e9700bed_45f260be83e2",
    "scraper": "t13d2107h2_9c3f1e6a2b44_7d19e0c4a8f5",   # a campaign's own client
}
USER_AGENTS = {"chrome": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
               "firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0",
               "python": "OpenAI/Python 1.54.0", "node": "OpenAI/JS 4.73.0",
               "go": "Go-http-client/1.1", "curl": "curl/8.5.0", "java": "Java-http-client/21",
               "rust": "reqwest/0.12", "envoy": "envoy", "okhttp": "okhttp/4.12.0",
               "scraper": "python-httpx/0.27.2"}
LEGIT_STACKS = [("python", 30), ("node", 25), ("chrome", 12), ("firefox", 4), ("go", 8),
                ("curl", 6), ("java", 6), ("rust", 5), ("okhttp", 4)]


class Addrs:
    """Deterministic allocation of unique simulated addresses.
    dc: 198.18.0.0/15 (512 /24s), res: 100.64.0.0/10 (16384 /24s), v6: 2001:db8::/32."""

    def __init__(self):
        self.used = set()
        self.reserved = set()   # (pool, /24 index) handed out whole

    @staticmethod
    def _v4(pool, idx24, host):
        if pool == "dc":
            a = (198 << 24) | (18 << 16) | (idx24 << 8) | host
        else:
            a = (100 << 24) | (64 << 16) | (idx24 << 8) | host
        return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)

    @staticmethod
    def _n24(pool):
        return 512 if pool == "dc" else 16384

    def one(self, rng, pool):
        if pool == "v6":
            while True:
                a = "2001:db8:%x:%x::%x" % (rng.randrange(1, 0x10000), rng.randrange(0x10000),
                                           rng.randrange(1, 0x10000))
                if a not in self.used:
                    self.used.add(a)
                    return a
        n24 = self._n24(pool)
        for _ in range(100000):
            i = rng.randrange(n24)
            if (pool, i) in self.reserved:
                continue
            a = self._v4(pool, i, rng.randrange(1, 255))
            if a not in self.used:
                self.used.add(a)
                return a
        raise SystemExit("scenario.py: address pool %s exhausted" % pool)

    def block(self, rng, pool, naddr, nsubnets):
        """naddr unique addresses spread over nsubnets fresh /24s."""
        n24 = self._n24(pool)
        nsubnets = max(1, min(nsubnets, naddr))
        if nsubnets * 254 < naddr:
            nsubnets = (naddr + 253) // 254
        subs = []
        while len(subs) < nsubnets:
            if sum(1 for q, _ in self.reserved if q == pool) >= n24 - 1:
                raise SystemExit("scenario.py: address pool %s exhausted" % pool)
            i = rng.randrange(n24)
            if (pool, i) not in self.reserved:
                self.reserved.add((pool, i))
                subs.append(i)
        out = []
        hosts = {i: rng.sample(range(1, 255), 254) for i in subs}
        for k in range(naddr):
            i = subs[k % nsubnets]
            a = self._v4(pool, i, hosts[i].pop())
            self.used.add(a)
            out.append(a)
        return out


# ------------------------------------------------------------ the requests

MODEL_SPEED = {"dg-small": (120.0, 150.0), "dg-large": (45.0, 350.0), "dg-coder": (70.0, 250.0),
               "gpt-4o-mini": (90.0, 250.0), "claude-sonnet-4": (60.0, 450.0)}
PREFILL_BPMS = 400.0    # prompt bytes per millisecond of prefill

LINE_HEAD = '{"ts":%.6f,"conn":%d'
LINE_TAIL = (',"client":"%s","ip":"%s","key":%s,"ja4":%s,"method":"POST",'
        '"path":"%s","status":%d,"model":"%s","stream":%s,"messages":%d,"prompt_bytes":%d,'
        '"system_fp":"%s","prompt_fp":"%s","prompt_simhash":"%016x","tail_fp":%s,"parent_fp":%s,'
        '"max_tokens":%s,"n":%s,"temperature":%s,"logprobs":%s,"top_logprobs":%s,'
        '"logit_bias":%s,"logit_bias_n":%d,"logit_bias_fp":%s,'
        '"reasoning_param":%s,"cot_prompt":%s,"output_tokens":%d,"output_bytes":%d,'
        '"ttfb_ms":%.3f,"duration_ms":%.3f,"port":%d,"tls":%s,"label":%s}\n')
_TF = {True: "true", False: "false"}


class Req:
    __slots__ = ("ts", "conn", "client", "ip", "path", "status", "model", "stream", "nmsg",
                 "pbytes", "sysfp", "pfp", "sim", "max_tokens", "n", "temp", "logprobs",
                 "top_logprobs", "logit_bias", "reasoning", "cot", "out", "obytes", "ttfb",
                 "dur", "conv", "k", "bias_fp")

    def tail(self, port, tls):
        """The record's JSON after its conn number."""
        c = self.client
        tf = self.conv.tailfp
        pf = self.conv.parent
        bias = self.logit_bias
        return LINE_TAIL % (c.name_for(self.ip), self.ip, c.jkey, c.jja4,
                       self.path, self.status, self.model, _TF[self.stream], self.nmsg,
                       self.pbytes, self.sysfp, self.pfp, self.sim,
                       "null" if tf is None else '"%s"' % tf,
                       "null" if pf is None else '"%s"' % pf,
                       "null" if self.max_tokens is None else self.max_tokens,
                       "null" if self.n is None else self.n,
                       "null" if self.temp is None else self.temp, _TF[self.logprobs],
                       "null" if self.top_logprobs is None else self.top_logprobs,
                       _TF[bool(bias)], len(bias) if bias else 0,
                       '"%s"' % self.bias_fp if bias else "null", _TF[self.reasoning],
                       _TF[self.cot], self.out, self.obytes, self.ttfb, self.dur, port,
                       _TF[tls], c.jlabel)

    def body(self, token_cap=0):
        """The JSON request body (HTTP mode)."""
        conv = self.conv
        msgs = [{"role": r, "content": "".join(raws)} for r, raws in conv.msgs[:self.k]]
        b = {"model": self.model}
        anth = self.path == "/v1/messages"
        if anth and conv.system is not None:
            b["system"] = "".join(conv.system)
        b["messages"] = msgs
        if self.max_tokens is not None:
            b["max_tokens"] = self.max_tokens
        if self.stream:
            b["stream"] = True
            if not anth:
                b["stream_options"] = {"include_usage": True}
        if self.temp is not None:
            b["temperature"] = self.temp
        if self.n is not None:
            b["n"] = self.n
        if self.logprobs:
            b["logprobs"] = True
        if self.top_logprobs is not None:
            b["top_logprobs"] = self.top_logprobs
        if self.logit_bias:
            # a sweep pushes its ids up, a harness its answer letters
            b["logit_bias"] = {str(i): 100 for i in self.logit_bias}
        if self.reasoning:
            if anth:
                b["thinking"] = {"type": "enabled", "budget_tokens": 2048}
            else:
                b["reasoning_effort"] = "high"
        return json.dumps(b, separators=(",", ":")).encode()


class Client:
    """One client: an API key (or none: named by its address), a TLS stack,
    a ground-truth label, and its keep-alive connections."""
    __slots__ = ("raw", "key", "jkey", "ja4", "jja4", "ua", "label", "jlabel", "pool",
                 "name", "labeld", "base", "nconn")

    def __init__(self, ctx, raw, stack, label):
        if stack not in JA4S:
            raise SystemExit("scenario.py: no TLS stack %r (one of %s)"
                             % (stack, ", ".join(JA4S)))
        self.raw = raw
        self.key = ctx.hasher.key_id(raw) if raw else None
        self.jkey = '"%s"' % self.key if self.key else "null"
        self.ja4 = JA4S[stack]
        self.jja4 = '"%s"' % self.ja4
        self.ua = USER_AGENTS[stack]
        self.labeld = label
        self.jlabel = json.dumps(label, separators=(",", ":"))
        self.pool = []
        self.name = "key:" + self.key if self.key else None
        # connection ids look like socket cookies: (client number << 24) + n
        ctx.nclients += 1
        self.base = ctx.nclients << 24
        self.nconn = 0

    def name_for(self, ip):
        return self.name or "ip:" + ip

    def conn(self, ctx, t0, t1, ip):
        """Connection id for a request [t0, t1] from ip: reuse an idle
        keep-alive connection of this client, else open a new one."""
        ka = ctx.keepalive
        best = None
        pool = self.pool
        stale = False
        for c in pool:
            f = c[0]
            if f <= t0:
                if t0 - f > ka:
                    stale = True
                elif c[2] == ip and (best is None or f > best[0]):
                    best = c
        if stale:
            self.pool = pool = [c for c in pool if c[0] > t0 or t0 - c[0] <= ka]
        if best is None:
            self.nconn += 1
            best = [t1, self.base + self.nconn, ip]
            pool.append(best)
        else:
            best[0] = t1
        return best[1]


class Ctx:
    def __init__(self, opts):
        self.opts = opts
        self.start = opts.start_ts
        self.end = opts.start_ts + opts.duration_s
        self.t0 = self.start - WARMUP
        global NEED_RAW
        NEED_RAW = opts.mode == "http"
        self.hasher = install_hasher(opts.secret.encode())
        self.corpus = Corpus(opts.seed, self.hasher)
        self.addrs = Addrs()
        self.nclients = 0
        self.keepalive = opts.keepalive
        self.cap = opts.max_tokens_cap
        self.amp = opts.diurnal_amplitude
        self.peak = opts.diurnal_peak
        self.tzs = [float(x) for x in opts.tz_offsets.split(",") if x.strip()] or [0.0]
        self.new_model = opts.new_model or None
        self.new_model_at = self.start + parse_duration(opts.new_model_at, opts.duration_s)
        self.new_model_lag = parse_duration(opts.new_model_lag, opts.duration_s)
        self.new_model_legit_delay = parse_duration(opts.new_model_legit_delay,
                                                    opts.duration_s)

    def rng(self, *name):
        return random.Random("%s/%s" % (self.opts.seed, "/".join(map(str, name))))

    def diurnal(self, t, tz):
        h = ((t / 3600.0) + tz) % 24.0
        return 1.0 + self.amp * math.cos(2 * math.pi * (h - self.peak) / 24.0)

    def switch_time(self, rng, campaign):
        """When an actor moves to the new model (None: never)."""
        if not self.new_model:
            return None
        if campaign:
            return self.new_model_at + rng.uniform(0.0, self.new_model_lag)
        if rng.random() < self.opts.new_model_legit_share:
            return self.new_model_at + rng.expovariate(1.0 / max(1.0, self.new_model_legit_delay))
        return None

    def request(self, rng, client, t, ip, path, model, stream, conv, max_tokens, n, temp,
                logprobs, top_logprobs, logit_bias, reasoning, out, p429, p500=0.002):
        """Fill a Req: status, latency, output bytes and connection."""
        r = Req()
        r.ts = t
        r.client = client
        r.ip = ip
        r.path = path
        r.model = model
        r.stream = stream
        r.conv = conv
        r.k = len(conv.msgs)
        r.nmsg = conv.nmsg
        r.pbytes = conv.pbytes
        r.sysfp = conv.sysfp
        r.pfp = conv.prompt_fp()
        r.sim = conv.simhash()
        r.cot = conv.cot
        r.max_tokens = max_tokens
        r.n = n
        r.temp = temp
        r.logprobs = logprobs
        r.top_logprobs = top_logprobs
        # logit_bias: False, or the token ids biased (their set is hashed)
        r.logit_bias = logit_bias or None
        r.bias_fp = self.hasher.fp(b"logit_bias:" + ",".join(
            map(str, sorted(set(logit_bias)))).encode()) if logit_bias else None
        r.reasoning = reasoning
        u = rng.random()
        tps, base = MODEL_SPEED.get(model, (50.0, 400.0))
        if u < p429:
            r.status = 429
            r.out = 0
            r.obytes = ri(rng, 150, 260)
            r.ttfb = r.dur = rng.uniform(1.5, 12.0)
        elif u < p429 + p500:
            r.status = 500
            r.out = 0
            r.obytes = ri(rng, 90, 200)
            r.ttfb = r.dur = base * rng.uniform(0.5, 3.0)
        else:
            r.status = 200
            if max_tokens is not None and out > max_tokens:
                out = max_tokens
            if out < 1:
                out = 1
            total = out * (n or 1)
            r.out = total
            ttfb = base * rng.lognormvariate(0.0, 0.35) + conv.pbytes / PREFILL_BPMS
            gen = total * 1000.0 / (tps * rng.uniform(0.8, 1.25))
            dur = ttfb + gen
            bpt = rng.uniform(3.6, 4.8)
            if stream:
                per = 165.0 if path != "/v1/messages" else 120.0
                ob = 420 + total * (bpt + per)
            else:
                ob = 330 + total * bpt
                ttfb = dur - rng.uniform(0.3, 3.0)
            if logprobs:
                ob += total * (60 + 48 * (top_logprobs or 0))
            r.obytes = int(ob)
            r.ttfb = max(ttfb, 0.5)
            r.dur = dur
        r.conn = client.conn(self, t, t + r.dur / 1000.0, ip)
        return r


def ri(rng, lo, hi):
    """A random integer in [lo, hi) (cheaper than randrange)."""
    return lo + int(rng.random() * (hi - lo))


def lognorm(rng, median, sigma):
    return median * math.exp(rng.gauss(0.0, sigma)) if sigma > 0 else median


def weighted(spec):
    """'a:3,b:1' -> (names, cumulative weights)."""
    names, cum, tot = [], [], 0.0
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, w = item.partition(":")
        tot += float(w) if w else 1.0
        names.append(name)
        cum.append(tot)
    if not names:
        raise SystemExit("scenario.py: empty list %r" % spec)
    return names, cum


def pick(rng, wl):
    names, cum = wl
    return names[bisect.bisect_right(cum, rng.random() * cum[-1])]


def names_list(spec):
    return [x.strip() for x in spec.split(",") if x.strip()]


def stack_choice(rng):
    return pick(rng, ([s for s, _ in LEGIT_STACKS],
                      list(itertools.accumulate(w for _, w in LEGIT_STACKS))))


def raw_key(rng, prefix="sk-"):
    return prefix + "%032x" % rng.getrandbits(128)


def label(population, style, actor, campaign):
    return {"population": population, "style": style, "actor": actor, "campaign": campaign}


# ------------------------------------------------------------ populations


class Opt:
    def __init__(self, name, typ, default, help, scaled=False):
        self.name, self.typ, self.default, self.help, self.scaled = name, typ, default, help, scaled


def campaign_request_opts(logprobs, reasoning, cap, stream, output, temperature):
    """What a campaign's requests ask for: the options of the styles that
    share CampaignStyle's full set."""
    return [
        Opt("logprobs-share", float, logprobs, "share with logprobs"),
        Opt("top-logprobs", int, 5, "top_logprobs"),
        Opt("reasoning-share", float, reasoning, "share with reasoning parameters"),
        Opt("cap-share", float, cap, "share with max_tokens at the cap (else half of it)"),
        Opt("stream-share", float, stream, "share that stream"),
        Opt("output-median", float, output, "median answer tokens"),
        Opt("temperature", float, temperature, "temperature"),
        Opt("model", str, "dg-large", "model"),
        Opt("p429", float, 0.001, "share of 429 answers"),
    ]


POPS = {
    "chat": ("interactive chat users", [
        Opt("users", int, 3000, "users (one key each)", True),
        Opt("sessions-per-day", float, 8.0, "mean sessions per user per day (diurnal)"),
        Opt("turns-mean", float, 6.0, "mean turns per session"),
        Opt("turns-max", int, 40, "most turns in a session"),
        Opt("think-median", float, 20.0, "median think time between turns, s"),
        Opt("think-sigma", float, 1.2, "log-normal sigma of the think time (heavy tail)"),
        Opt("think-max", float, 1800.0, "longest think time, s"),
        Opt("output-median", float, 300.0, "median answer tokens"),
        Opt("output-sigma", float, 0.9, "log-normal sigma of answer tokens"),
        Opt("stream-share", float, 0.85, "share of users whose client streams"),
        Opt("reasoning-share", float, 0.04, "share of requests with reasoning parameters"),
        Opt("cot-share", float, 0.02, "share of turns asking for step-by-step answers"),
        Opt("anthropic-share", float, 0.25, "share of users on /v1/messages"),
        Opt("nokey-share", float, 0.02, "share of users without a key (named by address)"),
        Opt("ipv6-share", float, 0.3, "share of users on IPv6"),
        Opt("mobile-share", float, 0.15, "share of sessions from a second (mobile) address"),
        Opt("common-system", float, 0.6, "share of users with a common client system prompt"),
        Opt("custom-system", float, 0.25, "share with their own system prompt (rest: none)"),
        Opt("models", str, "dg-small:5,dg-large:3,gpt-4o-mini:1,claude-sonnet-4:1",
            "models and weights"),
        Opt("topics", str, ",".join(CHAT_TOPICS), "conversation topics"),
        Opt("p429", float, 0.001, "share of 429 answers"),
    ]),
    "agent": ("coding agents (bursty tool loops)", [
        Opt("agents", int, 150, "agents (one key each)", True),
        Opt("loop-median", float, 25.0, "median requests per tool loop"),
        Opt("loop-max", int, 120, "most requests in a loop"),
        Opt("step-median", float, 1.2, "median tool time between requests, s"),
        Opt("step-sigma", float, 0.9, "log-normal sigma of tool time"),
        Opt("idle-median", float, 300.0, "median idle time between loops, s"),
        Opt("idle-sigma", float, 1.0, "log-normal sigma of idle time"),
        Opt("output-median", float, 150.0, "median tokens of a tool-call answer"),
        Opt("final-median", float, 600.0, "median tokens of a loop's last answer"),
        Opt("result-median", float, 300.0, "median corpus tokens of a tool result"),
        Opt("second-ip-share", float, 0.3, "share of agents with a second address"),
        Opt("reasoning-share", float, 0.3, "share of agents sending reasoning parameters"),
        Opt("stream-share", float, 0.9, "share of agents that stream"),
        Opt("anthropic-share", float, 0.5, "share of agents on /v1/messages"),
        Opt("models", str, "dg-coder:3,claude-sonnet-4:2,dg-large:1", "models and weights"),
        Opt("products", str, ",".join(AGENT_PRODUCTS), "agent products (system prompts)"),
        Opt("context-cap", int, 400000, "prompt bytes at which an agent compacts its context"),
        Opt("p429", float, 0.002, "share of 429 answers"),
    ]),
    "batch": ("legitimate heavy batch jobs", [
        Opt("jobs", int, 3, "jobs (one key, one address each)", True),
        Opt("rates", str, "6,2,1", "requests per second of each job (cycled)"),
        Opt("jitter", float, 0.1, "relative jitter of the inter-arrival time"),
        Opt("templates", str, "batch-sentiment,batch-extract,batch-summarise,batch-translate,"
            "batch-ticket", "one template per job (cycled)"),
        Opt("models", str, "dg-small,dg-small,dg-large", "model of each job (cycled)"),
        Opt("temperature", float, 0.0, "temperature (fixed)"),
        Opt("requests", int, 0, "requests per job (0: run throughout)"),
        Opt("start", float, 0.0, "jobs start within this fraction of the duration"),
        Opt("p429", float, 0.01, "share of 429 answers"),
    ]),
    "eval": ("evaluation harnesses", [
        Opt("harnesses", int, 2, "harnesses (one key, one address each)", True),
        Opt("questions", int, 3000, "questions per burst"),
        Opt("bursts", int, 1, "bursts per harness"),
        Opt("concurrency", int, 16, "parallel workers per harness"),
        Opt("gap-ms", float, 20.0, "pause of a worker between requests, ms"),
        Opt("benchmarks", str, "eval-mcq,eval-math,eval-code,eval-qa", "benchmark formats"),
        Opt("logprobs-share", float, 0.5, "share of multiple-choice items with logprobs"),
        Opt("top-logprobs", str, "5,20", "top_logprobs when logprobs are asked, of each "
            "harness (cycled; 20 is the API's maximum)"),
        Opt("bias-share", float, 0.5, "share of items with logprobs that also bias the answer "
            "letters (one fixed set of ids)"),
        Opt("cot-share", float, 0.15, "share of math items in the benchmark's CoT format"),
        Opt("models", str, "dg-large,dg-small", "model of each harness (cycled)"),
        Opt("start-max", float, 0.7, "bursts start within this fraction of the duration"),
        Opt("p429", float, 0.002, "share of 429 answers"),
    ]),
    "loud": ("campaign style 1: one loud key", [
        Opt("campaigns", int, 1, "loud campaigns (one key, one address each)", True),
        Opt("rate", float, 2.0, "requests per second"),
        Opt("jitter", float, 0.05, "relative jitter of the inter-arrival time"),
        Opt("templates", str, "cot-code-1,cot-math-1,cot-logic-1", "templates"),
        Opt("paraphrase", float, 0.0, "probability that a slot takes a random paraphrase"),
        Opt("logprobs-share", float, 1.0, "share of requests with logprobs"),
        Opt("top-logprobs", int, 5, "top_logprobs"),
        Opt("n", int, 1, "n (choices per request)"),
        Opt("temperature", float, 0.7, "temperature"),
        Opt("reasoning-share", float, 0.5, "share with reasoning parameters"),
        Opt("stream-share", float, 0.1, "share that stream"),
        Opt("output-median", float, 2000.0, "median answer tokens (capped at the cap)"),
        Opt("model", str, "dg-large", "model"),
        Opt("p429", float, 0.03, "share of 429 answers"),
    ]),
    "hydra": ("campaign style 2: many keys behind a few proxies", [
        Opt("campaigns", int, 1, "hydra campaigns"),
        Opt("keys", int, 200, "keys per campaign", True),
        Opt("proxies", int, 10, "proxy addresses per campaign", True),
        Opt("subnets", int, 2, "/24s holding the proxy addresses"),
        Opt("rate", float, 2.0, "requests per minute per key"),
        Opt("jitter", float, 0.02, "relative jitter of the inter-arrival time"),
        Opt("templates", str, "cot-code-2,cot-math-1", "templates"),
        Opt("paraphrase", float, 0.0, "paraphrase probability per slot"),
        Opt("preamble-share", float, 0.0,
            "share of requests opening with a line of their own (no shared frame; "
            "templates without a system prompt)"),
        Opt("logprobs-share", float, 0.5, "share with logprobs"),
        Opt("top-logprobs", int, 5, "top_logprobs"),
        Opt("reasoning-share", float, 0.5, "share with reasoning parameters"),
        Opt("stream-share", float, 0.0, "share that stream"),
        Opt("output-median", float, 1800.0, "median answer tokens"),
        Opt("temperature", float, 0.7, "temperature"),
        Opt("model", str, "dg-large", "model"),
        Opt("stack", str, "python", "TLS stack (JA4) shared by all keys"),
        Opt("p429", float, 0.001, "share of 429 answers"),
    ]),
    "lowslow": ("campaign style 3: low-and-slow hydra", [
        Opt("campaigns", int, 1, "low-and-slow campaigns"),
        Opt("keys", int, 500, "keys per campaign", True),
        Opt("addresses", int, 300, "addresses per campaign", True),
        Opt("subnets", int, 12, "/24s holding the addresses"),
        Opt("rate", float, 0.3, "requests per minute per key"),
        Opt("jitter", float, 0.6, "log-normal sigma of the inter-arrival time"),
        Opt("templates", str, "cot-code-1,cot-math-2,cot-logic-1,cot-agent-1", "templates"),
        Opt("paraphrase", float, 0.4, "paraphrase probability per slot"),
        Opt("stickiness", float, 0.85, "share of a key's requests from its home address"),
        Opt("stacks", str, "python,node,go", "TLS stacks (JA4s) of the keys"),
    ] + campaign_request_opts(logprobs=0.2, reasoning=0.3, cap=0.8, stream=0.5, output=1500.0,
                              temperature=0.6)),
    "waves": ("campaign style 5: keys driven in lockstep waves, each request its own frame", [
        Opt("campaigns", int, 1, "wave campaigns"),
        Opt("keys", int, 80, "keys per campaign", True),
        Opt("addresses", int, 80, "addresses per campaign (each key keeps its own)", True),
        Opt("subnets", int, 40, "/24s holding the addresses"),
        Opt("on", float, 2.0, "minutes a wave runs"),
        Opt("off", float, 2.0, "minutes between waves"),
        Opt("rate", float, 3.0, "requests per minute per key during a wave"),
        Opt("jitter", float, 0.3, "relative jitter of the inter-arrival time in a wave"),
        Opt("offset", float, 10.0, "seconds: each key starts a wave up to this late"),
        Opt("templates", str, "cot-math-2,cot-logic-1,cot-agent-1", "templates"),
        Opt("paraphrase", float, 0.5, "paraphrase probability per slot"),
        Opt("preamble-share", float, 1.0,
            "share of requests opening with a line of their own (no shared frame)"),
        Opt("stacks", str, "python,node,go", "TLS stacks (JA4s) of the keys"),
    ] + campaign_request_opts(logprobs=0.1, reasoning=0.3, cap=0.8, stream=0.3, output=1500.0,
                              temperature=0.7)),
    "mixed": ("campaign style 4: a commercial proxy carrying customers and a campaign", [
        Opt("proxies", int, 1, "commercial proxies (each with its own campaign)"),
        Opt("addresses", int, 4, "addresses per proxy"),
        Opt("stack", str, "envoy", "the proxy's TLS stack (JA4)"),
        Opt("customers", int, 40, "ordinary customers' keys per proxy", True),
        Opt("agent-share", float, 0.4, "share of customers that are coding agents"),
        Opt("keys", int, 40, "campaign keys per proxy", True),
        Opt("rate", float, 1.0, "requests per minute per campaign key"),
        Opt("jitter", float, 0.2, "log-normal sigma of the campaign's inter-arrival time"),
        Opt("templates", str, "cot-code-2,cot-reason-2", "campaign templates"),
        Opt("paraphrase", float, 0.2, "paraphrase probability per slot"),
    ] + campaign_request_opts(logprobs=0.3, reasoning=0.5, cap=0.9, stream=0.3, output=1500.0,
                              temperature=0.7)),
    "corp": ("a company's internal tool: per-employee keys behind its egress, one system prompt", [
        Opt("companies", int, 1, "companies"),
        Opt("users", int, 60, "employees' keys per company", True),
        Opt("addresses", int, 2, "egress addresses per company"),
        Opt("template", str, "corp-review", "the tool's template (single-turn)"),
        Opt("tls", str, "java", "the tool's TLS client (JA4)"),
        Opt("sessions-per-hour", float, 3.0, "times an employee uses the tool per hour"),
        Opt("requests-mean", float, 2.0, "requests per use"),
        Opt("pause-median", float, 45.0, "seconds between requests of one use"),
        Opt("model", str, "dg-large", "model"),
        Opt("temperature", float, 0.2, "temperature"),
        Opt("p429", float, 0.002, "share of 429 answers"),
    ]),
    "stack": ("campaign style 6: keys tied only by their own TLS client, each request its own frame", [
        Opt("campaigns", int, 1, "such campaigns"),
        Opt("keys", int, 60, "keys per campaign", True),
        Opt("addresses", int, 60, "addresses per campaign (each key keeps its own)", True),
        Opt("subnets", int, 30, "/24s holding the addresses"),
        Opt("tls", str, "scraper", "the campaign's TLS client (JA4), shared by all keys"),
        Opt("rate", float, 0.5, "requests per minute per key"),
        Opt("jitter", float, 0.6, "log-normal sigma of the inter-arrival time"),
        Opt("templates", str, "cot-math-2,cot-logic-1,cot-agent-1", "templates (none with a system prompt)"),
        Opt("paraphrase", float, 0.5, "paraphrase probability per slot"),
        Opt("preamble-share", float, 1.0,
            "share of requests opening with a line of their own (no shared frame)"),
    ] + campaign_request_opts(logprobs=0.1, reasoning=0.3, cap=0.8, stream=0.3, output=1500.0,
                              temperature=0.7)),
    "logit": ("campaign style 7: logit extraction from one key (logit_bias sweeps, "
              "one-token answers, top_logprobs at the maximum)", [
        Opt("campaigns", int, 1, "such campaigns (one key, one address each)", True),
        Opt("rate", float, 1.0, "requests per second"),
        Opt("jitter", float, 0.2, "relative jitter of the inter-arrival time"),
        Opt("ids", int, 300, "token ids biased in each request"),
        Opt("vocab", int, 100000, "vocabulary swept"),
        Opt("sets-per-prompt", int, 40, "bias sets tried on one prompt before the next"),
        Opt("prompt-words", int, 25, "median words of a prompt"),
        Opt("top-logprobs", int, 20, "top_logprobs (the API's maximum)"),
        Opt("max-tokens", int, 1, "max_tokens"),
        Opt("model", str, "dg-large", "model"),
        Opt("p429", float, 0.005, "share of 429 answers"),
    ]),
    "logitspread": ("campaign style 8: logit extraction spread over many keys", [
        Opt("campaigns", int, 1, "such campaigns"),
        Opt("keys", int, 150, "keys per campaign", True),
        Opt("addresses", int, 60, "addresses per campaign", True),
        Opt("subnets", int, 30, "/24s holding them"),
        Opt("rate", float, 0.6, "requests per minute per key"),
        Opt("jitter", float, 0.8, "log-normal sigma of the inter-arrival time"),
        Opt("prompts", int, 12, "prompts swept at once (each key takes them in turn)"),
        Opt("ids", int, 300, "token ids biased in each request"),
        Opt("vocab", int, 100000, "vocabulary swept"),
        Opt("sets-per-prompt", int, 40, "bias sets tried on one prompt before the next"),
        Opt("prompt-words", int, 25, "median words of a prompt"),
        Opt("top-logprobs", int, 20, "top_logprobs"),
        Opt("max-tokens", int, 1, "max_tokens"),
        Opt("stacks", str, "python,node,go", "TLS stacks of the keys"),
        Opt("model", str, "dg-large", "model"),
        Opt("p429", float, 0.005, "share of 429 answers"),
    ]),
    "sparse": ("campaign style 9: very many keys, one or two requests an hour each", [
        Opt("campaigns", int, 1, "such campaigns"),
        # Not scaled by --scale: a sparse campaign is its crowd (each key
        # alone says nothing), and a third of it would be another campaign.
        # The public reports: about 25,000 accounts, 26 requests a day each.
        Opt("keys", int, 2000, "keys per campaign (not scaled)"),
        Opt("addresses", int, 1600, "addresses per campaign (residential, many /16s; "
            "not scaled)"),
        Opt("subnets", int, 800, "/24s holding them"),
        Opt("rate", float, 1.5, "requests per hour per key"),
        Opt("templates", str, "tail-cot,tail-explain,cot-math-1,cot-reason-2", "templates"),
        Opt("paraphrase", float, 0.4, "paraphrase probability per slot"),
        Opt("stacks", str, "python,node,go", "TLS stacks of the keys"),
    ] + campaign_request_opts(logprobs=0.1, reasoning=0.3, cap=0.8, stream=0.4, output=1500.0,
                              temperature=0.7)),
    "rush": ("campaign style 10: fresh keys that rush a newly released model", [
        Opt("campaigns", int, 1, "such campaigns"),
        Opt("keys", int, 80, "keys per campaign", True),
        Opt("addresses", int, 40, "addresses per campaign", True),
        Opt("subnets", int, 20, "/24s holding them"),
        Opt("lag", float, 300.0, "seconds: the keys start within this after the release"),
        Opt("new-share", float, 0.8, "share of their requests on the new model"),
        Opt("rate", float, 1.0, "requests per minute per key"),
        Opt("jitter", float, 0.5, "log-normal sigma of the inter-arrival time"),
        Opt("templates", str, "cot-code-1,cot-reason-2,tail-code", "templates"),
        Opt("paraphrase", float, 0.4, "paraphrase probability per slot"),
        Opt("stacks", str, "python,go", "TLS stacks of the keys"),
    ] + campaign_request_opts(logprobs=0.2, reasoning=0.5, cap=0.8, stream=0.3, output=1500.0,
                              temperature=0.7)),
    "mimic": ("campaign style 11: imitates customers: a fake second turn now and then, "
              "jittered timing with pauses, addresses over many /16s", [
        Opt("campaigns", int, 1, "such campaigns"),
        # Not scaled either: its keys imitate customers one by one, and what
        # gives them away is how many share its templates.
        Opt("keys", int, 150, "keys per campaign (not scaled)"),
        Opt("addresses", int, 150, "addresses per campaign (not scaled)"),
        Opt("subnets", int, 150, "/24s holding them (spread over the pool's /16s)"),
        Opt("rate", float, 0.6, "requests per minute per key"),
        Opt("jitter", float, 1.0, "log-normal sigma of the inter-arrival time"),
        Opt("pause-share", float, 0.1, "share of gaps that are a pause of minutes"),
        Opt("turn-share", float, 0.3, "share of requests with a fake second turn"),
        Opt("fake-answer", float, 0.5, "length of the fake answer in the second turn, "
            "as a share of a real one"),
        Opt("templates", str, "cot-math-2,cot-code-2,cot-reason-2,tail-explain", "templates"),
        Opt("paraphrase", float, 0.6, "paraphrase probability per slot"),
        Opt("stacks", str, "python,node,chrome", "TLS stacks of the keys"),
    ] + campaign_request_opts(logprobs=0.0, reasoning=0.2, cap=0.5, stream=0.7, output=1200.0,
                              temperature=0.8)),
    "class": ("pupils of a class: one worksheet template behind the school's address, "
              "starting together when a lesson starts", [
        Opt("schools", int, 2, "schools (one address each)"),
        Opt("classes", int, 2, "classes per school (lessons at different times)"),
        Opt("students", int, 28, "pupils per class (one key each)", True),
        Opt("lesson", float, 45.0, "minutes a lesson lasts"),
        Opt("first-median", float, 60.0, "median seconds from the lesson's start to a pupil's "
            "first question"),
        Opt("template", str, "class-maths", "the worksheet's template"),
        Opt("followup-share", float, 0.5, "share of answers followed by a question on them"),
        Opt("think-median", float, 90.0, "median seconds between an answer and the next question"),
        Opt("think-sigma", float, 0.8, "log-normal sigma of the think time"),
        Opt("stacks", str, "chrome:7,firefox:2,okhttp:1", "TLS clients (browsers, a school app)"),
        Opt("model", str, "dg-small", "model"),
        Opt("p429", float, 0.002, "share of 429 answers"),
    ]),
    "staff": ("a company's staff on its internal assistant: one system prompt, one egress, "
              "conversations, long answers", [
        Opt("companies", int, 1, "companies"),
        Opt("users", int, 50, "employees' keys per company", True),
        Opt("addresses", int, 1, "egress addresses per company"),
        Opt("template", str, "staff-assist", "the assistant's template"),
        Opt("sessions-per-hour", float, 1.5, "conversations an employee starts per hour"),
        Opt("turns-mean", float, 3.0, "mean turns per conversation"),
        Opt("think-median", float, 60.0, "median seconds between an answer and the next turn"),
        Opt("think-sigma", float, 1.0, "log-normal sigma of the think time"),
        Opt("stacks", str, "chrome:8,firefox:2", "TLS clients (the assistant's web page)"),
        Opt("model", str, "dg-large", "model"),
        Opt("p429", float, 0.002, "share of 429 answers"),
    ]),
}


class P:
    """Options of one population, as attributes (dashes -> underscores)."""

    def __init__(self, opts, pop):
        for o in POPS[pop][1]:
            k = o.name.replace("-", "_")
            v = getattr(opts, "%s_%s" % (pop, k))
            if o.scaled and v > 0:
                # at least one of each when scaled down, none at --scale 0
                v = max(1, int(round(v * opts.scale))) if opts.scale > 0 else 0
            setattr(self, k, v)


def template(name):
    t = TEMPLATES.get(name)
    if t is None:
        raise SystemExit("scenario.py: no template %r (see --list-templates)" % name)
    return t


def campaign_conv(ctx, tpl, anth, cache):
    """The base conversation of a template: its system prompt, if any."""
    key = (id(tpl), anth)
    c = cache.get(key)
    if c is None:
        c = Conv(ctx.hasher, anth)
        if tpl.get("system"):
            c.add_system(built_of(tpl["system"]))
        cache[key] = c
    return c


# -- chat --------------------------------------------------------------------

def next_arrival(ctx, rng, t, rate, tz):
    """Next event of a Poisson process of mean rate `rate` (per second)
    modulated by the diurnal curve at the actor's local time."""
    lmax = rate * (1.0 + ctx.amp)
    if lmax <= 0:
        return float("inf")
    while True:
        t += rng.expovariate(lmax)
        if t >= ctx.end or rng.random() * (1.0 + ctx.amp) < ctx.diurnal(t, tz):
            return t


def gen_chat(ctx, p, rng, client, ips, via_proxy):
    corpus = ctx.corpus
    topics = [part_of(x) for x in names_list(p.topics)]
    models = weighted(p.models)
    tz = rng.choice(ctx.tzs)
    model = pick(rng, models)
    anth = rng.random() < p.anthropic_share
    path = "/v1/messages" if anth else "/v1/chat/completions"
    stream = rng.random() < p.stream_share
    temp = rng.choice([None, None, 0.7, 1.0, 0.5])
    max_tokens = rng.choice([None, None, 1024, 2048, 4096])
    if anth and max_tokens is None:
        max_tokens = rng.choice([1024, 4096])
    u = rng.random()
    if u < p.common_system:
        stext = rng.choice(CHAT_SYSTEMS)
        system = T(stext).build(rng, {"D": [part_of(
            time.strftime("%Y-%m-%d", time.gmtime(ctx.start)))]})
    elif u < p.common_system + p.custom_system:
        system = T("You are {R}. {P}").build(rng, {
            "R": [part_of(rng.choice(CHAT_PERSONAS))],
            "P": [corpus.random_piece(rng, ri(rng, 5, 40))]})
    else:
        system = None
    base = Conv(ctx.hasher, anth)
    if system is not None:
        base.add_system(system)
    switch = ctx.switch_time(rng, False)
    rate = p.sessions_per_day / 86400.0
    t = next_arrival(ctx, rng, ctx.t0, rate, tz)
    while t < ctx.end:
        if rng.random() < 0.1:
            model = pick(rng, models)
        ip = ips[0]
        if not via_proxy and len(ips) > 1 and rng.random() < p.mobile_share:
            ip = ips[1]
        conv = base.fork()
        topic = rng.choice(topics)
        turns = 1 + int(rng.expovariate(1.0 / max(0.01, p.turns_mean - 1.0)))
        turns = min(turns, p.turns_max)
        reasoning = rng.random() < p.reasoning_share   # a per-session toggle
        for turn in range(turns):
            if via_proxy:
                ip = ips[int(rng.random() * len(ips))]
            if turn == 0:
                tpl = T(rng.choice(CHAT_OPENERS))
                payload = [corpus.random_piece(rng, ri(rng, 5, 60))]
            else:
                tpl = T(rng.choice(CHAT_FOLLOWUPS))
                payload = [corpus.random_piece(rng, ri(rng, 3, 30))]
            raws, norm, parts, rawlen = tpl.build(rng, {"T": [topic], "P": payload}, 0.5)
            if rng.random() < p.cot_share:
                c = part_of(CHAT_COT)
                raws.append(" ")
                raws.append(c[0])
                norm = norm + " " + c[1]
                parts.append(c)
                rawlen += 1 + c[8]
            conv.add("user", (raws, norm, parts, rawlen))
            m = ctx.new_model if switch is not None and t >= switch else model
            out = int(lognorm(rng, p.output_median, p.output_sigma)) + 1
            cap = max_tokens or ctx.cap
            if reasoning:
                out = int(out * rng.uniform(1.5, 3.0))
            out = min(out, cap)
            r = ctx.request(rng, client, t, ip, path, m, stream, conv, max_tokens, None, temp,
                            False, None, False, reasoning, out, p.p429)
            yield r
            end = t + r.dur / 1000.0
            # the answer joins the context (about 0.75 words per token)
            ans = corpus.random_piece(rng, max(1, int(r.out * 0.75)))
            conv.add("assistant", single(ans))
            think = min(lognorm(rng, p.think_median, p.think_sigma), p.think_max)
            t = end + think + r.out * 0.012
            if t >= ctx.end:
                return
        t = next_arrival(ctx, rng, t, rate, tz)


# -- agent -------------------------------------------------------------------

def gen_agent(ctx, p, rng, client, ips, via_proxy):
    corpus = ctx.corpus
    products = names_list(p.products)
    product = rng.choice(products)
    if product not in AGENT_PRODUCTS:
        raise SystemExit("scenario.py: no agent product %r" % product)
    models = weighted(p.models)
    model = pick(rng, models)
    anth = rng.random() < p.anthropic_share
    path = "/v1/messages" if anth else "/v1/chat/completions"
    stream = rng.random() < p.stream_share
    reasoning = rng.random() < p.reasoning_share
    temp = {"agent-cli": None, "agent-ide": 0.2, "agent-ci": 0.0, "agent-review": 0.3}.get(product)
    max_tokens = {"agent-cli": 4096, "agent-ide": 2048, "agent-ci": 2048,
                  "agent-review": 1024}.get(product, 4096)
    tz = rng.choice(ctx.tzs)
    switch = ctx.switch_time(rng, False)
    system = built_of(agent_system(product))
    base = Conv(ctx.hasher, anth)
    base.add_system(system)
    tool_role = "user" if anth else "tool"
    t = ctx.t0 + rng.uniform(0.0, 2 * p.idle_median)
    while t < ctx.end:
        ip = ips[0] if len(ips) == 1 or rng.random() < 0.7 else ips[1]
        conv = base.fork()
        task = T(rng.choice(AGENT_TASKS)).build(
            rng, {"P": [corpus.random_piece(rng, ri(rng, 8, 40))]}, 0.5)
        conv.add("user", task)
        steps = min(p.loop_max, 1 + int(lognorm(rng, p.loop_median, 0.6)))
        for s in range(steps):
            if via_proxy:
                ip = ips[int(rng.random() * len(ips))]
            last = s == steps - 1
            out = int(lognorm(rng, p.final_median if last else p.output_median, 0.7)) + 1
            if reasoning:
                out = int(out * rng.uniform(1.3, 2.5))
            m = ctx.new_model if switch is not None and t >= switch else model
            r = ctx.request(rng, client, t, ip, path, m, stream, conv, max_tokens, None, temp,
                            False, None, False, reasoning, min(out, max_tokens), p.p429)
            yield r
            t += r.dur / 1000.0
            if last or t >= ctx.end:
                break
            tool = AGENT_TOOLS[int(rng.random() * len(AGENT_TOOLS))][0]
            call = T("Calling {tool|the tool} " + tool + " with {P}").build(
                rng, {"P": [corpus.random_piece(rng, ri(rng, 4, 20))]}, 0.5)
            res = corpus.random_piece(rng, int(min(3000, lognorm(rng, p.result_median, 1.0))) + 1)
            conv.add("assistant", call)
            conv.add(tool_role, single(res))
            if conv.pbytes > p.context_cap:
                # compaction: a fresh context with a summary of the work so far
                summ = corpus.random_piece(rng, 400)
                conv = base.fork()
                conv.add("user", single(summ))
            t += min(lognorm(rng, p.step_median, p.step_sigma), 120.0)
        # idle until the next task, longer outside working hours
        t += lognorm(rng, p.idle_median, p.idle_sigma) / max(0.2, ctx.diurnal(t, tz))


# -- batch -------------------------------------------------------------------

def gen_batch(ctx, p, rng, client, ip, tpl, model, rate):
    corpus = ctx.corpus
    base = campaign_conv(ctx, tpl, False, {})
    ut = T(tpl["user"])
    detail = "Q" in ut.vars
    lo, hi = tpl["payload"]
    olo, ohi = tpl["out"]
    interval = 1.0 / rate
    t = ctx.start + rng.uniform(0.0, p.start) * (ctx.end - ctx.start) \
        if p.start > 0 else ctx.start - rng.uniform(0.0, interval)
    count = 0
    temp = p.temperature
    mt = tpl["max_tokens"]
    while t < ctx.end:
        conv = base.fork()
        # the payload and a title or subject: pieces that never share a
        # shingle (the template text between them has 3 words or more)
        fill = {"P": [corpus.random_piece(rng, ri(rng, lo, hi + 1))]}
        if detail:
            fill["Q"] = [corpus.random_piece(rng, ri(rng, 3, 9))]
        else:
            fill["P"] = corpus.chunks(rng, ri(rng, lo, hi + 1))
        conv.add("user", ut.build(rng, fill))
        out = ri(rng, olo, ohi + 1)
        yield ctx.request(rng, client, t, ip, "/v1/chat/completions", model, False, conv, mt,
                          None, temp, False, None, False, False, out, p.p429)
        count += 1
        if p.requests and count >= p.requests:
            return
        t += interval * (1.0 + p.jitter * (2.0 * rng.random() - 1.0))


def gen_corp(ctx, p, rng, client, ips, tpl):
    """One employee of a company using its internal tool during working
    hours (the simulated hour is one): uses at random times, a few
    single-turn requests each, through the company's egress addresses."""
    corpus = ctx.corpus
    base = campaign_conv(ctx, tpl, False, {})
    ut = T(tpl["user"])
    lo, hi = tpl["payload"]
    olo, ohi = tpl["out"]
    rate = p.sessions_per_hour / 3600.0
    t = ctx.t0 + rng.expovariate(rate)
    while t < ctx.end:
        n = 1 + int(rng.expovariate(1.0 / max(0.01, p.requests_mean - 1.0)))
        for _ in range(n):
            conv = base.fork()
            fill = {"Q": [corpus.random_piece(rng, ri(rng, 3, 9))],
                    "P": [corpus.random_piece(rng, ri(rng, lo, hi + 1))]}
            conv.add("user", ut.build(rng, fill))
            r = ctx.request(rng, client, t, ips[int(rng.random() * len(ips))],
                            "/v1/chat/completions", p.model, False, conv, tpl["max_tokens"],
                            None, p.temperature, False, None, False, False,
                            ri(rng, olo, ohi + 1), p.p429)
            yield r
            t += r.dur / 1000.0 + lognorm(rng, p.pause_median, 0.8)
            if t >= ctx.end:
                return
        t += rng.expovariate(rate)


# -- eval --------------------------------------------------------------------

SUBJECTS = ["astronomy", "anatomy", "world history", "computer security", "econometrics",
            "formal logic", "high school physics", "jurisprudence", "marketing", "virology",
            "college chemistry", "philosophy", "nutrition", "sociology", "machine learning"]


def gen_eval(ctx, p, rng, client, ip, model, top_logprobs):
    corpus = ctx.corpus
    benches = names_list(p.benchmarks)
    for b in benches:
        template(b)
    starts = sorted(ctx.start + rng.uniform(0.0, p.start_max) * (ctx.end - ctx.start)
                    for _ in range(p.bursts))
    t_free = ctx.t0
    for bstart in starts:
        t0 = max(bstart, t_free)
        if t0 >= ctx.end:
            return
        # questions in benchmark order, split evenly
        order = []
        per = max(1, p.questions // len(benches))
        for i, b in enumerate(benches):
            k = per if i < len(benches) - 1 else p.questions - per * (len(benches) - 1)
            order.extend([b] * max(0, k))
        workers = [(t0 + rng.uniform(0.0, 1.0), w) for w in range(max(1, p.concurrency))]
        heapq.heapify(workers)
        qi = 0
        last_end = t0
        while qi < len(order):
            t, w = heapq.heappop(workers)
            if t >= ctx.end:
                return
            tpl = TEMPLATES[order[qi]]
            qi += 1
            fill = {"Q": corpus.chunks(rng, ri(rng, *tpl["payload"]), 3)}
            logprobs, top, bias = False, None, False
            user = tpl["user"]
            if tpl.get("mcq"):
                fill["S"] = [part_of(rng.choice(SUBJECTS))]
                for k in ("O1", "O2", "O3", "O4"):
                    fill[k] = [corpus.random_piece(rng, ri(rng, 2, 8))]
                if rng.random() < p.logprobs_share:
                    logprobs, top = True, top_logprobs
                    if rng.random() < p.bias_share:
                        bias = MCQ_LETTER_IDS
            if "context" in tpl:
                fill["C"] = [corpus.random_piece(rng, ri(rng, *tpl["context"]))]
            if "user_cot" in tpl and rng.random() < p.cot_share:
                user = tpl["user_cot"]
            conv = Conv(ctx.hasher, False)
            if tpl.get("system"):
                conv.add_system(built_of(tpl["system"]))
            conv.add("user", T(user).build(rng, fill))
            out = ri(rng, tpl["out"][0], tpl["out"][1] + 1)
            r = ctx.request(rng, client, t, ip, "/v1/chat/completions", model, False, conv,
                            tpl["max_tokens"], None, 0.0, logprobs, top, bias, False, out,
                            p.p429)
            yield r
            e = t + r.dur / 1000.0
            last_end = max(last_end, e)
            heapq.heappush(workers, (e + p.gap_ms / 1000.0 * rng.uniform(0.5, 1.5), w))
        t_free = last_end + 60.0


# -- campaigns ---------------------------------------------------------------

class CampaignStyle:
    """What a campaign's request looks like (shared by the styles)."""

    def __init__(self, ctx, p, rng, cid, cap_share=1.0, n=None):
        self.ctx = ctx
        self.p = p
        self.tpls = [template(x) for x in names_list(p.templates)]
        self.ut = [T(x["user"]) for x in self.tpls]
        self.detail = ["Q" in t.vars for t in self.ut]   # a second, shorter payload
        self.cache = {}
        self.cap_share = cap_share
        self.n = n
        self.switch = ctx.switch_time(rng, True)

    def request(self, rng, client, t, ip, model=None, fake_turn=False):
        """One request; model: this one rather than the campaign's; fake_turn:
        a second turn after a made-up answer (a campaign imitating a
        conversation)."""
        ctx, p = self.ctx, self.p
        i = int(rng.random() * len(self.tpls))
        tpl = self.tpls[i]
        stream = rng.random() < p.stream_share
        conv = campaign_conv(ctx, tpl, False, self.cache).fork()
        lo, hi = tpl["payload"]
        corpus = ctx.corpus
        fill = {"P": [corpus.random_piece(rng, ri(rng, lo, hi + 1))]}
        if self.detail[i]:
            fill["Q"] = [corpus.random_piece(rng, ri(rng, 4, 13))]
        # A campaign may borrow any template (--*-templates eval-qa, say):
        # fill the variables campaign templates do not have as the template's
        # own population does (a subject from the list, short options, a
        # passage of the template's context length).
        if tpl.get("mcq"):
            fill["S"] = [part_of(rng.choice(SUBJECTS))]
        if "context" in tpl:
            fill["C"] = [corpus.random_piece(rng, ri(rng, *tpl["context"]))]
        for v in sorted(self.ut[i].vars):
            if v not in fill:
                n = ri(rng, 2, 8) if v.startswith("O") else ri(rng, 4, 13)
                fill[v] = [corpus.random_piece(rng, n)]
        built = self.ut[i].build(rng, fill, getattr(p, "paraphrase", 0.0))
        if rng.random() < getattr(p, "preamble_share", 0.0):
            # A line of its own first: the frame (first line kept whole)
            # differs on every request, so no template is shared.
            pre = corpus.random_piece(rng, ri(rng, 5, 10))
            raws, norm, parts, rawlen = built
            built = ([pre[0], "\n"] + raws, pre[1] + " " + norm, (pre,) + tuple(parts),
                     rawlen + pre[8] + 1)
        conv.add("user", built)
        if fake_turn:
            fake = int(lognorm(rng, p.output_median, 0.6) * p.fake_answer * 0.75) + 1
            conv.add("assistant", single(corpus.random_piece(rng, fake)))
            conv.add("user", T(rng.choice(MIMIC_FOLLOWUPS)).build(
                rng, {"P": [corpus.random_piece(rng, ri(rng, 3, 15))]}, 0.5))
        logprobs = rng.random() < p.logprobs_share
        top = p.top_logprobs if logprobs and p.top_logprobs > 0 else None
        reasoning = rng.random() < p.reasoning_share
        mt = ctx.cap if rng.random() < self.cap_share else ctx.cap // 2
        out = int(lognorm(rng, p.output_median, 0.6))
        if model is None:
            model = p.model
            if self.switch is not None and t >= self.switch and \
                    rng.random() < ctx.opts.new_model_campaign_share:
                model = ctx.new_model
        return ctx.request(rng, client, t, ip, "/v1/chat/completions", model, stream, conv, mt,
                           self.n, p.temperature, logprobs, top, False, reasoning, out, p.p429)


def gen_loud(ctx, p, rng, client, ip, style):
    interval = 1.0 / p.rate
    t = ctx.start - rng.uniform(0.0, interval)
    while t < ctx.end:
        yield style.request(rng, client, t, ip)
        t += interval * (1.0 + p.jitter * (2.0 * rng.random() - 1.0))


def gen_hydra_key(ctx, p, rng, client, k, nk, proxies, style, t0):
    """One key of a hydra. The campaign's scheduler ticks every
    60/(rate*nk) seconds, round-robin over the keys and, independently, over
    the proxies: tick i goes to key i % nk through proxy (i + i // nk) % P,
    so each key sends every nk ticks, each time through the next proxy.
    --hydra-jitter moves each request by up to that share of a key's period."""
    npx = len(proxies)
    interval = 60.0 / (p.rate * nk)
    period = 60.0 / p.rate
    i = k
    while True:
        t = t0 + i * interval + period * p.jitter * (2.0 * rng.random() - 1.0)
        if t >= ctx.end:
            return
        yield style.request(rng, client, t, proxies[(i + i // nk) % npx])
        i += nk


def gen_wave_key(ctx, p, rng, client, ip, style, t0):
    """One key of a wave campaign: the scheduler runs waves of --waves-on
    minutes every on+off minutes for all keys at once; in a wave the key
    starts up to --waves-offset seconds late and sends at --waves-rate."""
    period, on = 60.0 * (p.on + p.off), 60.0 * p.on
    gap = 60.0 / p.rate
    w = 0
    while True:
        ws = t0 + w * period
        if ws >= ctx.end:
            return
        t = ws + rng.uniform(0.0, p.offset)
        while t < ws + on and t < ctx.end:
            if t >= ctx.start:
                yield style.request(rng, client, t, ip)
            t += gap * (1.0 + p.jitter * (2.0 * rng.random() - 1.0))
        w += 1


def gen_slow_key(ctx, p, rng, client, home, addrs, style, stickiness):
    """One key of a low-and-slow campaign (also the mixed proxy's keys):
    log-normally jittered inter-arrival times around 60/rate seconds."""
    mean = 60.0 / p.rate
    med = mean / math.exp(p.jitter ** 2 / 2.0)   # keep the mean rate
    t = ctx.start - rng.uniform(0.0, mean)
    while t < ctx.end:
        ip = home if home is not None and rng.random() < stickiness \
            else addrs[int(rng.random() * len(addrs))]
        yield style.request(rng, client, t, ip)
        t += lognorm(rng, med, p.jitter)


class LogitSweep:
    """A logit-extraction sweep (Carlini et al. 2024; Finlayson et al. 2024):
    prompts, each asked again and again with logit_bias pushing up one set
    of --ids token ids after another (the vocabulary in blocks, in a random
    order), one-token answers and top_logprobs at the maximum. Request i of
    key k is a function of (k, i) alone: keys are generated independently
    (in any worker process)."""

    def __init__(self, ctx, p, rng, nkeys, nprompts):
        self.ctx, self.p = ctx, p
        perm = list(range(p.vocab))
        rng.shuffle(perm)
        self.perm = perm
        self.ids = max(1, min(p.ids, p.vocab))
        self.nsets = max(1, p.vocab // self.ids)
        self.seed = rng.getrandbits(64)
        self.nkeys = max(1, nkeys)
        self.nprompts = max(1, nprompts)
        self.prompts = {}

    def bias_set(self, j):
        j %= self.nsets
        return self.perm[j * self.ids:(j + 1) * self.ids]

    def prompt(self, q):
        """The q-th prompt of the campaign (one line of text, no template)."""
        c = self.prompts.get(q)
        if c is None:
            if len(self.prompts) > 64:
                self.prompts.clear()
            prng = random.Random("%s/%d" % (self.seed, q))
            n = max(3, int(lognorm(prng, self.p.prompt_words, 0.4)))
            c = Conv(self.ctx.hasher, False)
            c.add("user", single(self.ctx.corpus.random_piece(prng, n)))
            self.prompts[q] = c
        return c

    def request(self, rng, client, t, ip, k, i):
        """Key k's i-th request: the keys take the prompts swept at once in
        turn, each bias set once."""
        p = self.p
        q = (k + i) % self.nprompts + self.nprompts * (i // p.sets_per_prompt)
        j = k * p.sets_per_prompt + i
        return self.ctx.request(rng, client, t, ip, "/v1/chat/completions", p.model, False,
                                self.prompt(q), p.max_tokens, None, None, True,
                                p.top_logprobs, self.bias_set(j), False, 1, p.p429)


def gen_logit_key(ctx, p, rng, client, ip, sweep, k, mean, sigma=None):
    """One key of a logit sweep: a request every `mean` seconds, jittered
    relatively (--logit-jitter) or log-normally (sigma)."""
    if sigma is not None:
        med = mean / math.exp(sigma ** 2 / 2.0)
    t = ctx.start - rng.uniform(0.0, mean)
    i = 0
    while t < ctx.end:
        yield sweep.request(rng, client, t, ip, k, i)
        i += 1
        if sigma is None:
            t += mean * (1.0 + p.jitter * (2.0 * rng.random() - 1.0))
        else:
            t += lognorm(rng, med, sigma)


def gen_sparse_key(ctx, p, rng, client, addrs, style):
    """One key of a sparse campaign: a Poisson process of --sparse-rate
    requests an hour, each through any address of the pool."""
    rate = p.rate / 3600.0
    t = ctx.t0 + rng.expovariate(rate)
    while t < ctx.end:
        yield style.request(rng, client, t, addrs[int(rng.random() * len(addrs))])
        t += rng.expovariate(rate)


def gen_rush_key(ctx, p, rng, client, ip, style, release, new_model):
    """One key of a rush to a new model: it starts within --rush-lag of the
    release and sends --rush-new-share of its requests to the new model."""
    mean = 60.0 / p.rate
    med = mean / math.exp(p.jitter ** 2 / 2.0)
    t = release + rng.uniform(0.0, p.lag)
    while t < ctx.end:
        m = new_model if rng.random() < p.new_share else p.model
        yield style.request(rng, client, t, ip, model=m)
        t += lognorm(rng, med, p.jitter)


def gen_mimic_key(ctx, p, rng, client, ip, style):
    """One key of a campaign imitating customers: log-normal gaps with a
    pause of minutes now and then, a fake second turn now and then."""
    mean = 60.0 / p.rate
    med = mean / math.exp(p.jitter ** 2 / 2.0)
    t = ctx.start - rng.uniform(0.0, mean)
    while t < ctx.end:
        yield style.request(rng, client, t, ip, fake_turn=rng.random() < p.turn_share)
        t += lognorm(rng, med, p.jitter)
        if rng.random() < p.pause_share:
            t += rng.uniform(300.0, 900.0)


def gen_student(ctx, p, rng, client, ip, tpl, lesson_start):
    """One pupil in a lesson: exercises pasted into the worksheet template,
    read, sometimes questioned again (a second turn with the answer), each
    after a think time; from shortly after the lesson starts to its end."""
    corpus = ctx.corpus
    ut = T(tpl["user"])
    lo, hi = tpl["payload"]
    olo, ohi = tpl["out"]
    lesson_end = min(ctx.end, lesson_start + 60.0 * p.lesson)
    t = lesson_start + lognorm(rng, p.first_median, 0.6)
    while t < lesson_end:
        conv = Conv(ctx.hasher, False)
        conv.add("user", ut.build(rng, {"P": [corpus.random_piece(rng, ri(rng, lo, hi + 1))]}))
        while True:
            out = int(math.exp(rng.uniform(math.log(olo), math.log(ohi))))
            r = ctx.request(rng, client, t, ip, "/v1/chat/completions", p.model, True, conv,
                            tpl["max_tokens"], None, None, False, None, False, False, out,
                            p.p429)
            yield r
            # reading the answer (about 15 tokens a second), then thinking
            t += r.dur / 1000.0 + r.out / 15.0 + lognorm(rng, p.think_median, p.think_sigma)
            if t >= lesson_end or rng.random() >= p.followup_share:
                break
            conv = conv.fork()
            conv.add("assistant", single(corpus.random_piece(rng, max(1, int(r.out * 0.75)))))
            conv.add("user", T(rng.choice(CLASS_FOLLOWUPS)).build(
                rng, {"n": [part_of(str(ri(rng, 1, 7)))],
                      "P": [corpus.random_piece(rng, ri(rng, 3, 15))]}, 0.5))


def gen_staff(ctx, p, rng, client, ips, tpl):
    """One employee: conversations with the company's assistant now and
    then, each a few turns apart by a think time, through its egress."""
    corpus = ctx.corpus
    base = campaign_conv(ctx, tpl, False, {})
    ut = T(tpl["user"])
    lo, hi = tpl["payload"]
    olo, ohi = tpl["out"]
    rate = p.sessions_per_hour / 3600.0
    t = ctx.t0 + rng.expovariate(rate)
    while t < ctx.end:
        conv = base.fork()
        turns = 1 + int(rng.expovariate(1.0 / max(0.01, p.turns_mean - 1.0)))
        for turn in range(turns):
            if turn == 0:
                built = ut.build(rng, {"P": [corpus.random_piece(rng, ri(rng, lo, hi + 1))]})
            else:
                built = T(rng.choice(CHAT_FOLLOWUPS)).build(
                    rng, {"P": [corpus.random_piece(rng, ri(rng, 3, 30))]}, 0.5)
            conv.add("user", built)
            out = int(math.exp(rng.uniform(math.log(olo), math.log(ohi))))
            r = ctx.request(rng, client, t, ips[int(rng.random() * len(ips))],
                            "/v1/chat/completions", p.model, True, conv, tpl["max_tokens"],
                            None, None, False, None, False, False, out, p.p429)
            yield r
            t += r.dur / 1000.0 + r.out / 15.0 + lognorm(rng, p.think_median, p.think_sigma)
            if t >= ctx.end:
                return
            conv = conv.fork()
            conv.add("assistant", single(corpus.random_piece(rng, max(1, int(r.out * 0.75)))))
        t += rng.expovariate(rate)


# ------------------------------------------------------------ the scenario

POP_ORDER = ["chat", "agent", "batch", "eval", "loud", "hydra", "lowslow", "mixed", "waves",
             "stack", "corp", "logit", "logitspread", "sparse", "rush", "mimic", "class", "staff"]


def build_actors(ctx):
    """The generators of every actor, in a fixed order."""
    opts = ctx.opts
    only = set(names_list(opts.only)) if opts.only else set(POP_ORDER)
    for x in only:
        if x not in POPS:
            raise SystemExit("scenario.py: --only: no population %r" % x)
    gens = []
    A = ctx.addrs
    D = ctx.end - ctx.start

    class G(list):
        def append(self, g, est=1.0):
            list.append(self, (g, est))
    gens = G()

    def chat_est(p):
        return 2.5 * p.sessions_per_day * D / 86400.0 * p.turns_mean

    def agent_est(p):
        return 1.5 * D / (p.idle_median * 1.65 + p.loop_median * (p.step_median + 4.0)) \
            * p.loop_median

    def chat_user(p, rng, name, lab, ips=None, stack=None):
        nokey = rng.random() < p.nokey_share and ips is None
        if ips is None:
            pool = "v6" if rng.random() < p.ipv6_share else "res"
            ips = [A.one(rng, pool), A.one(rng, "res")]
            via = False
        else:
            via = True
        client = Client(ctx, None if nokey else raw_key(rng), stack or stack_choice(rng), lab)
        return gen_chat(ctx, p, rng, client, ips, via)

    def agent(p, rng, lab, ips=None, stack=None):
        if ips is None:
            pool = "dc" if rng.random() < 0.5 else "res"
            ips = [A.one(rng, pool)]
            if rng.random() < p.second_ip_share:
                ips.append(A.one(rng, "dc"))
            via = False
        else:
            via = True
        client = Client(ctx, raw_key(rng), stack or stack_choice(rng), lab)
        return gen_agent(ctx, p, rng, client, ips, via)

    if "chat" in only:
        p = P(opts, "chat")
        for u in range(p.users):
            rng = ctx.rng("chat", u)
            name = "chat-%d" % (u + 1)
            gens.append(chat_user(p, rng, name, label("chat", None, name, None)), chat_est(p))
    if "agent" in only:
        p = P(opts, "agent")
        for a in range(p.agents):
            rng = ctx.rng("agent", a)
            name = "agent-%d" % (a + 1)
            gens.append(agent(p, rng, label("agent", None, name, None)), agent_est(p))
    if "batch" in only:
        p = P(opts, "batch")
        rates = [float(x) for x in names_list(p.rates)]
        tpls = names_list(p.templates)
        models = names_list(p.models)
        for j in range(p.jobs):
            rng = ctx.rng("batch", j)
            name = "batch-%d" % (j + 1)
            client = Client(ctx, raw_key(rng), rng.choice(["python", "go", "java"]),
                            label("batch", None, name, None))
            gens.append(gen_batch(ctx, p, rng, client, A.one(rng, "dc"),
                                  template(tpls[j % len(tpls)]), models[j % len(models)],
                                  rates[j % len(rates)]), rates[j % len(rates)] * D)
    if "eval" in only:
        p = P(opts, "eval")
        models = names_list(p.models)
        for h in range(p.harnesses):
            rng = ctx.rng("eval", h)
            name = "eval-%d" % (h + 1)
            client = Client(ctx, raw_key(rng), "python", label("eval", None, name, None))
            tops = [int(x) for x in names_list(p.top_logprobs)]
            gens.append(gen_eval(ctx, p, rng, client, A.one(rng, "dc"),
                                 models[h % len(models)], tops[h % len(tops)]),
                        2.0 * p.questions * p.bursts)
    if "loud" in only:
        p = P(opts, "loud")
        for c in range(p.campaigns):
            rng = ctx.rng("loud", c)
            cid = "loud-%d" % (c + 1)
            client = Client(ctx, raw_key(rng), "python", label("campaign", "loud", cid, cid))
            style = CampaignStyle(ctx, p, rng, cid, 1.0, p.n if p.n != 1 else None)
            gens.append(gen_loud(ctx, p, rng, client, A.one(rng, "dc"), style), p.rate * D)
    if "hydra" in only:
        p = P(opts, "hydra")
        for c in range(p.campaigns):
            rng = ctx.rng("hydra", c)
            cid = "hydra-%d" % (c + 1)
            lab = label("campaign", "hydra", cid, cid)
            nk = p.keys
            if nk <= 0 or p.proxies <= 0:
                continue
            clients = [Client(ctx, raw_key(rng), p.stack, lab) for _ in range(nk)]
            proxies = A.block(rng, "dc", max(1, p.proxies), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid)
            t0 = ctx.start - rng.uniform(0.0, 60.0 / p.rate)
            for k in range(nk):
                gens.append(gen_hydra_key(ctx, p, ctx.rng("hydra", c, k), clients[k], k, nk,
                                          proxies, style, t0), p.rate * D / 60.0)
    if "lowslow" in only:
        p = P(opts, "lowslow")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("lowslow", c)
            cid = "lowslow-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "lowslow", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            homes = addrs[:]
            rng.shuffle(homes)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("lowslow", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_slow_key(ctx, p, krng, client, homes[k % len(homes)], addrs,
                                         style, p.stickiness), p.rate * D / 60.0)
    if "waves" in only:
        p = P(opts, "waves")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("waves", c)
            cid = "waves-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "waves", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            t0 = ctx.start - rng.uniform(0.0, 60.0 * (p.on + p.off))
            duty = p.on / (p.on + p.off)
            for k in range(p.keys):
                krng = ctx.rng("waves", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_wave_key(ctx, p, krng, client, addrs[k % len(addrs)], style, t0),
                            p.rate * duty * D / 60.0)
    if "mixed" in only:
        p = P(opts, "mixed")
        pc = P(opts, "chat")
        pa = P(opts, "agent")
        for x in range(p.proxies):
            rng = ctx.rng("mixed", x)
            pid = "mixed-proxy-%d" % (x + 1)
            if p.addresses <= 0 or p.customers + p.keys <= 0:
                continue
            addrs = A.block(rng, "dc", max(1, p.addresses), 1)
            for u in range(p.customers):
                crng = ctx.rng("mixed", x, "customer", u)
                if crng.random() < p.agent_share:
                    name = "%s/agent-%d" % (pid, u + 1)
                    gens.append(agent(pa, crng, label("agent", None, name, None), addrs,
                                      p.stack), agent_est(pa))
                else:
                    name = "%s/chat-%d" % (pid, u + 1)
                    gens.append(chat_user(pc, crng, name, label("chat", None, name, None),
                                          addrs, p.stack), chat_est(pc))
            lab = label("campaign", "mixed-proxy", pid, pid)
            style = CampaignStyle(ctx, p, rng, pid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("mixed", x, "key", k)
                client = Client(ctx, raw_key(krng), p.stack, lab)
                gens.append(gen_slow_key(ctx, p, krng, client, None, addrs, style, 0.0),
                            p.rate * D / 60.0)
    if "corp" in only:
        p = P(opts, "corp")
        tpl = template(p.template)
        for x in range(p.companies):
            rng = ctx.rng("corp", x)
            if p.users <= 0 or p.addresses <= 0:
                continue
            ips = A.block(rng, "dc", max(1, p.addresses), 1)
            for u in range(p.users):
                urng = ctx.rng("corp", x, u)
                name = "corp-%d/user-%d" % (x + 1, u + 1)
                client = Client(ctx, raw_key(urng), p.tls, label("corp", None, name, None))
                gens.append(gen_corp(ctx, p, urng, client, ips, tpl),
                            p.sessions_per_hour * p.requests_mean * D / 3600.0)
    if "stack" in only:
        # Nothing shared but the TLS client: a frame per request, steady
        # jittered pace (no lockstep), one residential address per key.
        p = P(opts, "stack")
        for c in range(p.campaigns):
            rng = ctx.rng("stack", c)
            cid = "stack-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "stack", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("stack", c, k)
                client = Client(ctx, raw_key(krng), p.tls, lab)
                gens.append(gen_slow_key(ctx, p, krng, client, addrs[k % len(addrs)], addrs,
                                         style, 1.0), p.rate * D / 60.0)
    if "logit" in only:
        p = P(opts, "logit")
        for c in range(p.campaigns):
            rng = ctx.rng("logit", c)
            cid = "logit-%d" % (c + 1)
            client = Client(ctx, raw_key(rng), "python", label("campaign", "logit", cid, cid))
            sweep = LogitSweep(ctx, p, rng, 1, 1)
            gens.append(gen_logit_key(ctx, p, rng, client, A.one(rng, "dc"), sweep, 0,
                                      1.0 / max(1e-6, p.rate)), p.rate * D)
    if "logitspread" in only:
        p = P(opts, "logitspread")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("logitspread", c)
            cid = "logitspread-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "logitspread", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            sweep = LogitSweep(ctx, p, rng, p.keys, p.prompts)
            for k in range(p.keys):
                krng = ctx.rng("logitspread", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_logit_key(ctx, p, krng, client, addrs[k % len(addrs)], sweep, k,
                                          60.0 / max(1e-6, p.rate), p.jitter),
                            p.rate * D / 60.0)
    if "sparse" in only:
        p = P(opts, "sparse")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("sparse", c)
            cid = "sparse-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "sparse", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("sparse", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_sparse_key(ctx, p, krng, client, addrs, style),
                            p.rate * D / 3600.0)
    if "rush" in only and ctx.new_model:
        p = P(opts, "rush")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("rush", c)
            cid = "rush-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "rush", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("rush", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_rush_key(ctx, p, krng, client, addrs[k % len(addrs)], style,
                                         ctx.new_model_at, ctx.new_model),
                            p.rate * max(0.0, ctx.end - ctx.new_model_at) / 60.0)
    if "mimic" in only:
        p = P(opts, "mimic")
        stacks = names_list(p.stacks)
        for c in range(p.campaigns):
            rng = ctx.rng("mimic", c)
            cid = "mimic-%d" % (c + 1)
            if p.keys <= 0 or p.addresses <= 0:
                continue
            lab = label("campaign", "mimic", cid, cid)
            addrs = A.block(rng, "res", max(1, p.addresses), p.subnets)
            style = CampaignStyle(ctx, p, rng, cid, p.cap_share)
            for k in range(p.keys):
                krng = ctx.rng("mimic", c, k)
                client = Client(ctx, raw_key(krng), stacks[k % len(stacks)], lab)
                gens.append(gen_mimic_key(ctx, p, krng, client, addrs[k % len(addrs)], style),
                            p.rate * D / 60.0)
    if "class" in only:
        p = P(opts, "class")
        tpl = template(p.template)
        stacks = weighted(p.stacks)
        nclass = max(1, p.schools * p.classes)
        for s in range(p.schools):
            rng = ctx.rng("class", s)
            ip = A.one(rng, "res")           # the school's NAT
            for c in range(p.classes):
                # lessons spread over the scenario, one class after another
                span = max(0.0, D - 60.0 * p.lesson)
                lesson = ctx.start + span * (s * p.classes + c + rng.random()) / nclass
                for u in range(p.students):
                    urng = ctx.rng("class", s, c, u)
                    name = "class-%d-%d-pupil-%d" % (s + 1, c + 1, u + 1)
                    client = Client(ctx, raw_key(urng), pick(urng, stacks),
                                    label("class", None, name, None))
                    gens.append(gen_student(ctx, p, urng, client, ip, tpl, lesson),
                                60.0 * p.lesson / max(1.0, p.think_median))
    if "staff" in only:
        p = P(opts, "staff")
        tpl = template(p.template)
        stacks = weighted(p.stacks)
        for x in range(p.companies):
            rng = ctx.rng("staff", x)
            if p.users <= 0 or p.addresses <= 0:
                continue
            ips = A.block(rng, "dc", max(1, p.addresses), 1)
            for u in range(p.users):
                urng = ctx.rng("staff", x, u)
                name = "staff-%d-user-%d" % (x + 1, u + 1)
                client = Client(ctx, raw_key(urng), pick(urng, stacks),
                                label("staff", None, name, None))
                gens.append(gen_staff(ctx, p, urng, client, ips, tpl),
                            p.sessions_per_hour * p.turns_mean * D / 3600.0)
    return list(gens)


def partition(actors, n):
    """Actor indexes for n workers: largest estimated load first, each to the
    least loaded worker (deterministic)."""
    order = sorted(range(len(actors)), key=lambda i: (-actors[i][1], i))
    load = [0.0] * n
    parts = [[] for _ in range(n)]
    for i in order:
        w = min(range(n), key=lambda j: (load[j], j))
        load[w] += actors[i][1] + 1.0
        parts[w].append(i)
    return [sorted(x) for x in parts]


def merged(ctx, actors, which=None):
    """(ts, actor index, request) of the actors (all, or the indexes in
    `which`) in ts order within [start, end): a heap merge of the per-actor
    generators (ties: actor order)."""
    heap = []
    for i in (range(len(actors)) if which is None else which):
        g = actors[i][0]
        r = next(g, None)
        if r is not None:
            heap.append((r.ts, i, r, g))
    heapq.heapify(heap)
    start, end = ctx.start, ctx.end
    pop, replace = heapq.heappop, heapq.heapreplace
    while heap:
        ts, i, r, g = heap[0]
        if ts >= end:
            pop(heap)
            continue
        if ts >= start:
            yield ts, i, r
        nr = next(g, None)
        if nr is None:
            pop(heap)
        else:
            replace(heap, (nr.ts, i, nr, g))


class Summary:
    def __init__(self):
        self.rows = {}

    def dump(self):
        return json.dumps([[k, [v[0], sorted(v[1]), sorted(v[2]), sorted(v[3])]]
                           for k, v in self.rows.items()])

    def merge(self, text):
        for k, v in json.loads(text):
            k = tuple(k)
            row = self.rows.setdefault(k, [0, set(), set(), set()])
            row[0] += v[0]
            for j in (1, 2, 3):
                row[j].update(v[j])

    def add(self, r):
        lab = r.client.labeld
        k = (lab["population"], lab["style"] or ("(via proxy)" if "/" in lab["actor"] else None))
        row = self.rows.get(k)
        if row is None:
            row = self.rows[k] = [0, set(), set(), set()]
        row[0] += 1
        row[1].add(r.client.name_for(r.ip))
        row[2].add(r.ip)
        row[3].add(lab["actor"])

    def write(self, f):
        f.write("%-10s %-12s %9s %8s %8s %7s %9s\n" % ("population", "style", "requests", "clients",
                                                     "keys", "addrs", "actors"))
        tot = [0, set(), set(), set()]
        order = ["chat", "agent", "batch", "eval", "corp", "class", "staff", "campaign"]
        for k in sorted(self.rows, key=lambda k: (order.index(k[0]), k[1] or "")):
            n, cl, ips, act = self.rows[k]
            keys = sum(1 for c in cl if c.startswith("key:"))
            f.write("%-10s %-12s %9d %8d %8d %7d %9d\n" % (k[0], k[1] or "-", n, len(cl), keys,
                                                         len(ips), len(act)))
            tot[0] += n
            tot[1] |= cl
            tot[2] |= ips
            tot[3] |= act
        keys = sum(1 for c in tot[1] if c.startswith("key:"))
        f.write("%-10s %-12s %9d %8d %8d %7d %9d\n" % ("total", "", tot[0], len(tot[1]), keys,
                                                     len(tot[2]), len(tot[3])))


def run_records(ctx, actors, out, summary):
    """Records, one process, to the binary stream out."""
    port, tls = ctx.opts.port, not ctx.opts.no_tls
    buf = []
    for ts, i, r in merged(ctx, actors):
        buf.append(LINE_HEAD % (ts, r.conn) + r.tail(port, tls))
        if summary is not None:
            summary.add(r)
        if len(buf) >= 4096:
            out.write("".join(buf).encode())
            buf.clear()
    out.write("".join(buf).encode())


def run_worker(ctx, actors, w, n, out, summary):
    """One of n worker processes: its share of the actors as "KEY TAB record"
    lines, then its summary. KEY is 16 hex digits of the bits of ts (a
    positive double: they sort like the numbers) and 6 of the actor index,
    so the merge compares lines as bytes."""
    port, tls = ctx.opts.port, not ctx.opts.no_tls
    buf = []
    bits = struct.Struct(">Q")
    dbl = struct.Struct(">d")
    for ts, i, r in merged(ctx, actors, partition(actors, n)[w]):
        buf.append("%016x%06x\t" % (bits.unpack(dbl.pack(ts))[0], i) +
                   LINE_HEAD % (ts, r.conn) + r.tail(port, tls))
        if summary is not None:
            summary.add(r)
        if len(buf) >= 4096:
            out.write("".join(buf).encode())
            buf.clear()
    out.write("".join(buf).encode())
    if summary is not None:
        out.write(("#summary\t%s\n" % summary.dump()).encode())


def run_parallel(argv, n, out, summary):
    """Records from n worker processes (each runs a share of the actors),
    merged here in (ts, actor) order: the same bytes as one process."""
    import subprocess
    procs = [subprocess.Popen([sys.executable, __file__] + argv + ["--worker", "%d/%d" % (w, n)],
                              stdout=subprocess.PIPE) for w in range(n)]

    # Workers progress at different speeds in simulated time: drain their
    # pipes at once (threads) so that none waits for the merge.
    def drain(f, q):
        while True:
            b = f.read1(1 << 20)
            q.put(b)
            if not b:
                return

    queues = [queue.SimpleQueue() for _ in procs]
    for p, q in zip(procs, queues):
        threading.Thread(target=drain, args=(p.stdout, q), daemon=True).start()

    def lines(q):
        rest = b""
        while True:
            b = q.get()
            if not b:
                break
            ls = (rest + b).split(b"\n")
            rest = ls.pop()
            for line in ls:
                if line[:1] == b"#":
                    if summary is not None:
                        summary.merge(line.split(b"\t", 1)[1].decode())
                    continue
                yield line

    buf = []
    ok = False
    try:
        for line in heapq.merge(*[lines(q) for q in queues]):
            buf.append(line[23:])
            if len(buf) >= 4096:
                buf.append(b"")
                out.write(b"\n".join(buf))
                buf.clear()
        if buf:
            buf.append(b"")
            out.write(b"\n".join(buf))
        ok = True
    finally:
        bad = 0
        for p in procs:
            if not ok and p.poll() is None:
                p.kill()
            p.wait()
            if p.returncode:
                bad += 1
    if bad:
        raise SystemExit("scenario.py: %d worker process(es) failed" % bad)


# --------------------------------------------------------------- HTTP mode

def loopback_source(ip, used, taken):
    """A deterministic 127.x.y.z for a simulated address (never 127.0.0.x)."""
    src = used.get(ip)
    if src is not None:
        return src
    h = hashlib.blake2b(ip.encode(), digest_size=8).digest()
    v = int.from_bytes(h, "big") % (254 * 256 * 254)
    while True:
        a = 1 + v // (256 * 254)
        b = (v // 254) % 256
        c = 1 + v % 254
        src = "127.%d.%d.%d" % (a, b, c)
        if src not in taken:
            break
        v = (v + 1) % (254 * 256 * 254)
    used[ip] = src
    taken.add(src)
    return src


class Slot:
    __slots__ = ("lock", "conn", "last", "src", "pending")

    def __init__(self, src):
        self.pending = 0
        self.lock = threading.Lock()
        self.conn = None
        self.last = time.monotonic()
        self.src = src


class HttpRunner:
    def __init__(self, ctx):
        o = ctx.opts
        self.ctx = ctx
        u = urlsplit(o.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise SystemExit("scenario.py: --url must be http(s)://HOST:PORT")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.base = u.path.rstrip("/")
        if self.base.endswith("/v1"):
            self.base = self.base[:-3]
        if self.https:
            sc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            sc.check_hostname = False
            sc.verify_mode = ssl.CERT_NONE
            sc.set_alpn_protocols(["http/1.1"])
            self.sslctx = sc
        self.lock = threading.Lock()
        self.slots = {}
        self.srcmap, self.taken = {}, set()
        self.ok = self.failed = self.skipped = 0
        self.truth = open(o.truth, "w") if o.truth else None
        self.t0 = time.monotonic()
        self.deadline = self.t0 + o.max_seconds
        self.stop = threading.Event()

    def connect(self, src):
        timeout = max(1.0, min(self.ctx.opts.timeout,
                               self.deadline + self.ctx.opts.grace - time.monotonic() + 1.0))
        if self.ctx.opts.no_bind:
            src = None
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               source_address=src and (src, 0),
                                               context=self.sslctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                          source_address=src and (src, 0))

    def send(self, slot, seq, r):
        o = self.ctx.opts
        c = r.client
        tokens = r.out if r.status == 200 else 1
        if o.http_token_cap > 0:
            tokens = min(tokens, o.http_token_cap)
        headers = {"Content-Type": "application/json", "User-Agent": c.ua,
                   "x-dg-tokens": str(tokens),
                   "Accept": "text/event-stream" if r.stream else "application/json"}
        if c.raw:
            headers["Authorization"] = "Bearer " + c.raw
        if r.path == "/v1/messages":
            headers["anthropic-version"] = "2023-06-01"
        body = r.body()
        status, err, nbytes = None, None, 0
        with slot.lock:
            for attempt in (0, 1):
                try:
                    if slot.conn is None:
                        slot.conn = self.connect(slot.src)
                    slot.conn.request("POST", self.base + r.path, body=body, headers=headers)
                    resp = slot.conn.getresponse()
                    status = resp.status
                    nbytes = len(resp.read())
                    if resp.will_close:
                        slot.conn.close()
                        slot.conn = None
                    err = None
                    break
                except (OSError, http.client.HTTPException) as e:
                    err = "%s: %s" % (type(e).__name__, e)
                    if slot.conn is not None:
                        slot.conn.close()
                        slot.conn = None
                    # a keep-alive connection closed by the server: retry once
                    if attempt or time.monotonic() >= self.deadline or not isinstance(
                            e, (http.client.RemoteDisconnected, BrokenPipeError,
                                ConnectionResetError)):
                        break
            slot.last = time.monotonic()
        lab = c.labeld
        rec = {"seq": seq, "ts": round(r.ts, 6), "wall": round(time.monotonic() - self.t0, 3),
               "src": slot.src, "ip": r.ip, "client": c.name_for(r.ip), "key": c.key,
               "conn": r.conn, "path": r.path, "model": r.model, "stream": r.stream,
               "messages": r.nmsg, "output_tokens": r.out, "sent_tokens": tokens,
               "planned_status": r.status, "status": status, "bytes": nbytes, "error": err,
               "label": lab}
        if o.truth_raw_keys:
            rec["raw_key"] = c.raw
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            if status == 200 and err is None:
                self.ok += 1
            else:
                self.failed += 1
            if self.truth:
                self.truth.write(line)
                self.truth.flush()

    def worker(self, q):
        while True:
            job = q.get()
            if job is None:
                return
            slot, seq, r = job
            try:
                if time.monotonic() < self.deadline:
                    self.send(slot, seq, r)
                else:
                    with self.lock:
                        self.skipped += 1
            finally:
                with self.lock:
                    slot.pending -= 1

    def abort(self):
        """Shut down the sockets of the requests in flight."""
        with self.lock:
            slots = list(self.slots.values())
        for sl in slots:
            c = sl.conn
            sock = getattr(c, "sock", None) if c is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def reap(self, force=False, wait=True):
        """Close real connections whose simulated connection is over."""
        o = self.ctx.opts
        idle = max(0.5, 2.0 * o.keepalive / o.speed)
        now = time.monotonic()
        with self.lock:
            items = list(self.slots.items())
        open_ = [(s.last, cid, s) for cid, s in items]
        open_.sort()
        excess = len(open_) - o.max_connections
        for last, cid, s in open_:
            if s.pending and not force:
                continue
            if force or now - last > idle or excess > 0:
                if s.lock.acquire(blocking=force and wait):
                    try:
                        if s.conn is not None:
                            s.conn.close()
                            s.conn = None
                        with self.lock:
                            if self.slots.get(cid) is s:
                                del self.slots[cid]
                        excess -= 1
                    finally:
                        s.lock.release()

    def run(self, gens, summary=None):
        o = self.ctx.opts
        q = queue.Queue(maxsize=o.concurrency * 2)
        threads = [threading.Thread(target=self.worker, args=(q,), daemon=True)
                   for _ in range(o.concurrency)]
        for th in threads:
            th.start()
        sent = 0
        lag = 0.0
        last_reap = time.monotonic()
        for ts, ai, r in merged(self.ctx, gens):
            if sent >= o.max_requests:
                break
            now = time.monotonic()
            if now >= self.deadline:
                break
            due = self.t0 + (r.ts - self.ctx.start) / o.speed
            if due > now:
                if due >= self.deadline:
                    break
                time.sleep(due - now)
            else:
                lag = max(lag, now - due)
            src = loopback_source(r.ip, self.srcmap, self.taken)
            with self.lock:
                slot = self.slots.get(r.conn)
                if slot is None:
                    slot = self.slots[r.conn] = Slot(src)
                slot.pending += 1
            job = (slot, sent, r)
            while True:
                try:
                    q.put(job, timeout=0.2)
                    break
                except queue.Full:
                    if time.monotonic() >= self.deadline:
                        job = None
                        break
            if job is None:
                with self.lock:
                    slot.pending -= 1
                break
            sent += 1
            if summary is not None:
                summary.add(r)
            if time.monotonic() - last_reap > 0.25:
                self.reap()
                last_reap = time.monotonic()
        # Let the workers finish what they sent until the deadline, then cut
        # the connections still busy: the run always ends by --max-seconds.
        # With --grace, requests in flight get that much longer to finish.
        end = self.deadline + o.grace
        for _ in threads:
            while True:
                try:
                    q.put(None, timeout=0.1)
                    break
                except queue.Full:
                    if time.monotonic() >= end:
                        break
        for th in threads:
            th.join(max(0.0, end - time.monotonic()))
        if any(th.is_alive() for th in threads):
            self.abort()
            for th in threads:
                th.join(max(0.0, end + 2.0 - time.monotonic()))
        with self.lock:
            if self.truth:
                self.truth.close()
                self.truth = None
        self.reap(force=True, wait=False)
        dt = time.monotonic() - self.t0
        sys.stderr.write("scenario.py: http: %d sent, %d ok, %d failed, %d not sent (deadline) "
                         "in %.2f s, max lag %.2f s, %d sources\n"
                         % (sent - self.skipped, self.ok, self.failed, self.skipped, dt, lag,
                            len(self.srcmap)))
        return self.failed


# -------------------------------------------------------------------- main

def parse_duration(s, total=None):
    """'90', '90s', '30m', '2h', '1d', or '50%' of total."""
    s = str(s).strip()
    if s.endswith("%") and total is not None:
        return float(s[:-1]) / 100.0 * total
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if s and s[-1] in mult:
        return float(s[:-1]) * mult[s[-1]]
    return float(s)


def parse_start(s):
    try:
        return float(s)
    except ValueError:
        pass
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def make_parser():
    ap = argparse.ArgumentParser(
        prog="scenario.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [--mode records|http] [--seed N] [--duration D] [--scale F] "
              "[--only POP,...] [--summary] [options]",
        description=__doc__.split("\n\n")[0],
        epilog="Populations: " + "; ".join("%s = %s" % (k, POPS[k][0]) for k in POP_ORDER))
    g = ap.add_argument_group("scenario")
    g.add_argument("--mode", choices=["records", "http"], default="records")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument("--start", default=DEFAULT_START, help="ISO 8601 or Unix seconds "
                   "(default %s)" % DEFAULT_START)
    g.add_argument("--duration", default="1h", help="e.g. 90s, 30m, 2h, 1d (default 1h)")
    g.add_argument("--scale", type=float, default=1.0, help="multiplies population sizes")
    g.add_argument("--only", default="", help="comma list of populations to generate")
    g.add_argument("--out", default="-", help="records output (default stdout)")
    g.add_argument("--summary", action="store_true", help="per-population counts to stderr")
    g.add_argument("--jobs", type=int, default=0, help="worker processes for records "
                   "(default: 2 if there are 2 CPUs; the output is the same for any number)")
    g.add_argument("--worker", default="", help=argparse.SUPPRESS)
    g.add_argument("--secret", default=DEFAULT_SECRET, help="key of the keyed hashes")
    g.add_argument("--keepalive", type=float, default=5.0,
                   help="a client's connection is reused within this many idle seconds")
    g.add_argument("--port", type=int, default=443, help="server port in the records")
    g.add_argument("--no-tls", action="store_true", help="records say tls=false")
    g.add_argument("--max-tokens-cap", type=int, default=4096, help="the host's max_tokens cap")
    g.add_argument("--template-file", help="JSON object of extra templates: name -> "
                   "{system, user, payload:[lo,hi], out:[lo,hi], max_tokens}")
    g.add_argument("--list-templates", action="store_true")
    g.add_argument("--new-model", default="dg-next", help="a model released during the "
                   "scenario; campaigns move half their traffic to it, the rush campaign's "
                   "fresh keys rush it, a share of the customers follow ('' for none; "
                   "default dg-next)")
    g.add_argument("--new-model-at", default="50%", help="release time: offset from --start "
                   "(duration or %% of --duration, default 50%%)")
    g.add_argument("--new-model-lag", default="10m", help="campaigns move within this after "
                   "the release (default 10m)")
    g.add_argument("--new-model-legit-share", type=float, default=0.2,
                   help="share of legitimate actors that also move (default 0.2)")
    g.add_argument("--new-model-legit-delay", default="2h",
                   help="their mean delay after the release (exponential, default 2h)")
    g.add_argument("--new-model-campaign-share", type=float, default=0.5,
                   help="share of a campaign's requests that move once it has moved "
                        "(default 0.5: the reports' half)")
    g.add_argument("--diurnal-amplitude", type=float, default=0.6)
    g.add_argument("--diurnal-peak", type=float, default=15.0, help="local hour of the peak")
    g.add_argument("--tz-offsets", default="-8,-6,-5,0,1,2,5.5,8,9",
                   help="users' UTC offsets, hours (chosen uniformly)")
    h = ap.add_argument_group("http mode")
    h.add_argument("--url", default="https://127.0.0.1:18443")
    h.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    h.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    h.add_argument("--max-connections", type=int, default=128, help="open connections at most")
    h.add_argument("--max-requests", type=int, default=10000)
    h.add_argument("--max-seconds", type=float, default=120.0)
    h.add_argument("--truth", help="ground truth JSON lines of the requests sent")
    h.add_argument("--truth-raw-keys", action="store_true", help="put raw keys in --truth")
    h.add_argument("--http-token-cap", type=int, default=0,
                   help="cap x-dg-tokens (0: the planned answer length)")
    h.add_argument("--timeout", type=float, default=30.0, help="socket timeout, s")
    h.add_argument("--grace", type=float, default=0.0,
                   help="seconds requests in flight at --max-seconds get to finish before "
                        "they are cut (default 0)")
    h.add_argument("--no-bind", action="store_true",
                   help="do not bind each simulated address to its own 127.x.y.z: every "
                        "request leaves from the host's own address (e.g. from a network "
                        "namespace toward a non-loopback --url)")
    for pop in POP_ORDER:
        desc, opts = POPS[pop]
        grp = ap.add_argument_group("%s: %s" % (pop, desc))
        for o in opts:
            grp.add_argument("--%s-%s" % (pop, o.name), type=o.typ, default=o.default,
                             metavar=o.typ.__name__.upper(),
                             help="%s (default %s%s)" % (o.help, o.default,
                                                         ", scaled" if o.scaled else ""))
    return ap


def validate(ap, opts):
    """Check names in the options before any work (workers would fail)."""
    if opts.only:
        for x in names_list(opts.only):
            if x not in POPS:
                ap.error("--only: no population %r (one of %s)" % (x, ", ".join(POP_ORDER)))
    for opt in ("batch_templates", "loud_templates", "hydra_templates", "lowslow_templates",
                "mixed_templates", "waves_templates", "stack_templates", "corp_template",
                "eval_benchmarks"):
        for t in names_list(getattr(opts, opt)):
            if t not in TEMPLATES:
                ap.error("--%s: no template %r (see --list-templates)"
                         % (opt.replace("_", "-"), t))
    for opt in ("hydra_stack", "lowslow_stacks", "mixed_stack", "waves_stacks", "stack_tls",
                "corp_tls"):
        for x in names_list(getattr(opts, opt)):
            if x not in JA4S:
                ap.error("--%s: no TLS stack %r (one of %s)"
                         % (opt.replace("_", "-"), x, ", ".join(JA4S)))
    for x in names_list(opts.agent_products):
        if x not in AGENT_PRODUCTS:
            ap.error("--agent-products: no product %r (one of %s)"
                     % (x, ", ".join(AGENT_PRODUCTS)))
    for opt in ("chat_models", "agent_models"):
        try:
            weighted(getattr(opts, opt))
        except (ValueError, SystemExit):
            ap.error("--%s: expected NAME[:WEIGHT],..." % opt.replace("_", "-"))
    try:
        [float(x) for x in names_list(opts.batch_rates)]
        [float(x) for x in opts.tz_offsets.split(",") if x.strip()]
    except ValueError:
        ap.error("--batch-rates and --tz-offsets are comma lists of numbers")
    if any(float(x) <= 0 for x in names_list(opts.batch_rates)):
        ap.error("--batch-rates must be positive")
    for pop in ("loud", "hydra", "lowslow", "mixed", "waves", "stack"):
        if getattr(opts, pop + "_rate") <= 0:
            ap.error("--%s-rate must be positive" % pop)
    if opts.waves_on <= 0 or opts.waves_off < 0:
        ap.error("--waves-on must be positive and --waves-off not negative")


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    ap = make_parser()
    opts = ap.parse_args(argv)
    if opts.template_file:
        with open(opts.template_file) as f:
            extra = json.load(f)
        for name, t in extra.items():
            if "user" not in t:
                ap.error("template %s has no user text" % name)
            t.setdefault("system", None)
            t["payload"] = tuple(t.get("payload", (10, 30)))
            t["out"] = tuple(t.get("out", (20, 200)))
            t.setdefault("max_tokens", 512)
            TEMPLATES[name] = t
    if opts.list_templates:
        for name, t in TEMPLATES.items():
            print("%-16s %s" % (name, " ".join(t["user"].split())[:90]))
        return 0
    try:
        opts.start_ts = parse_start(opts.start)
        opts.duration_s = parse_duration(opts.duration)
    except ValueError as e:
        ap.error(str(e))
    if opts.duration_s <= 0 or opts.scale < 0 or opts.speed <= 0:
        ap.error("need --duration > 0, --scale >= 0, --speed > 0")
    if opts.concurrency < 1 or opts.max_connections < 1:
        ap.error("need --concurrency >= 1 and --max-connections >= 1")
    validate(ap, opts)
    jobs = opts.jobs if opts.jobs > 0 else min(2, os.cpu_count() or 1)
    if opts.mode == "records" or opts.worker:
        gc.disable()    # many long-lived objects, no garbage cycles: 10% faster
    summary = Summary() if opts.summary else None
    if opts.worker:
        w, _, n = opts.worker.partition("/")
        ctx = Ctx(opts)
        try:
            run_worker(ctx, build_actors(ctx), int(w), int(n), sys.stdout.buffer, summary)
            sys.stdout.flush()
        except BrokenPipeError:
            return 1
        return 0
    if opts.mode == "records":
        out = sys.stdout.buffer if opts.out == "-" else open(opts.out, "wb")
        try:
            if jobs > 1:
                run_parallel(argv, jobs, out, summary)
            else:
                ctx = Ctx(opts)
                run_records(ctx, build_actors(ctx), out, summary)
        except BrokenPipeError:
            return 1
        finally:
            if out is not sys.stdout.buffer:
                out.close()
            else:
                out.flush()
        rc = 0
    else:
        ctx = Ctx(opts)
        rc = 1 if HttpRunner(ctx).run(build_actors(ctx), summary) else 0
    if summary is not None:
        summary.write(sys.stderr)
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:     # e.g. | head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
