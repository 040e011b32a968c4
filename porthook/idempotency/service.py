"""The ``idempotent_requests`` rows: claim, renew, finish, release, purge.

Every function takes a session and never commits (the middleware does).
Whoever holds a claim's ``attempt`` token may renew or finish it; a request
whose claim was taken over changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.idempotency import rules
from porthook.idempotency.models import IdempotentRequest


async def find(session: AsyncSession, *, scope: str, key: str) -> IdempotentRequest | None:
    return await session.scalar(sa.select(IdempotentRequest).where(
        IdempotentRequest.scope == scope, IdempotentRequest.key == key))


def as_claim(row: IdempotentRequest) -> rules.Claim:
    return rules.Claim(request_hash=row.request_hash, state=row.state,
                       created_at=row.created_at, lease_expires_at=row.lease_expires_at)


async def claim(
    session: AsyncSession, *, scope: str, key: str, request_hash: str, attempt: uuid.UUID,
    now: datetime, lease_s: float, replacing: IdempotentRequest | None = None,
) -> None:
    """A new claim (the unique (scope, key) refuses a concurrent one at commit)."""
    if replacing is not None:
        await session.delete(replacing)
        await session.flush()
    session.add(IdempotentRequest(
        scope=scope, key=key, request_hash=request_hash, state=rules.IN_PROGRESS,
        created_at=now, attempt=attempt, lease_expires_at=rules.lease_until(now, lease_s)))


async def take_over(
    session: AsyncSession, *, row: IdempotentRequest, attempt: uuid.UUID, now: datetime,
    lease_s: float,
) -> bool:
    """Take a lapsed claim; False if someone else (its holder renewing, or
    another retry) got there first."""
    holder = (IdempotentRequest.attempt.is_(None) if row.attempt is None
              else IdempotentRequest.attempt == row.attempt)
    result = await session.execute(
        sa.update(IdempotentRequest)
        .where(IdempotentRequest.id == row.id, IdempotentRequest.state == rules.IN_PROGRESS,
               holder)
        .values(attempt=attempt, lease_expires_at=rules.lease_until(now, lease_s))
        .execution_options(synchronize_session=False))
    return _changed(result)


def _held(scope: str, key: str, attempt: uuid.UUID) -> tuple[sa.ColumnElement[bool], ...]:
    return (IdempotentRequest.scope == scope, IdempotentRequest.key == key,
            IdempotentRequest.attempt == attempt,
            IdempotentRequest.state == rules.IN_PROGRESS)


async def renew(
    session: AsyncSession, *, scope: str, key: str, attempt: uuid.UUID, now: datetime,
    lease_s: float,
) -> bool:
    result = await session.execute(
        sa.update(IdempotentRequest).where(*_held(scope, key, attempt))
        .values(lease_expires_at=rules.lease_until(now, lease_s))
        .execution_options(synchronize_session=False))
    return _changed(result)


async def finish(
    session: AsyncSession, *, scope: str, key: str, attempt: uuid.UUID, status: int,
    body: bytes, content_type: str | None,
) -> bool:
    """Store the answer; False if the claim is no longer this attempt's."""
    result = await session.execute(
        sa.update(IdempotentRequest).where(*_held(scope, key, attempt))
        .values(state=rules.DONE, response_status=status, response_body=body,
                response_content_type=content_type, lease_expires_at=None)
        .execution_options(synchronize_session=False))
    return _changed(result)


async def release(session: AsyncSession, *, scope: str, key: str, attempt: uuid.UUID) -> None:
    """Forget the claim, so that the client's retry runs for real."""
    await session.execute(sa.delete(IdempotentRequest).where(*_held(scope, key, attempt))
                          .execution_options(synchronize_session=False))


def _changed(result: sa.Result[object]) -> bool:
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def purge_older_than(session: AsyncSession, *, before: datetime) -> None:
    """Forget answers past the TTL (a replay after it runs the request again)."""
    await session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.created_at < before))
