"""The deliveries table as a queue: claim, record outcomes, requeue.

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

from porthook.config import Settings
from porthook.delivery import failure_log, models, rules
from porthook.delivery.models import Delivery, DeliveryAttempt, Endpoint
from porthook.events import service as events
from porthook.events.models import Event
from porthook.pagination import UUID_KEY, decode_cursor, encode_cursor
from porthook.problems import NotFound

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
    return await _claim(session, _claim_statement(one_endpoint=False), now=now, limit=limit,
                        lease_s=lease_s, b_excluded=list(exclude_endpoints))


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

    async def find(excluded: list[uuid.UUID]) -> list[uuid.UUID]:
        found = await connection.execute(endpoints_due_statement(), {
            "b_now": now, "b_excluded": excluded, "b_limit": PROBE_ENDPOINTS})
        return [endpoint_id for (endpoint_id,) in found.all()]

    async def take(endpoint_id: uuid.UUID, most: int) -> list[Claimed]:
        return await _claim(session, _claim_statement(one_endpoint=True), now=now, limit=most,
                            lease_s=lease_s, b_endpoint=endpoint_id)

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
    table, endpoints = _table(), Endpoint.__table__
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


@functools.cache
def _claim_statement(*, one_endpoint: bool, arrays: bool = False) -> sa.Update:
    """Built once per shape: a fresh statement per claim cost milliseconds of
    SQLAlchemy construction and cache-key work, more than the query itself.
    ``one_endpoint``: the rows of ``b_endpoint`` (``claim_by_endpoint``), else
    of every endpoint but ``b_excluded`` (an array parameter with ``arrays``)."""
    table = _table()
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
        .where(table.c.id.in_(due.scalar_subquery()))
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
    table = _table()
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
    return (sa.update(table).where(table.c.id.in_(free.scalar_subquery()))
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


def _table() -> sa.Table:
    table = Delivery.__table__
    assert isinstance(table, sa.Table)
    return table


def _guarded_update(**values: Any) -> sa.Update:
    table = _table()
    # The lease token guard: a worker whose lease was taken over records nothing.
    return (sa.update(table)
            .where(table.c.id == sa.bindparam("b_id", type_=sa.Uuid()),
                   table.c.lease_token == sa.bindparam("b_token", type_=sa.Uuid()))
            .values(**values))


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, now: datetime, settings: Settings,
    random: Callable[[], float],
) -> list[Endpoint]:
    """Write a batch of outcomes and their attempts; apply endpoint health.

    Returns the endpoints this batch disabled (their owners get an e-mail).
    """
    sent = [o for o in outcomes if o.skipped is None]
    if sent:
        rows = [_sent_row(o, now=now, settings=settings, random=random) for o in sent]
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            await connection.execute(OUTCOMES_PG, _pg_params(sent, rows, now=now))
        else:
            await connection.execute(_sent_statement(), [
                _sent_row_sqlite(o, row, now) for o, row in zip(sent, rows, strict=True)])
            await connection.execute(_attempts_statement(), [_attempt_row(o) for o in sent])
        _log_failures(sent, rows)
    skipped = [o for o in outcomes if o.skipped is not None]
    await _write_skipped(session, skipped, now=now)
    _log_not_sent(skipped)
    return await _apply_health(session, sent, now=now, settings=settings)


def outcome_columns(
    sent: Sequence[Outcome], *, now: datetime, settings: Settings, random: Callable[[], float]
) -> dict[str, Any]:
    """The parameters of ``OUTCOMES_PG`` for outcomes of sent rows: the
    columns filled in one pass, no dict per row (a worker writes thousands
    a second). The same values as ``_sent_row`` and ``_attempt_row``."""
    columns: dict[str, list[Any]] = {key: [] for key in _PG_COLUMNS}
    (ids, tokens, statuses, nexts, codes, errors, delivered, endpoints, numbers, attempted,
     durations, targets, excerpts, attempt_errors) = columns.values()
    for outcome in sent:
        claimed = outcome.claimed
        if rules.succeeded(outcome.status_code, outcome.error):
            statuses.append(models.DELIVERED)
            nexts.append(now)
            delivered.append(now)
            errors.append(None)
        else:
            row = _sent_row(outcome, now=now, settings=settings, random=random)
            statuses.append(row["b_status"])
            nexts.append(row["b_next"])
            delivered.append(row["b_delivered"])
            errors.append(row["b_error"])
        ids.append(claimed.id)
        tokens.append(claimed.lease_token)
        codes.append(outcome.status_code)
        endpoints.append(claimed.endpoint_id)
        numbers.append(claimed.attempt)
        attempted.append(outcome.attempted_at)
        durations.append(outcome.duration_ms)
        targets.append(outcome.delivered_to[:2048])
        excerpt = outcome.response_excerpt
        excerpts.append(excerpt[:EXCERPT_CHARS] if excerpt is not None else None)
        attempt_errors.append(outcome.error[:ERROR_CHARS] if outcome.error else None)
    return {**columns, "b_now": now}


# OUTCOMES_PG's array parameters, in outcome_columns' order.
_PG_COLUMNS = ("b_id", "b_token", "b_status", "b_next", "b_code", "b_error", "b_delivered",
               "endpoint_id", "number", "attempted_at", "duration_ms", "delivered_to",
               "response_excerpt", "error")


def needs_session(outcomes: Sequence[Outcome]) -> bool:
    """Whether a batch needs more than ``OUTCOMES_PG``: a row not sent, or an
    endpoint whose health it may change (``health_concerns``). One pass, and
    no grouping for the common batch, every row delivered."""
    return any(o.skipped is not None or o.endpoint_was_failing
               or not rules.succeeded(o.status_code, o.error) for o in outcomes)


def _pg_params(
    sent: Sequence[Outcome], rows: Sequence[dict[str, Any]], *, now: datetime
) -> dict[str, Any]:
    # The attempts' delivery ids and status codes are the updates' own arrays.
    attempts = _columns([_attempt_row(o) for o in sent])
    del attempts["delivery_id"], attempts["status_code"]
    return {**_columns(rows), **attempts, "b_now": now}


def _log_failures(sent: Sequence[Outcome], rows: Sequence[dict[str, Any]]) -> None:
    for outcome, row in zip(sent, rows, strict=True):
        if row["b_status"] == models.DELIVERED:
            continue
        claimed = outcome.claimed
        failure_log.attempt_failed(
            delivery_id=claimed.id, endpoint_id=claimed.endpoint_id, event_id=claimed.event_id,
            event_type=outcome.event_type, attempt=claimed.attempt,
            status_code=outcome.status_code, error=row["b_error"],
            dead=row["b_status"] == models.DEAD, next_attempt_at=row["b_next"])


def _log_not_sent(skipped: Sequence[Outcome]) -> None:
    for outcome in skipped:
        if outcome.skipped in _NOT_SENT_LOGGED:
            status, error = _NOT_SENT_LOGGED[outcome.skipped]
            claimed = outcome.claimed
            failure_log.not_sent(
                delivery_id=claimed.id, endpoint_id=claimed.endpoint_id,
                event_id=claimed.event_id, event_type=outcome.event_type, outcome=status,
                error=error)


def _sent_row(
    outcome: Outcome, *, now: datetime, settings: Settings, random: Callable[[], float]
) -> dict[str, Any]:
    decision = rules.decide(
        attempt=outcome.claimed.round_attempt, status_code=outcome.status_code,
        error=outcome.error, retry_after=outcome.retry_after, now=now,
        schedule=settings.retry_schedule,
        jitter=settings.retry_jitter, retry_after_max_s=settings.retry_after_max_s,
        random=random,
    )
    return {
        "b_id": outcome.claimed.id, "b_token": outcome.claimed.lease_token,
        "b_status": decision.status, "b_next": decision.next_attempt_at or now,
        "b_code": outcome.status_code, "b_error": _error_text(outcome),
        "b_delivered": now if decision.status == models.DELIVERED else None,
    }


def _sent_row_sqlite(outcome: Outcome, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    # PostgreSQL's statement reads these two from the attempts' own arrays.
    excerpt = outcome.response_excerpt
    return {**row, "b_now": now, "b_attempted": outcome.attempted_at,
            "b_excerpt": excerpt[:EXCERPT_CHARS] if excerpt is not None else None}


def _columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as one list per key (the arrays the PostgreSQL statements unnest)."""
    return {key: [row[key] for row in rows] for key in rows[0]}


