"""dashboard sessions, portal links, internal comments, status age

Revision ID: 0d147fb3ef2a
Revises: 7e3a91c5d2b8
Create Date: 2026-11-26 01:07:18.294042
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))
from alembic import op

import porthook.db


revision: str = '0d147fb3ef2a'
down_revision: str | None = '7e3a91c5d2b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The desk queue's views: each status oldest in it first, and FOC within 48 h.
QUEUE_INDEXES = (
    ('ix_porting_orders_status_since', ['status', 'status_changed_at']),
    ('ix_porting_orders_status_foc', ['status', 'foc_date']),
)


def upgrade() -> None:
    op.create_table('portal_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', porthook.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', porthook.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', porthook.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_portal_links_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_links_token_hash'))
    )
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_links_account_id'), ['account_id'], unique=False)

    op.create_table('ui_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.Uuid(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', porthook.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', porthook.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_ui_sessions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_ui_sessions_key_id_api_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ui_sessions_token_hash'))
    )
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ui_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ui_sessions_key_id'), ['key_id'], unique=False)

    # Existing comments were all shown to the customer: not internal.
    with op.batch_alter_table('porting_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('porting_comments', schema=None) as batch_op:
        batch_op.alter_column('internal', server_default=None)

    # An existing order's age in its status is counted from its last change:
    # the best the table knows.
    with op.batch_alter_table('porting_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', porthook.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE porting_orders SET status_changed_at = updated_at")
    with op.batch_alter_table('porting_orders', schema=None) as batch_op:
        batch_op.alter_column('status_changed_at', existing_type=porthook.db.UTCDateTime(timezone=True), nullable=False)

    # porting_orders may be large: on PostgreSQL the indexes are built
    # CONCURRENTLY (outside a transaction) so the API keeps writing meanwhile.
    for name, columns in QUEUE_INDEXES:
        if op.get_bind().dialect.name == "postgresql":
            with op.get_context().autocommit_block():
                op.create_index(name, 'porting_orders', columns, postgresql_concurrently=True,
                                if_not_exists=True)
        else:
            op.create_index(name, 'porting_orders', columns)


def downgrade() -> None:
    with op.batch_alter_table('porting_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_porting_orders_status_since')
        batch_op.drop_index('ix_porting_orders_status_foc')
        batch_op.drop_column('status_changed_at')

    with op.batch_alter_table('porting_comments', schema=None) as batch_op:
        batch_op.drop_column('internal')

    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ui_sessions_key_id'))
        batch_op.drop_index(batch_op.f('ix_ui_sessions_account_id'))

    op.drop_table('ui_sessions')
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_links_account_id'))

    op.drop_table('portal_links')
