"""SQLite on the event loop's thread (``porthook.sqlite_driver``).

Statements run in ``sqlite3`` on the loop's own thread, and a statement that
finds the file locked by another connection (another process) waits with
sleeps on the loop, never inside SQLite's busy handler, which would hold the
loop for as long as the lock is held.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from porthook import db, sqlite_driver
from porthook.accounts import service as accounts
from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Base, Database
from porthook.unavailable import is_database_unavailable
from tests.conftest import count_rows

LIMIT_S = 30  # every wait is bounded: a lost wake-up would otherwise hang the test


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "loop.db"


@pytest.fixture
async def database(path: Path, tmp_path: Path) -> AsyncIterator[Database]:
    # The URL users have: sqlite+aiosqlite, run by porthook's own dialect.
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}",
                                 mail_dir=tmp_path / "mail"))
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep the driver takes while the file is locked."""
    taken: list[float] = []
    sleep = sqlite_driver.pause

    def counted(seconds: float) -> None:
        taken.append(seconds)
        sleep(seconds)

    monkeypatch.setattr(sqlite_driver, "pause", counted)
    return taken


class _OtherProcess:
    """A plain sqlite3 connection on the same file, as another process's
    would be: it holds the write lock between ``hold`` and ``release``."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=0)

    def hold(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")
        self._connection.execute(
            "INSERT INTO accounts (id, name, created_at) "
            "VALUES ('0' || hex(randomblob(15)) || '0', 'Other', '2026-01-01 00:00:00')")

    def release(self) -> None:
        self._connection.execute("COMMIT")

    def close(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")
        self._connection.close()


@pytest.fixture
def other(path: Path, database: Database) -> Iterator[_OtherProcess]:
    holder = _OtherProcess(path)
    yield holder
    holder.close()


async def _create_account(database: Database, name: str) -> None:
    async with database.sessions() as session:
        await accounts.create_account(session, name=name, contact_email=None,
                                      now=ShiftableClock().now())
        await session.commit()


async def _accounts(database: Database) -> int:
    async with database.sessions() as session:
        return await count_rows(session, "accounts")


async def test_statements_run_on_the_loops_own_thread(database: Database) -> None:
    _with_thread_function(database)
    await database.engine.dispose()  # new connections, with the function
    async with database.engine.connect() as connection:
        ran_on = (await connection.exec_driver_sql("SELECT thread_id()")).scalar_one()
    assert ran_on == threading.get_ident()
    assert database.engine.dialect.driver == sqlite_driver.DRIVER


async def test_a_writer_waits_for_another_process_without_holding_the_loop(
    database: Database, other: _OtherProcess, pauses: list[float],
) -> None:
    other.hold()
    async with asyncio.timeout(LIMIT_S):
        writer = asyncio.create_task(_create_account(database, "Mine"))
        # The loop keeps running this test while the writer waits: with
        # SQLite's busy handler on this thread, nothing else would run
        # until the lock is free, and only this test frees it.
        for _ in range(20):
            await asyncio.sleep(0.005)
            assert not writer.done()
        assert pauses  # it is waiting, in the driver's sleeps
        other.release()
        await writer
    assert await _accounts(database) == 2
    assert max(pauses) <= sqlite_driver.LONGEST_PAUSE_S


async def test_a_writer_kept_out_past_the_busy_timeout_fails_as_before(
    database: Database, other: _OtherProcess, path: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    short = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}",
                              mail_dir=tmp_path / "mail"))
    other.hold()
    try:
        async with asyncio.timeout(LIMIT_S):
            with pytest.raises(sa.exc.OperationalError, match="database is locked") as raised:
                await _create_account(short, "Mine")
        # ... which the API answers with 503 (unavailable), not 500.
        assert is_database_unavailable(raised.value)
        other.release()
        await _create_account(short, "After")  # the engine works on once the lock is free
    finally:
        await short.dispose()
    assert await _accounts(database) == 2


async def test_a_reader_locked_out_waits_on_the_loop_too(
    database: Database, path: Path, pauses: list[float],
) -> None:
    await _create_account(database, "Mine")
    await database.dispose()  # ours closed, so that the next one can lock the file
    # A connection in exclusive locking mode keeps every other one from
    # even reading (no shared memory for the WAL) until it closes: the
    # reader's new connection waits already in its set-up PRAGMAs.
    exclusive = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        exclusive.execute("PRAGMA locking_mode=EXCLUSIVE")
        exclusive.execute("BEGIN IMMEDIATE")
        exclusive.execute("UPDATE accounts SET name = 'Renamed'")
        exclusive.execute("COMMIT")
        async with asyncio.timeout(LIMIT_S):
            async def read() -> list[str]:
                async with database.read_sessions() as session:
                    return list((await session.execute(sa.text("SELECT name FROM accounts")
                                                       )).scalars())

            reader = asyncio.create_task(read())
            for _ in range(20):
                await asyncio.sleep(0.005)
                assert not reader.done()
            assert pauses
            exclusive.close()
            assert await reader == ["Renamed"]
    finally:
        exclusive.close()


def test_many_rows_outside_a_transaction_are_not_retried(path: Path, tmp_path: Path) -> None:
    # executemany in autocommit: rows before the one that met the lock are
    # committed already, so trying the whole batch again would repeat them.
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.close()
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    mine = sqlite3.connect(path, isolation_level=None, timeout=0,
                           factory=sqlite_driver.LoopConnection)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            mine.cursor().executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    finally:
        holder.close()
        mine.close()


def _with_thread_function(database: Database) -> None:
    @event.listens_for(database.engine.sync_engine, "connect")
    def _add_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)


async def test_a_read_marked_off_loop_runs_on_a_worker_thread(database: Database) -> None:
    _with_thread_function(database)
    await database.engine.dispose()
    query = sa.text("SELECT thread_id(), n FROM (SELECT 1 AS n UNION ALL SELECT 2 "
                    "UNION ALL SELECT 3) ORDER BY n")
    async with database.engine.connect() as connection:
        rows = (await connection.execute(query.execution_options(**sqlite_driver.OFF_LOOP))
                ).all()
        first = (await connection.execute(query.execution_options(**sqlite_driver.OFF_LOOP))
                 ).first()
        on_loop = (await connection.execute(query)).all()
    assert [n for _, n in rows] == [1, 2, 3]
    assert {thread for thread, _ in rows} != {threading.get_ident()}
    assert first is not None and first[1] == 1
    assert {thread for thread, _ in on_loop} == {threading.get_ident()}


async def test_a_cancelled_off_loop_read_stops_and_leaves_the_engine_working(
    database: Database,
) -> None:
    endless = sa.text("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
                      "SELECT count(*) FROM c").execution_options(**sqlite_driver.OFF_LOOP)

    async def read() -> Any:
        async with database.read_sessions() as session:
            return await session.scalar(endless)

    async with asyncio.timeout(LIMIT_S):
        reader = asyncio.create_task(read())
        await asyncio.sleep(0.05)  # running on its thread, the loop free meanwhile
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        await _create_account(database, "After")
        async with database.read_sessions() as session:
            assert await session.scalar(sa.text("SELECT count(*) FROM accounts")) == 1


async def test_a_big_value_is_written_and_committed_on_a_worker_thread(
    database: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    hand_offs: list[Any] = []
    to_thread = asyncio.to_thread

    async def counted(work: Any, *args: Any) -> Any:
        hand_offs.append(work)
        return await to_thread(work, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    big = b"%PDF" + bytes(sqlite_driver.BIG_VALUE_BYTES)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE blobs (content BLOB)")
        await connection.exec_driver_sql("INSERT INTO blobs VALUES (?)", (b"small",))
        assert hand_offs == []  # a small value: on the loop
        await connection.exec_driver_sql("INSERT INTO blobs VALUES (?)", (big,))
        assert len(hand_offs) == 1  # the statement
    assert len(hand_offs) == 2  # ... and its COMMIT
    async with database.engine.connect() as connection:
        stored = (await connection.exec_driver_sql(
            "SELECT length(content) FROM blobs ORDER BY length(content)")).scalars().all()
    assert stored == [5, len(big)]
