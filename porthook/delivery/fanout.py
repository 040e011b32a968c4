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

import functools
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

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
    return await _insert(session, await delivery_rows(session, events))


async def delivery_rows(session: AsyncSession, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The new delivery rows of the events of one change (``delivery_row``),
    for a caller that inserts them itself (``events.record_many``)."""
    return [delivery_row(event, endpoint, event.occurred_at)
            for event in events for endpoint in await _endpoints(session, event)]


async def _endpoints(session: AsyncSession, event: Event) -> list[Target]:
    endpoints = await _account_endpoints(session, event)
    if event.subject_type == "porting_order":
        endpoints.extend(await _porting_endpoints(session, event, endpoints))
    return endpoints


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    connection = await session.connection()
    # Rows as parameters, not in ``values()``: a multi-row VALUES is never
    # cached, and compiling it cost more than running it.
    notifying = wake_on_commit(session, rows)
    await connection.execute(_INSERT_NOTIFYING if notifying else _INSERT, rows)
    if notifying:
        notified(session)
    return len(rows)


def wake_on_commit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> bool:
    """Have the workers woken when the transaction commits, if ``rows`` (new
    deliveries) hold one to send. True when the statement that inserts them
    must also send PostgreSQL's NOTIFY (call ``notified`` once it has): the
    wake-up rides on the insert (one notification per channel and payload
    at commit, however many rows called it), one round trip for both."""
    if not any(row["status"] == models.PENDING for row in rows):
        return False
    db.wake_on_commit(session)
    return session.get_bind().dialect.name == "postgresql" and not _notified(session)


def notified(session: AsyncSession) -> None:
    """This transaction's NOTIFY is sent (``wake_on_commit``)."""
    session.info[_NOTIFIED_KEY] = session.get_transaction()


_DELIVERIES = cast(sa.Table, Delivery.__table__)
_INSERT = sa.insert(_DELIVERIES)
_INSERT_NOTIFYING = sa.insert(_DELIVERIES).returning(sa.func.pg_notify(NOTIFY_CHANNEL, ""))


_NOTIFIED_KEY = "porthook.fanout.notified"


async def notify(session: AsyncSession) -> None:
    """Wake the workers when this transaction commits: this process's own
    (``porthook serve``) at once, and on PostgreSQL every other through NOTIFY.
    Once per transaction: PostgreSQL delivers one notification at commit
    however many were sent, so the others were round trips for nothing."""
    db.wake_on_commit(session)
    if session.get_bind().dialect.name != "postgresql" or _notified(session):
        return
    await session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")))
    notified(session)


def _notified(session: AsyncSession) -> bool:
    return session.info.get(_NOTIFIED_KEY) is session.get_transaction()


async def _account_endpoints(session: AsyncSession, event: Event) -> list[Target]:
    targets = await _read_endpoints(session, event.account_id, _order_webhook_url(event))
    return [target for target in targets
            if target.origin in _ACCOUNT_ORIGINS
            and _wants(target, event.type) and _takes_subject(target, event)]


def _takes_subject(endpoint: Target, event: Event) -> bool:
    """A listener's ``--order``: no row at all for another subject's events,
    so its log and queue hold only what it forwards."""
    return endpoint.subject_id is None or endpoint.subject_id == event.subject_id


class Target(NamedTuple):
    """What the fan-out reads of an endpoint and its notification profile: a
    plain row, not an ORM object (no identity map, no attribute tracking)."""

    id: uuid.UUID
    origin: str
    channel: str
    url: str | None
    format: str
    event_types: list[Any]
    subject_id: str | None
    enabled: bool
    strict_ordering: bool
    profile_enabled: bool | None  # None: no profile
    profile_event_types: list[Any] | None


_ENDPOINTS = cast(sa.Table, Endpoint.__table__)
_PROFILES = cast(sa.Table, NotificationProfile.__table__)
_TARGET_COLUMNS = (
    *(_ENDPOINTS.c[name] for name in Target._fields[:9]),
    _PROFILES.c.enabled.label("profile_enabled"),
    _PROFILES.c.event_types.label("profile_event_types"),
)
_CACHE_KEY = "porthook.fanout.endpoints"
_ACCOUNT_ORIGINS = frozenset({models.ORIGIN_USER, models.ORIGIN_LISTENER})


async def _read_endpoints(session: AsyncSession, account_id: uuid.UUID,
                          order_url: str | None) -> list[Target]:
    """The account's endpoints (its own, its listeners', its porting defaults'),
    and those of the order webhook URL ``order_url``, oldest first; read once
    per transaction, in ONE query: one change records several events (an order
    and its lnp records) and each fans out."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE_KEY)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {}, {})
        session.info[_CACHE_KEY] = cached
    by_account: dict[uuid.UUID, list[Target]] = cached[1]
    by_url: dict[tuple[uuid.UUID, str], list[Target]] = cached[2]
    want_url = order_url is not None and (account_id, order_url) not in by_url
    if account_id not in by_account or want_url:
        connection = await session.connection()
        params = {"account_id": account_id, "order_url": order_url}
        if connection.dialect.name == "postgresql":
            found = await db.driver_rows(
                connection, _driver_targets(account_id not in by_account, want_url), params)
        else:
            found = list(await connection.execute(
                _targets_statement(account_id not in by_account, want_url), params))
        rows = [Target(*row) for row in found]
        if account_id not in by_account:
            by_account[account_id] = [r for r in rows if r.origin != models.ORIGIN_ORDER]
        if order_url is not None and want_url:
            by_url[(account_id, order_url)] = [
                r for r in rows if r.origin == models.ORIGIN_ORDER]
    if order_url is None:
        return by_account[account_id]
    return by_account[account_id] + by_url[(account_id, order_url)]


@functools.cache
def _targets_statement(of_account: bool, of_url: bool) -> sa.Select[Any]:
    """The endpoints of the account (``of_account``), of its order webhook URL
    (``of_url``: an account may have an order endpoint per order), or both;
    built once per shape (building it cost more than running it)."""
    which: list[sa.ColumnElement[bool]] = []
    if of_account:
        # Each origin a parameter of its own, not one expanding list: the
        # statement compiles once for asyncpg (``_driver_targets``).
        origins = sorted([*_ACCOUNT_ORIGINS, models.ORIGIN_DEFAULTS])
        which.append(_ENDPOINTS.c.origin.in_([sa.literal(o) for o in origins]))
    if of_url:
        which.append(sa.and_(_ENDPOINTS.c.origin == models.ORIGIN_ORDER,
                             _ENDPOINTS.c.url == sa.bindparam("order_url")))
    return (sa.select(*_TARGET_COLUMNS)
            .outerjoin(_PROFILES, _ENDPOINTS.c.profile_id == _PROFILES.c.id)
            .where(_ENDPOINTS.c.account_id == sa.bindparam("account_id"), sa.or_(*which))
            .order_by(_ENDPOINTS.c.created_at))


@functools.cache
def _driver_targets(of_account: bool, of_url: bool) -> db.DriverStatement:
    return db.DriverStatement.compile(_targets_statement(of_account, of_url))


def _wants(endpoint: Target, event_type: str, *, with_profile: bool = True) -> bool:
    if with_profile and endpoint.profile_enabled is not None and not (
            endpoint.profile_enabled
            and rules.matches(endpoint.profile_event_types or [], event_type)):
        return False
    if not rules.matches(endpoint.event_types, event_type):
        return False
    # E-mail endpoints read every type (``formats.email``); webhooks only what
    # their format has an equivalent for.
    # Listeners get webhook calls (their stream carries them).
    return endpoint.channel == "email" or formats.supports(endpoint.format, event_type)


async def _porting_endpoints(
    session: AsyncSession, event: Event, already: list[Target]
) -> list[Target]:
    """The default webhook's endpoint, then the order's own, unless another
    endpoint that takes the event already has its URL (never sent twice)."""
    order_url = _order_webhook_url(event)
    rows = [e for e in await _read_endpoints(session, event.account_id, order_url)
            if e.url is not None]
    defaults = [e for e in rows if e.origin == models.ORIGIN_DEFAULTS][:1]
    orders = [e for e in rows if e.origin == models.ORIGIN_ORDER and e.url == order_url][:1]
    extra: list[Target] = []
    urls = {e.url for e in already}
    for endpoint in (*defaults, *orders):
        # The profile is of the account's own endpoints, not of these.
        if endpoint.url not in urls and _wants(endpoint, event.type, with_profile=False):
            extra.append(endpoint)
            urls.add(endpoint.url)
    return extra


def _order_webhook_url(event: Event) -> str | None:
    order = event.data.get("porting_order")
    url = order.get("webhook_url") if isinstance(order, dict) else None
    return url if isinstance(url, str) and url else None


def delivery_row(event: Event, endpoint: Endpoint | Target, now: Any) -> dict[str, Any]:
    """The event's new delivery row for the endpoint (held if it is disabled)."""
    return {
        "id": db.new_id(),
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
