"""a delivery's attempts go with it by trigger, not by foreign key

Revision ID: 3c5e8f1a9b27
Revises: 9d4c6b1e2f70
Create Date: 2026-11-26 10:00:00.000000

The foreign key from ``delivery_attempts`` to ``deliveries`` checked each
attempt written by locking its delivery's row (``SELECT ... FOR KEY SHARE``,
a WAL record per row): about 10 us of PostgreSQL CPU per delivery
(bench/pg_rows.py). What it did on delete, a trigger does: PostgreSQL once
per statement over the deleted rows, SQLite per row, whatever deletes them
(retention, the cascades from events, endpoints and accounts, a listener's
clean-up).
"""

from collections.abc import Sequence

from alembic import op


revision: str = '3c5e8f1a9b27'
down_revision: str | None = '9d4c6b1e2f70'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = 'fk_delivery_attempts_delivery_id_deliveries'
# As models.ATTEMPTS_GO_WITH_DELIVERIES.
TRIGGER = {
    'postgresql': (
        "CREATE OR REPLACE FUNCTION deliveries_drop_attempts() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM delivery_attempts a USING deleted_deliveries d "
        "WHERE a.delivery_id = d.id; RETURN NULL; END $$",
        "CREATE OR REPLACE TRIGGER tr_deliveries_drop_attempts AFTER DELETE ON deliveries "
        "REFERENCING OLD TABLE AS deleted_deliveries FOR EACH STATEMENT "
        "EXECUTE FUNCTION deliveries_drop_attempts()",
    ),
    'sqlite': (
        "CREATE TRIGGER IF NOT EXISTS tr_deliveries_drop_attempts AFTER DELETE ON deliveries "
        "BEGIN DELETE FROM delivery_attempts WHERE delivery_id = OLD.id; END",
    ),
}
DROP_TRIGGER = {
    'postgresql': ("DROP TRIGGER IF EXISTS tr_deliveries_drop_attempts ON deliveries",
                   "DROP FUNCTION IF EXISTS deliveries_drop_attempts()"),
    'sqlite': ("DROP TRIGGER IF EXISTS tr_deliveries_drop_attempts",),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # SQLite rebuilds the table (its constraints cannot be dropped in place).
    with op.batch_alter_table('delivery_attempts') as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
    for statement in TRIGGER.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in DROP_TRIGGER.get(dialect, ()):
        op.execute(statement)
    # Attempts whose delivery went while no key held them (a lease lost,
    # then the row deleted) would fail the key: they were never read.
    op.execute("DELETE FROM delivery_attempts WHERE delivery_id NOT IN "
               "(SELECT id FROM deliveries)")
    with op.batch_alter_table('delivery_attempts') as batch_op:
        batch_op.create_foreign_key(FK, 'deliveries', ['delivery_id'], ['id'],
                                    ondelete='CASCADE')
