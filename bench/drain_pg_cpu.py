"""PostgreSQL's CPU per delivery of a checkout's drain, read from outside its code.

Issue 17's baseline (``c5e738c``) has a ``bench/delivery.py`` that cannot
read PostgreSQL's CPU. This script wraps the ``dispatcher`` of whichever
``bench.delivery`` is on ``PYTHONPATH`` and, while it runs, samples the CPU of
every backend of the scratch database from ``/proc`` (every 0.1 s, so a
backend that goes away still counts up to its last sample). It then runs that
checkout's own drain over 8 endpoints. Both sides are read the same way, in
one hour on one host:

    cd ../base && PYTHONPATH=$PWD .venv/bin/python ../main/bench/drain_pg_cpu.py
    cd ../main && PYTHONPATH=$PWD .venv/bin/python bench/drain_pg_cpu.py

Prints the drain's rate, the worker's CPU per delivery and PostgreSQL's.
Asserts nothing. PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
import uvloop

from bench import delivery as checkout  # the checkout's own, by PYTHONPATH

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE_S = 0.1
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


# Its own reading of /proc and its own sampler, not bench.delivery's
# PgCpu: the baseline's bench.delivery, which this wraps, has neither.
def _cpu_s(pid: int) -> float | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * _TICK_S
    return None


class Backends:
    """The CPU seconds a database's backends spend between ``start`` and
    ``stop``, backends that come and go included."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _sample(self, admin: Any) -> None:
        pids = [row["pid"] for row in await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self._name)]
        for pid in pids:
            cpu = _cpu_s(pid)
            if cpu is not None:
                # A backend first seen after start began inside the window:
                # all its CPU counts.
                self._first.setdefault(pid, cpu if self._task is None else 0.0)
                self._last[pid] = cpu

    async def _loop(self, admin: Any) -> None:
        while True:
            await asyncio.sleep(SAMPLE_S)
            await self._sample(admin)

    async def start(self) -> None:
        self._admin = await asyncpg.connect(ADMIN)
        await self._sample(self._admin)
        self._task = asyncio.create_task(self._loop(self._admin))

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._sample(self._admin)
        await self._admin.close()
        return sum(last - self._first[pid] for pid, last in self._last.items())


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    spent: list[float] = []
    original = checkout.dispatcher

    @contextlib.asynccontextmanager
    async def measured(database: Any) -> AsyncIterator[None]:
        backends = Backends(sa.engine.make_url(database.url).database or "")
        await backends.start()
        try:
            async with original(database):
                yield
        finally:
            spent.append(await backends.stop())

    checkout.dispatcher = measured  # type: ignore[assignment]
    tune = getattr(checkout, "tune_collector", None)  # as that checkout's own bench does
    if tune is not None:
        tune()
    sink = checkout.SinkProcess()
    await sink.start()
    try:
        raw, _ = await checkout.raw_best(sink, checkout.RAW_CONNECTIONS)
        with tempfile.TemporaryDirectory() as workdir:
            async with checkout.scratch_database("postgresql", checkout.PG_BENCH,
                                                 Path(workdir)) as database:
                result = await checkout.drain(database, sink, count, "/drain",
                                              checkout.DRAIN_ENDPOINTS)
    finally:
        sink.stop()
    rate, worker_us = result[0], result[1]
    print(f"raw client {raw:,.0f}/s; drain of {count:,} over {checkout.DRAIN_ENDPOINTS} "
          f"endpoints {rate:,.0f}/s ({rate / raw:.2f} x raw); worker CPU {worker_us:.0f} "
          f"us/delivery; PostgreSQL CPU {spent[0] / count * 1e6:.0f} us/delivery "
          f"(every backend of the database, sampled from outside)")


if __name__ == "__main__":
    uvloop.run(main())
