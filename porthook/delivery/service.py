"""Endpoints, notification profiles and the signing key. Given a session; never commits."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.config import Settings
from porthook.delivery import actions, failure_log, models, signing, ssrf
from porthook.delivery.models import Delivery, Endpoint, NotificationProfile, SigningKey
from porthook.delivery.schemas import (
    EndpointCreate,
    EndpointPublic,
    EndpointUpdate,
    ProfileCreate,
    ProfileUpdate,
)
from porthook.events import service as events
from porthook.events.types import EventType
from porthook.pagination import MOMENT_AND_ID, decode_cursor, encode_cursor
from porthook.problems import Conflict, FieldError, NotFound, Unprocessable

SIGNING_KEY_NAME = "ed25519"


def to_public(endpoint: Endpoint) -> EndpointPublic:
    credentials = endpoint.credentials or {}
    derived = {"credentials_type": credentials.get("type"),
               "header_names": list(endpoint.headers or {})}
    return EndpointPublic.model_validate(
        {**{c: getattr(endpoint, c) for c in EndpointPublic.model_fields if c not in derived},
         **derived}
    )


def endpoint_snapshot(endpoint: Endpoint) -> dict[str, Any]:
    """What ``endpoint.*`` events carry (no secret, no credentials)."""
    return to_public(endpoint).model_dump(mode="json")


async def _check_target(
    session: AsyncSession, settings: Settings, *, account_id: uuid.UUID,
    channel: str, url: str | None, email_address: str | None, profile_id: uuid.UUID | None,
) -> None:
    if channel == "webhook":
        if not url:
            raise Unprocessable("url is required for a webhook endpoint",
                                errors=[FieldError(field="url", message="field required")])
        await ssrf.check_url(url, settings, field="url")
    elif not email_address:
        raise Unprocessable("email_address is required for an email endpoint",
                            errors=[FieldError(field="email_address", message="field required")])
    if profile_id is not None:
        await get_profile(session, account_id=account_id, profile_id=profile_id)


async def create_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, body: EndpointCreate, settings: Settings,
    now: datetime,
) -> Endpoint:
    await _check_target(session, settings, account_id=account_id, channel=body.channel,
                        url=body.url, email_address=body.email_address,
                        profile_id=body.profile_id)
    endpoint = Endpoint(
        id=db.new_id(), account_id=account_id, origin=models.ORIGIN_USER, channel=body.channel,
        url=body.url if body.channel == "webhook" else None,
        email_address=body.email_address if body.channel == "email" else None,
        format=body.format, description=body.description, event_types=body.event_types,
        credentials=body.credentials.model_dump() if body.credentials else None,
        secret=signing.generate_secret(), strict_ordering=body.strict_ordering,
        max_concurrency=body.max_concurrency, headers=body.headers or None,
        rate_limit_per_s=body.rate_limit_per_s, profile_id=body.profile_id, enabled=True,
        failing_notified=False, created_at=now, updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID | None, endpoint_id: uuid.UUID
) -> Endpoint:
    """The endpoint, within ``account_id`` (None: any account, for operators)."""
    query = sa.select(Endpoint).where(Endpoint.id == endpoint_id)
    if account_id is not None:
        query = query.where(Endpoint.account_id == account_id)
    endpoint = await session.scalar(query)
    if endpoint is None:
        raise NotFound(f"endpoint {endpoint_id} does not exist")
    return endpoint


async def list_endpoints(
    session: AsyncSession, *, account_id: uuid.UUID | None, cursor: str | None, limit: int
) -> tuple[list[Endpoint], str | None]:
    """The account's endpoints (None: every account's, for operators), oldest first."""
    query = sa.select(Endpoint).order_by(Endpoint.created_at, Endpoint.id).limit(limit + 1)
    if account_id is not None:
        query = query.where(Endpoint.account_id == account_id)
    after = decode_cursor(cursor, MOMENT_AND_ID)
    if after is not None:
        moment, last_id = after
        query = query.where(sa.tuple_(Endpoint.created_at, Endpoint.id) > (moment, last_id))
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([last.created_at.isoformat(), str(last.id)])


async def update_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, endpoint_id: uuid.UUID,
    body: EndpointUpdate, settings: Settings, now: datetime,
) -> Endpoint:
    endpoint = await get_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    url = changes.get("url", endpoint.url)
    email_address = changes.get("email_address", endpoint.email_address)
    await _check_target(session, settings, account_id=account_id, channel=endpoint.channel,
                        url=url, email_address=email_address,
                        profile_id=changes.get("profile_id"))
    if "headers" in changes:
        changes["headers"] = changes["headers"] or None  # {} and null both mean none
    fixed = any(name in changes and changes[name] != getattr(endpoint, name)
                for name in _HOW_IT_IS_REACHED)
    for name in ("url", "email_address", "format", "description", "event_types",
                 "strict_ordering", "max_concurrency", "profile_id", "credentials", "headers",
                 "rate_limit_per_s"):
        if name in changes:
            setattr(endpoint, name, changes[name])
    if changes.get("enabled") is False and endpoint.enabled:
        await disable(session, endpoint=endpoint, reason="disabled through the API", now=now)
    endpoint.updated_at = now
    await session.flush()
    if fixed:
        await actions.make_waiting_due(session, endpoint=endpoint, now=now)
    return endpoint


# A change to one of these may be the fix of what made the calls fail: the
# rows waiting for a later try are due at once (issue 14), not in 25 minutes.
_HOW_IT_IS_REACHED = ("url", "email_address", "format", "credentials", "headers")


async def delete_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    endpoint = await get_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, *, account_id: uuid.UUID, endpoint_id: uuid.UUID, settings: Settings,
    now: datetime,
) -> Endpoint:
    endpoint = await get_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    endpoint.previous_secret = endpoint.secret
    overlap = timedelta(seconds=settings.secret_rotation_overlap_s)
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret = signing.generate_secret()
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def disable(session: AsyncSession, *, endpoint: Endpoint, reason: str, now: datetime) -> None:
    """Stop sending; pending rows are held so that enable + recover replays them."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now
    endpoint.updated_at = now
    result = await session.execute(
        sa.update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status == models.PENDING)
        .values(status=models.HELD, updated_at=now)
    )
    held = int(getattr(result, "rowcount", 0) or 0)
    failure_log.endpoint_held(endpoint_id=endpoint.id, held=held, reason=reason)
    await events.record(
        session, account_id=endpoint.account_id, type=EventType.ENDPOINT_DISABLED,
        subject_type="endpoint", subject_id=endpoint.id,
        data={"endpoint": endpoint_snapshot(endpoint), "reason": reason}, occurred_at=now,
    )


