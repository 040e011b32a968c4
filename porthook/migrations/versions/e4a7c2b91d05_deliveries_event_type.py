"""deliveries: the event's type and position on the row, and the indexes of the operations queries

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


OPEN = sa.text("status IN ('pending', 'dead', 'held')")
RETRYING = sa.text("status = 'pending' AND last_error IS NOT NULL")
# name, columns, partial predicate
INDEXES: list[tuple[str, list[str], sa.TextClause | None]] = [
    ("ix_deliveries_account_type", ["account_id", "event_type", "created_at", "id"], None),
    ("ix_deliveries_open_events", ["account_id", "event_position", "status"], OPEN),
    ("ix_deliveries_retrying_events", ["account_id", "event_position"], RETRYING),
]
STATISTICS = ("CREATE STATISTICS IF NOT EXISTS st_deliveries_status_last_error (mcv) "
              "ON status, last_error FROM deliveries")
# Replaced by ix_deliveries_open_events (events by a delivery state, in order).
REPLACED = ("ix_deliveries_event_open", ["event_id", "status"], OPEN)


def upgrade() -> None:
    # Nullable, no default: adding them rewrites nothing on either backend.
    op.add_column("deliveries", sa.Column("event_type", sa.String(length=100), nullable=True))
    op.add_column("deliveries", sa.Column("event_position", sa.BigInteger(), nullable=True))
    # Every existing row gets its event's type and position, in the same
    # transaction as the new columns: on PostgreSQL the ALTER's lock makes a
    # fan-out of the old code wait until the backfill commits, so no row is
    # left without them.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE deliveries SET event_type = events.type, "
                   "event_position = events.position FROM events "
                   "WHERE events.id = deliveries.event_id")
        # Big tables: built CONCURRENTLY (outside a transaction), so workers
        # and the API keep writing while they build.
        with op.get_context().autocommit_block():
            for name, columns, where in INDEXES:
                op.create_index(name, "deliveries", columns, postgresql_where=where,
                                postgresql_concurrently=True, if_not_exists=True)
            op.drop_index(REPLACED[0], table_name="deliveries", postgresql_concurrently=True,
                          if_exists=True)
        # What the planner needs to estimate the retrying rows (models.py).
        op.execute(STATISTICS)
        op.execute("ANALYZE deliveries")
    else:
        op.execute("UPDATE deliveries SET "
                   "event_type = (SELECT type FROM events WHERE events.id = deliveries.event_id), "
                   "event_position = (SELECT position FROM events "
                   "WHERE events.id = deliveries.event_id)")
        for name, columns, where in INDEXES:
            op.create_index(name, "deliveries", columns, sqlite_where=where)
        op.drop_index(REPLACED[0], table_name="deliveries")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_deliveries_status_last_error")
    name, columns, where = REPLACED
    op.create_index(name, "deliveries", columns, postgresql_where=where, sqlite_where=where)
    for name, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("event_position")
        batch_op.drop_column("event_type")
