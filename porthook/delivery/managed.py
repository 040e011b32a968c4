"""Endpoints that porting makes for its webhook URLs, kept in step when it writes.

Two kinds, both visible in ``GET /v1/endpoints`` and configurable like any
other (secret, filter, enable/disable, recover):

* origin ``porting_defaults``: the account's default webhook URL (seed 000's
  porting defaults). ``sync_defaults_endpoint`` is called whenever the defaults
  are written; with no URL any more the endpoint keeps its secret and settings
  for a URL set later, gets no new deliveries, and what still waited for it is
  marked dead (recoverable once a URL is set again).
* origin ``porting_order``: an order's own ``webhook_url`` (seed 001), one
  endpoint per URL. ``ensure_order_endpoint`` is called each time an order
  naming a URL is written. Its format is the default webhook's format when the
  account has one, else ``telnyx`` (seed 001 is the seed with per-order URLs).

Porting calls these; the fan-out only reads the rows (``fanout``), so nothing
in delivery reaches back into porting.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.delivery import models, signing
from porthook.delivery.models import Delivery, Endpoint

ORDER_ENDPOINT_FORMAT = "telnyx"  # seed 001 is the seed with per-order webhook URLs
DEFAULTS_DESCRIPTION = "default webhook URL of the porting defaults"
ORDER_DESCRIPTION = "webhook_url of a porting order"
NO_DEFAULT_URL = "the porting defaults no longer name a webhook URL"


async def defaults_endpoint(session: AsyncSession, account_id: uuid.UUID) -> Endpoint | None:
    return await session.scalar(sa.select(Endpoint).where(
        Endpoint.account_id == account_id, Endpoint.origin == models.ORIGIN_DEFAULTS,
    ).order_by(Endpoint.created_at).limit(1))


async def sync_defaults_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, url: str | None, format: str,
    now: datetime,
) -> Endpoint | None:
    """Make the defaults' endpoint match ``url`` and ``format``; None when there
    is neither a URL nor an endpoint left from an earlier one."""
    found = await defaults_endpoint(session, account_id)
    if found is None:
        if not url:
            return None
        found = _managed(account_id, models.ORIGIN_DEFAULTS, url, format, DEFAULTS_DESCRIPTION,
                         now)
        session.add(found)
    elif (found.url, found.format) != (url, format):
        if found.url and not url:
            await _bury_waiting(session, found.id, now)
        found.url, found.format, found.updated_at = url, format, now
    await session.flush()
    return found


async def _bury_waiting(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> None:
    # Without a URL they cannot go anywhere; dead (not dropped) so that
    # ``recover`` sends them once the account names a URL again.
    await session.execute(
        sa.update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status == models.PENDING)
        .values(status=models.DEAD, last_error=NO_DEFAULT_URL, lease_token=None, updated_at=now)
    )


async def ensure_order_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, url: str, now: datetime
) -> Endpoint:
    """The endpoint of an order's ``webhook_url``, made on first use."""
    found = await session.scalar(sa.select(Endpoint).where(
        Endpoint.account_id == account_id, Endpoint.origin == models.ORIGIN_ORDER,
        Endpoint.url == url,
    ).limit(1))
    if found is not None:
        return found
    defaults = await defaults_endpoint(session, account_id)
    format = defaults.format if defaults is not None and defaults.url else ORDER_ENDPOINT_FORMAT
    endpoint = _managed(account_id, models.ORIGIN_ORDER, url, format, ORDER_DESCRIPTION, now)
    session.add(endpoint)
    await session.flush()
    return endpoint


def _managed(
    account_id: uuid.UUID, origin: str, url: str, format: str, description: str, now: datetime
) -> Endpoint:
    return Endpoint(
        id=db.new_id(), account_id=account_id, origin=origin, channel="webhook", url=url,
        format=format, description=description, event_types=["porting_order.*"],
        secret=signing.generate_secret(), enabled=True, failing_notified=False,
        strict_ordering=False, created_at=now, updated_at=now,
    )
