"""Tables of the dashboard: sign-in sessions and one-time portal links.

Only SHA-256 digests of their tokens are stored (tokens are 256-bit random,
so no KDF is needed), as for API keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from porthook.db import Base, new_id


class UiSession(Base):
    """A signed-in browser. Checked on every request: a revoked key, a deleted
    account or an expiry ends it."""

    __tablename__ = "ui_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The key signed in with; NULL for a session opened by a portal link.
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    # NULL: an operator (desk) session.
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class PortalLink(Base):
    """A one-time sign-in link to an account's portal (for resellers)."""

    __tablename__ = "portal_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
