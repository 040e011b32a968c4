"""Read models of the dashboard's pages: the desk queue, an order's timeline
and the deliveries of its events. One query per list, never one per row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AwareDatetime, Field, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.accounts.models import Account
from porthook.delivery import search
from porthook.delivery.models import Delivery, Endpoint
from porthook.delivery.schemas import DeliveryPublic
from porthook.events.models import Event
from porthook.inputs import INT64_MAX
from porthook.pagination import POSITION, decode_cursor, encode_cursor
from porthook.porting import service as orders
from porthook.porting.models import PortingComment, PortingNumber, PortingOrder
from porthook.porting.outbox import SUBJECT
from porthook.porting.rules import OrderStatus
from porthook.ui import rules


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    status: str | None = None
    account_id: uuid.UUID | None = None
    phone_number: str | None = None
    customer_reference: str | None = None
    foc_from: date | None = None
    foc_to: date | None = None


@dataclass(frozen=True)
class QueueRow:
    id: uuid.UUID
    order_number: int
    support_key: str
    account_id: uuid.UUID
    account_name: str
    customer_reference: str | None
    status: str
    status_changed_at: datetime
    updated_at: datetime
    desired_port_date: date | None
    foc_date: datetime | None
    activation_due_at: datetime | None
    number_count: int


_SORT_COLUMNS: dict[rules.QueueSort, Any] = {
    rules.QueueSort.OLDEST_IN_STATUS: PortingOrder.status_changed_at,
    rules.QueueSort.FOC: PortingOrder.foc_date,
    rules.QueueSort.ACTIVATION: PortingOrder.activation_due_at,
}


def _filtered(query: Any, filters: QueueFilters, now: datetime) -> Any:
    view = rules.QUEUE_VIEWS[filters.view]
    status = view.status.value if view.status else filters.status
    query = query.where(PortingOrder.status != OrderStatus.DELETED)
    if status:
        query = query.where(PortingOrder.status == status)
    window = rules.view_window(filters.view, now)
    if window is not None:
        column = _SORT_COLUMNS[view.sort]
        query = query.where(column >= window[0], column < window[1])
    if filters.account_id:
        query = query.where(PortingOrder.account_id == filters.account_id)
    if filters.customer_reference:
        query = query.where(PortingOrder.customer_reference == filters.customer_reference)
    if filters.phone_number:
        query = query.where(PortingOrder.id.in_(
            sa.select(PortingNumber.order_id)
            .where(PortingNumber.phone_number == orders.normalise_number(filters.phone_number))))
    if filters.foc_from:
        query = query.where(PortingOrder.foc_date >= _midnight(filters.foc_from))
    if filters.foc_to:
        query = query.where(PortingOrder.foc_date < _midnight(filters.foc_to, plus_days=1))
    return query


def _midnight(day: date, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), datetime.min.time(), tzinfo=UTC)


# The cursor of the views sorted by a moment: (that moment, order number).
MOMENT_AND_NUMBER = TypeAdapter(tuple[AwareDatetime, Annotated[int, Field(ge=0, le=INT64_MAX)]])


def _page(query: Any, sort: rules.QueueSort, cursor: str | None, limit: int) -> Any:
    """Keyset pagination on (sort column, order number)."""
    if sort == rules.QueueSort.NEWEST:
        number = decode_cursor(cursor, POSITION)
        if number is not None:
            query = query.where(PortingOrder.order_number < number)
        return query.order_by(PortingOrder.order_number.desc()).limit(limit + 1)
    column = _SORT_COLUMNS[sort]
    after = decode_cursor(cursor, MOMENT_AND_NUMBER)
    if after is not None:
        query = query.where(sa.tuple_(column, PortingOrder.order_number) > after)
    return query.order_by(column, PortingOrder.order_number).limit(limit + 1)


def _cursor(row: QueueRow, sort: rules.QueueSort) -> str:
    if sort == rules.QueueSort.NEWEST:
        return encode_cursor(row.order_number)
    value = {rules.QueueSort.OLDEST_IN_STATUS: row.status_changed_at,
             rules.QueueSort.FOC: row.foc_date,
             rules.QueueSort.ACTIVATION: row.activation_due_at}[sort]
    return encode_cursor([value.isoformat() if value else None, row.order_number])


async def desk_queue(
    session: AsyncSession, *, filters: QueueFilters, now: datetime, cursor: str | None,
    limit: int,
) -> tuple[list[QueueRow], str | None]:
    number_count = (sa.select(sa.func.count()).where(PortingNumber.order_id == PortingOrder.id)
                    .correlate(PortingOrder).scalar_subquery())
    query = sa.select(
        PortingOrder.id, PortingOrder.order_number, PortingOrder.support_key,
        PortingOrder.account_id, Account.name.label("account_name"),
        PortingOrder.customer_reference, PortingOrder.status, PortingOrder.status_changed_at,
        PortingOrder.updated_at, PortingOrder.desired_port_date, PortingOrder.foc_date,
        PortingOrder.activation_due_at,
        number_count.label("number_count"),
    ).join(Account, Account.id == PortingOrder.account_id)
    sort = rules.QUEUE_VIEWS[filters.view].sort
    query = _page(_filtered(query, filters, now), sort, cursor, limit)
    rows = [QueueRow(**row._asdict()) for row in await session.execute(query)]
    next_cursor = _cursor(rows[limit - 1], sort) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def account_names(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """For the desk's account filter."""
    rows = await session.execute(sa.select(Account.id, Account.name).order_by(Account.name)
                                 .limit(1000))
    return [(r.id, r.name) for r in rows]


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "event" | "comment"
    title: str
    body: str | None = None
    internal: bool = False
    author: str | None = None


