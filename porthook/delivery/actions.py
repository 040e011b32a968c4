"""Fixing deliveries in one call: retry a delivery, an endpoint's backlog, an event.

Shared by the API (``routes``) and the command line, given a session, never
committing. Every action answers with what it requeued (``Requeue``).

"Without duplicates": a row a worker holds under its lease is in flight
(``rules.in_flight``) and no action touches it. Requeueing it would clear the
lease, so the worker's outcome would be dropped (the lease-token guard in
``queue``) and the row sent a second time. The action reports it in
``in_flight`` instead: its send is already under way. Each UPDATE checks the
lease in its own WHERE clause, so a claim racing the action is seen: on
PostgreSQL the UPDATE waits for the claim's row lock and reads the row again,
on SQLite the single writer orders them.

Requeued rows are due at once, and in the order they were made: their next
attempt is set to when they were created (or now, if that is later), so the
due-order claim sends an endpoint's oldest rows first. Strictly ordered
endpoints keep their order anyway (the claim holds back a later row while an
earlier one of its subject is pending or held). A requeued row starts its
retry schedule afresh (``round_start``), keeping its attempt count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import fanout, formats, models
from porthook.delivery.models import Delivery, Endpoint
from porthook.events import service as events
from porthook.events.models import Event
from porthook.problems import Conflict, FieldError, NotFound, Unprocessable

# Literal predicates, not bound parameters: only then can the planners prove
# the partial indexes ix_deliveries_endpoint_stuck and ix_deliveries_endpoint_due apply.
_STUCK = Delivery.status.in_([sa.literal_column("'dead'", sa.String()),
                               sa.literal_column("'held'", sa.String())])
_PENDING = Delivery.status == sa.literal_column("'pending'", sa.String())


@dataclass(frozen=True)
class Requeue:
    """What an action did: ``requeued`` rows (oldest first) are due now,
    ``created`` are new deliveries among them, ``in_flight`` were left to the
    worker sending them."""

    requeued: list[uuid.UUID] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)
    in_flight: list[uuid.UUID] = field(default_factory=list)


def _not_in_flight(now: datetime) -> sa.ColumnElement[bool]:
    # rules.in_flight, negated, as SQL.
    return sa.or_(Delivery.lease_token.is_(None), Delivery.lease_expires_at <= now)


def _in_flight(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Delivery.lease_token.is_not(None), Delivery.lease_expires_at > now)


def _due_now(now: datetime) -> dict[str, Any]:
    return {
        "status": models.PENDING,
        "next_attempt_at": sa.case((Delivery.created_at < now, Delivery.created_at), else_=now),
        "lease_token": None,
        "round_start": Delivery.attempts,
        "updated_at": now,
    }


async def _requeue(
    session: AsyncSession, where: Sequence[sa.ColumnElement[bool]], *, now: datetime
) -> list[uuid.UUID]:
    """Make the matching rows that are not in flight due now; their ids, oldest first."""
    result = await session.execute(
        sa.update(Delivery).where(*where, _not_in_flight(now)).values(**_due_now(now))
        .returning(Delivery.id, Delivery.created_at)
        .execution_options(synchronize_session=False)
    )
    rows = sorted(result.all(), key=lambda row: (row[1], row[0]))
    if rows:
        await fanout.notify(session)
    return [row[0] for row in rows]


async def _still_in_flight(
    session: AsyncSession, where: Sequence[sa.ColumnElement[bool]], *, now: datetime,
    limit: int,
) -> list[uuid.UUID]:
    found = await session.scalars(sa.select(Delivery.id).where(*where, _in_flight(now))
                                  .order_by(Delivery.created_at).limit(limit))
    return list(found.all())


def _require_enabled(endpoint: Endpoint, action: str) -> None:
    if not endpoint.enabled:
        raise Conflict(f"endpoint {endpoint.id} is disabled: enable it (actions/enable), "
                       f"then {action}")


async def retry_delivery(
    session: AsyncSession, *, account_id: uuid.UUID | None, delivery_id: uuid.UUID,
    now: datetime,
) -> Requeue:
    """Send this delivery now, whatever its status (dead, delivered, held,
    pending later): unless a worker is sending it right now. ``account_id``
    None: any account's (the operator's command line)."""
    query = (sa.select(Delivery.id, Endpoint).join(Endpoint, Endpoint.id == Delivery.endpoint_id)
             .where(Delivery.id == delivery_id))
    if account_id is not None:
        query = query.where(Delivery.account_id == account_id)
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    _require_enabled(found[1], "retry")
    requeued = await _requeue(session, [Delivery.id == delivery_id], now=now)
    return Requeue(requeued=requeued, in_flight=[] if requeued else [delivery_id])


def failed_rows(endpoint: Endpoint, since: datetime | None) -> list[list[sa.ColumnElement[bool]]]:
    """What an endpoint retry (and ``recover``) takes: rows dead or held, and
    rows retrying (pending after at least one failed attempt), made since
    ``since``. Two conditions, one per partial index, rather than one OR."""
    scope = [Delivery.account_id == endpoint.account_id, Delivery.endpoint_id == endpoint.id]
    if since is not None:
        scope.append(Delivery.created_at >= since)
    # Retrying rows first: the dead and held ones, once requeued, are
    # pending with attempts too, and would be taken twice.
    return [[*scope, _PENDING, Delivery.attempts > 0], [*scope, _STUCK]]


async def retry_endpoint(
    session: AsyncSession, *, endpoint: Endpoint, since: datetime | None, now: datetime,
    in_flight_limit: int = 100,
) -> Requeue:
    """Send now everything of the endpoint that is retrying, dead or held
    (made at or after ``since``), oldest first; nothing delivered, nothing
    of another endpoint, nothing a worker holds."""
    _require_enabled(endpoint, "retry")
    ids: list[uuid.UUID] = []
    for where in failed_rows(endpoint, since):
        ids += await _requeue(session, where, now=now)
    busy = await _still_in_flight(session, failed_rows(endpoint, since)[0], now=now,
                                  limit=in_flight_limit)
    return Requeue(requeued=await _oldest_first(session, ids), in_flight=busy)


async def _oldest_first(session: AsyncSession, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Two requeues' ids merged in creation order (each is sorted already)."""
    if len(ids) < 2:
        return ids
    rows = await session.execute(
        sa.select(Delivery.id, Delivery.created_at).where(Delivery.id.in_(ids)))
    created = {delivery_id: moment for delivery_id, moment in rows}
    return sorted(ids, key=lambda i: (created[i], i))


