"""``porthook listen``'s server side: a listener is an endpoint like any other.

A listener is an ``endpoints`` row (origin and channel ``listener``): the
fan-out gives it deliveries, the delivery log and the actions see them. Only
the transport differs. The worker does not call it: when the dispatcher claims
one of its due rows it *parks* it (``PARKED_AT``, see ``dispatcher``), and the
listener's stream route claims its own rows, due or parked, under a lease,
renders and signs each exactly as a webhook call, and sends it down the stream.
The CLI forwards it and reports the local answer back (``record_result``),
which goes through ``recording.record_outcomes`` like any attempt: same
retry schedule, same attempt log. Whatever process holds the stream, the
queue is the only shared state, so this works with ``serve`` and with api +
workers.

A listener is named per API key and name; its ``whsec_`` secret is derived
from the key's stored hash and the name, so it is the same across restarts
(and after the listener was swept away and comes back). ``updated_at`` is the
last time its stream was seen: the worker drops listeners gone for longer than
``listener_ttl_s`` with their queued deliveries (``drop_gone``).
"""

from __future__ import annotations

import base64
import functools
import hmac
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.accounts.models import ApiKey
from porthook.config import Settings
from porthook.delivery import formats, models, queue, recording, rules, senders, signing
from porthook.delivery.models import Delivery, Endpoint
from porthook.events.models import Event
from porthook.problems import Conflict, NotFound

CHANNEL = "listener"
# A listener's row the dispatcher handed over: due for its stream at once,
# never for a worker. Far beyond any retry or lease, so the due index's scans,
# which stop at now, never reach it.
PARKED_AT = queue.PARKED_AT
ORDER_SUBJECT = "porting_order"  # what ``--order`` names
CLAIM_BATCH = 20  # rows a stream takes per claim
_LABEL = "porthook listen {name} (key {key_id})"


def label(*, name: str, key_id: uuid.UUID) -> str:
    """The endpoint's description, which also finds it again on reconnect."""
    return _LABEL.format(name=name, key_id=key_id)


def derived_secret(*, key_hash: str, name: str) -> str:
    """The listener's ``whsec_`` secret: HMAC of the name under the key's
    stored hash (server-side material no client sees), stable for the pair."""
    digest = hmac.digest(key_hash.encode(), b"porthook-listener:" + name.encode(), "sha256")
    return signing.SECRET_PREFIX + base64.b64encode(digest).decode()


async def connect(
    session: AsyncSession, *, account_id: uuid.UUID, key_id: uuid.UUID, name: str,
    forward_to: str, format: str, event_types: list[str], now: datetime,
    subject_id: str | None = None,
) -> Endpoint:
    """The listener's endpoint, made or brought up to date (where it forwards,
    its format, types and order filter) and enabled: a new session of
    ``listen`` starts clean."""
    description = label(name=name, key_id=key_id)
    endpoint = await session.scalar(sa.select(Endpoint).where(
        Endpoint.account_id == account_id, Endpoint.origin == models.ORIGIN_LISTENER,
        Endpoint.description == description))
    if endpoint is None:
        key_hash = await session.scalar(sa.select(ApiKey.key_hash).where(ApiKey.id == key_id))
        assert key_hash is not None  # the key just authenticated the request
        endpoint = Endpoint(account_id=account_id, origin=models.ORIGIN_LISTENER, channel=CHANNEL,
                            description=description, secret=derived_secret(key_hash=key_hash,
                                                                            name=name),
                            created_at=now)
        session.add(endpoint)
    endpoint.url = forward_to
    endpoint.format = format
    endpoint.event_types = event_types
    endpoint.subject_id = subject_id
    endpoint.enabled = True
    endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def has_order(session: AsyncSession, *, account_id: uuid.UUID, order_id: str) -> bool:
    """Whether the account has events of this porting order (every order has
    at least its creation's): read from the events, not porting's tables,
    so delivery does not import porting."""
    found = await session.scalar(sa.select(Event.id).where(
        Event.account_id == account_id, Event.subject_type == ORDER_SUBJECT,
        Event.subject_id == order_id).limit(1))
    return found is not None


