"""``db.driver_rows``: a statement run on asyncpg itself belongs to the
session's transaction, whether or not SQLAlchemy had begun it on the server."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.accounts.models import Account
from porthook.clock import ShiftableClock
from porthook.db import Database

POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"])
_ACCOUNTS = cast(sa.Table, Account.__table__)
_INSERT = db.DriverStatement.compile(
    sa.insert(_ACCOUNTS).values(id=sa.bindparam("id"), name=sa.bindparam("name"),
                                created_at=sa.bindparam("now"))
    .returning(_ACCOUNTS.c.id, _ACCOUNTS.c.name))


async def _accounts(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(Account)) or 0)


@POSTGRESQL_ONLY
@pytest.mark.parametrize("first", [True, False], ids=["first statement", "after another"])
async def test_a_driver_statement_rolls_back_with_the_session(
    backend: str, database: Database, session: AsyncSession, clock: ShiftableClock,
    first: bool,
) -> None:
    if not first:
        await session.execute(sa.select(1))
    connection = await session.connection()
    rows = await db.driver_rows(connection, _INSERT,
                                {"id": uuid.uuid4(), "name": "gone", "now": clock.now()})
    assert [row[1] for row in rows] == ["gone"]
    assert await _accounts(database) == 0  # not committed on its own
    await session.rollback()
    assert await _accounts(database) == 0


@POSTGRESQL_ONLY
async def test_a_driver_statement_commits_with_the_session(
    backend: str, database: Database, session: AsyncSession, clock: ShiftableClock,
) -> None:
    connection = await session.connection()
    account_id = uuid.uuid4()
    (row,) = await db.driver_rows(connection, _INSERT,
                                  {"id": account_id, "name": "kept", "now": clock.now()})
    assert row[0] == account_id
    await session.commit()
    assert await _accounts(database) == 1
