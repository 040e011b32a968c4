"""Endpoint health after a batch of attempts: failing, disabled, recovered.

The decision is ``rules.health_after``; this module reads the endpoints
concerned in one query and records the ``endpoint.*`` events in the batch's
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings
from porthook.delivery import rules, service
from porthook.delivery.models import Endpoint
from porthook.events import service as events
from porthook.events.types import EventType

if TYPE_CHECKING:
    from porthook.delivery.queue import Outcome


async def apply(
    session: AsyncSession, outcomes: Mapping[uuid.UUID, Sequence[Outcome]], *,
    now: datetime, settings: Settings,
) -> list[Endpoint]:
    endpoints = (await session.scalars(
        sa.select(Endpoint).where(Endpoint.id.in_(list(outcomes)), Endpoint.enabled.is_(True))
    )).all()
    disabled = []
    for endpoint in endpoints:
        items = outcomes[endpoint.id]
        if await _apply_one(session, endpoint, items, now=now, settings=settings):
            disabled.append(endpoint)
    return disabled


async def _apply_one(
    session: AsyncSession, endpoint: Endpoint, items: Sequence[Outcome], *,
    now: datetime, settings: Settings,
) -> bool:
    gone = any(o.status_code == rules.GONE for o in items)
    health = rules.health_after(
        failing_since=endpoint.failing_since, failing_notified=endpoint.failing_notified,
        succeeded=any(rules.succeeded(o.status_code, o.error) for o in items) and not gone,
        gone=gone, now=now, disable_after_s=settings.disable_after_failing_s,
        failing_after_s=settings.endpoint_failing_after_s,
    )
    endpoint.failing_since = health.failing_since
    endpoint.failing_notified = health.failing_notified
    last = items[-1]
    reason = last.error or f"HTTP {last.status_code}"
    for event_type in health.events:
        if event_type == EventType.ENDPOINT_DISABLED:
            why = ("the endpoint answered 410 Gone" if gone else
                   f"every attempt failed for {settings.disable_after_failing_s:.0f} s "
                   f"(last: {reason})")
            await service.disable(session, endpoint=endpoint, reason=why, now=now)
            continue
        await events.record(
            session, account_id=endpoint.account_id, type=event_type, subject_type="endpoint",
            subject_id=endpoint.id,
            data={"endpoint": service.endpoint_snapshot(endpoint),
                  "reason": reason if event_type == EventType.ENDPOINT_FAILING
                  else "an attempt succeeded"},
            occurred_at=now,
        )
    return health.disable
