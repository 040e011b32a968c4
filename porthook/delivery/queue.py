"""The deliveries table as a queue: claim due rows and renew their leases.

Also the row types every stage shares (``Claimed``, ``Outcome``) and the
limits of what a row holds: ``delivery.recording`` writes back what claimed
rows came to, ``delivery.listeners`` parks and claims its own rows, and the
dispatcher and ``delivery.store`` pass both types between them.

Every function takes a session and never commits: the dispatcher wraps a claim
in one short transaction and a batch of outcomes in another, so a batch costs
a handful of round trips whatever its size (no per-row queries).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery.models import Delivery, Endpoint
from porthook.events.models import Event

EXCERPT_CHARS = 1024
RENEW_CHUNK = 10_000  # row ids per lease renewal statement (a worker holds fewer)
ERROR_CHARS = 1000
# A literal, not a bound parameter: only then can the planners (PostgreSQL's
# generic plans included) prove the partial index ``ix_deliveries_due`` applies.
_PENDING: sa.ColumnElement[str] = sa.literal_column("'pending'", sa.String())
# A listener's row handed over to its stream: see delivery.listeners (which
# imports this module, so the moment is kept here).
PARKED_AT = datetime(2999, 1, 1, tzinfo=UTC)


class Claimed(NamedTuple):  # NamedTuples: thousands a second, built cheaper than dataclasses
    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempt: int  # the number of the attempt about to be made (1 = first)
    round_attempt: int  # its number within the current retry round
    lease_token: uuid.UUID
    lease_expires_at: datetime
    ordered: bool = False  # strictly ordered: its outcome may unblock the next row


class Outcome(NamedTuple):
    """What one claimed delivery came to. ``skipped`` rows were not sent:
    ``"held"`` (endpoint disabled meanwhile), ``"released"`` (lease too short)
    or ``"unsupported"`` (the endpoint's format, changed since the fan-out, has
    no equivalent of the event: dead at once, recoverable, no health verdict)."""

    claimed: Claimed
    attempted_at: datetime
    duration_ms: int = 0
    delivered_to: str = ""
    status_code: int | None = None
    response_excerpt: str | None = None
    error: str | None = None
    retry_after: str | None = None
    skipped: str | None = None
    endpoint_was_failing: bool = False
    event_type: str = ""  # for the failure log lines


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease_s: float,
    exclude_endpoints: Collection[uuid.UUID] = (),
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries. On PostgreSQL ``SKIP LOCKED`` lets
    many workers claim at once without waiting on each other; on SQLite the
    writer lock (``BEGIN IMMEDIATE``) serialises claims."""
    statement = _claim_statement(one_endpoint=False, arrays=uses_arrays(session))
    return await _claim(session, statement, now=now, limit=limit, lease_s=lease_s,
                        b_excluded=list(exclude_endpoints))


def uses_arrays(session: AsyncSession) -> bool:
    """PostgreSQL: statements take lists as one array parameter, and a
    locking subquery's rows are gathered once (``locked_rows``)."""
    return session.get_bind().dialect.name == "postgresql"


PROBE_ENDPOINTS = 16  # other endpoints an endpoint-by-endpoint claim looks for, at most
Wanted = Sequence[tuple[uuid.UUID, int]]  # endpoints to claim for, and how many rows each
T = TypeVar("T")


async def claim_by_endpoint(
    session: AsyncSession, *, now: datetime, limit: int, lease_s: float,
    wanted: Wanted, elsewhere: Collection[uuid.UUID] | None,
) -> list[Claimed]:
    """Lease rows endpoint by endpoint through ``ix_deliveries_endpoint_due``
    (see ``by_endpoint``)."""
    connection = await session.connection()
    arrays = uses_arrays(session)

    async def find(excluded: list[uuid.UUID]) -> list[uuid.UUID]:
        found = await connection.execute(endpoints_due_statement(arrays=arrays), {
            "b_now": now, "b_excluded": excluded, "b_limit": PROBE_ENDPOINTS})
        return [endpoint_id for (endpoint_id,) in found.all()]

    async def take(endpoint_id: uuid.UUID, most: int) -> list[Claimed]:
        statement = _claim_statement(one_endpoint=True, arrays=arrays)
        return await _claim(session, statement, now=now, limit=most, lease_s=lease_s,
                            b_endpoint=endpoint_id)

    return await by_endpoint(limit=limit, wanted=wanted, elsewhere=elsewhere, find=find,
                             take=take)