def _event_item(event: Event) -> TimelineItem | None:
    data = event.data
    order = data.get("porting_order") or {}
    short = event.type.removeprefix("porting_order.")
    if short == "new_comment":
        return None  # the comment itself is in the timeline
    if short == "status_changed":
        title = f"Status: {data.get('previous_status')} → {order.get('status')}"
        details = "; ".join(f"{d['code']}: {d['description']}"
                            for d in order.get("status_details") or [])
        return TimelineItem(at=event.occurred_at, kind="event", title=title,
                            body=details or None)
    if short.startswith("numbers_"):
        listed = ", ".join(n["phone_number"] for n in data.get("phone_numbers", []))
        return TimelineItem(at=event.occurred_at, kind="event",
                            title=f"Numbers {short.removeprefix('numbers_')}", body=listed)
    if short == "updated":
        return TimelineItem(at=event.occurred_at, kind="event", title="Order updated",
                            body=", ".join(data.get("changed_fields", [])))
    if short == "document_added":
        document = data.get("document") or {}
        return TimelineItem(at=event.occurred_at, kind="event", title="Document added",
                            body=f"{document.get('document_type')}: {document.get('filename')}")
    return TimelineItem(at=event.occurred_at, kind="event",
                        title=short.replace("_", " ").capitalize())


async def order_events(session: AsyncSession, *, order_id: uuid.UUID) -> list[Event]:
    """The order's porting_order.* events (within the event retention)."""
    query = (sa.select(Event).where(Event.subject_type == SUBJECT,
                                    Event.subject_id == str(order_id))
             .order_by(Event.sequence))
    return list((await session.scalars(query)).all())


def timeline(events: list[Event], comments: list[PortingComment]) -> list[TimelineItem]:
    """One list of events and comments, oldest first. The portal passes
    ``snapshot.customer_comments`` (no internal note), the desk every comment."""
    items = [item for item in map(_event_item, events) if item is not None]
    items += [TimelineItem(at=c.inserted_at, kind="comment", body=c.body,
                           title="Internal note" if c.internal else "Comment",
                           internal=c.internal,
                           author="Porting desk" if c.user_type == "admin" else "Customer")
              for c in comments]
    return sorted(items, key=lambda item: item.at)


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as search.to_public shows it, with what a person reads it
    by: its event's type and subject, and its endpoint's target."""

    delivery: DeliveryPublic
    event_type: str
    subject_id: str
    target: str


async def delivery_rows(session: AsyncSession, deliveries: Sequence[Delivery]) -> list[
    DeliveryRow
]:
    """One query for the events and one for the endpoints of a page of
    deliveries (never one per row), by their primary keys."""
    if not deliveries:
        return []
    events = {row.id: row for row in await session.execute(
        sa.select(Event.id, Event.type, Event.subject_id)
        .where(Event.id.in_({d.event_id for d in deliveries})))}
    targets: dict[uuid.UUID, str | None] = {row[0]: row[1] for row in await session.execute(
        sa.select(Endpoint.id, sa.func.coalesce(Endpoint.url, Endpoint.email_address))
        .where(Endpoint.id.in_({d.endpoint_id for d in deliveries})))}
    return [DeliveryRow(delivery=search.to_public(d), event_type=events[d.event_id].type,
                        subject_id=events[d.event_id].subject_id,
                        target=targets.get(d.endpoint_id) or "")
            for d in deliveries]
