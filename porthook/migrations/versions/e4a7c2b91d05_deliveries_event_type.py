"""deliveries: the event's type on the row, and the indexes of the slow operations queries

Revision ID: e4a7c2b91d05
Revises: 5c2e8a1f7b34
Create Date: 2026-11-26 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e4a7c2b91d05'
down_revision: str | None = '5c2e8a1f7b34'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RETRYING = sa.text("status = 'pending' AND last_error IS NOT NULL")
# name, columns, partial predicate
INDEXES: list[tuple[str, list[str], sa.TextClause | None]] = [
    ("ix_deliveries_account_type", ["account_id", "event_type", "created_at", "id"], None),
    ("ix_deliveries_event_retrying", ["event_id"], RETRYING),
]


def upgrade() -> None:
    # Nullable, no default: adding it rewrites nothing on either backend.
    op.add_column("deliveries", sa.Column("event_type", sa.String(length=100), nullable=True))
    # Every existing row gets its event's type, in the same transaction as the
    # new column: on PostgreSQL the ALTER's lock makes a fan-out of the old
    # code wait until the backfill commits, so no row is left without a type.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE deliveries SET event_type = events.type FROM events "
                   "WHERE events.id = deliveries.event_id")
        # Big tables: built CONCURRENTLY (outside a transaction), so workers
        # and the API keep writing while they build.
        with op.get_context().autocommit_block():
            for name, columns, where in INDEXES:
                op.create_index(name, "deliveries", columns, postgresql_where=where,
                                postgresql_concurrently=True, if_not_exists=True)
    else:
        op.execute("UPDATE deliveries SET event_type = (SELECT type FROM events "
                   "WHERE events.id = deliveries.event_id)")
        for name, columns, where in INDEXES:
            op.create_index(name, "deliveries", columns, sqlite_where=where)


def downgrade() -> None:
    for name, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("event_type")
