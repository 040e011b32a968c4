"""Status moves against a real database (SQLite and PostgreSQL): what they
record, and in how many statements."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.events.models import Event
from porthook.porting import attachments, creation, desk, moves, service
from porthook.porting.models import PortingOrder
from porthook.porting.schemas import PortingOrderCreate, StatusChange
from porthook.records import service as records
from tests.conftest import AccountFactory, statements
from tests.porting_helpers import CHICAGO, NY, PDF, TORONTO, order_body


async def _submitted(session: AsyncSession, account_id: uuid.UUID, settings: Settings,
                     clock: ShiftableClock, *numbers: str) -> PortingOrder:
    body = PortingOrderCreate.model_validate(order_body(*numbers))
    order = await creation.create_order(session, account_id=account_id, body=body,
                                       settings=settings, now=clock.now())
    order.status = "submitted"  # the customer's and desk's earlier steps are tested elsewhere
    await session.commit()
    return order


async def _foc(session: AsyncSession, order: PortingOrder, clock: ShiftableClock) -> None:
    await desk.change_status(session, order_id=order.id, now=clock.now(), body=StatusChange(
        status="foc-date-confirmed", foc_date=clock.now() + timedelta(days=1)))


async def test_foc_confirmation_updates_the_order_once(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order = await _submitted(session, account_id, settings, clock, NY)
    with statements(database, full=True) as seen:
        await _foc(session, order, clock)
    await session.commit()
    updates = [s for s in seen if s.startswith("UPDATE porting_orders")]
    assert len(updates) == 1, seen
    # The order with its numbers, comments and documents (one statement), the defaults.
    assert len([s for s in seen[:seen.index(updates[0])] if s.startswith("SELECT")]) == 2
    assert order.foc_date is not None and order.activation_due_at is not None


async def test_activation_records_new_dids_last_in_the_numbers_order(
    session: AsyncSession, make_account: AccountFactory, settings: Settings,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order = await _submitted(session, account_id, settings, clock, TORONTO, CHICAGO, NY)
    await _foc(session, order, clock)
    # CHICAGO is a DID of the account already: no second DID, no event.
    await records.add_ported_did(session, account_id=account_id, number_e164=CHICAGO,
                                 now=clock.now())
    await session.commit()
    start = await session.scalar(sa.select(sa.func.max(Event.position)))
    await moves.activate_numbers(session, order=order, phone_numbers=None,
                                   activate_user="operator", now=clock.now())
    await session.commit()
    recorded = (await session.scalars(sa.select(Event).where(Event.position > start)
                                      .order_by(Event.position))).all()
    assert [e.type for e in recorded] == [
        "porting_order.numbers_activated", "porting_order.status_changed",
        "record.lnp_requests.updated", "record.dids.inserted", "record.dids.inserted",
    ]
    dids = recorded[-2:]
    assert [e.data["record"]["number"] for e in dids] == ["4165550103", "2125550101"]
    assert [e.data["record"]["state"] for e in dids] == ["ON", "NY"]
    assert [e.subject_id for e in dids] == [str(e.data["record"]["id"]) for e in dids]
    assert [e.sequence for e in dids] == [1, 1]
    listed, _ = await records.list_records(session, account_id=account_id, schema="dids",
                                           filters={}, cursor=None, limit=10)
    assert sorted(r["number"] for r in listed) == ["2125550101", "3125550102", "4165550103"]


async def test_the_whole_order_loads_its_comments_and_documents_in_order(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    settings: Settings, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    order = await _submitted(session, account_id, settings, clock, NY, CHICAGO)
    empty = await service.get_order(session, order_id=order.id, account_id=account_id,
                                    for_update=True)
    assert (empty.comments, empty.documents) == ([], [])
    for i, internal in enumerate((False, True, False)):
        clock.advance(timedelta(seconds=1))
        await attachments.add_comment(session, order_id=order.id, account_id=None,
                                      body=f"c{i}", user_type="admin", user_id=None,
                                      now=clock.now(), internal=internal)
    for name in ("b.pdf", "a.pdf"):
        clock.advance(timedelta(seconds=1))
        await attachments.add_document(session, order_id=order.id, account_id=account_id,
                                       document_type="loa", filename=name, content=PDF,
                                       max_bytes=1000, now=clock.now())
    await session.commit()
    session.expunge_all()
    with statements(database) as seen:
        loaded = await service.get_order(session, order_id=order.id, account_id=account_id,
                                         for_update=True)
    # The order, its numbers, comments and documents in one statement (SQLite: BEGIN too).
    assert [s for s in seen if s != "BEGIN"] == ["SELECT"]
    assert [c.body for c in loaded.comments] == ["c0", "c1", "c2"]
    assert [c.internal for c in loaded.comments] == [False, True, False]
    assert [d.filename for d in loaded.documents] == ["b.pdf", "a.pdf"]
    assert [n.phone_number for n in loaded.numbers] == [NY, CHICAGO]
    # Loaded as the relationships load them: a change cascades, content stays deferred.
    assert "content" not in loaded.documents[0].__dict__
    await session.delete(loaded.comments[0])
    loaded.comments.pop(0)
    await session.commit()
    session.expunge_all()
    again = await service.get_order(session, order_id=order.id, account_id=None)
    assert [c.body for c in again.comments] == ["c1", "c2"]
