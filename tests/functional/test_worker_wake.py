"""Who wakes on a NOTIFY in a pool of worker processes (PostgreSQL): only the
first process hears the API's NOTIFYs; it wakes its siblings when it has more
work than it takes (``wakeups.WakeRole``). Dispatchers here run in this
process, each with a Database of its own as a separate process would have, and
an idle poll of a minute, so that only a wake-up can make them claim."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import fanout
from porthook.delivery.wakeups import SIBLINGS_CHANNEL, WakeRole
from tests.functional.delivery_support import running_dispatcher, seed_due_deliveries
from tests.functional.sinks import Sink

WAIT_S = 20.0  # every wait is bounded
# SQLite has no NOTIFY (its workers poll): these run on PostgreSQL alone.
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"])
QUIET_S = 0.5  # a wake-up that is not to come is given this long to show it did


@pytest.fixture
def idle(settings: Settings) -> Settings:
    # Five rows at most per claim and per endpoint held in a process, and
    # calls that outlast every wait here: a process whose five calls hang
    # claims no more for that endpoint, whatever is due.
    return settings.model_copy(update={
        "worker_poll_interval_s": 60.0, "worker_batch_size": 5, "worker_concurrency": 5,
        "endpoint_concurrency": 20, "request_timeout_s": 2 * WAIT_S})


@contextlib.asynccontextmanager
async def workers(settings: Settings, *roles: WakeRole) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for role in roles:
            own = Database(settings)
            stack.push_async_callback(own.dispose)
            await stack.enter_async_context(
                running_dispatcher(settings, own, SystemClock(), wake_role=role))
        await _until_listening(settings, len(roles))
        yield


async def _until_listening(settings: Settings, count: int) -> None:
    """Until each dispatcher holds its LISTEN connection (then its first
    claim, on an empty queue, is over)."""
    admin = Database(settings)
    try:
        async with asyncio.timeout(WAIT_S), admin.sessions() as session:
            while await session.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'LISTEN%'")) < count:
                # pg_stat_activity is read once per transaction: a new one
                # for each look, or a LISTEN issued after the first is missed.
                await session.rollback()
                await asyncio.sleep(0.05)
    finally:
        await admin.dispose()
    await asyncio.sleep(QUIET_S)


async def _notify(database: Database, channel: str) -> None:
    async with database.sessions() as session:
        await session.execute(sa.select(sa.func.pg_notify(channel, "")))
        await session.commit()


@POSTGRESQL_ONLY
async def test_the_leading_process_wakes_a_sibling_when_it_has_more_than_it_takes(
    backend: str, database: Database, idle: Settings, sink: Sink
) -> None:
    sink.hold("/pool")
    try:
        async with workers(idle, "first", "sibling"):
            await seed_due_deliveries(database, sink.url("/pool"), 10, account="Pool")
            await _notify(database, fanout.NOTIFY_CHANNEL)
            # The first takes five and can take no more until its calls are
            # answered: the other five reach the sink only through the sibling.
            await sink.wait_for(10, "/pool", within_s=WAIT_S)
            sink.release("/pool")
    finally:
        with contextlib.suppress(KeyError):
            sink.release("/pool")


@POSTGRESQL_ONLY
async def test_a_sibling_hears_the_first_process_not_the_api(
    backend: str, database: Database, idle: Settings, sink: Sink
) -> None:
    async with workers(idle, "sibling"):
        await seed_due_deliveries(database, sink.url("/pool"), 3, account="Pool")
        await _notify(database, fanout.NOTIFY_CHANNEL)
        await asyncio.sleep(QUIET_S)
        assert sink.at("/pool") == []  # the API's NOTIFY is the first process's
        await _notify(database, SIBLINGS_CHANNEL)
        await sink.wait_for(3, "/pool", within_s=WAIT_S)
