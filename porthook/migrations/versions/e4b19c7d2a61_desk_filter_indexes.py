"""indexes of the desk's customer-reference and FOC-range filters

Revision ID: e4b19c7d2a61
Revises: e4a7c2b91d05
Create Date: 2026-11-26 04:40:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = 'e4b19c7d2a61'
down_revision: str | None = 'e4a7c2b91d05'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Indexes only: no row is rewritten on either backend.
    op.create_index('ix_porting_orders_customer_reference', 'porting_orders',
                    ['customer_reference'])
    op.create_index('ix_porting_orders_foc_date', 'porting_orders', ['foc_date'])


def downgrade() -> None:
    op.drop_index('ix_porting_orders_foc_date', table_name='porting_orders')
    op.drop_index('ix_porting_orders_customer_reference', table_name='porting_orders')
