"""The one way porting changes leave the domain: ``publish``.

Every use case that changes an order takes a ``Baseline`` before the change and
calls ``publish`` after it, in the same session. ``publish`` keeps the number
holds in step with the statuses, flushes, and records in that same transaction
the ``porting_order.*`` events (each carrying the order snapshot) and the seed
002 record events (``record.lnp_requests.*``, ``record.lnp_numbers.*``) for
whatever those records became.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import managed
from porthook.events import service as events
from porthook.events.types import EventType, record_event_type
from porthook.porting import lnp, rules
from porthook.porting.models import PortingOrder
from porthook.porting.snapshot import snapshot, summary
from porthook.problems import Conflict

SUBJECT = "porting_order"
Record = dict[str, Any]


@dataclass
class Baseline:
    """The lnp records of the orders a use case is about to change."""

    requests: dict[str, Record] = field(default_factory=dict)
    numbers: dict[str, Record] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    order: PortingOrder
    type: str
    extra: dict[str, Any] = field(default_factory=dict)


def baseline(*orders: PortingOrder) -> Baseline:
    before = Baseline()
    for order in orders:
        _collect(snapshot(order), order.status, before)
    return before


def _collect(public: Record, status: str, into: Baseline) -> None:
    # A deleted order has no records left.
    if status == rules.OrderStatus.DELETED:
        return
    _collect_all(public, into)


def _collect_all(public: Record, into: Baseline) -> None:
    into.requests[str(public["id"])] = lnp.lnp_request_record(public)
    for number in public["phone_numbers"]:
        into.numbers[str(number["id"])] = lnp.lnp_number_record(public["id"], number)


def sync_holds(order: PortingOrder) -> None:
    status = rules.OrderStatus(order.status)
    for number in order.numbers:
        holds = rules.holds_number(status, rules.NumberStatus(number.status))
        _assign(number, "held_number", number.phone_number if holds else None)


def _assign(item: Any, key: str, value: Any) -> None:
    # Only a change: assigning a column its own value still marks the row
    # modified, and the session's flush then runs its whole unit of work for
    # nothing (a new order, just inserted as it is: 8 % of its creation's CPU).
    if getattr(item, key) != value:
        setattr(item, key, value)


async def publish(
    session: AsyncSession, *, before: Baseline, changes: Sequence[Change], now: datetime,
    also: Sequence[events.NewEvent] = (),
) -> None:
    """``also``: events of the same change from another domain, recorded last in
    the same batch (an activation's ``record.dids.inserted``)."""
    orders = list({c.order.id: c.order for c in changes}.values())
    for order in orders:
        _assign(order, "updated_at", now)
        sync_holds(order)
    for change in changes:
        if change.type == EventType.PORTING_ORDER_STATUS_CHANGED:
            _assign(change.order, "status_changed_at", now)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise_if_held(exc)
        raise
    await _ensure_order_endpoints(session, orders, now)
    snapshots = {order.id: snapshot(order) for order in orders}
    new = [
        events.NewEvent(
            account_id=change.order.account_id, type=change.type, subject_type=SUBJECT,
            subject_id=change.order.id,
            data={"porting_order": snapshots[change.order.id], **change.extra},
            occurred_at=now,
        )
        for change in changes
    ]
    after, last = Baseline(), Baseline()
    for order in orders:
        _collect(snapshots[order.id], order.status, after)
        if order.status == rules.OrderStatus.DELETED:
            _collect_all(snapshots[order.id], last)
        else:
            last.requests.update(after.requests)  # the same records: not built twice
            last.numbers.update(after.numbers)
    if orders:
        new += _record_diff(orders[0].account_id, before, after, last, now)
    new += also
    # One batch: the events' numbers, rows and deliveries in a few statements.
    await events.record_many(session, new)


def raise_if_held(exc: Exception) -> None:
    """409 for a number that another open order took meanwhile (the unique
    ``held_number``): the pre-checks name the holding order; this is the race
    they cannot see. Any other integrity error is the caller's to raise.
    ``exc``: SQLAlchemy's, or asyncpg's own (``db.driver_rows``)."""
    if "held_number" in str(getattr(exc, "orig", exc)):
        raise Conflict("a phone number of this order was just put on another open "
                       "porting order; retry to see which") from exc


async def publish_summary(session: AsyncSession, *, change: Change, now: datetime) -> None:
    """``publish`` for a change that leaves the order's numbers, holds and lnp
    records as they were (a comment): its event carries the order's summary
    (``snapshot.summary``) instead of the whole order, and no record event can
    be due. Reads none of the order's collections, so the caller need not load
    them: the change costs the same on an order's first comment and its 1,000th."""
    order = change.order
    order.updated_at = now
    await _ensure_order_endpoints(session, [order], now)
    await events.record(
        session, account_id=order.account_id, type=change.type, subject_type=SUBJECT,
        subject_id=order.id, data={"porting_order": summary(order), **change.extra},
        occurred_at=now,
    )


async def _ensure_order_endpoints(
    session: AsyncSession, orders: Sequence[PortingOrder], now: datetime
) -> None:
    # Before every event, as the fan-out used to make them on first use: an
    # order's webhook_url endpoint deleted through the API comes back with the
    # order's next change.
    for account_id, url in {(o.account_id, o.webhook_url) for o in orders if o.webhook_url}:
        await managed.ensure_order_endpoint(session, account_id=account_id, url=url, now=now)


def _record_diff(
    account_id: Any, before: Baseline, after: Baseline, last: Baseline, now: datetime,
) -> list[events.NewEvent]:
    recorded: list[events.NewEvent] = []
    for schema, old, new, latest in (
        (lnp.LNP_REQUESTS, before.requests, after.requests, last.requests),
        (lnp.LNP_NUMBERS, before.numbers, after.numbers, last.numbers),
    ):
        for record_id in [*new, *(k for k in old if k not in new)]:
            operation = _operation(old.get(record_id), new.get(record_id))
            if operation is None:
                continue
            # A deleted record goes out as it last was (a removed number: as before).
            record = latest.get(record_id) or old[record_id]
            recorded.append(events.NewEvent(
                account_id=account_id, type=record_event_type(schema, operation),
                subject_type=schema, subject_id=record_id,
                data={"schema": schema, "record": record}, occurred_at=now,
            ))
    return recorded


def _operation(old: Record | None, new: Record | None) -> str | None:
    if old is None:
        return "inserted" if new is not None else None
    if new is None:
        return "deleted"
    return "updated" if old != new else None
