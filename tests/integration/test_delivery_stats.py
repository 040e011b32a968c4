"""Endpoint stats on SQLite and PostgreSQL: the percentiles agree (each
backend's own way), and attempts count by class and window."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import service, stats
from porthook.delivery.models import Delivery, DeliveryAttempt, Endpoint
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from tests.conftest import AccountFactory
from tests.unit.format_events import make_order


async def _endpoint(session: AsyncSession, settings: Settings, account_id: uuid.UUID,
                    now: datetime) -> Target:
    create = EndpointCreate.model_validate({"url": "https://93.184.216.34/hook"})
    endpoint = await service.create_endpoint(session, account_id=account_id, body=create,
                                             settings=settings, now=now)
    return endpoint, await _delivery_of(session, endpoint, now)


async def _delivery_of(session: AsyncSession, endpoint: Endpoint, now: datetime) -> uuid.UUID:
    order = make_order(webhook_url=None)
    event = await events.record(
        session, account_id=endpoint.account_id, type="porting_order.status_changed",
        subject_type="porting_order", subject_id=order["id"],
        data={"porting_order": order, "previous_status": "in-process"}, occurred_at=now)
    found = await session.scalar(sa.select(Delivery.id).where(Delivery.event_id == event.id))
    assert found is not None
    return found


Target = tuple[Endpoint, uuid.UUID]  # an endpoint and one delivery of it


def _attempt(target: Target, at: datetime, duration_ms: int, status_code: int | None,
             error: str | None = None) -> DeliveryAttempt:
    # Attempts of one delivery: stats read them by endpoint, not through deliveries.
    endpoint, delivery_id = target
    return DeliveryAttempt(delivery_id=delivery_id, endpoint_id=endpoint.id, number=1,
                           attempted_at=at, duration_ms=duration_ms, delivered_to="x",
                           status_code=status_code, error=error)


@pytest.mark.parametrize(("durations", "p50", "p95"), [
    ([10, 20, 30, 40], 25.0, 38.5),  # interpolated between neighbours, as percentile_cont
    ([7], 7.0, 7.0),  # one value is every percentile
    ([5, 1, 3], 3.0, 4.8),  # order of recording does not matter
])
async def test_percentiles_agree_on_both_backends(
    session: AsyncSession, settings: Settings, make_account: AccountFactory,
    clock: ShiftableClock, durations: list[int], p50: float, p95: float,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    target = await _endpoint(session, settings, account_id, now)
    endpoint = target[0]
    session.add_all([_attempt(target, now, d, 200) for d in durations])
    # Failures and old successes are not in the figures.
    session.add(_attempt(target, now, 9999, 500, None))
    session.add(_attempt(target, now - timedelta(days=2), 9999, 204))
    await session.flush()
    found = await stats.percentiles(session, endpoint_id=endpoint.id, since={
        "24h": now - timedelta(days=1), "1h": now - timedelta(hours=1)})
    assert found == {"24h": {"p50": p50, "p95": p95}, "1h": {"p50": p50, "p95": p95}}


async def test_attempts_count_by_class_and_window(
    session: AsyncSession, settings: Settings, make_account: AccountFactory,
    clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    target = await _endpoint(session, settings, account_id, now)
    endpoint = target[0]
    session.add_all([
        _attempt(target, now - timedelta(minutes=5), 10, 200),
        _attempt(target, now - timedelta(minutes=6), 10, 302),
        _attempt(target, now - timedelta(hours=2), 10, 404),
        _attempt(target, now - timedelta(hours=3), 10, None, "connection refused"),
        _attempt(target, now - timedelta(days=3), 10, 502),
        _attempt(target, now - timedelta(days=8), 10, 500),  # outside every window
    ])
    await session.flush()
    found = await stats.endpoint_stats(session, endpoint=endpoint, now=now)
    zero = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "network": 0}
    assert found.windows["1h"].counts == {**zero, "2xx": 1, "3xx": 1}
    assert found.windows["24h"].counts == {**zero, "2xx": 1, "3xx": 1, "4xx": 1, "network": 1}
    assert found.windows["7d"].counts == {**zero, "2xx": 1, "3xx": 1, "4xx": 1, "network": 1,
                                          "5xx": 1}
    assert found.windows["24h"].success_rate == 0.25
    assert found.last_success is not None and found.last_success.status_code == 200
    assert found.last_failure is not None and found.last_failure.status_code == 302
