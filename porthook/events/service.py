"""Recording and reading events. Given a session; never commits.

``record`` is the outbox: it joins the caller's transaction, so the change and
its event commit together or not at all, and the deliveries of the event are
enqueued in that same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from porthook.delivery import fanout, filters
from porthook.delivery.models import DELIVERED, Delivery
from porthook.events.models import Event, SubjectSequence
from porthook.events.schemas import EventPublic, Subject
from porthook.events.types import family_prefix
from porthook.pagination import POSITION, decode_cursor, encode_cursor
from porthook.problems import NotFound


async def next_sequence(session: AsyncSession, subject_type: str, subject_id: str) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SubjectSequence.__table__
    assert isinstance(table, sa.Table)
    statement = (
        insert(table)
        .values(subject_type=subject_type, subject_id=subject_id, last_sequence=1)
        .on_conflict_do_update(
            index_elements=["subject_type", "subject_id"],
            set_={"last_sequence": table.c.last_sequence + 1},
        )
        .returning(table.c.last_sequence)
    )
    return int((await session.execute(statement)).scalar_one())


async def record(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    type: str,
    subject_type: str,
    subject_id: str | uuid.UUID,
    data: dict[str, Any],
    occurred_at: datetime,
) -> Event:
    subject = str(subject_id)
    event = Event(
        id=uuid.uuid4(),
        account_id=account_id,
        type=type,
        subject_type=subject_type,
        subject_id=subject,
        sequence=await next_sequence(session, subject_type, subject),
        occurred_at=occurred_at,
        data=data,
    )
    session.add(event)
    await session.flush()
    await fanout.enqueue(session, event)
    return event


def to_public(event: Event) -> EventPublic:
    return EventPublic(
        id=event.id,
        type=event.type,
        account_id=event.account_id,
        subject=Subject(type=event.subject_type, id=event.subject_id),
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        data=event.data,
    )


async def get(session: AsyncSession, *, account_id: uuid.UUID | None, event_id: uuid.UUID) -> Event:
    query = sa.select(Event).where(Event.id == event_id)
    if account_id is not None:
        query = query.where(Event.account_id == account_id)
    event = await session.scalar(query)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    return event


async def list_events(
    session: AsyncSession,
    *,
    account_id: uuid.UUID | None,
    types: Sequence[str] = (),
    subject_type: str | None = None,
    subject_id: str | None = None,
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
    delivery_states: Sequence[str] = (),
    newest_first: bool = False,
    cursor: str | None,
    limit: int,
) -> tuple[list[Event], str | None]:
    """``delivery_states``: only events with a delivery in one of these states
    (``delivery.rules.STATES``, e.g. dead)."""
    position = Event.position.desc() if newest_first else Event.position
    query = sa.select(Event).order_by(position).limit(limit + 1)
    if account_id is not None:
        query = query.where(Event.account_id == account_id)
    if types:
        query = query.where(sa.or_(*(type_clause(pattern) for pattern in types)))
    if subject_type:
        query = query.where(Event.subject_type == subject_type)
    if subject_id:
        query = query.where(Event.subject_id == subject_id)
    if occurred_after:
        query = query.where(Event.occurred_at > occurred_after)
    if occurred_before:
        query = query.where(Event.occurred_at < occurred_before)
    if delivery_states:
        query = query.where(_with_deliveries(delivery_states, account_id))
    after = decode_cursor(cursor, POSITION)
    if after is not None:
        query = query.where(Event.position < after if newest_first else Event.position > after)
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(rows[limit - 1].position) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _with_deliveries(states: Sequence[str], account_id: uuid.UUID | None
                     ) -> sa.ColumnElement[bool]:
    if account_id is None or DELIVERED in states:
        # Delivered rows are most rows: probed event by event down the list
        # through the unique (event_id, endpoint_id), most probes hit at once.
        return sa.exists().where(Delivery.event_id == Event.id, filters.state_clause(states))
    # The rarer states: the account's positions of events with such a
    # delivery come in order from ix_deliveries_open_events (or
    # ix_deliveries_retrying_events) and merge with the events' list, so a
    # page reads about its own rows instead of probing every event on the way
    # (several states too: the status follows the position in that index).
    return Event.position.in_(sa.select(Delivery.event_position).where(
        Delivery.account_id == account_id, filters.state_clause(states)))


def type_clause(pattern: str, column: InstrumentedAttribute[str | None] | None = None
                ) -> sa.ColumnElement[bool]:
    """Events of ``pattern``, the filter rule of events.types in SQL: a family
    is a prefix, "*" all, anything else an exact type. ``column``: where the
    type is read (another table's copy of it), the event's own by default."""
    typed = Event.type if column is None else column
    prefix = family_prefix(pattern)
    if prefix is None:
        return typed == pattern
    return typed.startswith(prefix, autoescape=True)


async def purge_older_than(session: AsyncSession, *, before: datetime, batch: int = 1000) -> int:
    """Drop events past retention (their deliveries go with them)."""
    victims = (
        sa.select(Event.position).where(Event.occurred_at < before).limit(batch).scalar_subquery()
    )
    result = await session.execute(sa.delete(Event).where(Event.position.in_(victims)))
    return int(getattr(result, "rowcount", 0) or 0)