# PostgreSQL: a batch of outcomes in one statement, whatever its size. Arrays
# are unnested server-side (an executemany binds, and the server plans, row by
# row), and the attempts' INSERT rides on the UPDATE as a data-modifying CTE,
# so the two are atomic without a transaction of their own. The lease token
# guard: a worker whose lease was taken over changes no delivery (its attempt
# still happened, and is recorded).
OUTCOMES_PG = sa.text("""
WITH sent AS (
    UPDATE deliveries AS d
    SET status = b.status, next_attempt_at = b.next_at, last_status_code = b.code,
        last_error = b.error, delivered_at = b.delivered_at, lease_token = NULL,
        lease_expires_at = NULL, last_attempt_at = b.attempted_at,
        last_response_excerpt = b.excerpt, updated_at = :b_now
    FROM unnest(CAST(:b_id AS uuid[]), CAST(:b_token AS uuid[]), CAST(:b_status AS varchar[]),
                CAST(:b_next AS timestamptz[]), CAST(:b_code AS integer[]),
                CAST(:b_error AS varchar[]), CAST(:b_delivered AS timestamptz[]),
                CAST(:attempted_at AS timestamptz[]), CAST(:response_excerpt AS varchar[]))
         AS b(id, token, status, next_at, code, error, delivered_at, attempted_at, excerpt)
    WHERE d.id = b.id AND d.lease_token = b.token
)
INSERT INTO delivery_attempts (delivery_id, endpoint_id, number, attempted_at, duration_ms,
                               delivered_to, status_code, response_excerpt, error)
SELECT * FROM unnest(CAST(:b_id AS uuid[]), CAST(:endpoint_id AS uuid[]),
                     CAST(:number AS integer[]),
                     CAST(:attempted_at AS timestamptz[]), CAST(:duration_ms AS integer[]),
                     CAST(:delivered_to AS varchar[]), CAST(:b_code AS integer[]),
                     CAST(:response_excerpt AS varchar[]), CAST(:error AS varchar[]))
""")