async def make_waiting_due(session: AsyncSession, *, endpoint: Endpoint, now: datetime) -> int:
    """The endpoint was fixed (URL, credentials, headers, format) or enabled:
    what waits for a later try, or was held while it was disabled, is due now.
    How many rows that was."""
    if not endpoint.enabled:
        return 0
    scope = [Delivery.account_id == endpoint.account_id, Delivery.endpoint_id == endpoint.id]
    waiting = await _requeue(session, [*scope, _PENDING, Delivery.next_attempt_at > now],
                             now=now)
    held = await _requeue(session, [*scope, _STUCK, Delivery.status == models.HELD], now=now)
    return len(waiting) + len(held)


async def redeliver_event(
    session: AsyncSession, *, account_id: uuid.UUID, event_id: uuid.UUID,
    endpoint: Endpoint | None = None, force: bool = False, now: datetime,
) -> Requeue:
    """Send the event again. To ``endpoint`` only, whatever its delivery's
    status (made if it has none); else to the endpoints that have not received
    it: their rows dead, held or pending are due now, and endpoints that should
    have a row but have none get one. ``force`` sends it to every endpoint
    again, delivered ones included."""
    event = await events.get(session, account_id=account_id, event_id=event_id)
    if endpoint is not None:
        return await _redeliver_to(session, event=event, endpoint=endpoint, now=now)
    enabled = sa.select(Endpoint.id).where(Endpoint.account_id == account_id,
                                           Endpoint.enabled.is_(True))
    where = [Delivery.event_id == event.id, Delivery.endpoint_id.in_(enabled.scalar_subquery())]
    if not force:
        where.append(Delivery.status != models.DELIVERED)
    requeued = await _requeue(session, where, now=now)
    busy = await _still_in_flight(session, where, now=now, limit=100)
    had = set((await session.scalars(
        sa.select(Delivery.endpoint_id).where(Delivery.event_id == event.id))).all())
    created: list[uuid.UUID] = []
    if await fanout.enqueue(session, event, only_missing=True):
        created = list((await session.scalars(
            sa.select(Delivery.id).where(Delivery.event_id == event.id,
                                         Delivery.endpoint_id.not_in(had)))).all())
    return Requeue(requeued=requeued + created, created=created, in_flight=busy)


async def _redeliver_to(
    session: AsyncSession, *, event: Event, endpoint: Endpoint, now: datetime
) -> Requeue:
    _require_enabled(endpoint, "redeliver")
    where = [Delivery.event_id == event.id, Delivery.endpoint_id == endpoint.id]
    existing = await session.scalar(sa.select(Delivery.id).where(*where))
    if existing is not None:
        requeued = await _requeue(session, where, now=now)
        return Requeue(requeued=requeued, in_flight=[] if requeued else [existing])
    # Webhooks and listeners (delivery.listeners) get a format's body; e-mail takes any type.
    if endpoint.channel != "email" and not formats.supports(endpoint.format, event.type):
        raise Unprocessable(
            f"endpoint {endpoint.id} ({endpoint.format} format) has no equivalent of "
            f"{event.type} events",
            errors=[FieldError(field="body.endpoint_id",
                               message=f"an endpoint whose format carries {event.type}")])
    row = fanout.delivery_row(event, endpoint, now)
    await session.execute(sa.insert(Delivery), [row])
    await fanout.notify(session)
    return Requeue(requeued=[row["id"]], created=[row["id"]])
