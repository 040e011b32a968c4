"""Reliability of the delivery engine with real ``porthook worker`` processes on
PostgreSQL (the scale-out backend) and a real sink on 127.0.0.1.

* kill -9 in the middle of 10,000 deliveries, restart: every event arrives,
  what is sent twice is bounded by what one worker may hold unrecorded, and
  the dead worker's rows are taken over within about a lease (the time is
  printed);
* two workers draining one queue: nothing is sent twice;
* a live worker whose sends outlast its lease keeps its rows (it renews them).

All waits are bounded; nothing here asserts on speed (the figures printed are
for the reader).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from porthook.config import Settings
from porthook.db import Database, all_models
from porthook.delivery import models
from porthook.delivery.models import Delivery
from tests.functional.delivery_support import seed_due_deliveries
from tests.functional.sinks import Sink

pytestmark = pytest.mark.slow

DELIVERIES = 10_000
BATCH = 200  # the workers' claim batch size, and their cap of unrecorded rows
DRAIN_TIMEOUT_S = 60.0


@pytest.fixture
async def pg(pg_database_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=pg_database_url))
    tables = ", ".join(f'"{t.name}"' for t in all_models().sorted_tables)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield database
    await database.dispose()



def _worker(database_url: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    # The default lease and request timeout: the takeover measured is the
    # one a deployment gets.
    env = {
        **os.environ,
        "PORTHOOK_DATABASE_URL": database_url,
        "PORTHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "PORTHOOK_WORKER_BATCH_SIZE": str(BATCH),
        "PORTHOOK_WORKER_CONCURRENCY": str(BATCH),
        "PORTHOOK_ENDPOINT_CONCURRENCY": "32",
        "PORTHOOK_CONNECT_TIMEOUT_S": "1",
        "PORTHOOK_WORKER_POLL_INTERVAL_S": "0.1",
        "PORTHOOK_LOG_LEVEL": "WARNING",
        **extra,
    }
    with log.open("ab") as out:
        # One process each: the bound on duplicates is one worker's (the
        # command's default runs one per core).
        return subprocess.Popen([sys.executable, "-m", "porthook", "worker", "--processes", "1"],
                                env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    await asyncio.to_thread(process.wait, 30)


def _ids(sink: Sink) -> Counter[str]:
    return Counter(call.headers["webhook-id"] for call in sink.received)


async def _until_distinct(sink: Sink, count: int) -> None:
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        while len(_ids(sink)) < count:  # noqa: ASYNC110  (polling a counter, bounded above)
            await asyncio.sleep(0.1)


async def _leased(database: Database) -> tuple[dict[uuid.UUID, uuid.UUID], datetime]:
    """The rows under a lease, their tokens, and when the last lease runs out."""
    async with database.sessions() as session:
        rows = (await session.execute(
            sa.select(Delivery.id, Delivery.lease_token, Delivery.lease_expires_at).where(
                Delivery.status == models.PENDING, Delivery.lease_token.is_not(None)))).all()
    return ({row_id: token for row_id, token, _ in rows if token is not None},
            max(due for _, _, due in rows if due is not None))


async def _until_taken_over(database: Database, dead: dict[uuid.UUID, uuid.UUID]) -> None:
    """Until no row is still under the dead worker's leases."""
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        while True:
            async with database.sessions() as session:
                left = await session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                            .where(Delivery.id.in_(list(dead)),
                                                   Delivery.lease_token.in_(set(dead.values()))))
            if not left:
                return
            await asyncio.sleep(0.1)


async def test_kill_9_mid_drain_loses_nothing(
    pg: Database, pg_database_url: str, sink: Sink, tmp_path: Path
) -> None:
    await seed_due_deliveries(pg, sink.url("/load"), DELIVERIES, account="Load")
    first = _worker(pg_database_url, tmp_path / "worker.log")
    try:
        await sink.wait_for(DELIVERIES // 4, within_s=DRAIN_TIMEOUT_S)
    finally:
        first.kill()  # SIGKILL: no clean-up, leases left behind
        await asyncio.to_thread(first.wait, 30)
    killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
    dead, lapse = await _leased(pg)
    assert dead, "the worker held no rows when killed"
    second = _worker(pg_database_url, tmp_path / "worker.log")
    try:
        await _until_taken_over(pg, dead)
        taken_over_s = time.monotonic() - killed_at
        await _until_distinct(sink, DELIVERIES)
        drained_s = time.monotonic() - killed_at
    finally:
        await _stop(second)
    # Claims go in due order, reading past rows under a live lease: the dead
    # worker's rows, due before the rest of the backlog, are taken as soon as
    # their leases run out.
    print(f"\nkill -9 with {len(dead)} rows leased (lease {Settings().worker_lease_s:.0f} s): "
          f"claimable again {(lapse - killed_wall).total_seconds():.1f} s after the kill, "
          f"taken over after {taken_over_s:.1f} s, queue drained after {drained_s:.1f} s")
    ids = _ids(sink)
    assert len(ids) == DELIVERIES
    duplicates = sum(n - 1 for n in ids.values())
    assert duplicates <= BATCH, (tmp_path / "worker.log").read_text()[-2000:]
    async with pg.sessions() as session:
        statuses = Counter((await session.scalars(sa.select(Delivery.status))).all())
    assert statuses == {models.DELIVERED: DELIVERIES}


async def test_two_workers_never_send_a_delivery_twice(
    pg: Database, pg_database_url: str, sink: Sink, tmp_path: Path
) -> None:
    await seed_due_deliveries(pg, sink.url("/shared"), DELIVERIES // 2, account="Load")
    workers = [_worker(pg_database_url, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        await _until_distinct(sink, DELIVERIES // 2)
        await asyncio.sleep(0.5)  # a late duplicate would show up here
    finally:
        for process in workers:
            await _stop(process)
    ids = _ids(sink)
    assert len(ids) == DELIVERIES // 2
    assert max(ids.values()) == 1


async def test_a_live_worker_keeps_its_rows_through_sends_longer_than_its_lease(
    pg: Database, pg_database_url: str, sink: Sink, tmp_path: Path
) -> None:
    count, lease_s = 100, 1.0
    await seed_due_deliveries(pg, sink.url("/slow"), count, account="Load")
    sink.hold("/slow")  # every call waits: sends last several leases
    workers = [_worker(pg_database_url, tmp_path / f"worker{i}.log",
                       PORTHOOK_WORKER_LEASE_S=str(lease_s)) for i in range(2)]
    try:
        await sink.wait_for(32, "/slow", within_s=DRAIN_TIMEOUT_S)
        await asyncio.sleep(5 * lease_s)  # a lapsed lease would be taken over meanwhile
        held = _ids(sink)
        sink.release("/slow")
        await _until_distinct(sink, count)
        await asyncio.sleep(0.5)  # a late duplicate would show up here
    finally:
        for process in workers:
            await _stop(process)
    assert max(held.values()) == 1
    ids = _ids(sink)
    assert len(ids) == count
    assert max(ids.values()) == 1