async def by_endpoint(
    *, limit: int, wanted: Wanted, elsewhere: Collection[uuid.UUID] | None,
    find: Callable[[list[uuid.UUID]], Awaitable[list[uuid.UUID]]],
    take: Callable[[uuid.UUID, int], Awaitable[list[T]]],
) -> list[T]:
    """The plan of an endpoint-by-endpoint claim, whatever runs its statements:
    up to the number given for each ``wanted`` endpoint, then, unless
    ``elsewhere`` is None, for up to ``PROBE_ENDPOINTS`` other endpoints with
    due rows (``find``: neither wanted nor in ``elsewhere``); ``take`` leases
    one endpoint's rows. ``limit`` caps the total.

    For a worker holding endpoints that are full: the due-order claim leaving
    them out would scan past their whole backlog (a million rows, most of a
    second) to find anyone else's.
    """
    plan = list(wanted)
    if elsewhere is not None:
        found = await find([*elsewhere, *(endpoint_id for endpoint_id, _ in wanted)])
        plan += [(endpoint_id, limit) for endpoint_id in found]
    taken: list[T] = []
    for endpoint_id, most in plan:
        if len(taken) >= limit:
            break
        taken += await take(endpoint_id, min(most, limit - len(taken)))
    return taken


async def _claim(
    session: AsyncSession, statement: sa.Update, *, now: datetime, limit: int, lease_s: float,
    **scope: Any,
) -> list[Claimed]:
    token, expires = uuid.uuid4(), now + timedelta(seconds=lease_s)
    # Core on the session's connection, not the ORM: this runs for every batch.
    connection = await session.connection()
    result = await connection.execute(statement, {
        "b_now": now, "b_limit": limit, "b_token": token, "b_expires": expires, **scope})
    return [claimed_from_row(r, token, expires) for r in result.all()]


def claimed_from_row(row: Sequence[Any], token: uuid.UUID, expires: datetime) -> Claimed:
    """A claim statement's first six columns (id, event_id, endpoint_id,
    attempts, round_start, ordered) as the lease ``token`` holds them."""
    return Claimed(id=row[0], event_id=row[1], endpoint_id=row[2], attempt=row[3],
                   round_attempt=row[3] - row[4], lease_token=token, lease_expires_at=expires,
                   ordered=row[5])


def unleased(table: sa.Table | sa.Alias, now: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """No worker or stream holds the row: never leased, its outcome written
    (the token cleared), or its lease run out."""
    return sa.or_(table.c.lease_token.is_(None), table.c.lease_expires_at <= now)


@functools.cache
def endpoints_due_statement(*, arrays: bool = False) -> sa.Select[Any]:
    """Endpoints, other than the excluded, with a due row: one index probe each."""
    table, endpoints = deliveries_table(), Endpoint.__table__
    now = sa.bindparam("b_now", type_=table.c.next_attempt_at.type)
    due = sa.exists().where(
        table.c.endpoint_id == endpoints.c.id, table.c.status == _PENDING,
        table.c.next_attempt_at <= now, unleased(table, now))
    return (sa.select(endpoints.c.id)
            .where(_not_among(endpoints.c.id, "b_excluded", arrays=arrays), due)
            .limit(sa.bindparam("b_limit", type_=sa.Integer())))


def _not_among(column: sa.ColumnElement[Any], name: str, *, arrays: bool) -> sa.ColumnElement[bool]:
    if arrays:  # PostgreSQL: one array parameter, so one statement text whatever the count
        return column != sa.all_(sa.bindparam(name, type_=postgresql.ARRAY(sa.Uuid())))
    return column.not_in(sa.bindparam(name, expanding=True, type_=sa.Uuid()))


def _among(column: sa.ColumnElement[Any], name: str, *, arrays: bool) -> sa.ColumnElement[bool]:
    if arrays:  # as in _not_among
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.Uuid())))
    return column.in_(sa.bindparam(name, expanding=True, type_=sa.Uuid()))


def locked_rows(column: sa.ColumnElement[Any], rows: sa.Select[Any], *,
                arrays: bool) -> sa.ColumnElement[bool]:
    """``column`` among the ``rows`` a locking subquery picks (``FOR UPDATE
    SKIP LOCKED``, with a ``LIMIT``). On PostgreSQL (``arrays``) they are
    gathered into an array by a subquery run once. As ``column IN (subquery)``
    the planner may make the subquery the inner side of a semi-join and run
    it again for each row of the table, each run locking the next rows: a
    plan made on an empty table claimed 3,000 rows for a LIMIT of 5
    (tests/integration/test_delivery_store.py)."""
    if arrays:
        return column == sa.any_(sa.func.array(rows.scalar_subquery()))
    return column.in_(rows.scalar_subquery())


