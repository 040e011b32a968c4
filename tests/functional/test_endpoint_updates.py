"""PATCH of endpoints and notification profiles: null clears what may be empty
and is refused, changing nothing, where a value is required."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint

HOOK = "https://example.com/hook"


async def _endpoint(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    profile = (await client.post("/v1/notification-profiles", json={"name": "Port-ins"},
                                 headers=headers)).json()
    return await create_endpoint(
        client, headers, url=HOOK, format="telnyx", description="ops", event_types=["*"],
        credentials={"type": "bearer", "token": "t0k"}, strict_ordering=True,
        max_concurrency=4, profile_id=profile["id"],
    )


def _problem(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == field
    return str(error["message"])


@pytest.mark.parametrize(("field", "expected"), [
    ("format", "'standard', 'telnyx', 'sinch' or 'records'"),  # NOT NULL column
    ("event_types", "valid list"),  # stored as JSON null it broke every later read
    ("strict_ordering", "valid boolean"),  # NOT NULL column
    ("enabled", "False"),  # only false disables; null meant nothing
])
async def test_null_on_a_required_field_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_account: AccountFactory, field: str, expected: str,
) -> None:
    _, headers = await make_account()
    endpoint = await _endpoint(client, headers)
    url = f"/v1/endpoints/{endpoint['id']}"
    refused = await client.patch(url, json={field: None, "description": "changed"},
                                 headers=headers)
    assert expected in _problem(refused, f"body.{field}")
    after = await client.get(url, headers=headers)
    assert after.status_code == 200
    assert after.json() == {k: v for k, v in endpoint.items() if k != "secret"}
    listed = await client.get("/v1/endpoints", headers=headers)
    assert [e["id"] for e in listed.json()["data"]] == [endpoint["id"]]
    assert (await client.patch(url, json={"description": "later"},
                               headers=headers)).status_code == 200


async def test_null_clears_the_fields_that_may_be_empty(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    endpoint = await _endpoint(client, headers)
    url = f"/v1/endpoints/{endpoint['id']}"
    cleared = await client.patch(url, headers=headers, json={
        "description": None, "credentials": None, "max_concurrency": None, "profile_id": None,
        "email_address": None})
    assert cleared.status_code == 200, cleared.text
    body = (await client.get(url, headers=headers)).json()
    assert {k: body[k] for k in ("description", "credentials_type", "max_concurrency",
                                 "profile_id", "email_address")} == dict.fromkeys(
        ("description", "credentials_type", "max_concurrency", "profile_id", "email_address"))
    assert (body["url"], body["format"], body["strict_ordering"]) == (HOOK, "telnyx", True)


async def test_a_webhook_endpoint_keeps_its_url(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    endpoint = await _endpoint(client, headers)
    url = f"/v1/endpoints/{endpoint['id']}"
    refused = await client.patch(url, json={"url": None}, headers=headers)
    assert "required" in _problem(refused, "url")
    assert (await client.get(url, headers=headers)).json()["url"] == HOOK


async def test_an_email_endpoint_keeps_its_address(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    endpoint = await create_endpoint(client, headers, channel="email",
                                     email_address="ops@example.com")
    url = f"/v1/endpoints/{endpoint['id']}"
    refused = await client.patch(url, json={"email_address": None}, headers=headers)
    assert "required" in _problem(refused, "email_address")
    assert (await client.get(url, headers=headers)).json()["email_address"] == "ops@example.com"


@pytest.mark.parametrize("field", ["name", "event_types", "enabled"])
async def test_profile_fields_cannot_be_nulled(
    client: httpx.AsyncClient, make_account: AccountFactory, field: str,
) -> None:
    _, headers = await make_account()
    profile = (await client.post("/v1/notification-profiles", json={"name": "Port-ins"},
                                 headers=headers)).json()
    url = f"/v1/notification-profiles/{profile['id']}"
    _problem(await client.patch(url, json={field: None}, headers=headers), f"body.{field}")
    assert (await client.get(url, headers=headers)).json() == profile


async def test_openapi_offers_null_only_where_it_is_accepted(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    def nullable(schema: str) -> set[str]:
        properties = schemas[schema]["properties"]
        return {name for name, prop in properties.items()
                if {"type": "null"} in prop.get("anyOf", [])}

    assert nullable("EndpointUpdate") == {"url", "email_address", "description", "credentials",
                                          "max_concurrency", "profile_id", "headers",
                                          "rate_limit_per_s"}
    assert nullable("ProfileUpdate") == set()
