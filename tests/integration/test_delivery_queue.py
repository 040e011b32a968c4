"""The deliveries table as a queue, on SQLite and PostgreSQL: fan-out in the
event's transaction, claims and leases, takeover, batch outcomes, ordering."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import models, queue, recording, service
from porthook.delivery.models import Delivery, Endpoint
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from porthook.events.models import Event
from tests.conftest import AccountFactory, count_rows
from tests.unit.format_events import make_order

LEASE_S = 60.0


async def _endpoint(
    session: AsyncSession, settings: Settings, account_id: uuid.UUID, now: datetime, **body: object
) -> Endpoint:
    create = EndpointCreate.model_validate({"url": "https://93.184.216.34/hook", **body})
    return await service.create_endpoint(session, account_id=account_id, body=create,
                                         settings=settings, now=now)


async def _event(
    session: AsyncSession, account_id: uuid.UUID, now: datetime, subject: str | None = None
) -> Event:
    order = make_order(webhook_url=None)
    return await events.record(
        session, account_id=account_id, type="porting_order.status_changed",
        subject_type="porting_order", subject_id=subject or order["id"],
        data={"porting_order": order, "previous_status": "in-process"}, occurred_at=now)


async def test_fanout_joins_the_event_transaction(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    await _endpoint(session, settings, account_id, clock.now())
    await session.commit()
    await _event(session, account_id, clock.now())
    assert await count_rows(session, "deliveries") == 1  # written with the event...
    await session.rollback()
    assert await count_rows(session, "deliveries") == 0  # ...and gone with it
    await _event(session, account_id, clock.now())
    await session.commit()
    assert await count_rows(session, "deliveries") == 1


async def test_fanout_filters_by_type_format_and_state(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    other_id, _ = await make_account(name="Other")
    now = clock.now()
    wanted = await _endpoint(session, settings, account_id, now, event_types=["porting_order.*"])
    await _endpoint(session, settings, account_id, now, event_types=["record.*"])
    await _endpoint(session, settings, account_id, now, format="records")  # no equivalent
    await _endpoint(session, settings, other_id, now)  # another account
    off = await _endpoint(session, settings, account_id, now)
    await service.disable(session, endpoint=off, reason="test", now=now)
    event = await _event(session, account_id, now)
    await session.commit()
    rows = (await session.execute(sa.select(Delivery.endpoint_id, Delivery.status)
                                  .where(Delivery.event_id == event.id))).all()
    assert sorted((r.endpoint_id, r.status) for r in rows) == sorted(
        [(wanted.id, models.PENDING), (off.id, models.HELD)])


async def test_claim_leases_and_an_expired_lease_is_taken_over(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    await _endpoint(session, settings, account_id, now)
    for _ in range(3):
        await _event(session, account_id, now)
    await session.commit()
    first = await queue.claim(session, now=now, limit=2, lease_s=LEASE_S)
    await session.commit()
    assert [c.attempt for c in first] == [1, 1]
    assert await queue.claim(session, now=now, limit=10, lease_s=LEASE_S) != []  # the third
    await session.commit()
    assert await queue.claim(session, now=now, limit=10, lease_s=LEASE_S) == []  # all leased
    later = now + timedelta(seconds=LEASE_S + 1)
    taken = await queue.claim(session, now=later, limit=10, lease_s=LEASE_S)
    await session.commit()
    assert len(taken) == 3  # the dead worker's rows come back...
    assert {c.attempt for c in taken} == {2}  # ...counting the lost attempt
    # The first worker wakes up late: its lease is gone, so it records nothing.
    stale = [queue.Outcome(claimed=c, attempted_at=now, status_code=200) for c in first]
    await recording.record_outcomes(session, stale, now=later, settings=settings,
                                    random=lambda: 0.5)
    await session.commit()
    statuses = (await session.scalars(sa.select(Delivery.status))).all()
    assert set(statuses) == {models.PENDING}
    assert await count_rows(session, "delivery_attempts") == 2  # they did happen


async def test_batch_outcomes_set_status_retry_time_and_health(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    ok = await _endpoint(session, settings, account_id, now)
    flaky = await _endpoint(session, settings, account_id, now)
    gone = await _endpoint(session, settings, account_id, now)
    event = await _event(session, account_id, now)
    await session.commit()
    claimed = {c.endpoint_id: c for c in await queue.claim(session, now=now, limit=10,
                                                           lease_s=LEASE_S)}
    await session.commit()
    outcomes = [
        queue.Outcome(claimed=claimed[ok.id], attempted_at=now, status_code=204),
        queue.Outcome(claimed=claimed[flaky.id], attempted_at=now, status_code=500,
                      response_excerpt="x" * 5000),
        queue.Outcome(claimed=claimed[gone.id], attempted_at=now, status_code=410),
    ]
    disabled = await recording.record_outcomes(session, outcomes, now=now, settings=settings,
                                               random=lambda: 0.5)
    await session.commit()
    assert [e.id for e in disabled] == [gone.id]
    # (the endpoint.* events this batch records fan out too: look at the first event only)
    rows = {r.endpoint_id: r for r in (await session.scalars(
        sa.select(Delivery).where(Delivery.event_id == event.id))).all()}
    assert rows[ok.id].status == models.DELIVERED
    assert rows[flaky.id].status == models.PENDING
    assert rows[flaky.id].next_attempt_at == now + timedelta(seconds=settings.retry_schedule[1])
    assert rows[flaky.id].last_error == "HTTP 500"
    assert rows[gone.id].status == models.DEAD
    excerpts = (await session.scalars(sa.text(
        "SELECT length(response_excerpt) FROM delivery_attempts "
        "WHERE response_excerpt IS NOT NULL"))).all()
    assert max(excerpts) == queue.EXCERPT_CHARS
    health = {e.id: e for e in (await session.scalars(sa.select(Endpoint))).all()}
    assert health[gone.id].enabled is False
    assert health[flaky.id].failing_since == now
    types = (await session.scalars(sa.select(Event.type).where(Event.subject_type == "endpoint")
                                   .order_by(Event.position))).all()
    assert sorted(types) == ["endpoint.disabled", "endpoint.failing", "endpoint.failing"]


async def test_strict_ordering_holds_the_next_event_of_a_subject(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    await _endpoint(session, settings, account_id, now, strict_ordering=True)
    subject = str(uuid.uuid4())
    first = await _event(session, account_id, now, subject)
    second = await _event(session, account_id, now, subject)
    other = await _event(session, account_id, now)
    await session.commit()
    claimed = await queue.claim(session, now=now, limit=10, lease_s=LEASE_S)
    await session.commit()
    assert {c.event_id for c in claimed} == {first.id, other.id}  # n+1 waits for n
    done = [queue.Outcome(claimed=c, attempted_at=now, status_code=200) for c in claimed]
    await recording.record_outcomes(session, done, now=now, settings=settings, random=lambda: 0.5)
    await session.commit()
    [next_one] = await queue.claim(session, now=now, limit=10, lease_s=LEASE_S)
    assert next_one.event_id == second.id


async def test_claim_by_endpoint_elsewhere_takes_only_other_endpoints_rows(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    full = await _endpoint(session, settings, account_id, now, event_types=["record.*"])
    other = await _endpoint(session, settings, account_id, now, strict_ordering=True,
                            event_types=["porting_order.*"])
    subject = str(uuid.uuid4())
    first = await _event(session, account_id, now, subject)  # other's only
    await _event(session, account_id, now, subject)  # waits for first (strict ordering)
    await events.record(session, account_id=account_id, type="record.dids.inserted",
                        subject_type="dids", subject_id="1",
                        data={"schema": "dids", "record": {"id": 1}}, occurred_at=now)
    await session.commit()

    async def elsewhere() -> list[queue.Claimed]:
        claimed = await queue.claim_by_endpoint(session, now=now, limit=10, lease_s=LEASE_S,
                                                wanted=[], elsewhere=[full.id])
        await session.commit()
        return claimed

    [taken] = await elsewhere()
    assert (taken.endpoint_id, taken.event_id) == (other.id, first.id)
    assert await elsewhere() == []  # first is leased; the next waits for it
    assert await queue.claim_by_endpoint(session, now=now, limit=10, lease_s=LEASE_S,
                                         wanted=[], elsewhere=[full.id, other.id]) == []
    [full_row] = await queue.claim(session, now=now, limit=10, lease_s=LEASE_S)
    assert full_row.endpoint_id == full.id
