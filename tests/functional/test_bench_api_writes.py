"""``bench/api.py --mode writes`` runs end to end on a small load: real
``porthook serve`` (SQLite) or ``porthook api`` and ``porthook worker``
(PostgreSQL), every write answered and delivered, the flat-cost order's
events counted (the mode broke once unseen when its client changed)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import api as bench


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_writes_mode_answers_and_delivers_every_write(
    backend: str, tmp_path: Path
) -> None:
    spec = bench.WriteSpec(backend, rate=20.0, move_rate=4.0, duration_s=1.0, comment_orders=2,
                           flat_comments=3, worker_processes=1, warmup_s=1.0)
    figures = await bench.run_writes(spec, tmp_path)
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["requests"]["comment"]["ok"] == 20
    assert figures["requests"]["move"]["ok"] + figures["moves_skipped"] == 4
    assert not math.isnan(figures["drain_after_s"])  # the sink got every write's delivery
    assert figures["event_bytes_first"] is not None
    assert abs(figures["event_bytes_last"] - figures["event_bytes_first"]) < 10
