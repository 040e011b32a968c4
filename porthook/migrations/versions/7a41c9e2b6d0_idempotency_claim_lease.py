"""idempotent_requests: the running request's attempt and its lease

Revision ID: 7a41c9e2b6d0
Revises: d29f5b4c09a3
Create Date: 2026-11-26 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import porthook.db

revision: str = '7a41c9e2b6d0'
down_revision: str | None = 'd29f5b4c09a3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns only: no table rewrite. Claims left "in progress" by
    # an older version have no lease and count as leased from their creation
    # (idempotency.rules.lease_live), so they lapse at once after upgrading.
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', porthook.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('attempt')
