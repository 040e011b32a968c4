"""A PostgreSQL engine keeps every connection it opened once the requests that
needed them are done (``db.make_engine``): more requests in flight than
``pool_size`` used to open and close a connection for each one past it, every
time (a backend fork, authentication, statements prepared again)."""

from __future__ import annotations

import asyncio
import contextlib

import sqlalchemy as sa

from porthook import db
from porthook.config import Settings
from porthook.db import Database


async def test_connections_past_pool_size_stay_open_for_the_next_requests(
    pg_database_url: str,
) -> None:
    database = Database(Settings(database_url=pg_database_url), pool_size=2)
    in_flight = 5
    try:
        async with contextlib.AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(database.engine.connect())
                           for _ in range(in_flight)]
            await asyncio.gather(*(c.scalar(sa.text("SELECT 1")) for c in connections))
        pool = database.engine.sync_engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        assert pool.checkedin() == in_flight
        assert pool.size() == 2 + db.PG_POOL_EXTRA  # the cap is pool_size + PG_POOL_EXTRA
    finally:
        await database.dispose()
