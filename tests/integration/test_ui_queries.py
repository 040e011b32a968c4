"""The desk queue's read model on both backends: saved views, filters, the
age in status, keyset pages, and one query per page whatever its size."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.porting import creation, desk
from porthook.porting.models import PortingOrder
from porthook.porting.schemas import PortingOrderCreate, StatusChange
from porthook.ui import queries
from porthook.ui.queries import QueueFilters
from tests.conftest import AccountFactory
from tests.porting_helpers import order_body

PAGE = 2


async def _orders(session: AsyncSession, account_id: uuid.UUID, settings: Settings,
                  clock: ShiftableClock, count: int, first: int) -> list[PortingOrder]:
    made = []
    for index in range(count):
        body = PortingOrderCreate.model_validate(order_body(f"+1212555{first + index:04d}"))
        made.append(await creation.create_order(session, account_id=account_id, body=body,
                                               settings=settings, now=clock.now()))
        clock.advance(timedelta(minutes=1))
    return made


async def _move(session: AsyncSession, order: PortingOrder, clock: ShiftableClock,
                *statuses: str, **extra: Any) -> None:
    for status in statuses:
        if status == "in-process":
            order.documents  # noqa: B018  (loaded: submit checks the LOA)
            order.status = "in-process"  # the customer's submit, without an LOA upload
            order.status_changed_at = clock.now()
            await session.flush()
            continue
        await desk.change_status(session, order_id=order.id,
                                 body=StatusChange.model_validate({"status": status, **extra}),
                                 now=clock.now())


async def _all(session: AsyncSession, filters: QueueFilters, clock: ShiftableClock,
               limit: int = PAGE) -> list[queries.QueueRow]:
    rows, cursor = await queries.desk_queue(session, filters=filters, now=clock.now(),
                                            cursor=None, limit=limit)
    while cursor:
        more, cursor = await queries.desk_queue(session, filters=filters, now=clock.now(),
                                                cursor=cursor, limit=limit)
        rows += more
    return rows


async def test_views_filters_and_pages(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    acme, _ = await make_account("Acme")
    other, _ = await make_account("Other")
    mine = await _orders(session, acme, settings, clock, 5, 100)
    theirs = await _orders(session, other, settings, clock, 2, 200)
    # Oldest first in exception: the later an order got there, the lower it sits.
    for order in reversed(mine[:3]):
        await _move(session, order, clock, "in-process", "submitted")
        await _move(session, order, clock, "exception",
                    details=[{"code": "OTHER"}])
        clock.advance(timedelta(minutes=5))
    await _move(session, mine[3], clock, "in-process")
    foc = clock.now() + timedelta(hours=24)
    await _move(session, theirs[0], clock, "in-process", "submitted")
    await _move(session, theirs[0], clock, "foc-date-confirmed", foc_date=foc.isoformat())
    await session.commit()

    everything = await _all(session, QueueFilters(), clock)
    assert [r.order_number for r in everything] == sorted(
        (o.order_number for o in mine + theirs), reverse=True)
    exception = await _all(session, QueueFilters(view="exception"), clock)
    assert [r.id for r in exception] == [o.id for o in reversed(mine[:3])]
    ages = [clock.now() - r.status_changed_at for r in exception]
    assert ages == sorted(ages, reverse=True)
    assert [r.id for r in await _all(session, QueueFilters(view="needs-action"), clock)] == [
        mine[3].id]
    assert [r.id for r in await _all(session, QueueFilters(view="foc-48h"), clock)] == [
        theirs[0].id]
    by_account = await _all(session, QueueFilters(account_id=other), clock)
    assert {r.account_name for r in by_account} == {"Other"}
    by_number = await _all(session, QueueFilters(phone_number="+12125550101"), clock)
    assert [r.id for r in by_number] == [mine[1].id]
    assert everything[0].number_count == 1
    day = foc.date()
    in_range = await _all(session, QueueFilters(foc_from=day, foc_to=day), clock)
    assert [r.id for r in in_range] == [theirs[0].id]


@pytest.mark.parametrize("count", [3, 12])
async def test_one_query_per_page_whatever_its_size(
    database: Database, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock, count: int,
) -> None:
    account_id, _ = await make_account()
    async with database.sessions() as session:
        await _orders(session, account_id, settings, clock, count, 300)
        await session.commit()
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with database.sessions() as session:
            rows, _ = await queries.desk_queue(session, filters=QueueFilters(),
                                               now=clock.now(), cursor=None, limit=50)
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert len(rows) == count
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
