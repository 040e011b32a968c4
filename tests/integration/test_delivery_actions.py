"""Issue 14's actions on the deliveries table, on SQLite and PostgreSQL: what a
retry or a redelivery takes, what it leaves alone (delivered rows, other
endpoints, rows a worker holds), and what an endpoint fix makes due."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import actions, models, queue, recording, service
from porthook.delivery.models import Delivery, Endpoint
from porthook.delivery.schemas import EndpointCreate, EndpointUpdate
from porthook.events import service as events
from porthook.events.models import Event
from porthook.problems import Conflict, NotFound
from tests.conftest import AccountFactory
from tests.unit.format_events import make_order

LATER = timedelta(minutes=25)  # a retry scheduled far ahead


async def _endpoint(
    session: AsyncSession, settings: Settings, account_id: uuid.UUID, now: datetime,
    **body: Any,
) -> Endpoint:
    create = EndpointCreate.model_validate({"url": "https://93.184.216.34/hook",
                                            "event_types": ["porting_order.*"], **body})
    return await service.create_endpoint(session, account_id=account_id, body=create,
                                         settings=settings, now=now)


async def _event(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> Event:
    order = make_order(webhook_url=None)
    return await events.record(
        session, account_id=account_id, type="porting_order.status_changed",
        subject_type="porting_order", subject_id=order["id"],
        data={"porting_order": order, "previous_status": "in-process"}, occurred_at=now)


async def _set(session: AsyncSession, event: Event, endpoint: Endpoint, **values: Any) -> uuid.UUID:
    """Put the event's delivery to the endpoint in a given state; its id."""
    found = await session.execute(
        sa.update(Delivery).where(Delivery.event_id == event.id,
                                  Delivery.endpoint_id == endpoint.id)
        .values(**values).returning(Delivery.id))
    return found.scalar_one()


def _dead(now: datetime) -> dict[str, Any]:
    return {"status": models.DEAD, "attempts": 3, "next_attempt_at": now}


def _retrying(now: datetime) -> dict[str, Any]:
    return {"status": models.PENDING, "attempts": 1, "next_attempt_at": now + LATER}


def _in_flight(now: datetime) -> dict[str, Any]:
    # Leased until well after every ``now`` of these tests.
    return {"status": models.PENDING, "attempts": 2, "lease_token": uuid.uuid4(),
            "next_attempt_at": now, "lease_expires_at": now + timedelta(hours=3)}


async def _row(session: AsyncSession, delivery_id: uuid.UUID) -> Any:
    return (await session.execute(sa.select(Delivery.status, Delivery.next_attempt_at,
                                            Delivery.round_start, Delivery.attempts,
                                            Delivery.lease_token)
                                  .where(Delivery.id == delivery_id))).one()


