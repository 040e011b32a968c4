"""One structured log line per failed attempt and per delivery gone dead or
held; none for a success (successes are metrics)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.delivery import queue, recording, service
from porthook.delivery.models import Endpoint
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from tests.conftest import AccountFactory
from tests.unit.format_events import make_order

LOGGER = "porthook.delivery.failures"
TYPE = "porting_order.status_changed"


async def _endpoint(session: AsyncSession, settings: Settings, account_id: uuid.UUID,
                    now: datetime) -> Endpoint:
    return await service.create_endpoint(
        session, account_id=account_id, settings=settings, now=now,
        body=EndpointCreate(url="https://93.184.216.34/hook", event_types=["porting_order.*"]))


async def _claimed(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> list[Any]:
    order = make_order(webhook_url=None)
    await events.record(session, account_id=account_id, type=TYPE, subject_type="porting_order",
                        subject_id=order["id"], occurred_at=now,
                        data={"porting_order": order, "previous_status": "in-process"})
    await session.commit()
    claimed = await queue.claim(session, now=now, limit=10, lease_s=60.0)
    await session.commit()
    return claimed


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


async def test_a_failed_attempt_and_a_dead_delivery_each_leave_one_line(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    account_id, _ = await make_account()
    now = clock.now()
    ok, flaky, gone = [await _endpoint(session, settings, account_id, now) for _ in range(3)]
    claimed = {c.endpoint_id: c for c in await _claimed(session, account_id, now)}
    await recording.record_outcomes(session, [
        queue.Outcome(claimed=claimed[ok.id], attempted_at=now, status_code=204,
                      event_type=TYPE),
        queue.Outcome(claimed=claimed[flaky.id], attempted_at=now, status_code=500,
                      event_type=TYPE),
        queue.Outcome(claimed=claimed[gone.id], attempted_at=now, status_code=410,
                      event_type=TYPE),
    ], now=now, settings=settings, random=lambda: 0.5)
    await session.commit()
    by_endpoint = {r.endpoint_id: r for r in _lines(caplog) if hasattr(r, "attempt")}
    assert ok.id not in by_endpoint  # a success: no line
    retry = by_endpoint[flaky.id]
    assert (retry.levelname, retry.outcome, retry.attempt, retry.status_code, retry.error,
            retry.event_type, retry.event_id) == (
        "WARNING", "retrying", 1, 500, "HTTP 500", TYPE, claimed[flaky.id].event_id)
    assert retry.next_attempt_at == (now + timedelta(seconds=settings.retry_schedule[1])
                                     ).isoformat()
    assert "status_code=500" in retry.getMessage() and "attempt=1" in retry.getMessage()
    dead = by_endpoint[gone.id]
    assert (dead.levelname, dead.outcome, dead.status_code) == ("ERROR", "dead", 410)
    assert not hasattr(dead, "next_attempt_at")
    # The 410 disabled that endpoint: one line says so (nothing was waiting).
    held = [r for r in _lines(caplog) if getattr(r, "held", None) is not None]
    assert [(r.endpoint_id, r.held, r.outcome) for r in held] == [(gone.id, 0, "held")]


async def test_a_row_of_a_disabled_endpoint_is_held_with_a_line(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    account_id, _ = await make_account()
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    [claimed] = await _claimed(session, account_id, now)
    await recording.record_outcomes(session, [
        queue.Outcome(claimed=claimed, attempted_at=now, skipped="held", event_type=TYPE),
        ], now=now, settings=settings, random=lambda: 0.5)
    await session.commit()
    [line] = _lines(caplog)
    assert (line.outcome, line.endpoint_id, line.delivery_id, line.event_type) == (
        "held", endpoint.id, claimed.id, TYPE)
    assert line.getMessage().startswith("delivery held: ")
