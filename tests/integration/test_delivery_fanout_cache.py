"""The fan-out reads an account's endpoints once per transaction, never across."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import service
from porthook.delivery.models import Delivery
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from tests.conftest import AccountFactory


async def _record(session: AsyncSession, account_id: uuid.UUID, clock: ShiftableClock) -> None:
    await events.record(session, account_id=account_id, type="record.dids.inserted",
                        subject_type="dids", subject_id=uuid.uuid4(),
                        data={"schema": "dids", "record": {}}, occurred_at=clock.now())


async def test_an_endpoint_added_after_a_commit_gets_the_next_events(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    await _record(session, account_id, clock)  # no endpoint yet: nothing to deliver
    await session.commit()
    await service.create_endpoint(session, account_id=account_id,
                                  body=EndpointCreate(url="http://127.0.0.1:9/hook"),
                                  settings=settings, now=clock.now())
    await session.commit()
    await _record(session, account_id, clock)
    await _record(session, account_id, clock)  # same transaction: the cached read
    await session.commit()
    count = await session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    assert count == 2
