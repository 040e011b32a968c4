"""Write transactions of one process under contention.

On SQLite they take turns on the engine's own queue (``db._WriterTurns``)
instead of meeting in SQLite's busy handler, whose sleeps made a commit wait
up to half a second for a lock that was mostly free. With SQLite's busy
timeout at zero, any transaction that still met another inside SQLite would
fail at once with "database is locked": these tests prove none does. On
PostgreSQL the same stories hold without any queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from porthook import db
from porthook.accounts import service as accounts
from porthook.accounts.models import Account
from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import count_rows

WRITERS = 40
LIMIT_S = 30  # every wait is bounded: a lost turn would otherwise hang the test


@pytest.fixture
def no_busy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite fails at once on a locked file instead of waiting (set before ``database``)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 0)


async def _create_account(database: Database, name: str, clock: ShiftableClock,
                          *, hold_s: float = 0.0) -> None:
    async with database.sessions() as session:
        await accounts.create_account(session, name=name, contact_email=None, now=clock.now())
        await session.flush()
        await asyncio.sleep(hold_s)  # others try to write meanwhile
        await session.commit()


async def _accounts(database: Database) -> int:
    async with database.sessions() as session:
        return await count_rows(session, "accounts")


@pytest.mark.usefixtures("no_busy_wait")
async def test_concurrent_write_transactions_all_commit(
    database: Database, clock: ShiftableClock
) -> None:
    async with asyncio.timeout(LIMIT_S):
        await asyncio.gather(*(_create_account(database, f"A{i}", clock, hold_s=0.002)
                               for i in range(WRITERS)))
    assert await _accounts(database) == WRITERS


@pytest.mark.usefixtures("no_busy_wait")
async def test_a_connection_that_begins_again_does_not_wait_on_itself(
    database: Database,
) -> None:
    async with asyncio.timeout(LIMIT_S), database.engine.connect() as connection:
        for name in ("first", "second"):
            async with connection.begin():
                await connection.execute(sa.insert(Account).values(
                    name=name, created_at=ShiftableClock().now()))
    assert await _accounts(database) == 2


@pytest.mark.usefixtures("no_busy_wait")
async def test_a_failed_transaction_gives_its_turn_back(
    database: Database, clock: ShiftableClock
) -> None:
    with pytest.raises(RuntimeError, match="failed in the middle"):
        async with database.sessions() as session:
            await accounts.create_account(session, name="Lost", contact_email=None,
                                          now=clock.now())
            await session.flush()
            raise RuntimeError("failed in the middle")
    async with asyncio.timeout(LIMIT_S):
        await _create_account(database, "Next", clock)
    assert await _accounts(database) == 1


@pytest.mark.usefixtures("no_busy_wait")
async def test_a_writer_cancelled_while_waiting_leaves_the_turns_working(
    database: Database, clock: ShiftableClock
) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with database.sessions() as session:
            await accounts.create_account(session, name="Holder", contact_email=None,
                                          now=clock.now())
            await session.flush()
            holding.set()
            await release.wait()
            await session.commit()

    async with asyncio.timeout(LIMIT_S):
        held = asyncio.create_task(holder())
        await holding.wait()
        waiting: asyncio.Task[Any] = asyncio.create_task(
            _create_account(database, "Cancelled", clock))
        await asyncio.sleep(0.05)  # queued behind the holder (SQLite) or done (PostgreSQL)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        release.set()
        await held
        await _create_account(database, "After", clock)
    assert await _accounts(database) in (2, 3)  # "Cancelled" commits only on PostgreSQL


async def test_a_writer_waiting_too_long_for_its_turn_fails_as_sqlite_would(
    database: Database, clock: ShiftableClock, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITER_TURN_TIMEOUT_S", 0.1)
    async with asyncio.timeout(LIMIT_S), database.sessions() as holder:
        await accounts.create_account(holder, name="Holder", contact_email=None,
                                      now=clock.now())
        await holder.flush()
        if backend == "sqlite":
            # Stuck behind a writer that waits for it: an error, not a hang.
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                await _create_account(database, "Stuck", clock)
        else:
            await _create_account(database, "Beside", clock)  # no queue on PostgreSQL
        await holder.commit()
    async with asyncio.timeout(LIMIT_S):
        await _create_account(database, "After", clock)
    assert await _accounts(database) == (2 if backend == "sqlite" else 3)


async def _holding_a_write(database: Database, clock: ShiftableClock, held: asyncio.Event,
                           hold_s: float, order: list[str]) -> None:
    async with database.sessions() as session:
        await accounts.create_account(session, name="Holder", contact_email=None,
                                      now=clock.now())
        await session.flush()  # the file's write lock is taken (SQLite)
        held.set()
        await asyncio.sleep(hold_s)
        await session.commit()
    order.append("holder")


async def test_a_writer_of_another_process_gets_the_lock_once_it_is_free(
    database: Database, clock: ShiftableClock, settings: Settings, backend: str
) -> None:
    # Another Database on the same file is another engine, as in another
    # process: the two meet in the file's lock (SQLite), not in writer turns.
    other = Database(settings)
    order: list[str] = []
    held = asyncio.Event()
    try:
        async with asyncio.timeout(LIMIT_S):
            holder = asyncio.create_task(_holding_a_write(database, clock, held, 0.3, order))
            await held.wait()
            await _create_account(other, "Other", clock)
            order.append("other")
            await holder
    finally:
        await other.dispose()
    assert await _accounts(database) == 2
    # SQLite: one writer, so the other commits only after the holder did.
    assert order == (["holder", "other"] if backend == "sqlite" else ["other", "holder"])


async def test_a_writer_kept_from_the_lock_past_the_busy_timeout_fails(
    database: Database, clock: ShiftableClock, settings: Settings, backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    other = Database(settings)
    order: list[str] = []
    held = asyncio.Event()
    try:
        async with asyncio.timeout(LIMIT_S):
            holder = asyncio.create_task(_holding_a_write(database, clock, held, 2.0, order))
            await held.wait()
            if backend == "sqlite":
                with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                    await _create_account(other, "Other", clock)
            else:
                await _create_account(other, "Other", clock)  # no file lock on PostgreSQL
            await holder
    finally:
        await other.dispose()
    assert await _accounts(database) == (1 if backend == "sqlite" else 2)
