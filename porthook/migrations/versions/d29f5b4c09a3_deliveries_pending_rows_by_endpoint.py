"""deliveries: pending rows by endpoint

Revision ID: d29f5b4c09a3
Revises: 60ceb33f27a2
Create Date: 2026-11-24 20:34:12.826412
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd29f5b4c09a3'
down_revision: str | None = '60ceb33f27a2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # A deliveries table in production may hold millions of rows: on
    # PostgreSQL the index is built CONCURRENTLY (outside a transaction), so
    # workers and the API keep writing while it builds.
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index("ix_deliveries_endpoint_due", "deliveries",
                            ["endpoint_id", "next_attempt_at"], postgresql_where=PENDING,
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index("ix_deliveries_endpoint_due", "deliveries",
                        ["endpoint_id", "next_attempt_at"], sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_deliveries_endpoint_due", table_name="deliveries")