@functools.cache
def _claim_statement(*, one_endpoint: bool, arrays: bool) -> sa.Update:
    """Built once per shape: a fresh statement per claim cost milliseconds of
    SQLAlchemy construction and cache-key work, more than the query itself.
    ``one_endpoint``: the rows of ``b_endpoint`` (``claim_by_endpoint``), else
    of every endpoint but ``b_excluded`` (an array parameter with ``arrays``)."""
    table = deliveries_table()
    earlier = table.alias("earlier")
    moment = table.c.next_attempt_at.type
    blocked = sa.exists().where(
        earlier.c.ordered,  # as the partial ix_deliveries_ordering says it (not IS TRUE)
        earlier.c.endpoint_id == table.c.endpoint_id,
        earlier.c.ordering_key == table.c.ordering_key,
        earlier.c.sequence < table.c.sequence,
        earlier.c.status.in_([_PENDING, sa.literal_column("'held'", sa.String())]),
    )
    now = sa.bindparam("b_now", type_=moment)
    # Rows in flight stay where they are in the due index (the claim moves
    # no indexed column: a HOT update); the scan reads past them.
    due = (
        sa.select(table.c.id)
        .where(table.c.status == _PENDING,
               table.c.next_attempt_at <= now, unleased(table, now),
               sa.or_(table.c.ordered.is_(False), ~blocked),
               table.c.endpoint_id == sa.bindparam("b_endpoint", type_=sa.Uuid())
               if one_endpoint else _not_among(table.c.endpoint_id, "b_excluded", arrays=arrays))
        .order_by(table.c.next_attempt_at)
        .limit(sa.bindparam("b_limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True, of=table)
    )
    return (
        sa.update(table)
        .where(locked_rows(table.c.id, due, arrays=arrays))
        .values(lease_token=sa.bindparam("b_token", type_=sa.Uuid()),
                lease_expires_at=sa.bindparam("b_expires", type_=moment),
                attempts=table.c.attempts + 1,
                updated_at=now)
        .returning(table.c.id, table.c.event_id, table.c.endpoint_id, table.c.attempts,
                   table.c.round_start, table.c.ordered)
    )


@functools.cache
def claim_with_events_statement(*, one_endpoint: bool) -> sa.Select[Any]:
    """PostgreSQL: the claim and the events of its rows in one statement
    (``UPDATE ... RETURNING`` in a CTE, each row's event looked up beside it).
    Columns: the claim's six, then the event's type, account_id,
    subject_type, subject_id, sequence, occurred_at, data."""
    claimed = _claim_statement(one_endpoint=one_endpoint, arrays=True).cte("claimed")
    event = Event.__table__
    assert isinstance(event, sa.Table)
    # LATERAL with LIMIT 1, not a join: the planner, expecting the LIMIT's
    # worth of claimed rows, hash-joined the whole events table, a scan of
    # every event for a claim of one row (10 ms on 100,000 events). The LIMIT
    # also keeps it from flattening the lookup back into that join.
    carried = (sa.select(event.c.type, event.c.account_id, event.c.subject_type,
                         event.c.subject_id, event.c.sequence, event.c.occurred_at, event.c.data)
               .where(event.c.id == claimed.c.event_id).limit(1).lateral("carried"))
    return sa.select(*claimed.c, *carried.c).select_from(claimed).join(carried, sa.true())


@functools.cache
def renew_statement(*, arrays: bool = False) -> sa.Update:
    """Extend the leases a worker holds: its rows ``b_ids`` still under one
    of its tokens ``b_tokens`` (a row taken over by another worker, or whose
    outcome is written, carries another token or none). One statement per
    renewal whatever the number of rows, through the primary key."""
    table = deliveries_table()
    held = (_among(table.c.id, "b_ids", arrays=arrays),
            _among(table.c.lease_token, "b_tokens", arrays=arrays),
            table.c.status == _PENDING)
    expires = sa.bindparam("b_expires", type_=table.c.next_attempt_at.type)
    if not arrays:  # SQLite: one writer at a time, nothing to deadlock with
        return sa.update(table).where(*held).values(lease_expires_at=expires)
    # PostgreSQL: rows another statement holds are skipped, never waited for.
    # The outcome write locks the batch's rows in its own order; a renewal
    # waiting for them while holding others deadlocked with it (seen in
    # bench.delivery). A row being finished needs no renewal, and one an action
    # holds is renewed at the next turn, a third of a lease later.
    free = sa.select(table.c.id).where(*held).with_for_update(skip_locked=True)
    return (sa.update(table).where(locked_rows(table.c.id, free, arrays=True))
            .values(lease_expires_at=expires))


async def renew(
    session: AsyncSession, *, ids: Sequence[uuid.UUID], tokens: Collection[uuid.UUID],
    expires: datetime,
) -> None:
    connection = await session.connection()
    for start in range(0, len(ids), RENEW_CHUNK):  # SQLite caps a statement's parameters
        await connection.execute(renew_statement(), {
            "b_ids": list(ids[start:start + RENEW_CHUNK]), "b_tokens": list(tokens),
            "b_expires": expires})


def deliveries_table() -> sa.Table:
    """The deliveries table as Core sees it (claims here, outcomes in ``recording``)."""
    table = Delivery.__table__
    assert isinstance(table, sa.Table)
    return table
