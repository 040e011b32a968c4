"""The dashboard's sign-in and safety, through HTTP on both backends: keys,
cookies, CSRF, expiry, revocation, one-time portal links, headers, tenancy."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.db import Database
from porthook.web import create_app
from tests.conftest import AccountFactory, count_rows
from tests.porting_helpers import create_order

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def rows(database: Database, table: str) -> int:
    # A short session of its own: on SQLite an open one would hold the
    # writer's turn that the app's requests wait for.
    async with database.sessions() as session:
        return await count_rows(session, table)


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def post_login(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    """Posts the sign-in form as a browser does: the form first (its token and cookie)."""
    form = await client.get("/ui/login")
    match = CSRF.search(form.text)
    assert match is not None
    return await client.post("/ui/login", data={"api_key": api_key, "csrf_token": match.group(1)})


async def sign_in(client: httpx.AsyncClient, api_key: str) -> tuple[httpx.Response, str]:
    """Signs the client in; returns the landing page and its CSRF token."""
    response = await post_login(client, api_key)
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match is not None
    return page, match.group(1)


async def test_login_page_has_a_labelled_key_field_and_a_sign_in_button(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/ui/login")
    assert page.status_code == 200
    assert '<label for="api_key">API key</label>' in page.text
    assert '<button type="submit">Sign in</button>' in page.text


async def test_a_sign_in_without_the_forms_token_opens_no_session(
    client: httpx.AsyncClient, database: Database, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    # As a form posted by another site: no token, or a token without its cookie.
    refused = await client.post("/ui/login", data={"api_key": _token(headers)})
    assert refused.status_code == 403
    form = await client.get("/ui/login")
    match = CSRF.search(form.text)
    assert match is not None
    client.cookies.clear()
    refused = await client.post("/ui/login", data={"api_key": _token(headers),
                                                   "csrf_token": match.group(1)})
    assert refused.status_code == 403
    assert "porthook_session" not in refused.headers.get("set-cookie", "")
    assert await rows(database, "ui_sessions") == 0
    assert (await post_login(client, _token(headers))).status_code == 303


async def test_a_wrong_key_is_refused_and_opens_no_session(
    client: httpx.AsyncClient, database: Database,
) -> None:
    response = await post_login(client, "ph_live_nope")
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert "porthook_session" not in response.headers.get("set-cookie", "")
    assert await rows(database, "ui_sessions") == 0


async def test_account_key_opens_the_portal_and_operator_key_the_desk(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    response = await post_login(client, _token(headers))
    assert response.headers["location"] == "/ui/portal"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # public_url is http in the tests
    assert (await client.get("/ui/portal")).status_code == 200
    assert (await client.get("/ui/desk")).status_code == 403  # the wrong side

    client.cookies.clear()
    response = await post_login(client, _token(operator_headers))
    assert response.headers["location"] == "/ui/desk"
    assert (await client.get("/ui/desk")).status_code == 200
    assert (await client.get("/ui/portal")).status_code == 403


async def test_pages_without_a_session_go_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/ui", "/ui/desk", "/ui/portal", f"/ui/portal/orders/{uuid.uuid4()}"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/ui/login"


async def test_security_headers_on_every_dashboard_page(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    await sign_in(client, _token(headers))
    for path in ("/ui/login", "/ui/portal", "/ui/static/ui.css"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in (await client.get("/healthz")).headers


async def test_sign_out_ends_the_session(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, _token(headers))
    response = await client.post("/ui/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert await rows(database, "ui_sessions") == 0
    assert (await client.get("/ui/portal")).status_code == 303


async def test_a_post_without_or_with_another_sessions_csrf_token_changes_nothing(
    client: httpx.AsyncClient, app: Any, make_account: AccountFactory, database: Database,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers)
    _, csrf = await sign_in(client, _token(headers))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as other:
        _, other_csrf = await sign_in(other, _token(headers))
    assert other_csrf != csrf
    path = f"/ui/portal/orders/{order['id']}/comments"
    for data in ({"body": "no token"}, {"body": "stolen", "csrf_token": other_csrf},
                 {"body": "empty", "csrf_token": ""}):
        response = await client.post(path, data=data)
        assert response.status_code == 403, data
        assert "security token" in response.text
    assert await rows(database, "porting_comments") == 0
    response = await client.post(path, data={"body": "fine", "csrf_token": csrf})
    assert response.status_code == 303
    assert await rows(database, "porting_comments") == 1


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "absolute"])
async def test_an_expired_session_sends_to_sign_in(
    client: httpx.AsyncClient, make_account: AccountFactory, clock: ShiftableClock,
    settings: Any, idle: bool,
) -> None:
    _, headers = await make_account()
    await sign_in(client, _token(headers))
    if idle:
        clock.advance(timedelta(seconds=settings.ui_session_idle_s + 1))
    else:
        # Active all along (a request every two thirds of the idle timeout),
        # still ended once the absolute lifetime is over.
        step = timedelta(seconds=settings.ui_session_idle_s * 2 / 3)
        for _ in range(int(settings.ui_session_max_s // step.total_seconds()) - 1):
            clock.advance(step)
            assert (await client.get("/ui/portal")).status_code == 200
        clock.advance(step)
    response = await client.get("/ui/portal")
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"


async def test_revoking_the_key_ends_its_sessions(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    account_id, headers = await make_account()
    await sign_in(client, _token(headers))
    keys = (await client.get(f"/v1/accounts/{account_id}/api-keys",
                             headers=operator_headers)).json()
    revoked = await client.delete(f"/v1/api-keys/{keys[0]['id']}", headers=operator_headers)
    assert revoked.status_code == 204
    response = await client.get("/ui/portal")
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"


async def test_another_accounts_ids_answer_404_on_every_page(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, mine = await make_account("Mine")
    _, theirs = await make_account("Theirs")
    order = await create_order(client, theirs)
    document = await client.post(
        f"/v1/porting-orders/{order['id']}/documents", headers=theirs,
        files={"file": ("loa.pdf", b"%PDF-1.4\n", "application/pdf")},
        data={"document_type": "loa"})
    _, csrf = await sign_in(client, _token(mine))
    base = f"/ui/portal/orders/{order['id']}"
    for path in (base, f"{base}/edit", f"{base}/documents/{document.json()['id']}"):
        assert (await client.get(path)).status_code == 404, path
    for path in (base, f"{base}/actions/submit", f"{base}/actions/cancel",
                 f"{base}/comments", f"{base}/documents"):
        response = await client.post(path, data={"csrf_token": csrf, "body": "x"})
        assert response.status_code == 404, path
    assert (await client.get(f"/v1/porting-orders/{order['id']}", headers=theirs)).json()[
        "comments"] == []


async def test_a_portal_link_signs_in_once_before_it_expires(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
    clock: ShiftableClock, settings: Any,
) -> None:
    account_id, headers = await make_account()
    assert (await client.post(f"/v1/accounts/{account_id}/portal-links",
                              headers=headers)).status_code == 403
    assert (await client.post(f"/v1/accounts/{uuid.uuid4()}/portal-links",
                              headers=operator_headers)).status_code == 404
    created = await client.post(f"/v1/accounts/{account_id}/portal-links",
                                headers=operator_headers)
    assert created.status_code == 201
    path = httpx.URL(created.json()["url"]).path
    assert path.startswith("/ui/link/")
    assert (await client.get(path)).status_code == 200  # a GET uses nothing up
    redeemed = await client.post(path)
    assert redeemed.status_code == 303 and redeemed.headers["location"] == "/ui/portal"
    assert (await client.get("/ui/portal")).status_code == 200
    client.cookies.clear()
    assert (await client.post(path)).status_code == 410  # used

    late = await client.post(f"/v1/accounts/{account_id}/portal-links",
                             headers=operator_headers)
    clock.advance(timedelta(seconds=settings.portal_link_ttl_s + 1))
    assert (await client.post(httpx.URL(late.json()["url"]).path)).status_code == 410


async def test_https_marks_the_cookie_secure_and_frame_ancestors_opens_the_portal_only(
    settings: Any, database: Database, clock: ShiftableClock, make_account: AccountFactory,
) -> None:
    served = settings.model_copy(update={"public_url": "https://porting.example.com",
                                         "ui_frame_ancestors": "https://reseller.example.com"})
    app = create_app(served, clock=clock, database=database)
    _, headers = await make_account()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://porthook.test") as client:
        response = await post_login(client, _token(headers))
        assert "Secure" in response.headers["set-cookie"]
        portal = await client.get("/ui/portal")
        assert "frame-ancestors https://reseller.example.com" in portal.headers[
            "content-security-policy"]
        assert "x-frame-options" not in portal.headers
        desk = await client.get("/ui/desk")  # 403 for an account, and never framed
        assert "frame-ancestors 'none'" in desk.headers["content-security-policy"]
