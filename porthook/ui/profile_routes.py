"""The portal's notification profiles (seed 001): named sets of event types
that endpoints join, paused all at once by disabling the profile. On
delivery's own profile services, scoped to the signed-in account."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import service as endpoints
from porthook.delivery.models import Endpoint
from porthook.delivery.schemas import ProfileCreate, ProfileUpdate
from porthook.deps import ClockDep, SessionDep
from porthook.pagination import DEFAULT_LIMIT
from porthook.ui import forms
from porthook.ui.deps import CheckedFormDep, PortalAccountDep
from porthook.ui.endpoint_routes import event_choices
from porthook.ui.pages import form_action, render

router = APIRouter(prefix="/portal/profiles")

LIST = "/ui/portal/profiles"
NOTICES = {"created": "Profile created.", "saved": "Changes saved.",
           "deleted": "Profile deleted."}


async def members(session: AsyncSession, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many endpoints each profile groups (one query for the page)."""
    if not profile_ids:
        return {}
    rows = await session.execute(
        sa.select(Endpoint.profile_id, sa.func.count()).where(Endpoint.profile_id.in_(
            profile_ids)).group_by(Endpoint.profile_id))
    return {row[0]: row[1] for row in rows if row[0] is not None}


def _values(form: Any) -> dict[str, Any]:
    return {"name": forms.text(form, "name"),
            "event_types": forms.many(form, "event_types") or ["porting_order.*"],
            "enabled": forms.checked(form, "enabled")}


async def _list_page(request: Request, session: SessionDep, account_id: uuid.UUID, *,
                     status_code: int = 200, **context: Any) -> Response:
    rows, next_cursor = await endpoints.list_profiles(
        session, account_id=account_id, cursor=request.query_params.get("cursor"),
        limit=DEFAULT_LIMIT)
    context.setdefault("notice", NOTICES.get(request.query_params.get("done", "")))
    return render(request, "portal/profiles.html", status_code=status_code,
                  title="Notification profiles", rows=rows, next_cursor=next_cursor,
                  members=await members(session, [p.id for p in rows]),
                  event_choices=event_choices(),
                  values=context.pop("values", {"event_types": ["porting_order.*"],
                                                "enabled": True}), **context)


@router.get("")
async def read_profiles(
    request: Request, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _list_page(request, session, account_id)


@router.post("")
async def create_profile(
    request: Request, form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    account_id: PortalAccountDep,
) -> Response:
    values = _values(form)

    async def work() -> object:
        body = forms.validated(ProfileCreate, {k: v for k, v in values.items() if v is not None})
        return await endpoints.create_profile(session, account_id=account_id, body=body,
                                              now=clock.now())
    return await form_action(session, work, done=f"{LIST}?done=created", again=functools.partial(
        _list_page, request, session, account_id, values=values))


async def _profile_page(request: Request, session: SessionDep, account_id: uuid.UUID,
                        profile_id: uuid.UUID, *, status_code: int = 200,
                        **context: Any) -> Response:
    profile = await endpoints.get_profile(session, account_id=account_id, profile_id=profile_id)
    grouped = (await members(session, [profile.id])).get(profile.id, 0)
    return render(request, "portal/profile.html", status_code=status_code,
                  title=f"Notification profile {profile.name}", profile=profile,
                  grouped=grouped, event_choices=event_choices(),
                  notice=NOTICES.get(request.query_params.get("done", "")), **context)


@router.get("/{profile_id}")
async def read_profile(
    request: Request, profile_id: uuid.UUID, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _profile_page(request, session, account_id, profile_id)


@router.post("/{profile_id}/edit")
async def update_profile(
    request: Request, profile_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, account_id: PortalAccountDep,
) -> Response:
    async def work() -> object:
        body = forms.validated(ProfileUpdate, {k: v for k, v in _values(form).items()
                                               if v is not None})
        return await endpoints.update_profile(session, account_id=account_id,
                                              profile_id=profile_id, body=body, now=clock.now())
    return await form_action(session, work, done=f"{LIST}/{profile_id}?done=saved",
                             again=functools.partial(_profile_page, request, session,
                                                     account_id, profile_id))


@router.post("/{profile_id}/delete")
async def delete_profile(
    request: Request, profile_id: uuid.UUID, _form: CheckedFormDep, session: SessionDep,
    account_id: PortalAccountDep,
) -> Response:
    async def work() -> None:
        await endpoints.delete_profile(session, account_id=account_id, profile_id=profile_id)
    return await form_action(session, work, done=f"{LIST}?done=deleted",
                             again=functools.partial(_profile_page, request, session,
                                                     account_id, profile_id))
