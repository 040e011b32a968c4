from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from porthook.db import Base, BigIntPK


class IdempotentRequest(Base):
    """The first answer to a write sent with an ``Idempotency-Key``."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(sa.String(64))  # hash of the caller's key
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16))  # "in_progress" | "done"
    response_status: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    response_content_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(index=True)
    # The running request's claim: whoever holds ``attempt`` may finish it,
    # while ``lease_expires_at`` (renewed as it runs) has not passed.
    attempt: Mapped[uuid.UUID | None]
    lease_expires_at: Mapped[datetime | None]
