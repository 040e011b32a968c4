from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from porthook.db import Base, BigIntPK, new_id


class Event(Base):
    """One change, written in the transaction of the change (the outbox)."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("subject_type", "subject_id", "sequence"),
        sa.Index("ix_events_account_position", "account_id", "position"),
        sa.Index("ix_events_occurred_at", "occurred_at"),
        # Searches by an order (subject_id) without its subject_type.
        sa.Index("ix_events_subject_id", "subject_id"),
        # Searches by type, in order, where the type is rare.
        sa.Index("ix_events_account_type", "account_id", "type", "position"),
    )

    # Insertion order, for cursors; ``id`` is the stable public identity.
    position: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(sa.String(100))
    subject_type: Mapped[str] = mapped_column(sa.String(64))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    sequence: Mapped[int] = mapped_column(sa.BigInteger)
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class SubjectSequence(Base):
    """The last sequence number given to a subject's events.

    The upsert on this row serialises concurrent writers of one subject, so two
    transactions can never hand out the same number.
    """

    __tablename__ = "subject_sequences"

    subject_type: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(sa.BigInteger)