async def seen(session: AsyncSession, *, endpoint_id: uuid.UUID, now: datetime) -> None:
    await session.execute(sa.update(Endpoint).where(Endpoint.id == endpoint_id)
                          .values(updated_at=now))


@functools.cache
def _claim_statement(*, take_over: bool, arrays: bool) -> sa.Update:
    """The listener's due or parked rows, oldest first; with ``take_over``
    also those leased to a stream that went away (a reconnect resends them now
    instead of after their lease)."""
    table = Delivery.__table__
    assert isinstance(table, sa.Table)
    now = sa.bindparam("b_now", type_=table.c.next_attempt_at.type)
    # A due row a worker holds is left to it: its "parked" outcome hands it
    # over (a claim no longer moves next_attempt_at past now).
    ready = [sa.and_(table.c.next_attempt_at <= now, queue.unleased(table, now)),
             table.c.next_attempt_at >= PARKED_AT]
    if take_over:
        ready.append(table.c.lease_token.is_not(None))
    rows = (sa.select(table.c.id)
            .where(table.c.endpoint_id == sa.bindparam("b_endpoint"),
                   table.c.status == models.PENDING, sa.or_(*ready))
            .order_by(table.c.created_at, table.c.sequence)
            .limit(CLAIM_BATCH).with_for_update(skip_locked=True, of=table))
    return (sa.update(table).where(queue.locked_rows(table.c.id, rows, arrays=arrays))
            .values(lease_token=sa.bindparam("b_token"),
                    # The stream's lease also keeps the row parked (PARKED_AT
                    # or later) while its stream holds it.
                    next_attempt_at=sa.bindparam("b_expires"),
                    lease_expires_at=sa.bindparam("b_expires"),
                    attempts=table.c.attempts + 1, updated_at=sa.bindparam("b_now"))
            .returning(table.c.id, table.c.event_id, table.c.endpoint_id, table.c.attempts,
                       table.c.round_start, table.c.ordered))


async def claim(
    session: AsyncSession, *, endpoint_id: uuid.UUID, now: datetime, lease_s: float,
    take_over: bool = False,
) -> list[tuple[queue.Claimed, formats.EventView]]:
    token, expires = uuid.uuid4(), now + timedelta(seconds=lease_s)
    statement = _claim_statement(take_over=take_over, arrays=queue.uses_arrays(session))
    result = await session.execute(statement, {
        "b_now": now, "b_endpoint": endpoint_id, "b_token": token, "b_expires": expires})
    claimed = [queue.claimed_from_row(row, token, expires) for row in result.all()]
    if not claimed:
        return []
    events = (await session.scalars(sa.select(Event).where(
        Event.id.in_([c.event_id for c in claimed])))).all()
    views = {event.id: formats.event_view(event) for event in events}
    ordered = sorted(claimed, key=lambda c: (views[c.event_id].occurred_at,
                                             views[c.event_id].sequence))
    return [(c, views[c.event_id]) for c in ordered]


async def take(
    session: AsyncSession, *, endpoint: Endpoint, now: datetime, lease_s: float,
    take_over: bool, telnyx_key: bytes | None, settings: Settings,
) -> list[dict[str, Any]]:
    """Claim the listener's ready rows and make their stream messages. A row
    its format cannot carry (the listener came back with another ``--format``)
    is dead at once, as the dispatcher's ``unsupported`` (recoverable)."""
    claimed = await claim(session, endpoint_id=endpoint.id, now=now, lease_s=lease_s,
                          take_over=take_over)
    unsupported = [queue.Outcome(claimed=c, attempted_at=now, skipped="unsupported",
                                 event_type=view.type)
                   for c, view in claimed if not formats.supports(endpoint.format, view.type)]
    if unsupported:
        await recording.record_outcomes(session, unsupported, now=now, settings=settings,
                                        random=random.random)
    return [message(c, view, endpoint, telnyx_key=telnyx_key, now=now)
            for c, view in claimed if formats.supports(endpoint.format, view.type)]


