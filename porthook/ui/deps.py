"""Dependencies of the dashboard's pages: who is signed in, and the checked
form of a state-changing request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from porthook.deps import ClockDep, DatabaseDep, SettingsDep
from porthook.ui import rules
from porthook.ui.service import Viewer, current_viewer

COOKIE = "porthook_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageForbidden(Exception):
    """A CSRF failure or the wrong side (an account on the desk, or the reverse)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def get_viewer(
    request: Request, database: DatabaseDep, settings: SettingsDep, clock: ClockDep
) -> Viewer:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired
    # Own short session, committed here: expiry and revocation end the
    # session row, and last_seen_at moves, whatever the page does next.
    async with database.sessions() as session:
        viewer = await current_viewer(session, token=token, now=clock.now(),
                                      idle_s=settings.ui_session_idle_s,
                                      max_s=settings.ui_session_max_s)
        await session.commit()
    if viewer is None:
        raise SignInRequired
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


async def get_desk_viewer(viewer: ViewerDep) -> Viewer:
    if not viewer.is_operator:
        raise PageForbidden("The desk console is for the porting desk: sign in with an "
                            "operator key.")
    return viewer


async def get_portal_account(viewer: ViewerDep) -> uuid.UUID:
    if viewer.account_id is None:
        raise PageForbidden("The customer portal acts for one account: sign in with that "
                            "account's key.")
    return viewer.account_id


DeskViewerDep = Annotated[Viewer, Depends(get_desk_viewer)]
PortalAccountDep = Annotated[uuid.UUID, Depends(get_portal_account)]


async def get_checked_form(request: Request, viewer: ViewerDep) -> AsyncIterator[FormData]:
    """The request's form, once its CSRF token (field, or header for scripts)
    matches this session's; else 403 before anything changes."""
    form = await request.form()
    try:
        given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not rules.csrf_matches(viewer.csrf_token, given):
            raise PageForbidden("The form's security token is missing or belongs to another "
                                "session. Reload the page and try again.")
        yield form
    finally:
        await form.close()  # uploads are spooled to temporary files


CheckedFormDep = Annotated[FormData, Depends(get_checked_form)]
