"""The SSRF guard at the API: with private targets not allowed (the production
default), every place that takes a webhook URL refuses one that reaches inside."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.web import create_app
from tests.conftest import AccountFactory
from tests.porting_helpers import create_order, order_body


@pytest.fixture
async def guarded(
    settings: Settings, database: Database, clock: ShiftableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with the guard on (the shared ``settings`` lift it)."""
    app = create_app(settings.model_copy(update={"allow_private_targets": False}),
                     clock=clock, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as client:
        yield client


def _refusal(response: httpx.Response, field: str, why: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert why in error["message"]
    assert "webhooks must reach a public host" in error["message"]


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local (cloud metadata)"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback name"),  # refused by name, before any DNS
])
async def test_endpoint_url_reaching_inside_is_refused(
    guarded: httpx.AsyncClient, make_account: AccountFactory, url: str, why: str,
) -> None:
    _, headers = await make_account()
    refused = await guarded.post("/v1/endpoints", json={"url": url}, headers=headers)
    _refusal(refused, "url", why)
    assert (await guarded.get("/v1/endpoints", headers=headers)).json()["data"] == []


async def test_endpoint_cannot_be_moved_inside(
    guarded: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    created = await guarded.post("/v1/endpoints", json={"url": "http://93.184.215.14/hook"},
                                 headers=headers)
    assert created.status_code == 201, created.text
    url = f"/v1/endpoints/{created.json()['id']}"
    refused = await guarded.patch(url, json={"url": "http://127.0.0.1/hook"}, headers=headers)
    _refusal(refused, "url", "loopback")
    assert (await guarded.get(url, headers=headers)).json()["url"] == "http://93.184.215.14/hook"


async def test_porting_order_webhook_url_reaching_inside_is_refused(
    guarded: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    refused = await guarded.post("/v1/porting-orders", headers=headers,
                                 json=order_body(webhook_url="http://10.0.0.1/porting"))
    _refusal(refused, "webhook_url", "private")
    assert (await guarded.get("/v1/porting-orders", headers=headers)).json()["data"] == []
    order = await create_order(guarded, headers)
    patched = await guarded.patch(f"/v1/porting-orders/{order['id']}", headers=headers,
                                  json={"webhook_url": "http://10.0.0.1/porting"})
    _refusal(patched, "webhook_url", "private")


async def test_porting_defaults_webhook_url_reaching_inside_is_refused(
    guarded: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    refused = await guarded.put("/v1/porting-defaults", headers=headers,
                                json={"webhook_url": "http://10.0.0.1/defaults"})
    _refusal(refused, "webhook_url", "private")
    defaults = await guarded.get("/v1/porting-defaults", headers=headers)
    assert defaults.json()["webhook_url"] is None
    assert (await guarded.get("/v1/endpoints", headers=headers)).json()["data"] == []
