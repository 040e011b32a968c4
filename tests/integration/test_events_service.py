from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.events import service as events
from tests.conftest import AccountFactory, count_rows


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
