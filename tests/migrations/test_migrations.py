"""The Alembic head builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from porthook import migrate
from porthook.db import all_models, make_engine


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, all_models()))


async def _diff_after_upgrade(url: str) -> list[Any]:
    # Alembic's env runs its own event loop: give it a thread.
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def test_head_matches_models_on_sqlite(tmp_path: Any) -> None:
    assert await _diff_after_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") == []


async def test_head_matches_models_on_postgresql(scratch_pg_url: str) -> None:
    assert await _diff_after_upgrade(scratch_pg_url) == []
