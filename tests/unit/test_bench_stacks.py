"""bench/stacks.py reads py-spy's raw (collapsed) stacks, whose frame names
may hold a line break (generated code)."""

from __future__ import annotations

from bench import stacks


def test_a_frame_with_a_line_break_stays_in_its_stack() -> None:
    lines = ["main (a.py:1);handler (b.py:2) 7\n",
             "main (a.py:1);<generated\n", "code> (x:1) 3\n"]
    parsed = stacks.parse(lines)
    assert parsed == [(["main (a.py:1)", "handler (b.py:2)"], 7),
                      (["main (a.py:1)", "<generated code> (x:1)"], 3)]


def test_inclusive_shares_count_a_frame_anywhere_in_the_stack() -> None:
    parsed = [(["main (a.py:1)", "handler (b.py:2)"], 3), (["main (a.py:1)", "other (c.py:3)"], 1)]
    out = stacks.summary(parsed, ["handler"], top=5)
    assert "   75.0 %  handler" in out
