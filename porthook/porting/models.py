"""Tables of the porting domain: orders, their numbers, comments, documents, and
each account's porting defaults."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from porthook.db import Base, BigIntPK, new_id


class PortingOrder(Base):
    """A port-in order. Deleted drafts are kept (status ``deleted``), hidden from the API."""

    __tablename__ = "porting_orders"
    __table_args__ = (
        sa.Index("ix_porting_orders_account_number", "account_id", "order_number"),
        sa.Index("ix_porting_orders_status_due", "status", "activation_due_at"),
        sa.Index("ix_porting_orders_status_updated", "status", "updated_at"),
        # The desk's queue: each status's orders, oldest in their status first.
        sa.Index("ix_porting_orders_status_since", "status", "status_changed_at"),
        # ... and its "FOC within 48 h" view.
        sa.Index("ix_porting_orders_status_foc", "status", "foc_date"),
        # The desk's filters across every status: a customer reference, and a
        # FOC date range (bench/ui.py showed both reading the whole table).
        sa.Index("ix_porting_orders_customer_reference", "customer_reference"),
        sa.Index("ix_porting_orders_foc_date", "foc_date"),
    )

    # Seed 000's numeric order id. An auto-incremented key (as events.position)
    # is unique and safe with any number of concurrent writers on both engines.
    order_number: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE")
    )
    support_key: Mapped[str] = mapped_column(sa.String(16), unique=True)
    customer_reference: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(32))
    status_details: Mapped[list[Any]]
    desired_port_date: Mapped[date | None]
    desired_port_time: Mapped[time | None]
    desired_port_time_zone: Mapped[str | None] = mapped_column(sa.String(32))
    on_demand_activation: Mapped[bool] = mapped_column(default=False)
    # end_user and the non-secret part of port_out, keyed as in the public API.
    end_user: Mapped[dict[str, Any]]
    port_out: Mapped[dict[str, Any]]
    # Write-only secrets: never in a response, a snapshot or an event.
    port_out_pin: Mapped[str | None] = mapped_column(sa.String(64))
    wireless_pin: Mapped[str | None] = mapped_column(sa.String(64))
    enable_messaging: Mapped[bool] = mapped_column(default=False)
    messaging_capable: Mapped[bool] = mapped_column(default=True)
    messaging_port_status: Mapped[str] = mapped_column(sa.String(32))
    webhook_url: Mapped[str | None] = mapped_column(sa.String(2048))
    reseller_name: Mapped[str | None] = mapped_column(sa.String(200))
    foc_date: Mapped[datetime | None]
    parent_order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("porting_orders.id", ondelete="SET NULL")
    )
    # When the worker activates a scheduled order; fixed when the FOC date is
    # confirmed (edits are impossible from then on), NULL for on-demand orders.
    activation_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When the order entered its current status (the desk's "age in status").
    status_changed_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    numbers: Mapped[list[PortingNumber]] = relationship(
        back_populates="order", cascade="all, delete-orphan", lazy="selectin",
        order_by="PortingNumber.position",
    )
    comments: Mapped[list[PortingComment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PortingComment.inserted_at"
    )
    documents: Mapped[list[PortingDocument]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PortingDocument.created_at"
    )


class PortingNumber(Base):
    __tablename__ = "porting_numbers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("porting_orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    phone_number: Mapped[str] = mapped_column(sa.String(16), index=True)
    country_code: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(16))
    # The number while its order is open (NULL otherwise). Unique: a number sits
    # on one open order at a time, even against concurrent writers; NULLs never
    # collide, on SQLite as on PostgreSQL.
    held_number: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    exclusion_reason: Mapped[str | None] = mapped_column(sa.String(500))
    exclusion_time: Mapped[datetime | None]
    foc_date: Mapped[datetime | None]
    activate_time: Mapped[datetime | None]
    activate_user: Mapped[str | None] = mapped_column(sa.String(100))

    order: Mapped[PortingOrder] = relationship(back_populates="numbers")


class PortingComment(Base):
    __tablename__ = "porting_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("porting_orders.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(sa.Text)
    user_type: Mapped[str] = mapped_column(sa.String(8))  # "user" | "admin" (seed 001)
    user_id: Mapped[str | None] = mapped_column(sa.String(64))
    # A desk-only note: never in the API's customer view, a snapshot, an event
    # (so never in a webhook or an e-mail).
    internal: Mapped[bool] = mapped_column(default=False)
    inserted_at: Mapped[datetime]


class PortingDocument(Base):
    __tablename__ = "porting_documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("porting_orders.id", ondelete="CASCADE"), index=True
    )
    document_type: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Deferred: listing an order's documents must not load every file.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime]


class PortingDefaults(Base):
    """Seed 000's "porting defaults": one row per account."""

    __tablename__ = "porting_defaults"

    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    default_port_time: Mapped[time | None]
    default_port_time_zone: Mapped[str | None] = mapped_column(sa.String(32))
    contact_email: Mapped[str | None] = mapped_column(sa.String(320))
    webhook_url: Mapped[str | None] = mapped_column(sa.String(2048))
    webhook_format: Mapped[str] = mapped_column(sa.String(16), default="standard")
    updated_at: Mapped[datetime]
