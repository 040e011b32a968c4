"""``porthook worker --processes N`` on SQLite and PostgreSQL: N real worker
processes under one command drain one queue, each delivery received exactly
once, and a SIGTERM to the command stops every one of them cleanly.

The command's log names each child and its pid ("worker 2/2 started (pid
…)"): the test reads them there to check that they are gone after the stop,
and that a child killed with -9 is restarted.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from porthook.db import Database
from porthook.delivery import models
from porthook.delivery.models import Delivery
from tests.functional.delivery_support import seed_due_deliveries
from tests.functional.sinks import Sink

pytestmark = pytest.mark.slow

DELIVERIES = 2_000
PROCESSES = 2
WAIT_S = 90.0  # every wait is bounded; a loaded machine starts processes slowly
STARTED = re.compile(r"worker (\d+)/\d+ started \(pid (\d+)\)")



def _command(database_url: str, log: Path, processes: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PORTHOOK_DATABASE_URL": database_url,
           "PORTHOOK_ALLOW_PRIVATE_TARGETS": "true", "PORTHOOK_WORKER_POLL_INTERVAL_S": "0.1",
           "PORTHOOK_ENDPOINT_CONCURRENCY": "16", "PORTHOOK_LOG_LEVEL": "INFO"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "porthook", "worker", "--processes", str(processes)],
            env=env, stdout=out, stderr=subprocess.STDOUT)


def _children(log: Path) -> dict[int, int]:
    """The latest pid of each child, as the command logged them (number -> pid)."""
    return {int(n): int(pid) for n, pid in STARTED.findall(log.read_text())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but is not reaped yet would still answer.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


async def _until(check: object, what: str) -> None:
    assert callable(check)
    async with asyncio.timeout(WAIT_S):
        while not check():  # noqa: ASYNC110  (polling processes and logs, bounded)
            await asyncio.sleep(0.1)


async def test_n_processes_drain_a_queue_once_and_stop_on_sigterm(
    database: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    await seed_due_deliveries(database, sink.url("/pool"), DELIVERIES, account="Pool")
    log = tmp_path / "worker.log"
    command = _command(database_url, log, PROCESSES)
    try:
        await _until(lambda: len(_children(log)) == PROCESSES, "children started")
        children = _children(log)
        await sink.wait_for(DELIVERIES, "/pool", within_s=WAIT_S)
        await asyncio.sleep(0.5)  # a late duplicate would show up here
    finally:
        command.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(command.wait, WAIT_S)
    text = log.read_text()
    assert code == 0, text[-3000:]
    ids = Counter(call.headers["webhook-id"] for call in sink.at("/pool"))
    assert len(ids) == DELIVERIES
    assert max(ids.values()) == 1
    assert sorted(children) == list(range(1, PROCESSES + 1))
    assert not [pid for pid in children.values() if _alive(pid)], text[-3000:]
    for number, pid in children.items():
        assert f"worker {number}/{PROCESSES} (pid {pid}) stopped (exit code 0)" in text, text
    async with database.sessions() as session:
        statuses = Counter((await session.scalars(sa.select(Delivery.status))).all())
    assert statuses == {models.DELIVERED: DELIVERIES}


async def test_a_child_killed_is_restarted_and_the_work_goes_on(
    database: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    command = _command(database_url, log, PROCESSES)
    try:
        await _until(lambda: len(_children(log)) == PROCESSES, "children started")
        first = _children(log)
        os.kill(first[1], signal.SIGKILL)
        await _until(lambda: _children(log)[1] != first[1], "child 1 restarted")
        await seed_due_deliveries(database, sink.url("/after"), 50, account="Pool")
        await sink.wait_for(50, "/after", within_s=WAIT_S)
    finally:
        command.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(command.wait, WAIT_S)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert f"worker 1/{PROCESSES} (pid {first[1]}) exited with -9; restarting it" in text
    assert _children(log)[2] == first[2]  # the other one ran on untouched
    assert not [pid for pid in _children(log).values() if _alive(pid)]
