"""Property: whatever is typed or posted into the dashboard's forms, the answer
is a page, a redirect or a refusal, never a server error. Every POST of the
desk and the portal gets generated form fields (known names with odd values,
repeated names, unknown names), on SQLite and PostgreSQL, signed in with a
valid CSRF token so that the generated input reaches the handlers."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AccountFactory
from tests.functional.test_ui_signin import sign_in
from tests.porting_helpers import NY, PDF, create_order

# The names the dashboard's forms read (porthook/ui/), and a few it does not.
FIELDS = (
    "action", "body", "channel", "clear_headers", "code", "credentials_type",
    "credentials_username", "credentials_password", "credentials_token",
    "customer_reference", "description", "desired_port_date", "desired_port_time",
    "desired_port_time_zone", "document_type", "email_address", "enabled", "event_types",
    "format", "headers", "internal", "message", "messaging.enable_messaging",
    "messaging_port_status", "name", "on_demand_activation", "phone_numbers", "profile_id",
    "rate_limit_per_s", "max_concurrency", "reason", "reseller_name", "resubmit", "status",
    "url", "foc_date", "number_foc_date", "number_foc_time", "number_foc_zone",
    "end_user.business_name", "end_user.location_type", "end_user.authorized_person",
    "address.line1", "address.city", "address.state", "address.zip",
    "port_out.losing_carrier", "port_out.account_number", "port_out.btn", "port_out.pin",
    "port_out.partial_port", "webhook_url", "numbers_csv", "unknown", "csrf_token",
)
# Values that have broken parsers before, beside arbitrary text. URLs only
# on loopback or unresolvable: a test call must reach no other machine.
ODD = ("", " ", "\x00", "on", "true", "0", "-1", "1e400", "NaN", "9" * 40, "2030-01-15",
       "2030-02-30", "2030-01-15T10:00:00", "25:61", "US/Eastern", "Mars/Olympus", NY,
       "+1212555010", "12", "in-process", "exception", "submitted", "foc-date-confirmed",
       "ported", "cancelled", "PASSCODE_PIN_INVALID", "porting_order.*", "nope.*",
       "webhook", "email", "telnyx", "sinch", "standard", "basic", "bearer",
       "X-Api-Key: 1", "Host: evil", "a\r\nb: c", "http://127.0.0.1:9/hook",
       "http://[::1]:9/", "http://a..b/", "ftp://x/", "not a url", "ops@acme.test", "@", "é" * 300)
values = st.sampled_from(ODD) | st.text(max_size=30)
forms = st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=10)

PORTAL = (
    "/ui/portal/orders", "/ui/portal/orders/{order}",
    "/ui/portal/orders/{order}/actions/{action}", "/ui/portal/orders/{order}/comments",
    "/ui/portal/orders/{order}/documents", "/ui/portal/defaults", "/ui/portal/endpoints",
    "/ui/portal/endpoints/{endpoint}/edit", "/ui/portal/endpoints/{endpoint}/rotate-secret",
    "/ui/portal/endpoints/{endpoint}/test", "/ui/portal/endpoints/{endpoint}/enable",
    "/ui/portal/endpoints/{endpoint}/recover", "/ui/portal/profiles",
    "/ui/portal/profiles/{profile}/edit", "/ui/portal/profiles/{profile}/delete",
    "/ui/portal/deliveries/{delivery}/retry",
)
DESK = (
    "/ui/desk/orders/{order}/status", "/ui/desk/orders/{order}/numbers",
    "/ui/desk/orders/{order}/split", "/ui/desk/orders/{order}/messaging",
    "/ui/desk/orders/{order}/comments",
)
# Raise for a deeper local run:
# PORTHOOK_UI_FORM_EXAMPLES=1000 pytest tests/functional/test_ui_form_properties.py
EXAMPLES = int(os.environ.get("PORTHOOK_UI_FORM_EXAMPLES", "60"))
# A path part: the real one, another account's or none's (a random id), or junk.
PART = st.sampled_from(["real", "random", "junk"])


@asynccontextmanager
async def _browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own: each holds one signed-in session's cookies."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as client:
        yield client


async def _real_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    order = await create_order(client, headers)
    endpoint = (await client.post("/v1/endpoints", headers=headers,
                                  json={"url": "http://127.0.0.1:9/hook"})).json()
    profile = (await client.post("/v1/notification-profiles", headers=headers,
                                 json={"name": "ops"})).json()
    return {"order": order["id"], "endpoint": endpoint["id"], "profile": profile.get("id", ""),
            "delivery": str(uuid.uuid4()), "action": "submit"}


def _path(template: str, ids: dict[str, str], part: str, action: str) -> str:
    values = {key: (value if part == "real" else str(uuid.uuid4()) if part == "random"
                    else "..%2f%00x") for key, value in ids.items()}
    values["action"] = action
    return template.format(**values)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(desk=st.booleans(), route=st.integers(min_value=0), part=PART,
       action=st.sampled_from(["submit", "cancel", "resubmit", "delete", "nope"]),
       fields=forms, with_file=st.booleans())
async def test_generated_form_posts_never_get_a_5xx(
    app: Any, client: httpx.AsyncClient, make_account: AccountFactory,
    operator_headers: dict[str, str], desk: bool, route: int, part: str, action: str,
    fields: list[tuple[str, str]], with_file: bool,
) -> None:
    # Fixtures live for all the examples: one account and its rows serve
    # them, kept on this app (an id() could be reused by the next test's).
    if not hasattr(app.state, "form_property_account"):
        _, headers = await make_account()
        app.state.form_property_account = headers, await _real_ids(client, headers)
    headers, ids = app.state.form_property_account
    key = (operator_headers if desk else headers)["Authorization"].removeprefix("Bearer ")
    templates = DESK if desk else PORTAL
    path = _path(templates[route % len(templates)], ids, part, action)
    async with _browser(app) as browser:
        _, csrf = await sign_in(browser, key)
        data: dict[str, list[str]] = {"csrf_token": [csrf]}
        for name, value in fields:  # a name given twice is sent twice
            data.setdefault(name, []).append(value)
        files = {"loa": ("loa.pdf", PDF, "application/pdf")} if with_file else None
        response = await browser.post(path, data=data, files=files)
    assert response.status_code < 500, (path, fields, response.text[:2000])
