"""``bench/pg_rows.py`` drives the worker's own PostgreSQL statements over
every seeded row: each one claimed, recorded delivered with its attempt, and
the CPU it printed counted over the rows it names (it broke once unseen when
the store's outcome connection became a list)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import pg_rows
from porthook.db import Database
from porthook.delivery.models import DELIVERED, Delivery, DeliveryAttempt


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_every_seeded_row_is_claimed_and_recorded(backend: str, database: Database) -> None:
    args = pg_rows.parser().parse_args(
        ["--count", "300", "--batch", "40", "--in-flight", "2", "--renew-every", "2"])
    lines = await pg_rows.measure(database, args)
    async with database.sessions() as session:
        statuses = dict((await session.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status))).all())
        attempts = await session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt))
    assert statuses == {DELIVERED: 300}
    assert attempts == 300
    assert any(line.strip().startswith("claim") and "(300 rows)" in line for line in lines)
    assert any(line.strip().startswith("outcome") and "(300 rows)" in line for line in lines)
    renewed = next(line for line in lines if line.strip().startswith("renew"))
    assert "(0 rows)" not in renewed
