"""Turning a freshly recorded event into deliveries, in the event's transaction.

Called by ``events.record``: the change, its event and its deliveries commit
together or not at all (transactional outbox). Who receives an event:

* every endpoint the account made (origin ``user``) whose
  event-type filter matches, whose notification profile (if any) is enabled and
  matches, and whose format has an equivalent for the type (``formats.supports``);
* for porting-order events, the endpoint of the account's default webhook URL
  (origin ``porting_defaults``) and the endpoint of the order's own
  ``webhook_url`` (origin ``porting_order``, one per URL, receiving only the
  events of orders naming it). Porting makes and updates both when it writes
  the defaults or the order (``managed``); here they are only read. A URL
  already served by another matching endpoint is not sent twice.

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
from porthook.delivery import formats, models, rules
from porthook.delivery.models import Delivery, Endpoint, NotificationProfile
from porthook.events.models import Event

NOTIFY_CHANNEL = "porthook_deliveries"


async def enqueue(session: AsyncSession, event: Event, *, only_missing: bool = False) -> int:
    """Create the event's deliveries; ``only_missing`` (redelivery) skips endpoints
    that already have one. Returns how many rows were created."""
    endpoints = await _endpoints(session, event)
    if only_missing and endpoints:
        existing = set((await session.scalars(
            sa.select(Delivery.endpoint_id).where(Delivery.event_id == event.id))).all())
        endpoints = [e for e in endpoints if e.id not in existing]
    return await _insert(session, [delivery_row(event, e, event.occurred_at) for e in endpoints])


async def enqueue_many(session: AsyncSession, events: list[Event]) -> int:
    """``enqueue`` for the events of one change: their deliveries in one insert."""
    rows = [delivery_row(event, endpoint, event.occurred_at)
            for event in events for endpoint in await _endpoints(session, event)]
    return await _insert(session, rows)


async def _endpoints(session: AsyncSession, event: Event) -> list[Endpoint]:
    endpoints = await _account_endpoints(session, event)
    if event.subject_type == "porting_order":
        endpoints.extend(await _porting_endpoints(session, event, endpoints))
    return endpoints


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    await session.execute(sa.insert(Delivery), rows)
    if any(row["status"] == models.PENDING for row in rows):
        await notify(session)
    return len(rows)


_NOTIFIED_KEY = "porthook.fanout.notified"


async def notify(session: AsyncSession) -> None:
    """Wake the workers when this transaction commits: this process's own
    (``porthook serve``) at once, and on PostgreSQL every other through NOTIFY.
    Once per transaction: PostgreSQL delivers one notification at commit
    however many were sent, so the others were round trips for nothing."""
    db.wake_on_commit(session)
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if session.info.get(_NOTIFIED_KEY) is transaction:
        return
    await session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))
    session.info[_NOTIFIED_KEY] = transaction


async def _account_endpoints(session: AsyncSession, event: Event) -> list[Endpoint]:
    rows = await _read_endpoints(session, event.account_id, _order_webhook_url(event))
    return [endpoint for endpoint, profile in rows
            if endpoint.origin in _ACCOUNT_ORIGINS
            and _wants(endpoint, profile, event.type) and _takes_subject(endpoint, event)]


def _takes_subject(endpoint: Endpoint, event: Event) -> bool:
    """A listener's ``--order``: no row at all for another subject's events,
    so its log and queue hold only what it forwards."""
    return endpoint.subject_id is None or endpoint.subject_id == event.subject_id


_CACHE_KEY = "porthook.fanout.endpoints"
_ACCOUNT_ORIGINS = frozenset({models.ORIGIN_USER, models.ORIGIN_LISTENER})
Rows = list[tuple[Endpoint, NotificationProfile | None]]


async def _read_endpoints(session: AsyncSession, account_id: uuid.UUID,
                          order_url: str | None) -> Rows:
    """The account's endpoints (its own, its listeners', its porting defaults'),
    and those of the order webhook URL ``order_url``, oldest first; read once
    per transaction, in ONE query: one change records several events (an order
    and its lnp records) and each fans out."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {}, {})
        session.info[_CACHE_KEY] = cached
    by_account: dict[uuid.UUID, Rows] = cached[1]
    by_url: dict[tuple[uuid.UUID, str], Rows] = cached[2]
    want_url = order_url is not None and (account_id, order_url) not in by_url
    if account_id not in by_account or want_url:
        # The URL in the query: an account may have an order endpoint per order.
        which: list[sa.ColumnElement[bool]] = []
        if account_id not in by_account:
            which.append(Endpoint.origin.in_([*_ACCOUNT_ORIGINS, models.ORIGIN_DEFAULTS]))
        if want_url:
            which.append(sa.and_(Endpoint.origin == models.ORIGIN_ORDER,
                                 Endpoint.url == order_url))
        result = await session.execute(
            sa.select(Endpoint, NotificationProfile)
            .outerjoin(NotificationProfile, Endpoint.profile_id == NotificationProfile.id)
            .where(Endpoint.account_id == account_id, sa.or_(*which))
            .order_by(Endpoint.created_at)
        )
        rows = [(endpoint, profile) for endpoint, profile in result.all()]
        if account_id not in by_account:
            by_account[account_id] = [r for r in rows if r[0].origin != models.ORIGIN_ORDER]
        if order_url is not None and want_url:
            by_url[(account_id, order_url)] = [
                r for r in rows if r[0].origin == models.ORIGIN_ORDER]
    if order_url is None:
        return by_account[account_id]
    return by_account[account_id] + by_url[(account_id, order_url)]


def _wants(endpoint: Endpoint, profile: NotificationProfile | None, event_type: str) -> bool:
    if profile is not None and not (profile.enabled and rules.matches(profile.event_types,
                                                                       event_type)):
        return False
    if not rules.matches(endpoint.event_types, event_type):
        return False
    # E-mail endpoints read every type (``formats.email``); webhooks only what
    # their format has an equivalent for.
    # Listeners get webhook calls (their stream carries them).
    return endpoint.channel == "email" or formats.supports(endpoint.format, event_type)


async def _porting_endpoints(
    session: AsyncSession, event: Event, already: list[Endpoint]
) -> list[Endpoint]:
    """The default webhook's endpoint, then the order's own, unless another
    endpoint that takes the event already has its URL (never sent twice)."""
    order_url = _order_webhook_url(event)
    rows = [e for e, _ in await _read_endpoints(session, event.account_id, order_url)
            if e.url is not None]
    defaults = [e for e in rows if e.origin == models.ORIGIN_DEFAULTS][:1]
    orders = [e for e in rows if e.origin == models.ORIGIN_ORDER and e.url == order_url][:1]
    extra: list[Endpoint] = []
    urls = {e.url for e in already}
    for endpoint in (*defaults, *orders):
        if endpoint.url not in urls and _wants(endpoint, None, event.type):
            extra.append(endpoint)
            urls.add(endpoint.url)
    return extra


def _order_webhook_url(event: Event) -> str | None:
    order = event.data.get("porting_order")
    url = order.get("webhook_url") if isinstance(order, dict) else None
    return url if isinstance(url, str) and url else None


def delivery_row(event: Event, endpoint: Endpoint, now: Any) -> dict[str, Any]:
    """The event's new delivery row for the endpoint (held if it is disabled)."""
    return {
        "id": uuid.uuid4(),
        "account_id": event.account_id,
        "event_id": event.id,
        "event_type": event.type,
        "event_position": event.position,
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
