"""The operator's API route that hands out one-time portal sign-in links."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from porthook.config import Settings
from porthook.deps import ClockDep, OperatorDep, SessionDep, SettingsDep
from porthook.problems import responses
from porthook.ui import service

router = APIRouter(prefix="/v1", tags=["accounts (operator)"], responses=responses(401, 403))


class PortalLinkPublic(BaseModel):
    url: str
    expires_at: datetime


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/ui/link/{token}"


@router.post("/accounts/{account_id}/portal-links", status_code=201,
             response_model=PortalLinkPublic, responses=responses(404))
async def create_portal_link(
    account_id: uuid.UUID, session: SessionDep, clock: ClockDep, settings: SettingsDep,
    _: OperatorDep,
) -> PortalLinkPublic:
    """A URL that signs its first visitor in to the account's portal; valid for
    ``PORTHOOK_PORTAL_LINK_TTL_S`` seconds and usable once."""
    link, token = await service.create_portal_link(
        session, account_id=account_id, ttl_s=settings.portal_link_ttl_s, now=clock.now())
    await session.commit()
    return PortalLinkPublic(url=link_url(settings, token), expires_at=link.expires_at)
