"""What claimed deliveries came to, written back: ``record_outcomes``.

A batch of ``queue.Outcome`` becomes each sent row's new status and schedule
(``rules.decide``) and its attempt, each skipped row given back, the failure
log's lines, and the health of the endpoints concerned (``delivery.health``).
Kept apart from claiming (``delivery.queue``): it is the other half of a
worker's traffic, with its own hot path. On PostgreSQL ``delivery.store``
runs ``OUTCOMES_PG`` with ``outcome_columns`` on a held connection, and goes
through a session (``record_outcomes``) only when ``needs_session`` says a
batch has skipped rows or may change an endpoint's health.

Every function takes a session and never commits: the dispatcher writes a
batch of outcomes in one transaction, a handful of round trips whatever its
size (no per-row queries).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings
from porthook.delivery import failure_log, health, models, queue, rules
from porthook.delivery.models import DeliveryAttempt, Endpoint
from porthook.delivery.queue import ERROR_CHARS, EXCERPT_CHARS, PARKED_AT, Outcome


def _guarded_update(**values: Any) -> sa.Update:
    table = queue.deliveries_table()
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
    moment = queue.deliveries_table().c.next_attempt_at.type
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
                                        attempts=queue.deliveries_table().c.attempts - 1,
                                        updated_at=now,
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
    concerned = health_concerns(sent)
    if not concerned:
        return []
    return await health.apply(session, concerned, now=now, settings=settings)
