"""Read a ``py-spy record --format raw`` file (collapsed stacks, one
``frame;frame;... count`` a line) and say where the time went.

    .venv/bin/python bench/stacks.py /tmp/prof/postgresql/api.txt
    .venv/bin/python bench/stacks.py api.txt --inclusive authenticate snapshot publish

Prints the functions with the most samples on top of the stack (self time),
then, for each ``--inclusive`` substring, the share of samples with a frame
matching it anywhere in the stack. Idle samples (the event loop waiting in
``select``/``epoll``) are counted apart: shares are of the busy samples.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path


def parse(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    stacks = []
    pending = ""  # a frame name may hold a line break (generated code's "file")
    for raw in lines:
        pending += raw.rstrip("\n")
        frames, _, count = pending.rpartition(" ")
        if not count.isdigit():
            pending += " "
            continue
        stacks.append((frames.split(";"), int(count)))
        pending = ""
    return stacks


def is_idle(frames: Sequence[str]) -> bool:
    top = frames[-1]
    return top.startswith(("select (", "poll (", "epoll")) or "uv_run" in top or (
        top.startswith("run (uvloop") or top.startswith("run_forever"))


def summary(stacks: list[tuple[list[str], int]], needles: Sequence[str],
            top: int) -> list[str]:
    busy = [(f, c) for f, c in stacks if not is_idle(f)]
    total = sum(c for _, c in stacks)
    busy_total = sum(c for _, c in busy) or 1
    out = [f"samples: {total}, busy: {busy_total} ({100 * busy_total / max(total, 1):.0f} %)"]
    own: Counter[str] = Counter()
    for frames, count in busy:
        own[frames[-1]] += count
    out.append("self time (top of stack), share of busy samples:")
    out += [f"  {100 * c / busy_total:5.1f} %  {name}" for name, c in own.most_common(top)]
    if needles:
        out.append("inclusive (a frame matching anywhere in the stack):")
    for needle in needles:
        hits = sum(c for frames, c in busy if any(needle in f for f in frames))
        out.append(f"  {100 * hits / busy_total:5.1f} %  {needle}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    parser.add_argument("--inclusive", nargs="*", default=[])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with args.file.open() as lines:
        print("\n".join(summary(parse(lines), args.inclusive, args.top)))


if __name__ == "__main__":
    main()
