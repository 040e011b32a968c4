"""A pooled PostgreSQL connection is tested before use only after sitting idle
(``db.PING_AFTER_IDLE_S``): one cut while idle is replaced without the request
seeing it, and one in steady use costs no ping."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa

from porthook import db
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import PG_ADMIN_DSN


async def _cut_connections(database_url: str) -> int:
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
    finally:
        await admin.close()
    return len(rows)




async def test_a_connection_cut_while_idle_is_replaced_before_use(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    database = Database(Settings(database_url=pg_database_url), pool_size=1)
    try:
        async with database.engine.connect() as connection:
            assert await connection.scalar(sa.text("SELECT 1")) == 1
        assert await _cut_connections(pg_database_url) >= 1
        async with database.engine.connect() as connection:
            assert await connection.scalar(sa.text("SELECT 2")) == 2
    finally:
        await database.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    database = Database(Settings(database_url=pg_database_url), pool_size=1)
    pinged: list[object] = []
    try:
        async with database.engine.connect() as connection:
            raw = (await connection.get_raw_connection()).dbapi_connection
            assert raw is not None

            def ping(self: object) -> None:
                pinged.append(self)

            monkeypatch.setattr(type(raw), "ping", ping)
        for _ in range(3):
            async with database.engine.connect() as connection:
                await connection.scalar(sa.text("SELECT 1"))
        assert pinged == []
        # Cut while "busy": the next use fails as unavailable (503), it is not hidden.
        await _cut_connections(pg_database_url)
        with pytest.raises(sa.exc.DBAPIError) as failure:
            async with database.engine.connect() as connection:
                await connection.scalar(sa.text("SELECT 1"))
        assert failure.value.connection_invalidated
        async with database.engine.connect() as connection:  # the pool made a new one
            assert await connection.scalar(sa.text("SELECT 3")) == 3
    finally:
        await database.dispose()
