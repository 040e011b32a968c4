"""Endpoint health: ``GET /v1/endpoints/{id}/stats`` and the one-line
``health`` of each endpoint in ``GET /v1/endpoints``.

Outcomes and latencies come from the attempts, by ``endpoint_id`` and time
(``ix_delivery_attempts_endpoint_time``); the backlog from the deliveries
waiting or held (``ix_deliveries_endpoint_due``, ``ix_deliveries_endpoint_stuck``).
Percentiles: PostgreSQL's ``percentile_cont``; SQLite has none, so the two
neighbours of the rank are read in order by offset and interpolated the same
way (``rules.interpolated_percentile``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import filters, rules
from porthook.delivery.models import Delivery, DeliveryAttempt, Endpoint

WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(days=1)), ("7d", timedelta(days=7)))
PERCENTILES = (0.5, 0.95)
HEALTH_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    counts: dict[str, int]  # by rules.STATUS_CLASSES
    total: int
    success_rate: float | None
    latency_ms: dict[str, float | None]  # "p50", "p95" of successful attempts


@dataclass(frozen=True)
class LastAttempt:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class Backlog:
    pending: int
    retrying: int
    held: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True)
class EndpointStats:
    windows: dict[str, Window]
    last_success: LastAttempt | None
    last_failure: LastAttempt | None
    backlog: Backlog


async def endpoint_stats(session: AsyncSession, *, endpoint: Endpoint,
                         now: datetime) -> EndpointStats:
    email = endpoint.channel == "email"
    counts = await _counts(session, endpoint.id, now=now, email=email)
    latencies = await percentiles(session, endpoint_id=endpoint.id, email=email,
                                  since={name: now - span for name, span in WINDOWS})
    windows = {}
    for name, _ in WINDOWS:
        by_class = counts[name]
        total = sum(by_class.values())
        windows[name] = Window(counts=by_class, total=total, latency_ms=latencies[name],
                               success_rate=rules.success_rate(by_class["2xx"], total))
    return EndpointStats(
        windows=windows,
        last_success=await _last(session, endpoint.id, filters.attempt_succeeded(email=email)),
        last_failure=await _last(session, endpoint.id, filters.attempt_failed(email=email)),
        backlog=await _backlog(session, endpoint.id),
    )


async def _counts(session: AsyncSession, endpoint_id: uuid.UUID, *, now: datetime,
                  email: bool) -> dict[str, dict[str, int]]:
    kind = sa.case(*((filters.attempt_class(name, email=email), name)
                     for name in rules.STATUS_CLASSES[:-1]), else_="network").label("kind")
    columns = [sa.func.count().filter(DeliveryAttempt.attempted_at >= now - span).label(name)
               for name, span in WINDOWS]
    rows = (await session.execute(
        sa.select(kind, *columns)
        .where(DeliveryAttempt.endpoint_id == endpoint_id,
               DeliveryAttempt.attempted_at >= now - WINDOWS[-1][1])
        .group_by(kind))).all()
    counts = {name: dict.fromkeys(rules.STATUS_CLASSES, 0) for name, _ in WINDOWS}
    for row in rows:
        for index, (name, _) in enumerate(WINDOWS):
            counts[name][row[0]] = int(row[index + 1])
    return counts


async def percentiles(session: AsyncSession, *, endpoint_id: uuid.UUID, email: bool = False,
                      since: Mapping[str, datetime]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 of the durations of the endpoint's successful attempts,
    for each window (by name) since its time."""
    where = (DeliveryAttempt.endpoint_id == endpoint_id,
             DeliveryAttempt.attempted_at >= min(since.values()),
             filters.attempt_succeeded(email=email))
    if session.get_bind().dialect.name == "postgresql":
        found = await _percentiles_pg(session, where, since)
    else:
        found = {name: await _percentiles_by_offset(
            session, (*where, DeliveryAttempt.attempted_at >= moment))
            for name, moment in since.items()}
    return {name: {f"p{round(p * 100)}": value for p, value in zip(PERCENTILES, values,
                                                                     strict=True)}
            for name, values in found.items()}


async def _percentiles_pg(
    session: AsyncSession, where: Sequence[sa.ColumnElement[bool]],
    since: Mapping[str, datetime],
) -> dict[str, list[float | None]]:
    # Every window in one pass over the widest one's rows; each window's
    # percentiles from one sort (percentile_cont of an array of fractions).
    fractions = postgresql.array([sa.literal(p, sa.Float()) for p in PERCENTILES])
    columns = [sa.func.percentile_cont(fractions).within_group(DeliveryAttempt.duration_ms)
               .filter(DeliveryAttempt.attempted_at >= moment) for moment in since.values()]
    row = (await session.execute(sa.select(*columns).where(*where))).one()
    return {name: [None if value is None else round(float(value), 1)
                   for value in (found or [None] * len(PERCENTILES))]
            for name, found in zip(since, row, strict=True)}


