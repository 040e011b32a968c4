"""Recording and reading events. Given a session; never commits.

``record`` is the outbox: it joins the caller's transaction, so the change and
its event commit together or not at all, and the deliveries of the event are
enqueued in that same transaction.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from porthook import db
from porthook.delivery import fanout, filters
from porthook.delivery.models import DELIVERED, Delivery
from porthook.events.models import Event, SubjectSequence
from porthook.events.schemas import EventPublic, Subject
from porthook.events.types import family_prefix
from porthook.pagination import POSITION, decode_cursor, encode_cursor
from porthook.problems import NotFound


async def next_sequences(
    connection: AsyncConnection, subjects: Sequence[tuple[str, str]]
) -> list[int]:
    """The next sequence number of each of ``subjects`` (a subject named twice
    gets two numbers, in order), from ONE upsert: a change that records several
    events pays one round trip for their numbers instead of one each. The
    upsert locks the subjects' rows, so concurrent writers never share a number."""
    counts: dict[tuple[str, str], int] = {}
    for subject in subjects:
        counts[subject] = counts.get(subject, 0) + 1
    rows = [
        # Sorted: concurrent writers lock the rows in one order (no deadlock).
        {"subject_type": t, "subject_id": i, "last_sequence": n}
        for (t, i), n in sorted(counts.items())
    ]
    # Rows as parameters (SQLAlchemy batches them into one multi-row
    # statement), not in ``values()``, whose statements are never cached.
    result = await connection.execute(_upsert_sequences(connection.dialect.name),
                                      rows[0] if len(rows) == 1 else rows)
    last = {(r[0], r[1]): int(r[2]) for r in result}
    # Each subject's numbers, oldest event first: last - count + 1 ... last.
    given: dict[tuple[str, str], int] = {s: last[s] - n for s, n in counts.items()}
    numbers = []
    for subject in subjects:
        given[subject] += 1
        numbers.append(given[subject])
    return numbers


@functools.cache
def _upsert_sequences(dialect: str) -> sa.Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = insert(_SEQUENCES)
    # No RETURNING order asked for: the rows are matched by subject, and an
    # ordered upsert would go one statement per row.
    return rows.on_conflict_do_update(
        index_elements=["subject_type", "subject_id"],
        set_={"last_sequence": _SEQUENCES.c.last_sequence + rows.excluded.last_sequence},
    ).returning(_SEQUENCES.c.subject_type, _SEQUENCES.c.subject_id, _SEQUENCES.c.last_sequence)


@dataclass(frozen=True)
class NewEvent:
    """An event to record (``record_many``)."""

    account_id: uuid.UUID
    type: str
    subject_type: str
    subject_id: str | uuid.UUID
    data: dict[str, Any]
    occurred_at: datetime


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
    (event,) = await record_many(session, [NewEvent(
        account_id=account_id, type=type, subject_type=subject_type, subject_id=subject_id,
        data=data, occurred_at=occurred_at)])
    return event


async def record_many(session: AsyncSession, new: Sequence[NewEvent]) -> list[Event]:
    """Record events of one change together, in the order given: their
    sequence numbers in one statement, the events in one insert, their
    deliveries in one insert (``fanout.enqueue_many``).

    The events are written with Core statements on the session's connection,
    not through the ORM's unit of work, which cost more CPU than the rest of a
    comment's outbox (issue 17); the ``Event`` objects returned are not in the
    session (nothing reads them back through it)."""
    if not new:
        return []
    # The change's own pending rows first: the fan-out reads the endpoints it
    # may have made (an order's webhook_url), and Core statements do not flush.
    await session.flush()
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        events = await _insert_numbered(connection, new)
        await fanout.enqueue_many(session, events)
        return events
    events = [Event(id=db.new_id(), account_id=n.account_id, type=n.type,
                    subject_type=n.subject_type, subject_id=str(n.subject_id),
                    occurred_at=n.occurred_at, data=n.data) for n in new]
    # Who receives them depends on neither their numbers nor their positions:
    # their deliveries go in with them, in the same statement.
    deliveries = await fanout.delivery_rows(session, events)
    notify = fanout.wake_on_commit(session, deliveries)
    await _insert_many_numbered(connection, events, deliveries, notify=notify)
    if notify:
        fanout.notified(session)
    return events


async def _insert_numbered(connection: AsyncConnection, new: Sequence[NewEvent]) -> list[Event]:
    """The events with their numbers: the numbers first (one upsert), then
    the events (one insert)."""
    subjects = [(n.subject_type, str(n.subject_id)) for n in new]
    sequences = await next_sequences(connection, subjects)
    events = [
        Event(id=db.new_id(), account_id=n.account_id, type=n.type, subject_type=n.subject_type,
              subject_id=subject_id, sequence=sequence, occurred_at=n.occurred_at, data=n.data)
        for n, (_, subject_id), sequence in zip(new, subjects, sequences, strict=True)
    ]
    rows = [{column: getattr(event, column) for column in _EVENT_COLUMNS} for event in events]
    result = await connection.execute(_INSERT_EVENTS, rows)
    positions: dict[uuid.UUID, int] = {row[0]: row[1] for row in result}
    for event in events:
        event.position = positions[event.id]
    return events


