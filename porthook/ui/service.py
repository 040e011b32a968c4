"""Dashboard sign-in: sessions and one-time portal links. Given a session;
never commits."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.accounts import keys
from porthook.accounts import service as accounts
from porthook.accounts.models import ApiKey
from porthook.ui import rules
from porthook.ui.models import PortalLink, UiSession

TOKEN_BYTES = 32  # 256 bits: session cookies, CSRF tokens and link tokens alike


@dataclass(frozen=True)
class Viewer:
    """Who is signed in to the dashboard."""

    session_id: uuid.UUID
    account_id: uuid.UUID | None
    csrf_token: str

    @property
    def is_operator(self) -> bool:
        return self.account_id is None


async def open_session(
    session: AsyncSession, *, key_id: uuid.UUID | None, account_id: uuid.UUID | None,
    now: datetime,
) -> tuple[UiSession, str]:
    """A new session; returns it and its cookie token (only its digest is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = UiSession(id=db.new_id(), token_hash=keys.digest(token), key_id=key_id,
                    account_id=account_id, csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
                    created_at=now, last_seen_at=now)
    session.add(row)
    await session.flush()
    return row, token


async def sign_in(
    session: AsyncSession, *, api_key: str, now: datetime
) -> tuple[UiSession, str] | None:
    """A session for a valid, unrevoked key (account or operator), else None."""
    principal = await accounts.authenticate(session, api_key.strip())
    if principal is None:
        return None
    return await open_session(session, key_id=principal.key_id,
                              account_id=principal.account_id, now=now)


async def current_viewer(
    session: AsyncSession, *, token: str, now: datetime, idle_s: float, max_s: float
) -> Viewer | None:
    """The viewer of a session cookie, or None when the session is unknown,
    expired, or its key was revoked since (checked on every request)."""
    row = (await session.execute(
        sa.select(UiSession, ApiKey.revoked_at)
        .outerjoin(ApiKey, ApiKey.id == UiSession.key_id)
        .where(UiSession.token_hash == keys.digest(token))
    )).one_or_none()
    if row is None:
        return None
    ui_session, revoked_at = row
    if revoked_at is not None:
        await session.delete(ui_session)
        return None
    state = rules.session_state(created_at=ui_session.created_at,
                                last_seen_at=ui_session.last_seen_at, now=now,
                                idle_s=idle_s, max_s=max_s)
    if state != rules.SessionState.ACTIVE:
        await session.delete(ui_session)
        return None
    if rules.should_touch(last_seen_at=ui_session.last_seen_at, now=now):
        ui_session.last_seen_at = now
    return Viewer(session_id=ui_session.id, account_id=ui_session.account_id,
                  csrf_token=ui_session.csrf_token)


async def end_session(session: AsyncSession, *, session_id: uuid.UUID) -> None:
    await session.execute(sa.delete(UiSession).where(UiSession.id == session_id))


async def create_portal_link(
    session: AsyncSession, *, account_id: uuid.UUID, ttl_s: float, now: datetime
) -> tuple[PortalLink, str]:
    await accounts.get_account(session, account_id)  # 404 for an unknown account
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PortalLink(id=db.new_id(), token_hash=keys.digest(token), account_id=account_id,
                      created_at=now, expires_at=now + timedelta(seconds=ttl_s))
    session.add(link)
    await session.flush()
    return link, token


async def redeem_portal_link(
    session: AsyncSession, *, token: str, now: datetime
) -> tuple[UiSession, str] | None:
    """Use a link once: a session for its account, or None (unknown, expired, used)."""
    link = await session.scalar(
        sa.select(PortalLink).where(PortalLink.token_hash == keys.digest(token))
    )
    if link is None or not rules.link_usable(expires_at=link.expires_at, used_at=link.used_at,
                                             now=now):
        return None
    # Conditional update: of two concurrent uses of one link, one wins.
    used = await session.execute(
        sa.update(PortalLink).where(PortalLink.id == link.id, PortalLink.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        return None
    return await open_session(session, key_id=None, account_id=link.account_id, now=now)
