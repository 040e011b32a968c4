"""endpoints: the porting webhook URLs' endpoints made ahead

Porting now makes the endpoints of the default webhook URL and of each order's
``webhook_url`` when it writes them; the fan-out only reads them. Before, the
fan-out made them on first use: existing defaults and orders get theirs here,
so the next event of an order written before this revision still reaches its
URLs. No schema change.

Revision ID: 7e3a91c5d2b8
Revises: b7e41c0a9d52
Create Date: 2026-11-26 01:30:00.000000
"""

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import porthook.db

revision: str = '7e3a91c5d2b8'
down_revision: str | None = 'b7e41c0a9d52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of what porthook.delivery.managed writes: a migration must
# keep doing what it did when the code moves on.
ORDER_FORMAT = "telnyx"
SECRET_BYTES = 32

endpoints = sa.table(
    "endpoints",
    sa.column("id", sa.Uuid()), sa.column("account_id", sa.Uuid()),
    sa.column("origin", sa.String()), sa.column("channel", sa.String()),
    sa.column("url", sa.String()), sa.column("format", sa.String()),
    sa.column("description", sa.String()), sa.column("event_types", sa.JSON()),
    sa.column("secret", sa.String()), sa.column("enabled", sa.Boolean()),
    sa.column("failing_notified", sa.Boolean()), sa.column("strict_ordering", sa.Boolean()),
    sa.column("created_at", porthook.db.UTCDateTime(timezone=True)),
    sa.column("updated_at", porthook.db.UTCDateTime(timezone=True)),
)
defaults = sa.table("porting_defaults", sa.column("account_id", sa.Uuid()),
                    sa.column("webhook_url", sa.String()), sa.column("webhook_format", sa.String()))
orders = sa.table("porting_orders", sa.column("account_id", sa.Uuid()),
                  sa.column("webhook_url", sa.String()))


def _endpoint(account_id: uuid.UUID, origin: str, url: str, format: str, description: str,
              now: datetime) -> dict[str, object]:
    return {
        "id": uuid.uuid4(), "account_id": account_id, "origin": origin, "channel": "webhook",
        "url": url, "format": format, "description": description,
        "event_types": ["porting_order.*"],
        "secret": "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode(),
        "enabled": True, "failing_notified": False, "strict_ordering": False,
        "created_at": now, "updated_at": now,
    }


def upgrade() -> None:
    connection = op.get_bind()
    now = datetime.now(UTC)
    have = {(row.account_id, row.origin, row.url) for row in connection.execute(
        sa.select(endpoints.c.account_id, endpoints.c.origin, endpoints.c.url)
        .where(endpoints.c.origin.in_(["porting_defaults", "porting_order"])))}
    with_defaults = {account for account, origin, _ in have if origin == "porting_defaults"}
    default_format: dict[uuid.UUID, str] = {}
    rows = []
    for account_id, url, format in connection.execute(
            sa.select(defaults.c.account_id, defaults.c.webhook_url, defaults.c.webhook_format)
            .where(defaults.c.webhook_url.is_not(None), defaults.c.webhook_url != "")):
        default_format[account_id] = format
        if account_id not in with_defaults:
            rows.append(_endpoint(account_id, "porting_defaults", url, format,
                                  "default webhook URL of the porting defaults", now))
    for account_id, url in connection.execute(
            sa.select(orders.c.account_id, orders.c.webhook_url).distinct()
            .where(orders.c.webhook_url.is_not(None), orders.c.webhook_url != "")):
        if (account_id, "porting_order", url) not in have:
            rows.append(_endpoint(account_id, "porting_order", url,
                                  default_format.get(account_id, ORDER_FORMAT),
                                  "webhook_url of a porting order", now))
    if rows:
        op.bulk_insert(endpoints, rows)


def downgrade() -> None:
    # The endpoints stay: they may have deliveries, secrets and settings by now.
    pass
