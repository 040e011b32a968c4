"""Turning a freshly recorded event into deliveries, in the event's transaction.

Called by ``events.record``: the change, its event and its deliveries commit
together or not at all (transactional outbox). Who receives an event:

* every endpoint of the account (origin ``user`` or ``porting_defaults``) whose
  event-type filter matches, whose notification profile (if any) is enabled and
  matches, and whose format has an equivalent for the type (``formats.supports``);
* for porting-order events, the account's default webhook URL (seed 000's
  porting defaults, ``porting.defaults``): it becomes one endpoint of origin
  ``porting_defaults`` with the defaults' ``webhook_format``, created here on
  first use and kept in step with the defaults (URL and format), so the user
  sees it in ``GET /v1/endpoints`` and can rotate its secret, filter, disable
  or recover it like any other;
* for porting-order events, the order's own ``webhook_url`` (seed 001): one
  endpoint of origin ``porting_order`` per URL, created here on first use,
  visible and configurable the same way. It receives only the events of orders
  naming its URL. Its format is the defaults' ``webhook_format`` when the
  account set a default webhook, else ``telnyx`` (seed 001 defines per-order
  URLs). A URL already served by another matching endpoint is not sent twice.

Disabled endpoints still get their rows, as ``held``: enabling the endpoint and
``recover`` replays them. On PostgreSQL a ``NOTIFY`` in the same transaction
wakes the workers at commit (and never if the transaction rolls back).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.delivery import formats, models, rules, signing
from porthook.delivery.models import Delivery, Endpoint, NotificationProfile
from porthook.events.models import Event

NOTIFY_CHANNEL = "porthook_deliveries"
ORDER_ENDPOINT_FORMAT = "telnyx"  # seed 001 is the seed with per-order webhook URLs


async def enqueue(session: AsyncSession, event: Event, *, only_missing: bool = False) -> int:
    """Create the event's deliveries; ``only_missing`` (redelivery) skips endpoints
    that already have one. Returns how many rows were created."""
    endpoints = await _account_endpoints(session, event)
    if event.subject_type == "porting_order":
        endpoints.extend(await _porting_endpoints(session, event, endpoints))
    if only_missing and endpoints:
        existing = set((await session.scalars(
            sa.select(Delivery.endpoint_id).where(Delivery.event_id == event.id))).all())
        endpoints = [e for e in endpoints if e.id not in existing]
    if not endpoints:
        return 0
    now = event.occurred_at
    rows = [delivery_row(event, endpoint, now) for endpoint in endpoints]
    await session.execute(sa.insert(Delivery), rows)
    if any(row["status"] == models.PENDING for row in rows):
        await notify(session)
    return len(rows)


async def notify(session: AsyncSession) -> None:
    """Wake the workers when this transaction commits: this process's own
    (``porthook serve``) at once, and on PostgreSQL every other through NOTIFY."""
    db.wake_on_commit(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))


async def _account_endpoints(session: AsyncSession, event: Event) -> list[Endpoint]:
    return [endpoint for endpoint, profile in await _user_endpoints(session, event.account_id)
            if _wants(endpoint, profile, event.type)]


_CACHE_KEY = "porthook.fanout.endpoints"


async def _user_endpoints(
    session: AsyncSession, account_id: uuid.UUID
) -> list[tuple[Endpoint, NotificationProfile | None]]:
    """The account's endpoints, read once per transaction: one change records
    several events (an order and its lnp records) and each fans out."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_CACHE_KEY] = cached
    by_account: dict[uuid.UUID, list[tuple[Endpoint, NotificationProfile | None]]] = cached[1]
    if account_id not in by_account:
        result = await session.execute(
            sa.select(Endpoint, NotificationProfile)
            .outerjoin(NotificationProfile, Endpoint.profile_id == NotificationProfile.id)
            .where(Endpoint.account_id == account_id, Endpoint.origin == models.ORIGIN_USER)
        )
        by_account[account_id] = [(endpoint, profile) for endpoint, profile in result.all()]
    return by_account[account_id]


def _wants(endpoint: Endpoint, profile: NotificationProfile | None, event_type: str) -> bool:
    if profile is not None and not (profile.enabled and rules.matches(profile.event_types,
                                                                       event_type)):
        return False
    if not rules.matches(endpoint.event_types, event_type):
        return False
    # E-mail endpoints read every type (``formats.email``); webhooks only what
    # their format has an equivalent for.
    return endpoint.channel == "email" or formats.supports(endpoint.format, event_type)


async def _porting_endpoints(
    session: AsyncSession, event: Event, already: list[Endpoint]
) -> list[Endpoint]:
    # Imported here: porting imports the events outbox, which imports this module.
    from porthook.porting import defaults as porting_defaults

    row = await porting_defaults.get_defaults(session, account_id=event.account_id)
    default_url = row.webhook_url if row is not None else None
    default_format = row.webhook_format if row is not None and default_url else None
    extra: list[Endpoint] = []
    urls = {e.url for e in already}
    if default_url and default_url not in urls:
        endpoint = await _defaults_endpoint(session, event, default_url, default_format)
        if _wants(endpoint, None, event.type):
            extra.append(endpoint)
            urls.add(default_url)
    order_url = _order_webhook_url(event)
    if order_url and order_url not in urls:
        endpoint = await _order_endpoint(session, event, order_url,
                                         default_format or ORDER_ENDPOINT_FORMAT)
        if _wants(endpoint, None, event.type):
            extra.append(endpoint)
    return extra


def _order_webhook_url(event: Event) -> str | None:
    order = event.data.get("porting_order")
    url = order.get("webhook_url") if isinstance(order, dict) else None
    return url if isinstance(url, str) and url else None


async def _defaults_endpoint(
    session: AsyncSession, event: Event, url: str, format: str | None
) -> Endpoint:
    found = await session.scalar(sa.select(Endpoint).where(
        Endpoint.account_id == event.account_id, Endpoint.origin == models.ORIGIN_DEFAULTS,
    ).limit(1))
    if found is None:
        found = _managed(event, models.ORIGIN_DEFAULTS, url, format or "standard",
                         "default webhook URL of the porting defaults")
        session.add(found)
    elif (found.url, found.format) != (url, format or found.format):
        found.url, found.format = url, format or found.format
        found.updated_at = event.occurred_at
    await session.flush()
    return found


async def _order_endpoint(session: AsyncSession, event: Event, url: str, format: str) -> Endpoint:
    found = await session.scalar(
        sa.select(Endpoint).where(
            Endpoint.account_id == event.account_id,
            Endpoint.origin == models.ORIGIN_ORDER,
            Endpoint.url == url,
        ).limit(1)
    )
    if found is not None:
        return found
    endpoint = _managed(event, models.ORIGIN_ORDER, url, format, "webhook_url of a porting order")
    session.add(endpoint)
    await session.flush()
    return endpoint


def _managed(event: Event, origin: str, url: str, format: str, description: str) -> Endpoint:
    return Endpoint(
        id=uuid.uuid4(), account_id=event.account_id, origin=origin, channel="webhook", url=url,
        format=format, description=description, event_types=["porting_order.*"],
        secret=signing.generate_secret(), enabled=True, failing_notified=False,
        strict_ordering=False, created_at=event.occurred_at, updated_at=event.occurred_at,
    )


def delivery_row(event: Event, endpoint: Endpoint, now: Any) -> dict[str, Any]:
    """The event's new delivery row for the endpoint (held if it is disabled)."""
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
