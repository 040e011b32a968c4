"""Reading deliveries: finding them (``GET /v1/deliveries`` and the CLI's
``deliveries list``), one with its attempts (``get_delivery``) and an event's
(``list_event_deliveries``).

A search is newest first, cursor-paginated on ``(created_at, id)``. Each
filter is a clause on the deliveries row itself, whose last attempt's facts
the outcome write keeps (``last_*``), so a page reads no attempts. The
event's type is copied onto the row at fan-out (``event_type``); its subject
is looked up through the events of that subject. Indexes:
``ix_deliveries_account_created``, ``ix_deliveries_endpoint_created``,
``ix_deliveries_account_type`` and, for the rows not delivered among
millions that were, the partial ``ix_deliveries_account_open`` (timed by
``bench/ops.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from porthook.accounts.models import Account
from porthook.delivery import filters, models, rules
from porthook.delivery.models import Delivery, DeliveryAttempt
from porthook.delivery.schemas import DeliveryPublic
from porthook.events import service as events
from porthook.events.models import Event
from porthook.pagination import MOMENT_AND_ID, UUID_KEY, decode_cursor, encode_cursor
from porthook.problems import NotFound
from porthook.sqlite_driver import OFF_LOOP


@dataclass(frozen=True)
class DeliveryFilter:
    """What a search asks for; every field narrows (values of one field: any of them)."""

    states: Sequence[str] = ()  # rules.STATES
    endpoint_id: uuid.UUID | None = None
    event_types: Sequence[str] = ()  # exact types or families such as porting_order.*
    subject_id: str | None = None
    status_classes: Sequence[str] = ()  # rules.STATUS_CLASSES, of the last attempt
    created_after: datetime | None = None
    created_before: datetime | None = None
    event_id: uuid.UUID | None = None


async def search(
    session: AsyncSession, *, account_id: uuid.UUID | None, where: DeliveryFilter,
    cursor: str | None, limit: int,
) -> tuple[list[Delivery], str | None]:
    """Newest first; ``account_id`` None: every account's (the operator's)."""
    after = _after(cursor)
    if account_id is None and session.get_bind().dialect.name == "postgresql":
        query = _every_account(where, after, limit)
    else:
        query = _page(where, after, limit)
        if account_id is not None:
            query = query.where(Delivery.account_id == account_id)
    # Filters that match few of an account's rows may walk many: off the loop on SQLite.
    rows = list((await session.scalars(query.execution_options(**OFF_LOOP))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([last.created_at.isoformat(), str(last.id)])


def _page(where: DeliveryFilter, after: tuple[datetime, uuid.UUID] | None,
          limit: int) -> sa.Select[Delivery]:
    query = (sa.select(Delivery).where(*clauses(where))
             .order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1))
    if after is not None:
        query = query.where(sa.tuple_(Delivery.created_at, Delivery.id) < after)
    return query


def _every_account(where: DeliveryFilter, after: tuple[datetime, uuid.UUID] | None,
                   limit: int) -> sa.Select[Delivery]:
    """Every account's page, each read from that account's indexes (a
    LATERAL per account), then merged: every index of deliveries leads with
    the account (or the endpoint), and one in time order across accounts
    would cost the worker one more index write per UPDATE. Without this the
    operator's first page sorted or walked the whole table (bench/ops.py:
    30,000 pages, 330 ms on a million rows)."""
    newest = _page(where, after, limit).where(Delivery.account_id == Account.id).lateral()
    rows = aliased(Delivery, newest)
    return (sa.select(rows).select_from(Account).join(newest, sa.true())
            .order_by(rows.created_at.desc(), rows.id.desc()).limit(limit + 1))


async def get_delivery(
    session: AsyncSession, *, account_id: uuid.UUID | None, delivery_id: uuid.UUID
) -> tuple[Delivery, list[DeliveryAttempt]]:
    """The delivery and its attempts, oldest first; ``account_id`` None: any
    account's (the desk's)."""
    query = sa.select(Delivery).where(Delivery.id == delivery_id)
    if account_id is not None:
        query = query.where(Delivery.account_id == account_id)
    delivery = await session.scalar(query)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    attempts = (await session.scalars(
        sa.select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)
        .order_by(DeliveryAttempt.id))).all()
    return delivery, list(attempts)


async def list_event_deliveries(
    session: AsyncSession, *, account_id: uuid.UUID, event_id: uuid.UUID, cursor: str | None,
    limit: int,
) -> tuple[list[Delivery], str | None]:
    await events.get(session, account_id=account_id, event_id=event_id)
    query = (sa.select(Delivery).where(Delivery.event_id == event_id,
                                       Delivery.account_id == account_id)
             .order_by(Delivery.id).limit(limit + 1))
    after = decode_cursor(cursor, UUID_KEY)
    if after is not None:
        query = query.where(Delivery.id > after)
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(str(rows[limit - 1].id))


def to_public(delivery: Delivery) -> DeliveryPublic:
    """A delivery row as the API shows it (``next_attempt_at`` only while waiting)."""
    public = DeliveryPublic.model_validate(delivery)
    return public.model_copy(update={
        "state": rules.state_of(delivery.status, delivery.last_error),
        **({} if delivery.status == models.PENDING else {"next_attempt_at": None})})


def clauses(where: DeliveryFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if where.states:
        found.append(filters.state_clause(where.states))
    if where.endpoint_id is not None:
        found.append(Delivery.endpoint_id == where.endpoint_id)
    if where.event_id is not None:
        found.append(Delivery.event_id == where.event_id)
    if where.status_classes:
        found.append(filters.last_class_clause(where.status_classes))
    if where.created_after is not None:
        found.append(Delivery.created_at > where.created_after)
    if where.created_before is not None:
        found.append(Delivery.created_at < where.created_before)
    found += _event_clauses(where)
    return found


def _event_clauses(where: DeliveryFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if where.event_types:
        # The row's own copy of its event's type: an exact type's page comes
        # from ix_deliveries_account_type, newest first, with no event read.
        found.append(sa.or_(*(events.type_clause(pattern, Delivery.event_type)
                              for pattern in where.event_types)))
    if where.subject_id is not None:
        # An order has a few dozen events: their deliveries, through the
        # unique (event_id, endpoint_id), are fewer than any page scan.
        found.append(Delivery.event_id.in_(
            sa.select(Event.id).where(Event.subject_id == where.subject_id)))
    return found


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    return decode_cursor(cursor, MOMENT_AND_ID)