def message(
    claimed: queue.Claimed, view: formats.EventView, endpoint: Endpoint, *,
    telnyx_key: bytes | None, now: datetime,
) -> dict[str, Any]:
    """One delivery as the stream sends it: the exact call a webhook endpoint
    would get (body and headers from the dispatcher's own formats and
    signing), and what the CLI needs to report on it."""
    address = endpoint.url or ""
    body = formats.render(endpoint.format, view, formats.Attempt(claimed.attempt, address))
    headers = senders.webhook_headers(
        event_id=view.id, body=body, timestamp=now,
        secrets=rules.signing_secrets(endpoint.secret, endpoint.previous_secret,
                                      endpoint.previous_secret_expires_at, now),
        credentials=None, telnyx_key=telnyx_key if endpoint.format == "telnyx" else None)
    return {
        "type": "delivery", "delivery_id": str(claimed.id), "lease": str(claimed.lease_token),
        "attempt": claimed.attempt, "event_id": str(view.id), "event_type": view.type,
        "subject": f"{view.subject_type}:{view.subject_id}", "sequence": view.sequence,
        "headers": headers, "body": body.decode(),
    }


@dataclass(frozen=True)
class LocalAnswer:
    """What the CLI's local server answered (or why it could not)."""

    lease: uuid.UUID
    duration_ms: int
    status_code: int | None
    response_excerpt: str | None
    error: str | None
    retry_schedule: tuple[float, ...] | None = None


async def find(
    session: AsyncSession, *, account_id: uuid.UUID, key_id: uuid.UUID, name: str
) -> Endpoint:
    endpoint = await session.scalar(sa.select(Endpoint).where(
        Endpoint.account_id == account_id, Endpoint.origin == models.ORIGIN_LISTENER,
        Endpoint.description == label(name=name, key_id=key_id)))
    if endpoint is None:
        raise NotFound(f"no listener {name!r} for this key: connect its stream first")
    return endpoint


async def record_result(
    session: AsyncSession, *, endpoint: Endpoint, delivery_id: uuid.UUID, answer: LocalAnswer,
    now: datetime, settings: Settings,
) -> str:
    """Record the forwarded call as the delivery's attempt (``recording.record_outcomes``:
    the dispatcher's outcome and retry rules); the delivery's status after it."""
    # Read afresh: the claim that leased it was a Core UPDATE the session never saw.
    row = await session.scalar(sa.select(Delivery).where(
        Delivery.id == delivery_id, Delivery.endpoint_id == endpoint.id)
        .execution_options(populate_existing=True))
    if row is None:
        raise NotFound(f"delivery {delivery_id} is not one of this listener's")
    if row.lease_token != answer.lease or row.status != models.PENDING:
        raise Conflict(f"delivery {delivery_id} is no longer leased to this stream "
                       "(its lease ran out or it was taken over): nothing recorded")
    claimed = queue.Claimed(id=row.id, event_id=row.event_id, endpoint_id=row.endpoint_id,
                            attempt=row.attempts, round_attempt=row.attempts - row.round_start,
                            lease_token=answer.lease, lease_expires_at=row.next_attempt_at,
                            ordered=row.ordered)
    event_type = await session.scalar(sa.select(Event.type).where(Event.id == row.event_id))
    outcome = queue.Outcome(
        claimed=claimed, attempted_at=now, duration_ms=answer.duration_ms,
        delivered_to=endpoint.url or "", status_code=answer.status_code,
        response_excerpt=answer.response_excerpt, error=answer.error,
        event_type=event_type or "")
    if answer.retry_schedule:
        settings = settings.model_copy(update={"retry_schedule": answer.retry_schedule})
    await recording.record_outcomes(session, [outcome], now=now, settings=settings,
                                    random=random.random)
    await session.refresh(row)
    return row.status


async def drop_gone(session: AsyncSession, *, before: datetime) -> int:
    """Delete the listeners not seen since ``before`` and their deliveries
    (explicitly: the cascade is the database's, and only these rows go)."""
    gone = sa.select(Endpoint.id).where(Endpoint.origin == models.ORIGIN_LISTENER,
                                        Endpoint.updated_at < before)
    ids: Sequence[uuid.UUID] = (await session.scalars(gone)).all()
    if not ids:
        return 0
    await session.execute(sa.delete(Delivery).where(Delivery.endpoint_id.in_(ids)))
    await session.execute(sa.delete(Endpoint).where(Endpoint.id.in_(ids)))
    return len(ids)
