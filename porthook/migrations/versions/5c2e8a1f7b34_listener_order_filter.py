"""a listener's order filter (porthook listen --order)

Revision ID: 5c2e8a1f7b34
Revises: 0d147fb3ef2a
Create Date: 2026-11-26 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5c2e8a1f7b34'
down_revision: str | None = '0d147fb3ef2a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites nothing on either backend.
    op.add_column('endpoints', sa.Column('subject_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('endpoints') as batch_op:
        batch_op.drop_column('subject_id')
