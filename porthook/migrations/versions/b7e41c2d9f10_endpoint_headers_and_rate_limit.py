"""endpoints: custom headers and a rate limit

Revision ID: b7e41c2d9f10
Revises: 7a41c9e2b6d0
Create Date: 2026-11-26 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b7e41c2d9f10'
down_revision: str | None = '7a41c9e2b6d0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without a default: on both backends adding them
    # rewrites nothing, however many endpoints there are.
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("headers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rate_limit_per_s", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("rate_limit_per_s")
        batch.drop_column("headers")
