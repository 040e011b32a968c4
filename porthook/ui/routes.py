"""Sign-in, sign-out and one-time portal links of the dashboard; the desk's
and the portal's pages are included from their own modules."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response

from porthook.config import Settings
from porthook.deps import ClockDep, SessionDep, SettingsDep
from porthook.ui import (
    delivery_routes,
    desk_routes,
    endpoint_routes,
    portal_routes,
    profile_routes,
    rules,
    service,
)
from porthook.ui.deps import COOKIE, CSRF_FIELD, CheckedFormDep, ViewerDep
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


# Login CSRF: before a session exists, the sign-in form's token is checked
# against a cookie set with the form (double submit). Another site can make a
# browser post a form, but cannot read or set this SameSite=Strict cookie, so
# it cannot sign a person in to the attacker's account (whose orders the person
# would then fill with their own PINs).
LOGIN_COOKIE = "porthook_login"
LOGIN_PATH = "/ui/login"


def _login_form(request: Request, settings: Settings, *, status_code: int = 200,
                error: str | None = None) -> Response:
    token = secrets.token_urlsafe(service.TOKEN_BYTES)
    response = render(request, "login.html", status_code=status_code, title="Sign in",
                      error=error, login_token=token)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=LOGIN_PATH,
                        secure=settings.ui_secure_cookies)
    return response


@router.get("/login")
async def read_login(request: Request, settings: SettingsDep) -> Response:
    return _login_form(request, settings)


@router.post("/login")
async def create_login(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_COOKIE)
    if expected is None or not rules.csrf_matches(expected, form.get(CSRF_FIELD)):
        return _login_form(request, settings, status_code=403,
                           error="This sign-in form has expired: enter the key again.")
    api_key = form.get("api_key")
    opened = await service.sign_in(session, api_key=api_key, now=clock.now()) if isinstance(
        api_key, str) and api_key.strip() else None
    if opened is None:
        return _login_form(request, settings, status_code=401,
                           error="That API key is unknown or revoked.")
    await session.commit()
    response = _signed_in(settings, *opened)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


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
router.include_router(profile_routes.router)
router.include_router(delivery_routes.portal)
router.include_router(delivery_routes.desk)
