"""Porting use cases against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.events.models import Event
from porthook.porting import creation, desk, due, moves
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.porting.schemas import PortingOrderCreate, StatusChange
from porthook.problems import Conflict, Unprocessable
from tests.conftest import AccountFactory, count_rows
from tests.porting_helpers import CHICAGO, NY, order_body


async def _create(session: AsyncSession, account_id: uuid.UUID, settings: Settings,
                  clock: ShiftableClock, *numbers: str) -> PortingOrder:
    body = PortingOrderCreate.model_validate(order_body(*numbers))
    return await creation.create_order(session, account_id=account_id, body=body,
                                      settings=settings, now=clock.now())


async def _types(session: AsyncSession) -> list[str]:
    return list((await session.scalars(sa.select(Event.type).order_by(Event.position))).all())


async def test_create_records_order_and_lnp_events_together(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order = await _create(session, account_id, settings, clock, NY, CHICAGO)
    await session.commit()
    assert order.order_number >= 1 and order.support_key.startswith("sr_")
    assert await _types(session) == [
        "porting_order.created", "record.lnp_requests.inserted",
        "record.lnp_numbers.inserted", "record.lnp_numbers.inserted",
    ]
    created = await session.scalar(sa.select(Event).where(Event.type == "porting_order.created"))
    assert created is not None and created.subject_id == str(order.id)
    assert created.data["porting_order"]["order_number"] == order.order_number


async def test_rolled_back_create_leaves_neither_order_nor_event(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    await _create(session, account_id, settings, clock, NY)
    await session.rollback()
    assert await count_rows(session, "porting_orders") == 0
    assert await count_rows(session, "events") == 0


async def test_refused_moves_leave_no_event(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order_id = (await _create(session, account_id, settings, clock, NY)).id
    await session.commit()
    before = await count_rows(session, "events")
    with pytest.raises(Unprocessable):  # no LOA yet: incomplete
        await moves.submit_order(session, account_id=account_id, order_id=order_id,
                                   now=clock.now())
    await session.rollback()
    await moves.cancel_order(session, account_id=account_id, order_id=order_id,
                               now=clock.now())
    await session.commit()
    after_cancel = await count_rows(session, "events")
    with pytest.raises(Conflict):  # cancelling twice is not a move
        await moves.cancel_order(session, account_id=account_id, order_id=order_id,
                                   now=clock.now())
    await session.rollback()
    assert await count_rows(session, "events") == after_cancel == before + 2
    subject = await session.scalars(sa.select(Event.sequence).where(
        Event.subject_type == "porting_order", Event.subject_id == str(order_id)
    ).order_by(Event.sequence))
    assert list(subject) == [1, 2]


async def test_a_number_sits_on_one_open_order(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    first = await _create(session, account_id, settings, clock, NY)
    await session.commit()
    with pytest.raises(Conflict) as info:
        await _create(session, account_id, settings, clock, CHICAGO, NY)
    assert str(first.id) in info.value.detail
    await session.rollback()
    assert await count_rows(session, "porting_orders") == 1


async def test_the_database_refuses_a_second_open_holder(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    first_id = (await _create(session, account_id, settings, clock, NY)).id
    second_id = (await _create(session, account_id, settings, clock, CHICAGO)).id
    await session.commit()
    # Bypass the service's check, as a concurrent writer would.
    session.add(PortingNumber(id=uuid.uuid4(), order_id=second_id, position=9,
                              phone_number=NY, country_code="US", status="pending",
                              held_number=NY))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()
    # Once the first order is deleted, the number is free.
    await moves.delete_order(session, account_id=account_id, order_id=first_id,
                               now=clock.now())
    await session.commit()
    third = await _create(session, account_id, settings, clock, NY)
    await session.commit()
    kept = await session.scalar(sa.select(PortingOrder.status).where(PortingOrder.id == first_id))
    assert kept == "deleted" and third.status == "draft"


async def _foc_confirmed(session: AsyncSession, account_id: uuid.UUID, settings: Settings,
                         clock: ShiftableClock) -> PortingOrder:
    order = await _create(session, account_id, settings, clock, NY)
    order.status = "submitted"  # the customer's and desk's earlier steps are tested elsewhere
    await session.flush()
    await desk.change_status(session, order_id=order.id, now=clock.now(), body=StatusChange(
        status="foc-date-confirmed", foc_date=clock.now() + timedelta(days=1)))
    await session.commit()
    return order


async def test_due_work_activates_then_ports(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order = await _foc_confirmed(session, account_id, settings, clock)
    clock.advance(timedelta(days=10))
    async with database.sessions() as worker:
        await due.run_due_work(worker, now=clock.now(), settings=settings)
        await worker.commit()
    status = await session.scalar(sa.select(PortingOrder.status)
                                  .where(PortingOrder.id == order.id))
    assert status == "ported"
    types = await _types(session)
    activated = types.index("porting_order.numbers_activated")
    assert types[activated + 1] == "porting_order.status_changed"
    assert "record.lnp_requests.updated" in types[activated:]


async def test_due_work_skips_orders_another_worker_holds(
    session: AsyncSession, database: Database, backend: str, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers: there are no row locks to skip")
    account_id, _ = await make_account()
    order = await _foc_confirmed(session, account_id, settings, clock)
    clock.advance(timedelta(days=10))
    async with database.sessions() as holder, database.sessions() as worker:
        await holder.execute(sa.select(PortingOrder.order_number)
                             .where(PortingOrder.id == order.id).with_for_update())
        activated = await due.activate_due_orders(worker, now=clock.now())
        await worker.commit()
        assert activated == 0  # skipped, not blocked
        await holder.rollback()
        activated = await due.activate_due_orders(worker, now=clock.now())
        await worker.commit()
        assert activated == 1
