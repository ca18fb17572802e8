"""The scenario generator's instruction-frame skeleton agrees with the C
parser's (user/fingerprint.c, dg_frame) on the shared case table."""
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.dont_write_bytecode = True
import scenario  # noqa: E402

CASES = os.path.join(ROOT, "tests", "unit", "fixtures", "frame_cases.txt")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def cases():
    """(text, skeleton from the head, skeleton from the fixed end)."""
    got, cur = [], None
    with open(CASES) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("IN "):
                cur = [unescape(line[4:])]
            elif line.startswith("OUT"):
                cur.append(unescape(line[4:]))
            elif line.startswith("TAIL"):
                cur.append(unescape(line[5:]))
                got.append(tuple(cur))
    return got


class FrameTest(unittest.TestCase):
    def test_shared_cases(self):
        cs = cases()
        self.assertGreaterEqual(len(cs), 10)
        for text, want, tail in cs:
            self.assertEqual(scenario.frame_skeleton(text), want, text)
            self.assertEqual(scenario.tail_skeleton(text), tail, text)
            b = scenario.tail_bytes(text)
            self.assertEqual(b is None, tail == "", text)
            if b is not None:
                self.assertEqual(b, scenario.normalise(tail).encode(), text)
        self.assertGreaterEqual(sum(1 for c in cs if c[2]), 8)

    def test_tail_of_built_message(self):
        """A template with its question first keeps its tail whatever the
        question (and the head changes)."""
        scenario.install_hasher(b"k")
        t = scenario.T(scenario.TEMPLATES["tail-cot"]["user"])
        a = scenario.part_of("The river flows east past the old mill.")
        b = scenario.part_of("Which way does it flow, and why?")
        m1 = scenario.frame_text(t.build(None, {"P": [a]}))
        m2 = scenario.frame_text(t.build(None, {"P": [b]}))
        self.assertEqual(scenario.tail_skeleton(m1), scenario.tail_skeleton(m2))
        self.assertNotEqual(scenario.frame_skeleton(m1), scenario.frame_skeleton(m2))

    def test_built_message(self):
        """A filled template's skeleton does not depend on its payloads, in
        records mode (corpus pieces without raw text) as in HTTP mode."""
        scenario.install_hasher(b"k")
        t = scenario.T(scenario.TEMPLATES["eval-qa"]["user"])
        a = scenario.part_of("The river flows east past the old mill.")
        b = scenario.part_of("Which way does it flow?")
        c = scenario.part_of("Completely different words here, 42 of them.")
        s1 = scenario.frame_skeleton(scenario.frame_text(t.build(None, {"C": [a], "Q": [b]})))
        s2 = scenario.frame_skeleton(scenario.frame_text(t.build(None, {"C": [c], "Q": [a]})))
        self.assertEqual(s1, s2)
        self.assertEqual(s1, "read the passage and answer the question with a short phrase."
                             "\npassage:\nquestion:\nanswer:")


if __name__ == "__main__":
    unittest.main()