@functools.cache
def _sent_statement() -> sa.Update:
    moment = _table().c.next_attempt_at.type
    return _guarded_update(
        status=sa.bindparam("b_status", type_=sa.String()),
        next_attempt_at=sa.bindparam("b_next", type_=moment),
        last_status_code=sa.bindparam("b_code", type_=sa.Integer()),
        last_error=sa.bindparam("b_error", type_=sa.String()),
        delivered_at=sa.bindparam("b_delivered", type_=moment),
        last_attempt_at=sa.bindparam("b_attempted", type_=moment),
        last_response_excerpt=sa.bindparam("b_excerpt", type_=sa.String()),
        lease_token=None, lease_expires_at=None, updated_at=sa.bindparam("b_now", type_=moment),
    )


@functools.cache
def _attempts_statement() -> sa.Insert:
    attempts = DeliveryAttempt.__table__
    assert isinstance(attempts, sa.Table)
    return sa.insert(attempts)


def _error_text(outcome: Outcome) -> str | None:
    if outcome.error:
        return outcome.error[:ERROR_CHARS]
    if rules.succeeded(outcome.status_code, None):
        return None
    return f"HTTP {outcome.status_code}"


_UNSUPPORTED = ("the endpoint's format has no equivalent of this event (its format changed "
                "after the event)")
# Skipped rows worth a line: (the status they take, why). A released row is
# only given back for a worker with a longer lease: nothing went wrong.
_NOT_SENT_LOGGED = {"held": (models.HELD, "the endpoint is disabled"),
                    "unsupported": (models.DEAD, _UNSUPPORTED)}


async def _write_skipped(
    session: AsyncSession, skipped: Sequence[Outcome], *, now: datetime
) -> None:
    reasons = ((models.HELD, "held", None, now), (models.PENDING, "released", None, now),
               (models.DEAD, "unsupported", _UNSUPPORTED, now),
               # A listener's row, handed over to its stream (delivery.listeners).
               (models.PENDING, "parked", None, PARKED_AT))
    for status, reason, error, due in reasons:
        params = [{"b_id": o.claimed.id, "b_token": o.claimed.lease_token}
                  for o in skipped if o.skipped == reason]
        if params:
            # Not sent, so the claim's attempt is given back.
            statement = _guarded_update(status=status, next_attempt_at=due, lease_token=None,
                                        lease_expires_at=None,
                                        attempts=_table().c.attempts - 1, updated_at=now,
                                        **({"last_error": error} if error else {}))
            await session.execute(statement, params)


def _attempt_row(outcome: Outcome) -> dict[str, Any]:
    excerpt = outcome.response_excerpt
    return {
        "delivery_id": outcome.claimed.id,
        "endpoint_id": outcome.claimed.endpoint_id,
        "number": outcome.claimed.attempt,
        "attempted_at": outcome.attempted_at,
        "duration_ms": outcome.duration_ms,
        "delivered_to": outcome.delivered_to[:2048],
        "status_code": outcome.status_code,
        "response_excerpt": excerpt[:EXCERPT_CHARS] if excerpt is not None else None,
        "error": outcome.error[:ERROR_CHARS] if outcome.error else None,
    }


def health_concerns(sent: Sequence[Outcome]) -> dict[uuid.UUID, list[Outcome]]:
    """The outcomes, by endpoint, of endpoints whose health this batch may
    change: any failure, or a success of an endpoint known to be failing."""
    by_endpoint: dict[uuid.UUID, list[Outcome]] = {}
    for outcome in sent:
        by_endpoint.setdefault(outcome.claimed.endpoint_id, []).append(outcome)
    return {endpoint_id: items for endpoint_id, items in by_endpoint.items()
            if any(not rules.succeeded(o.status_code, o.error) or o.endpoint_was_failing
                   for o in items)}


async def _apply_health(
    session: AsyncSession, sent: Sequence[Outcome], *, now: datetime, settings: Settings
) -> list[Endpoint]:
    from porthook.delivery import health

    concerned = health_concerns(sent)
    if not concerned:
        return []
    return await health.apply(session, concerned, now=now, settings=settings)


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

