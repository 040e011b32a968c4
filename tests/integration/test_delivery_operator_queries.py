"""The services behind ``porthook deliveries list|retry`` across accounts:
filters, newest first, and a retry that sends now whatever the status, never
to a disabled endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import actions, models, search, service
from porthook.delivery.models import Delivery, Endpoint
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from porthook.problems import Conflict, NotFound
from tests.conftest import AccountFactory


async def _endpoint(session: AsyncSession, settings: Settings, account_id: uuid.UUID,
                    now: datetime) -> Endpoint:
    return await service.create_endpoint(
        session, account_id=account_id, settings=settings, now=now,
        body=EndpointCreate(url="https://93.184.216.34/hook", event_types=["record.*"]))


async def _record(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> None:
    await events.record(session, account_id=account_id, type="record.dids.inserted",
                        subject_type="dids", subject_id=uuid.uuid4(),
                        data={"schema": "dids", "record": {}}, occurred_at=now)


async def test_filters_and_newest_first(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    first, _ = await make_account()
    other, _ = await make_account(name="Other")
    mine = await _endpoint(session, settings, first, clock.now())
    theirs = await _endpoint(session, settings, other, clock.now())
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        await _record(session, first, clock.now())
    await _record(session, other, clock.now())
    await session.execute(sa.update(Delivery).where(Delivery.endpoint_id == theirs.id)
                          .values(status=models.DEAD))
    await session.commit()
    newest, _ = await search.search(session, account_id=first, where=search.DeliveryFilter(),
                                    cursor=None, limit=2)
    assert [d.endpoint_id for d in newest] == [mine.id, mine.id]
    assert newest[0].created_at > newest[1].created_at
    dead, _ = await search.search(session, account_id=None, cursor=None, limit=10,
                                  where=search.DeliveryFilter(states=[models.DEAD]))
    assert [d.endpoint_id for d in dead] == [theirs.id]
    mine_dead = search.DeliveryFilter(states=[models.DEAD], endpoint_id=mine.id)
    assert await search.search(session, account_id=None, where=mine_dead, cursor=None,
                               limit=10) == ([], None)


async def test_retry_sends_now_whatever_the_status_and_refuses_a_disabled_endpoint(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    endpoint = await _endpoint(session, settings, account_id, clock.now())
    await _record(session, account_id, clock.now())
    await session.execute(sa.update(Delivery).values(
        status=models.DELIVERED, attempts=3, next_attempt_at=clock.now()))
    await session.commit()
    [delivery] = (await session.scalars(sa.select(Delivery))).all()
    clock.advance(timedelta(minutes=5))
    now = clock.now()
    done = await actions.retry_delivery(session, account_id=None, delivery_id=delivery.id,
                                        now=now)
    await session.commit()
    assert done.requeued == [delivery.id]
    await session.refresh(delivery)
    assert (delivery.status, delivery.round_start) == (models.PENDING, 3)
    assert delivery.next_attempt_at <= now
    await service.disable(session, endpoint=endpoint, reason="test", now=clock.now())
    await session.commit()
    with pytest.raises(Conflict, match="disabled"):
        await actions.retry_delivery(session, account_id=None, delivery_id=delivery.id,
                                   now=clock.now())
    with pytest.raises(NotFound):
        await actions.retry_delivery(session, account_id=uuid.uuid4(), delivery_id=delivery.id,
                                   now=clock.now())