async def enable(
    session: AsyncSession, *, account_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime
) -> Endpoint:
    endpoint = await get_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    if endpoint.enabled:
        return endpoint
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.failing_notified = False
    endpoint.updated_at = now
    await session.flush()
    # What was held while it was disabled, or waits for a later try, goes now.
    await actions.make_waiting_due(session, endpoint=endpoint, now=now)
    await events.record(
        session, account_id=account_id, type=EventType.ENDPOINT_RECOVERED,
        subject_type="endpoint", subject_id=endpoint.id,
        data={"endpoint": endpoint_snapshot(endpoint), "reason": "enabled through the API"},
        occurred_at=now,
    )
    return endpoint


async def create_profile(
    session: AsyncSession, *, account_id: uuid.UUID, body: ProfileCreate, now: datetime
) -> NotificationProfile:
    profile = NotificationProfile(id=db.new_id(), account_id=account_id, name=body.name,
                                  event_types=body.event_types, enabled=body.enabled,
                                  created_at=now, updated_at=now)
    session.add(profile)
    await session.flush()
    return profile


async def get_profile(
    session: AsyncSession, *, account_id: uuid.UUID, profile_id: uuid.UUID
) -> NotificationProfile:
    profile = await session.scalar(sa.select(NotificationProfile).where(
        NotificationProfile.id == profile_id, NotificationProfile.account_id == account_id))
    if profile is None:
        raise NotFound(f"notification profile {profile_id} does not exist")
    return profile


async def list_profiles(
    session: AsyncSession, *, account_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[NotificationProfile], str | None]:
    query = (sa.select(NotificationProfile).where(NotificationProfile.account_id == account_id)
             .order_by(NotificationProfile.created_at, NotificationProfile.id).limit(limit + 1))
    after = decode_cursor(cursor, MOMENT_AND_ID)
    if after is not None:
        moment, last_id = after
        query = query.where(sa.tuple_(NotificationProfile.created_at, NotificationProfile.id)
                            > (moment, last_id))
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([last.created_at.isoformat(), str(last.id)])


async def update_profile(
    session: AsyncSession, *, account_id: uuid.UUID, profile_id: uuid.UUID,
    body: ProfileUpdate, now: datetime,
) -> NotificationProfile:
    profile = await get_profile(session, account_id=account_id, profile_id=profile_id)
    # The schema refuses null, so every value sent is one to store.
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(profile, name, value)
    profile.updated_at = now
    await session.flush()
    return profile


async def delete_profile(
    session: AsyncSession, *, account_id: uuid.UUID, profile_id: uuid.UUID
) -> None:
    profile = await get_profile(session, account_id=account_id, profile_id=profile_id)
    in_use = await session.scalar(sa.select(sa.func.count()).select_from(Endpoint)
                                  .where(Endpoint.profile_id == profile.id))
    if in_use:
        raise Conflict(f"notification profile {profile_id} still groups {in_use} endpoint(s): "
                       "move or delete them first")
    await session.delete(profile)
    await session.flush()


async def signing_key(session: AsyncSession, *, now: datetime) -> bytes:
    """The installation's ed25519 private key, created by the first process that asks."""
    key = await session.scalar(sa.select(SigningKey.private_key)
                               .where(SigningKey.name == SIGNING_KEY_NAME))
    if key is None:
        fresh = base64.b64encode(signing.generate_ed25519_private_key()).decode()
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two processes may race here: the loser's row is dropped and it reads the winner's.
        await session.execute(insert(SigningKey).values(
            name=SIGNING_KEY_NAME, private_key=fresh, created_at=now).on_conflict_do_nothing())
        key = await session.scalar(sa.select(SigningKey.private_key)
                                   .where(SigningKey.name == SIGNING_KEY_NAME))
    assert key is not None
    return base64.b64decode(key)