@pytest.mark.parametrize("state", ["dead", "delivered", "held", "retrying", "expired lease"])
async def test_retry_delivery_sends_it_now_whatever_its_status(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, state: str,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    event = await _event(session, account_id, now)
    values = {"dead": _dead(now), "retrying": _retrying(now),
              "delivered": {"status": models.DELIVERED, "attempts": 1, "delivered_at": now},
              "held": {"status": models.HELD},
              "expired lease": {**_in_flight(now), "lease_expires_at": now - timedelta(1)}}[state]
    delivery_id = await _set(session, event, endpoint, **values)
    await session.commit()
    done = await actions.retry_delivery(session, account_id=account_id,
                                        delivery_id=delivery_id, now=now)
    await session.commit()
    assert done == actions.Requeue(requeued=[delivery_id])
    row = await _row(session, delivery_id)
    assert row.status == models.PENDING and row.next_attempt_at <= now
    assert row.lease_token is None and row.round_start == row.attempts  # a fresh schedule
    [claimed] = await queue.claim(session, now=now, limit=10, lease_s=60)
    assert claimed.id == delivery_id and claimed.round_attempt == 1


async def test_retry_leaves_a_row_under_lease_to_its_worker(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    await _event(session, account_id, now)
    await session.commit()
    [claimed] = await queue.claim(session, now=now, limit=10, lease_s=60)
    await session.commit()
    done = await actions.retry_delivery(session, account_id=account_id, delivery_id=claimed.id,
                                        now=now)
    await session.commit()
    # A no-op, said as such: requeueing would clear the lease and send it twice.
    assert done == actions.Requeue(in_flight=[claimed.id])
    again = await actions.retry_endpoint(session, endpoint=endpoint, since=None, now=now)
    assert again.requeued == [] and again.in_flight == [claimed.id]
    # The worker's outcome still lands: its lease was not touched.
    outcome = queue.Outcome(claimed=claimed, attempted_at=now, status_code=500)
    await recording.record_outcomes(session, [outcome], now=now, settings=settings,
                                    random=lambda: 0.5)
    await session.commit()
    row = await _row(session, claimed.id)
    assert row.status == models.PENDING and row.attempts == 1 and row.lease_token is None


async def test_retry_refuses_a_disabled_endpoint_and_other_accounts(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    other_id, _ = await make_account(name="Other")
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    event = await _event(session, account_id, now)
    delivery_id = await _set(session, event, endpoint, **_dead(now))
    await service.disable(session, endpoint=endpoint, reason="test", now=now)
    await session.commit()
    with pytest.raises(Conflict, match="enable it"):
        await actions.retry_delivery(session, account_id=account_id, delivery_id=delivery_id,
                                     now=now)
    with pytest.raises(Conflict, match="enable it"):
        await actions.retry_endpoint(session, endpoint=endpoint, since=None, now=now)
    with pytest.raises(NotFound):
        await actions.retry_delivery(session, account_id=other_id, delivery_id=delivery_id,
                                     now=now)


async def test_endpoint_retry_takes_retrying_dead_and_held_rows_oldest_first_only(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    start = clock.now()
    endpoint = await _endpoint(session, settings, account_id, start)
    other = await _endpoint(session, settings, account_id, start)
    states = [_dead, _retrying, lambda now: {"status": models.HELD},
              lambda now: {"status": models.DELIVERED, "attempts": 1},
              lambda now: {"status": models.PENDING,  # not tried yet, due in two hours
                           "next_attempt_at": now + timedelta(hours=2)},
              _in_flight, _dead]
    ids = []
    for minutes, state in enumerate(states):
        now = start + timedelta(minutes=minutes)
        event = await _event(session, account_id, now)
        ids.append(await _set(session, event, endpoint, **state(now)))
        await _set(session, event, other, **_dead(now))
    await session.commit()
    now = start + timedelta(hours=1)
    done = await actions.retry_endpoint(session, endpoint=endpoint, since=None, now=now)
    await session.commit()
    assert done.requeued == [ids[0], ids[1], ids[2], ids[6]]  # oldest first
    assert done.in_flight == [ids[5]]
    assert (await _row(session, ids[3])).status == models.DELIVERED
    assert (await _row(session, ids[4])).next_attempt_at > now  # never tried: not a failure
    others = await session.scalars(sa.select(Delivery.status)
                                   .where(Delivery.endpoint_id == other.id))
    assert set(others) == {models.DEAD}
    # Due in the order they were made: the due-order claim takes the oldest first.
    due = [(await _row(session, i)).next_attempt_at for i in done.requeued]
    assert due == sorted(due) and due[-1] <= now
    claimed = await queue.claim(session, now=now, limit=2, lease_s=60)
    assert {c.id for c in claimed} == set(done.requeued[:2])
    # ``since`` narrows it to rows made from then on.
    await session.commit()
    await session.execute(sa.update(Delivery).where(Delivery.id.in_(done.requeued))
                          .values(status=models.DEAD, lease_token=None))
    late = await actions.retry_endpoint(session, endpoint=endpoint,
                                        since=start + timedelta(minutes=2), now=now)
    assert late.requeued == [ids[2], ids[6]]


async def test_redeliver_goes_only_where_the_event_was_not_received(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    received, failing, waiting = [await _endpoint(session, settings, account_id, now)
                                  for _ in range(3)]
    off = await _endpoint(session, settings, account_id, now)
    await service.disable(session, endpoint=off, reason="test", now=now)
    event = await _event(session, account_id, now)
    got = await _set(session, event, received, status=models.DELIVERED, attempts=1)
    dead = await _set(session, event, failing, **_dead(now))
    later = await _set(session, event, waiting, **_retrying(now))
    newcomer = await _endpoint(session, settings, account_id, now)  # made after the event
    await session.commit()
    done = await actions.redeliver_event(session, account_id=account_id, event_id=event.id,
                                         now=now)
    await session.commit()
    [made] = done.created
    assert set(done.requeued) == {dead, later, made}
    assert (await session.scalar(sa.select(Delivery.endpoint_id)
                                 .where(Delivery.id == made))) == newcomer.id
    assert (await _row(session, got)).status == models.DELIVERED  # not sent again
    held = await session.scalar(sa.select(Delivery.status).where(
        Delivery.event_id == event.id, Delivery.endpoint_id == off.id))
    assert held == models.HELD  # a disabled endpoint waits for enable
    # To one endpoint: that one only, whatever it received.
    one = await actions.redeliver_event(session, account_id=account_id, event_id=event.id,
                                        endpoint=received, now=now)
    assert one == actions.Requeue(requeued=[got])
    await session.commit()
    # Forced: every enabled endpoint again.
    forced = await actions.redeliver_event(session, account_id=account_id, event_id=event.id,
                                           force=True, now=now)
    assert set(forced.requeued) == {got, dead, later, made}


async def test_fixing_or_enabling_an_endpoint_makes_waiting_rows_due(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    event = await _event(session, account_id, now)
    waiting = await _set(session, event, endpoint, **_retrying(now))
    await session.commit()

    async def patch(**body: Any) -> None:
        await service.update_endpoint(session, account_id=account_id, endpoint_id=endpoint.id,
                                      body=EndpointUpdate.model_validate(body),
                                      settings=settings, now=now)
        await session.commit()

    await patch(description="not how it is reached")
    assert (await _row(session, waiting)).next_attempt_at > now
    for body in ({"url": "https://93.184.216.34/fixed"},
                 {"credentials": {"type": "bearer", "token": "t"}},
                 {"headers": {"X-Tenant": "acme"}}, {"format": "telnyx"}):
        await session.execute(sa.update(Delivery).where(Delivery.id == waiting)
                              .values(next_attempt_at=now + LATER))
        await patch(**body)
        assert (await _row(session, waiting)).next_attempt_at <= now, body
    await service.disable(session, endpoint=endpoint, reason="test", now=now)
    await session.commit()
    assert (await _row(session, waiting)).status == models.HELD
    await service.enable(session, account_id=account_id, endpoint_id=endpoint.id, now=now)
    await session.commit()
    row = await _row(session, waiting)
    assert row.status == models.PENDING and row.next_attempt_at <= now