async def _insert_many_numbered(
    connection: AsyncConnection, events: Sequence[Event], deliveries: Sequence[dict[str, Any]],
    *, notify: bool,
) -> None:
    """The events of one change, their numbers and their deliveries in ONE
    statement (PostgreSQL): ``_insert_numbered`` and ``fanout.enqueue_many``'s
    three round trips in one, whether the change records one event (a
    comment, a record) or several (an order's creation and every move: the
    order's and its lnp records'). Sets each event's position and number.

    The rows go as one array per column (one statement shape whatever their
    number, so it is compiled once); each delivery takes its event's position
    and number from the events' insert. ``notify``: the workers' NOTIFY rides
    on the statement (``fanout.wake_on_commit``)."""
    # Each event's number is its subject's new last number less the events of
    # that subject that come after it in the batch (so they number in order).
    later: dict[tuple[str, str], int] = {}
    behind = []
    for event in reversed(events):
        subject = (event.subject_type, event.subject_id)
        behind.append(later.get(subject, 0))
        later[subject] = later.get(subject, 0) + 1
    params: dict[str, Any] = {column: [getattr(e, column) for e in events]
                              for column in _EVENT_COLUMNS if column != "sequence"}
    params["behind"] = behind[::-1]
    columns = tuple(c for c in deliveries[0] if c not in _FROM_EVENT) if deliveries else ()
    params.update({f"d_{c}": [row[c] for row in deliveries] for c in columns})
    params["notify"] = notify
    params["data"] = [db.json_text(data) for data in params["data"]]
    rows = await db.driver_rows(connection, _driver_insert_many(columns), params)
    positions: dict[uuid.UUID, tuple[int, int]] = {row[0]: (row[1], row[2]) for row in rows}
    for event in events:
        event.position, event.sequence = positions[event.id]


# What a delivery row takes from its event's insert, not from its arrays.
_FROM_EVENT = {"event_position": "position", "sequence": "sequence"}


@functools.cache
def _driver_insert_many(delivery_columns: tuple[str, ...]) -> db.DriverStatement:
    return db.DriverStatement.compile(_insert_many_statement(delivery_columns))


@functools.cache
def _insert_many_statement(delivery_columns: tuple[str, ...]) -> sa.TextClause:
    """Built once per shape: ``delivery_columns`` are those of the
    deliveries' rows (none: the change has no delivery)."""
    arrays = [*(f"CAST(:{c} AS {_pg_type(_EVENTS, c)}[])" for c in _EVENT_COLUMNS
                if c != "sequence"),
              "CAST(:behind AS BIGINT[])"]
    names = [*(c for c in _EVENT_COLUMNS if c != "sequence"), "behind"]
    deliveries = ""
    if delivery_columns:
        types = {c: _pg_type(_DELIVERIES, c) for c in delivery_columns}
        # A sibling WITH's insert cannot see the events' rows, but the foreign
        # key to them is checked at the end of the statement, once they are there.
        deliveries = f""", new_deliveries AS (
            INSERT INTO deliveries ({", ".join([*delivery_columns, *_FROM_EVENT])})
            SELECT {", ".join([*(f"d.{c}" for c in delivery_columns),
                               *(f"e.{c}" for c in _FROM_EVENT.values())])}
            FROM unnest({", ".join(f"CAST(:d_{c} AS {types[c]}[])" for c in delivery_columns)})
                AS d({", ".join(delivery_columns)})
            JOIN new_events AS e ON e.id = d.event_id
        )"""
    # The rows numbered (ord) so that their positions follow the order given;
    # the subjects' upsert sorted, as in next_sequences (no deadlock between
    # concurrent writers). The workers' NOTIFY is sent once per transaction
    # at commit, however many rows call it.
    text = f"""
        WITH batch AS (
            SELECT * FROM unnest({", ".join(arrays)}) WITH ORDINALITY
                AS b({", ".join(names)}, ord)
        ), numbered AS (
            INSERT INTO subject_sequences (subject_type, subject_id, last_sequence)
            SELECT subject_type, subject_id, count(*) FROM batch
            GROUP BY subject_type, subject_id ORDER BY subject_type, subject_id
            ON CONFLICT (subject_type, subject_id) DO UPDATE
            SET last_sequence = subject_sequences.last_sequence + excluded.last_sequence
            RETURNING subject_type, subject_id, last_sequence
        ), new_events AS (
            INSERT INTO events ({", ".join(_EVENT_COLUMNS)})
            SELECT {", ".join("n.last_sequence - b.behind" if c == "sequence" else "b." + c
                              for c in _EVENT_COLUMNS)}
            FROM batch AS b JOIN numbered AS n
                ON n.subject_type = b.subject_type AND n.subject_id = b.subject_id
            ORDER BY b.ord
            RETURNING id, position, sequence
        ){deliveries}
        SELECT id, position, sequence,
            CASE WHEN CAST(:notify AS BOOLEAN) THEN pg_notify('{fanout.NOTIFY_CHANNEL}', '') END
        FROM new_events
    """
    # Run on asyncpg (``db.driver_rows``): values go as they are, the casts
    # above give their types.
    return sa.text(text)


def _pg_type(table: sa.Table, column: str) -> str:
    """The column's PostgreSQL type, for an array of its values. Text without
    its length: a cast to VARCHAR(n) cuts a longer value short without a
    word, where the insert into the column refuses it."""
    type_ = table.c[column].type
    if isinstance(type_, sa.String):
        return "VARCHAR"
    dialect = PGDialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    return str(type_.compile(dialect=dialect))


_SEQUENCES = cast(sa.Table, SubjectSequence.__table__)
_EVENTS = cast(sa.Table, Event.__table__)
_DELIVERIES = cast(sa.Table, Delivery.__table__)
_EVENT_COLUMNS = ("id", "account_id", "type", "subject_type", "subject_id", "sequence",
                  "occurred_at", "data")
# Each position comes back with its event's id: in whatever order, so that
# SQLAlchemy sends the rows in one statement (an ordered RETURNING would be one
# statement per row on SQLite).
_INSERT_EVENTS = sa.insert(_EVENTS).returning(_EVENTS.c.id, _EVENTS.c.position)


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