async def _percentiles_by_offset(session: AsyncSession,
                                 where: Sequence[sa.ColumnElement[bool]]) -> list[float | None]:
    total = int(await session.scalar(sa.select(sa.func.count()).where(*where)) or 0)
    if not total:
        return [None for _ in PERCENTILES]
    ordered = sa.select(DeliveryAttempt.duration_ms).where(*where).order_by(
        DeliveryAttempt.duration_ms)
    values: list[float | None] = []
    for p in PERCENTILES:
        position = p * (total - 1)
        pair = (await session.scalars(ordered.offset(int(position)).limit(2))).all()
        high = pair[1] if len(pair) > 1 else pair[0]
        values.append(round(rules.interpolated_percentile(pair[0], high, position), 1))
    return values


async def _last(session: AsyncSession, endpoint_id: uuid.UUID,
                outcome: sa.ColumnElement[bool]) -> LastAttempt | None:
    row = (await session.execute(
        sa.select(DeliveryAttempt.attempted_at, DeliveryAttempt.status_code,
                  DeliveryAttempt.error, DeliveryAttempt.response_excerpt)
        .where(DeliveryAttempt.endpoint_id == endpoint_id, outcome)
        .order_by(DeliveryAttempt.attempted_at.desc()).limit(1))).first()
    return LastAttempt(*row) if row is not None else None


# Literal predicates, not bound parameters: only then can PostgreSQL's
# planner (generic plans included) prove the partial indexes apply.
_PENDING = sa.text("deliveries.status = 'pending'")
_HELD = sa.text("deliveries.status = 'held'")


async def _backlog(session: AsyncSession, endpoint_id: uuid.UUID) -> Backlog:
    # The endpoint's waiting rows through ix_deliveries_endpoint_due, its held
    # ones through ix_deliveries_endpoint_stuck: never its delivered history.
    failed = Delivery.last_error.is_not(None)
    waiting = (await session.execute(
        sa.select(sa.func.count().filter(~failed), sa.func.count().filter(failed),
                  sa.func.min(Delivery.created_at))
        .where(Delivery.endpoint_id == endpoint_id, _PENDING))).one()
    held = await session.scalar(sa.select(sa.func.count()).where(
        Delivery.endpoint_id == endpoint_id, _HELD))
    return Backlog(pending=int(waiting[0]), retrying=int(waiting[1]), held=int(held or 0),
                   oldest_pending_at=waiting[2])


@dataclass(frozen=True)
class Health:
    state: str  # rules.health_state
    success_rate_24h: float | None
    attempts_24h: int
    backlog: int
    last_error: str | None


async def health_by_endpoint(session: AsyncSession, endpoints: Sequence[Endpoint], *,
                             now: datetime) -> dict[uuid.UUID, Health]:
    """The one-line health of a page of endpoints: one query per channel on
    the page (webhooks' outcomes read from the index alone), each figure a
    correlated subquery the database answers from an index per endpoint."""
    figures: dict[uuid.UUID, Any] = {}
    for email in (False, True):
        ids = [e.id for e in endpoints if (e.channel == "email") == email]
        if ids:
            rows = (await session.execute(_health_statement(now, email=email),
                                          {"ids": ids})).all()
            figures.update({row[0]: row for row in rows})
    found = {}
    for endpoint in endpoints:
        _, total, succeeded, waiting, held, last_code, last_error = figures[endpoint.id]
        state = rules.health_state(enabled=endpoint.enabled, failing_since=endpoint.failing_since)
        found[endpoint.id] = Health(
            state=state, success_rate_24h=rules.success_rate(succeeded or 0, total or 0),
            attempts_24h=total or 0, backlog=(waiting or 0) + (held or 0),
            last_error=endpoint.disabled_reason if state == rules.DISABLED
            else _reason(last_code, last_error))
    return found


def _reason(status_code: int | None, error: str | None) -> str | None:
    if error:
        return error
    return f"HTTP {status_code}" if status_code is not None else None


def _health_statement(now: datetime, *, email: bool) -> sa.Select[Any]:
    attempts = DeliveryAttempt
    recent = sa.and_(attempts.endpoint_id == Endpoint.id,
                     attempts.attempted_at >= now - HEALTH_WINDOW)

    def count(*where: sa.ColumnElement[bool] | sa.TextClause) -> sa.ScalarSelect[Any]:
        return sa.select(sa.func.count()).where(*where).scalar_subquery()

    failures = (sa.select(attempts.status_code, attempts.error)
                .where(recent, filters.attempt_failed(email=email))
                .order_by(attempts.attempted_at.desc()).limit(1))
    return sa.select(
        Endpoint.id, count(recent), count(recent, filters.attempt_succeeded(email=email)),
        count(Delivery.endpoint_id == Endpoint.id, _PENDING),
        count(Delivery.endpoint_id == Endpoint.id, _HELD),
        failures.with_only_columns(attempts.status_code).scalar_subquery(),
        failures.with_only_columns(attempts.error).scalar_subquery(),
    ).where(Endpoint.id.in_(sa.bindparam("ids", expanding=True)))
