from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import fanout
from porthook.delivery import service as delivery
from porthook.delivery.models import Delivery
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from tests.conftest import AccountFactory, count_rows, statements


async def test_sequence_per_subject_and_cursor(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock
) -> None:
    account_id, _ = await make_account()
    subject_a, subject_b = uuid.uuid4(), uuid.uuid4()
    for subject in (subject_a, subject_b, subject_a, subject_a):
        await events.record(session, account_id=account_id, type="porting_order.updated",
                            subject_type="porting_order", subject_id=subject, data={},
                            occurred_at=clock.now())
    await session.commit()
    page, cursor = await events.list_events(session, account_id=account_id,
                                            subject_id=str(subject_a), cursor=None, limit=2)
    assert [e.sequence for e in page] == [1, 2]
    rest, end = await events.list_events(session, account_id=account_id,
                                         subject_id=str(subject_a), cursor=cursor, limit=2)
    assert [e.sequence for e in rest] == [3]
    assert end is None


async def test_rolled_back_change_leaves_no_event(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock
) -> None:
    account_id, _ = await make_account()
    await events.record(session, account_id=account_id, type="porting_order.created",
                        subject_type="porting_order", subject_id=uuid.uuid4(), data={},
                        occurred_at=clock.now())
    await session.rollback()
    assert await count_rows(session, "events") == 0


async def test_record_many_numbers_each_subject_in_order(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock
) -> None:
    # One batch naming a subject several times (a move's order and lnp
    # records), after a subject already has events: each event numbered after
    # its subject's last, in the order given, positions in that order too.
    account_id, _ = await make_account()
    subject_a, subject_b = uuid.uuid4(), uuid.uuid4()
    await events.record(session, account_id=account_id, type="porting_order.created",
                        subject_type="porting_order", subject_id=subject_a, data={},
                        occurred_at=clock.now())
    batch = [(subject_a, {"z": 1, "a": [1, "é"]}), (subject_b, {}), (subject_a, {"n": None}),
             (subject_b, {"b": True}), (subject_a, {})]
    recorded = await events.record_many(session, [
        events.NewEvent(account_id=account_id, type="porting_order.updated",
                        subject_type="porting_order", subject_id=subject, data=data,
                        occurred_at=clock.now())
        for subject, data in batch
    ])
    await session.commit()
    assert [e.sequence for e in recorded] == [2, 1, 3, 2, 4]
    positions = [e.position for e in recorded]
    assert positions == sorted(positions)
    stored, _ = await events.list_events(session, account_id=account_id, cursor=None, limit=10)
    assert [(e.subject_id, e.sequence, e.data) for e in stored[1:]] == [
        (str(subject), e.sequence, data) for (subject, data), e in zip(batch, recorded, strict=True)
    ]
    assert [list(e.data) for e in stored[1:]] == [list(data) for _, data in batch]
    assert {e.position for e in stored[1:]} == set(positions)


async def test_record_many_writes_each_events_deliveries_with_its_number_and_position(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings, backend: str,
) -> None:
    # On PostgreSQL the events, their numbers and their deliveries are one
    # statement, each delivery taking its event's position and number from
    # the events' insert; the workers' NOTIFY rides on it.
    account_id, _ = await make_account()
    enabled = await delivery.create_endpoint(
        session, account_id=account_id, body=EndpointCreate(url="http://127.0.0.1:9/a"),
        settings=settings, now=clock.now())
    disabled = await delivery.create_endpoint(
        session, account_id=account_id, body=EndpointCreate(url="http://127.0.0.1:9/b"),
        settings=settings, now=clock.now())
    await delivery.disable(session, endpoint=disabled, reason="test", now=clock.now())
    await session.commit()
    subject_a, subject_b = uuid.uuid4(), uuid.uuid4()
    await _record_one(session, account_id, subject_a, clock)
    await session.commit()
    await session.execute(sa.select(1))  # the transaction begun
    with statements(database) as seen:
        recorded = await events.record_many(session, [
            events.NewEvent(account_id=account_id, type="record.dids.updated",
                            subject_type="dids", subject_id=subject, data={"n": i},
                            occurred_at=clock.now())
            for i, subject in enumerate((subject_a, subject_b, subject_a))])
    if backend == "postgresql":
        assert seen == ["SELECT", "WITH"]  # the endpoints (once per transaction), the rest
        assert session.info.get(fanout._NOTIFIED_KEY) is session.get_transaction()
    await session.commit()
    rows = (await session.execute(
        sa.select(Delivery.event_id, Delivery.endpoint_id, Delivery.event_position,
                  Delivery.sequence, Delivery.status, Delivery.ordering_key)
        .where(Delivery.event_id.in_([e.id for e in recorded])))).all()
    assert sorted(rows, key=lambda r: (r.event_position, r.status)) == [
        (e.id, endpoint.id, e.position, e.sequence, status, f"dids:{e.subject_id}")
        for e in recorded
        for endpoint, status in ((disabled, "held"), (enabled, "pending"))
    ]
    assert [e.sequence for e in recorded] == [2, 1, 3]


async def test_a_change_with_no_endpoint_records_its_events_alone(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    await _record_one(session, account_id, uuid.uuid4(), clock)
    assert session.info.get(fanout._NOTIFIED_KEY) is None  # nothing to wake anyone for
    await session.commit()
    assert await count_rows(session, "events") == 1
    assert await count_rows(session, "deliveries") == 0


async def _record_one(session: AsyncSession, account_id: uuid.UUID, subject: uuid.UUID,
                      clock: ShiftableClock) -> None:
    await events.record(session, account_id=account_id, type="record.dids.inserted",
                        subject_type="dids", subject_id=subject, data={}, occurred_at=clock.now())


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite keeps no length
async def test_a_subject_too_long_for_its_column_is_refused_not_cut_short(
    backend: str, session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    # The events go in from arrays: a cast to the column's VARCHAR(64) would cut it.
    account_id, _ = await make_account()
    with pytest.raises(Exception, match="too long"):
        await events.record(session, account_id=account_id, type="record.dids.inserted",
                            subject_type="dids", subject_id="x" * 65, data={},
                            occurred_at=clock.now())
    await session.rollback()
    assert await count_rows(session, "events") == 0
