"""What ``create_order`` checks before inserting (numbers held by open orders,
DIDs of the account, a free support key), in one statement, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.porting import creation, service
from porthook.porting.models import PortingOrder
from porthook.porting.schemas import PortingOrderCreate
from porthook.porting.snapshot import snapshot
from porthook.problems import Conflict
from porthook.records import service as records
from tests.conftest import AccountFactory, count_rows, statements
from tests.porting_helpers import CHICAGO, NY, TORONTO, order_body


async def _create(session: AsyncSession, account_id: uuid.UUID, settings: Settings,
                  clock: ShiftableClock, *numbers: str) -> PortingOrder:
    body = PortingOrderCreate.model_validate(order_body(*numbers))
    return await creation.create_order(session, account_id=account_id, body=body,
                                      settings=settings, now=clock.now())


def _keys(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    candidates = iter(keys)
    monkeypatch.setattr(service, "support_key", lambda: next(candidates))


async def test_one_select_before_the_inserts(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    await _create(session, account_id, settings, clock, NY)  # warm: the endpoint cache
    with statements(database) as seen:
        await _create(session, account_id, settings, clock, CHICAGO, TORONTO)
    # The checks in one SELECT, then the order's rows: one WITH (inserting
    # the order and its numbers) on PostgreSQL, an INSERT on SQLite.
    assert seen[0] == "SELECT"
    assert seen[1] in ("INSERT", "WITH")


async def test_an_active_did_of_the_account_is_refused(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    other_id, _ = await make_account()
    did = await records.add_ported_did(session, account_id=account_id, number_e164=NY,
                                       now=clock.now())
    await session.commit()
    with pytest.raises(Conflict) as info:
        await _create(session, account_id, settings, clock, CHICAGO, NY)
    assert info.value.detail == (
        "a number already active in this account cannot be ported in: "
        f"{NY}: already active in this account (DID {did['id']} in /v1/records/dids)")
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("phone_numbers", f"{NY}: already active in this account (DID {did['id']} in "
                          "/v1/records/dids)")]
    await session.rollback()
    assert await count_rows(session, "porting_orders") == 0
    # Another account's DID is no obstacle.
    assert (await _create(session, other_id, settings, clock, NY)).status == "draft"


async def test_a_held_number_is_named_before_an_active_did(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    first = await _create(session, account_id, settings, clock, NY)
    await records.add_ported_did(session, account_id=account_id, number_e164=CHICAGO,
                                 now=clock.now())
    await session.commit()
    with pytest.raises(Conflict) as info:
        await _create(session, account_id, settings, clock, CHICAGO, NY)
    assert info.value.detail == ("a number may sit on one open porting order only: "
                                 f"{NY}: already on open porting order {first.id}")


async def test_a_taken_support_key_is_skipped(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    account_id, _ = await make_account()
    _keys(monkeypatch, *["sr_000001"] * service.SUPPORT_KEY_ATTEMPTS)
    await _create(session, account_id, settings, clock, NY)
    taken = ["sr_000001"] * (service.SUPPORT_KEY_ATTEMPTS - 1)
    _keys(monkeypatch, *taken, "sr_000002")
    second = await _create(session, account_id, settings, clock, CHICAGO)
    assert second.support_key == "sr_000002"
    _keys(monkeypatch, *["sr_000002"] * service.SUPPORT_KEY_ATTEMPTS)
    with pytest.raises(Conflict) as info:
        await _create(session, account_id, settings, clock, TORONTO)
    assert info.value.detail == "could not allocate a support key; retry"


async def test_a_number_taken_after_the_checks_is_a_409_and_leaves_nothing(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The race the checks cannot see (another order took the number between
    # the SELECT and the insert), made here by checks that see nothing: the
    # unique held_number refuses the insert, and the caller gets a 409.
    account_id, _ = await make_account()
    await _create(session, account_id, settings, clock, NY)
    await session.commit()
    orders_before = await count_rows(session, "porting_orders")
    seen_nothing = creation._Checks(held={}, active={}, support_key="sr_race01")

    async def blind(*_args: Any, **_kwargs: Any) -> creation._Checks:
        return seen_nothing

    monkeypatch.setattr(creation, "_check_new_order", blind)
    with pytest.raises(Conflict) as info:
        await _create(session, account_id, settings, clock, CHICAGO, NY)
    assert info.value.detail == ("a phone number of this order was just put on another "
                                 "open porting order; retry to see which")
    await session.rollback()
    assert await count_rows(session, "porting_orders") == orders_before
    assert await count_rows(session, "porting_numbers") == 1


async def test_the_created_order_reads_back_as_returned(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    # Its rows are written with Core statements: what the API answered is
    # what the database holds (defaults included), and the order returned can
    # still be changed through the session.
    account_id, _ = await make_account()
    order = await _create(session, account_id, settings, clock, NY, CHICAGO)
    await session.commit()
    answered = snapshot(order)
    async with database.sessions() as other:
        stored = await service.get_order(other, order_id=order.id, account_id=account_id)
        assert snapshot(stored) == answered
        assert stored.port_out_pin == order.port_out_pin
        assert [n.held_number for n in stored.numbers] == [NY, CHICAGO]
    order.customer_reference = "changed"
    await session.commit()
    assert await session.scalar(sa.select(PortingOrder.customer_reference)
                                .where(PortingOrder.id == order.id)) == "changed"


async def test_a_new_order_is_published_without_a_flush_of_the_session(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    # The order and its numbers go in with Core statements, as publish then
    # finds them: assigning their columns the values they hold would mark
    # them modified, and the flush would run the ORM's unit of work for nothing.
    account_id, _ = await make_account()
    flushes: list[object] = []
    sa.event.listen(session.sync_session, "before_flush", lambda *args: flushes.append(args))
    order = await _create(session, account_id, settings, clock, NY)
    await session.commit()
    assert flushes == []
    assert order.numbers[0].held_number == order.numbers[0].phone_number
