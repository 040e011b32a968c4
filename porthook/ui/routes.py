"""Sign-in, sign-out and one-time portal links of the dashboard; the desk's
and the portal's pages are included from their own modules."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from porthook.config import Settings
from porthook.deps import ClockDep, SessionDep, SettingsDep
from porthook.ui import delivery_routes, desk_routes, endpoint_routes, portal_routes, service
from porthook.ui.deps import COOKIE, CheckedFormDep, ViewerDep
from porthook.ui.models import UiSession
from porthook.ui.pages import redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def home_of(account_id: object) -> str:
    return "/ui/desk" if account_id is None else "/ui/portal"


def _signed_in(settings: Settings, ui_session: UiSession, token: str) -> Response:
    response = redirect(home_of(ui_session.account_id))
    # No max_age: a browser session cookie; the server enforces the expiries.
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/ui",
                        secure=settings.ui_secure_cookies)
    return response


@router.get("")
async def read_home(viewer: ViewerDep) -> Response:
    return redirect(home_of(viewer.account_id))


@router.get("/login")
async def read_login(request: Request) -> Response:
    return render(request, "login.html", title="Sign in")


@router.post("/login")
async def create_login(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    api_key = form.get("api_key")
    opened = await service.sign_in(session, api_key=api_key, now=clock.now()) if isinstance(
        api_key, str) and api_key.strip() else None
    if opened is None:
        return render(request, "login.html", status_code=401, title="Sign in",
                      error="That API key is unknown or revoked.")
    await session.commit()
    return _signed_in(settings, *opened)


@router.post("/logout")
async def create_logout(
    viewer: ViewerDep, _form: CheckedFormDep, session: SessionDep
) -> Response:
    await service.end_session(session, session_id=viewer.session_id)
    await session.commit()
    response = redirect("/ui/login")
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/link/{token}")
async def read_portal_link(request: Request, token: str) -> Response:
    # A GET changes nothing: mail scanners and link previews fetch links.
    return render(request, "link.html", title="Open the portal", token=token)


@router.post("/link/{token}")
async def redeem_portal_link(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    opened = await service.redeem_portal_link(session, token=token, now=clock.now())
    if opened is None:
        return render(request, "error.html", status_code=410, title="Link no longer valid",
                      message="This sign-in link has expired or was already used. Ask for a "
                              "new one.")
    await session.commit()
    return _signed_in(settings, *opened)


router.include_router(desk_routes.router)
router.include_router(portal_routes.router)
router.include_router(endpoint_routes.router)
router.include_router(delivery_routes.portal)
router.include_router(delivery_routes.desk)
