"""Where a worker's CPU goes: a py-spy profile of ``bench.delivery`` split by part.

Record the in-process drain, then split it::

    py-spy record -r 200 -o drain.txt --format raw -- \\
        python -m bench.delivery --backend postgresql --drain-only --processes 1
    python -m bench.profile_split drain.txt --worker-us 137

Samples of the bench's own work (raw client, sender alone, seeding, waits)
are left out; each remaining sample goes to the first part whose frames it
holds, in the order of ``PARTS``. ``--worker-us`` (the drain's worker CPU
per delivery, as the bench printed it) turns shares into microseconds.
Asserts nothing.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Frames of the bench's own work, not the worker's.
BENCH = ("raw_rate", "sender_rate", "seed", "make_endpoints", "fresh_database",
         "scratch_database", "wait_recorded", "drain_processes", "PgCpu", "_children")
# (part, frame-name prefixes): a sample belongs to the first part matched.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("format + sign at claim time", ("Dispatcher._prepare",)),
    ("claim statement, Python side", ("PgStore.claim", "target_of")),
    ("outcome statement, Python side", ("PgStore.record", "Dispatcher._write_and_release")),
    ("HTTP call (HttpSender.post)", ("HttpSender.post",)),
    ("bookkeeping: attempt, lanes, flow, metrics, leases",
     ("Dispatcher._attempt", "Dispatcher._run_lane", "Dispatcher._claim_and_start",
      "Dispatcher._claim_loop", "Leases.", "Dispatcher._record")),
)
# The connection's own callbacks (the answer parsed as it arrives) run from
# the event loop, outside any HttpSender.post frame.
HTTP_FILES = ("delivery/http_client.py", "httptools/", "aiohttp/", "yarl/", "multidict/")


def part_of(stack: str) -> str | None:
    frames = stack.split(";")
    names = [frame.split(" (")[0] for frame in frames]
    if any(name.startswith(BENCH) for name in names):
        return None
    for part, prefixes in PARTS:
        if any(name.startswith(prefixes) for name in names):
            return part
    if any(any(f in frame for f in HTTP_FILES) for frame in frames):
        return "HTTP call: the connection's callbacks"
    if names and names[-1] in ("Runner.run", "run", "run_until_complete"):
        return "event loop (uvloop, no Python frame)"
    if any("sqlalchemy/" in frame or "importlib" in frame for frame in frames):
        return None  # seeding and start-up
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--worker-us", type=float, default=None,
                        help="the worker's CPU per delivery in that run")
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    for line in args.profile.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        part = part_of(stack)
        if part is not None and samples.isdigit():
            counts[part] += int(samples)
    total = sum(counts.values()) or 1
    for part, samples in counts.most_common():
        micro = f"  {args.worker_us * samples / total:5.0f} us" if args.worker_us else ""
        print(f"{100 * samples / total:5.1f} %{micro}  {part}")


if __name__ == "__main__":
    main()
