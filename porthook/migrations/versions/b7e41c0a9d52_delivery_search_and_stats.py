"""deliveries: search and endpoint stats (last attempt on the row, attempts by endpoint)

Revision ID: b7e41c0a9d52
Revises: b7e41c2d9f10
Create Date: 2026-11-26 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b7e41c0a9d52'
down_revision: str | None = 'b7e41c2d9f10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN = sa.text("status IN ('pending', 'dead', 'held')")
RETRYING = sa.text("status = 'pending' AND last_error IS NOT NULL")
# name, table, columns, options
INDEXES: list[tuple[str, str, list[str], dict[str, object]]] = [
    ("ix_deliveries_account_created", "deliveries", ["account_id", "created_at", "id"], {}),
    ("ix_deliveries_endpoint_created", "deliveries", ["endpoint_id", "created_at", "id"], {}),
    ("ix_deliveries_account_retrying", "deliveries", ["account_id", "created_at", "id"],
     {"where": RETRYING}),
    ("ix_deliveries_event_open", "deliveries", ["event_id", "status"], {"where": OPEN}),
    ("ix_deliveries_account_open", "deliveries", ["account_id", "status", "created_at", "id"],
     {"where": OPEN}),
    ("ix_delivery_attempts_endpoint_time", "delivery_attempts", ["endpoint_id", "attempted_at"],
     {"include": ["status_code", "duration_ms"]}),
    ("ix_events_subject_id", "events", ["subject_id"], {}),
    ("ix_events_account_type", "events", ["account_id", "type", "position"], {}),
]


STUCK = sa.text("status IN ('dead', 'held')")


def _rebuild_stuck(columns: list[str], *, postgres: bool) -> None:
    """ix_deliveries_endpoint_stuck with other columns (the status joins its key)."""
    name = "ix_deliveries_endpoint_stuck"
    if postgres:
        with op.get_context().autocommit_block():
            op.drop_index(name, table_name="deliveries", postgresql_concurrently=True)
            op.create_index(name, "deliveries", columns, postgresql_where=STUCK,
                            postgresql_concurrently=True)
    else:
        op.drop_index(name, table_name="deliveries")
        op.create_index(name, "deliveries", columns, sqlite_where=STUCK)


def upgrade() -> None:
    # Nullable columns with no default: on PostgreSQL adding them rewrites nothing.
    op.add_column("deliveries", sa.Column("last_attempt_at", sa.DateTime(timezone=True),
                                          nullable=True))
    op.add_column("deliveries", sa.Column("last_response_excerpt", sa.String(length=1024),
                                          nullable=True))
    op.add_column("delivery_attempts", sa.Column("endpoint_id", sa.Uuid(), nullable=True))
    # Attempts recorded before: their endpoint is their delivery's (stats read it).
    op.execute("UPDATE delivery_attempts SET endpoint_id = (SELECT endpoint_id FROM deliveries "
               "WHERE deliveries.id = delivery_attempts.delivery_id)")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Big tables: built CONCURRENTLY (outside a transaction), so workers
        # and the API keep writing while they build.
        with op.get_context().autocommit_block():
            for name, table, columns, options in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True,
                                if_not_exists=True, postgresql_where=options.get("where"),
                                postgresql_include=options.get("include", []))
    else:
        for name, table, columns, options in INDEXES:
            op.create_index(name, table, columns, sqlite_where=options.get("where"))
    _rebuild_stuck(["endpoint_id", "status", "created_at"], postgres=postgres)


def downgrade() -> None:
    _rebuild_stuck(["endpoint_id", "created_at"],
                   postgres=op.get_bind().dialect.name == "postgresql")
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("delivery_attempts") as batch_op:
        batch_op.drop_column("endpoint_id")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("last_response_excerpt")
        batch_op.drop_column("last_attempt_at")
