"""``porthook portal-link``: a one-time sign-in URL to a customer's portal."""

from __future__ import annotations

import uuid
from datetime import datetime

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import cli_support as support
from porthook.ui import api_routes
from porthook.ui import service as ui


def portal_link(account_id: uuid.UUID) -> None:
    """Print a one-time sign-in URL to the account's portal (valid for
    PORTHOOK_PORTAL_LINK_TTL_S seconds, usable once)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> str:
        _, token = await ui.create_portal_link(session, account_id=account_id,
                                               ttl_s=settings.portal_link_ttl_s, now=now)
        return api_routes.link_url(settings, token)

    typer.echo(support.run(settings, work))
