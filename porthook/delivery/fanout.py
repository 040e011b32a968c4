"""Turning a freshly recorded event into deliveries, in the event's transaction.

Called by ``events.record``: the change, its event and its deliveries commit
together or not at all (transactional outbox). Who receives an event:

* every endpoint of the account (origin ``user`` or ``porting_defaults``) whose
  event-type filter matches, whose notification profile (if any) is enabled and
  matches, and whose format has an equivalent for the type (``formats.supports``);
* for porting-order events, the order's own ``webhook_url`` (seed 001). It
  becomes an endpoint of origin ``porting_order``, created here on first use,
  which the user sees in ``GET /v1/endpoints`` and may rotate, disable or
  configure like any other. It receives only the events of orders naming its
  URL. Its format is the one of the account's default webhook endpoint
  (``porting_defaults``, seed 000) when there is one, else ``telnyx``, the
  format of the seed that defines per-order URLs.

Disabled endpoints still get their rows, as ``held``: enabling the endpoint and
``recover`` replays them. On PostgreSQL a ``NOTIFY`` in the same transaction
wakes the workers at commit (and never if the transaction rolls back).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import formats, models, rules, signing
from porthook.delivery.models import Delivery, Endpoint, NotificationProfile
from porthook.events.models import Event

NOTIFY_CHANNEL = "porthook_deliveries"
ORDER_ENDPOINT_FORMAT = "telnyx"  # seed 001 is the seed with per-order webhook URLs


async def enqueue(session: AsyncSession, event: Event, *, only_missing: bool = False) -> int:
    """Create the event's deliveries; ``only_missing`` (redelivery) skips endpoints
    that already have one. Returns how many rows were created."""
    endpoints = await _account_endpoints(session, event)
    order_url = _order_webhook_url(event)
    if order_url and not any(e.url == order_url for e in endpoints):
        order_endpoint = await _order_endpoint(session, event, order_url)
        if _wants(order_endpoint, None, event.type):
            endpoints.append(order_endpoint)
    if only_missing and endpoints:
        existing = set((await session.scalars(
            sa.select(Delivery.endpoint_id).where(Delivery.event_id == event.id))).all())
        endpoints = [e for e in endpoints if e.id not in existing]
    if not endpoints:
        return 0
    now = event.occurred_at
    rows = [_row(event, endpoint, now) for endpoint in endpoints]
    await session.execute(sa.insert(Delivery), rows)
    if any(row["status"] == models.PENDING for row in rows):
        await notify(session)
    return len(rows)


async def notify(session: AsyncSession) -> None:
    """Wake the PostgreSQL workers when this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))


async def _account_endpoints(session: AsyncSession, event: Event) -> list[Endpoint]:
    query = (
        sa.select(Endpoint, NotificationProfile)
        .outerjoin(NotificationProfile, Endpoint.profile_id == NotificationProfile.id)
        .where(Endpoint.account_id == event.account_id, Endpoint.origin != models.ORIGIN_ORDER)
    )
    result = await session.execute(query)
    return [endpoint for endpoint, profile in result.all()
            if _wants(endpoint, profile, event.type)]


def _wants(endpoint: Endpoint, profile: NotificationProfile | None, event_type: str) -> bool:
    if profile is not None and not (profile.enabled and rules.matches(profile.event_types,
                                                                       event_type)):
        return False
    if not rules.matches(endpoint.event_types, event_type):
        return False
    # E-mail endpoints read every type (``formats.email``); webhooks only what
    # their format has an equivalent for.
    return endpoint.channel == "email" or formats.supports(endpoint.format, event_type)


def _order_webhook_url(event: Event) -> str | None:
    if event.subject_type != "porting_order":
        return None
    order = event.data.get("porting_order")
    url = order.get("webhook_url") if isinstance(order, dict) else None
    return url if isinstance(url, str) and url else None


async def _order_endpoint(session: AsyncSession, event: Event, url: str) -> Endpoint:
    found = await session.scalar(
        sa.select(Endpoint).where(
            Endpoint.account_id == event.account_id,
            Endpoint.origin == models.ORIGIN_ORDER,
            Endpoint.url == url,
        ).limit(1)
    )
    if found is not None:
        return found
    default_format = await session.scalar(
        sa.select(Endpoint.format).where(
            Endpoint.account_id == event.account_id, Endpoint.origin == models.ORIGIN_DEFAULTS
        ).limit(1)
    )
    endpoint = Endpoint(
        id=uuid.uuid4(), account_id=event.account_id, origin=models.ORIGIN_ORDER,
        channel="webhook", url=url, format=default_format or ORDER_ENDPOINT_FORMAT,
        description="webhook_url of a porting order", event_types=["porting_order.*"],
        secret=signing.generate_secret(), created_at=event.occurred_at,
        updated_at=event.occurred_at,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


def _row(event: Event, endpoint: Endpoint, now: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "account_id": event.account_id,
        "event_id": event.id,
        "endpoint_id": endpoint.id,
        "status": models.PENDING if endpoint.enabled else models.HELD,
        "ordered": endpoint.strict_ordering,
        "ordering_key": f"{event.subject_type}:{event.subject_id}",
        "sequence": event.sequence,
        "attempts": 0,
        "round_start": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
