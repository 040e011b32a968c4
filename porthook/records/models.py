"""Tables of the records domain, generated from ``registry.SCHEMAS``.

One table ``records_<schema>`` per schema this domain stores (see the registry's
docstring for why real tables): the seed's fields as real columns, plus
``account_id`` (tenancy), ``created_at`` and ``updated_at``. They are Core
``Table`` objects on the shared metadata because their columns come from data;
the hand-written ``SmsEnablement`` is a typed model.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from porthook.db import Base, BigIntPK, JSONType, UTCDateTime
from porthook.records.registry import OWN_SCHEMAS, FieldSpec, Kind, SchemaSpec

_FIXED_TYPES: dict[Kind, sa.types.TypeEngine[Any]] = {
    Kind.LONG_TEXT: sa.Text(),
    Kind.INT: sa.Integer(),
    Kind.BOOL: sa.Boolean(),
    Kind.MONEY: sa.Numeric(14, 4),
    Kind.DATETIME: UTCDateTime(),
    Kind.DATE: sa.Date(),
    Kind.ENUM: sa.String(32),
    Kind.PHONE: sa.String(16),
    Kind.DID_NUMBER: sa.String(16),
    Kind.NANP10: sa.String(10),
    Kind.EMAIL: sa.String(320),
    Kind.IP: sa.String(45),
    Kind.STATE: sa.String(2),
    Kind.ZIP: sa.String(10),
    Kind.URL: sa.String(2048),
    Kind.HOSTNAME: sa.String(253),
    Kind.DIGITS: sa.String(16),
    Kind.JSON: JSONType,
    Kind.REF: sa.BigInteger(),
}


def table_name(schema: str) -> str:
    return f"records_{schema}"


def _column_type(spec: FieldSpec) -> sa.types.TypeEngine[Any]:
    if spec.kind is Kind.TEXT:
        return sa.String(spec.max_value or 255)
    return _FIXED_TYPES[spec.kind]


def _column(spec: FieldSpec) -> sa.Column[Any]:
    always_set = spec.required or spec.default is not None
    return sa.Column(spec.name, _column_type(spec), nullable=not always_set,
                     index=spec.kind is Kind.REF)


def _references(spec: SchemaSpec) -> list[sa.ForeignKeyConstraint]:
    # Composite keys: the referenced record must belong to the same account,
    # so tenancy holds in the database too, not only in the service.
    return [
        sa.ForeignKeyConstraint(
            ["account_id", f.name],
            [f"{table_name(f.ref)}.account_id", f"{table_name(f.ref)}.id"],
            name=f"fk_{table_name(spec.name)}_{f.name}",
        )
        for f in spec.refs
        if f.ref is not None
    ]


def _table(spec: SchemaSpec) -> sa.Table:
    name = table_name(spec.name)
    return sa.Table(
        name,
        Base.metadata,
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        *(_column(f) for f in spec.fields),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        # The target of the composite references above.
        sa.UniqueConstraint("account_id", "id"),
        *(sa.UniqueConstraint("account_id", u) for u in spec.unique),
        *_references(spec),
    )


TABLES: dict[str, sa.Table] = {name: _table(spec) for name, spec in OWN_SCHEMAS.items()}


class SmsEnablement(Base):
    """A request to enable SMS on a DID; the worker carries it out (seed 002's
    ``sms_enablement`` result arrives as an event)."""

    __tablename__ = "records_sms_enablements"
    __table_args__ = (sa.Index("ix_records_sms_enablements_pending", "status", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # A deleted DID takes its pending requests with it: there is nothing left to enable.
    did_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("records_dids.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16))  # "pending" | "completed"
    result: Mapped[str | None] = mapped_column(sa.String(16))  # "success" | "error"
    verbose: Mapped[str | None] = mapped_column(sa.String(200))
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
