"""``/v1/event-types`` through HTTP, and event-type filters refusing a type
that porthook never emits (endpoints, profiles, the events list)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from porthook.delivery import catalog
from tests.conftest import AccountFactory

NOPE = "porting_order.nope"


async def test_the_catalog_for_account_and_operator_keys(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    for who in (headers, operator_headers):
        response = await client.get("/v1/event-types", headers=who)
        assert response.status_code == 200, response.text
        listed = [e["type"] for e in response.json()["data"]]
        assert listed == list(catalog.type_names())
    assert (await client.get("/v1/event-types")).status_code == 401


async def test_one_type_with_its_formats(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    response = await client.get("/v1/event-types/porting_order.numbers_confirmed",
                                headers=headers)
    assert response.status_code == 200, response.text
    entry = response.json()
    assert entry["subject_type"] == "porting_order" and entry["description"]
    by_format = {p["format"]: p for p in entry["formats"]}
    assert set(by_format) == {"standard", "sinch"}
    sinch = by_format["sinch"]
    assert sinch["name"] == "NUMBERS_CONFIRMED"
    assert sinch["example"]["type"] == sinch["example"]["event"] == "NUMBERS_CONFIRMED"
    assert sinch["json_schema"]["additionalProperties"] is False
    missing = await client.get(f"/v1/event-types/{NOPE}", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "types", "formats"),
    [
        # a family, every format that carries one of its types
        ({"type": "endpoint.*"}, ["endpoint.failing", "endpoint.disabled",
                                  "endpoint.recovered"], {"standard"}),
        # one format: only the types it carries, only its entries
        ({"format": "telnyx"}, ["porting_order.status_changed", "porting_order.new_comment",
                                "porting_order.split", "porting_order.messaging_changed",
                                "porting_order.deleted"], {"telnyx"}),
        # both filters together
        ({"type": "record.dids.*", "format": "records"},
         ["record.dids.inserted", "record.dids.updated", "record.dids.deleted"], {"records"}),
    ],
)
async def test_filters(client: httpx.AsyncClient, make_account: AccountFactory,
                       params: dict[str, str], types: list[str], formats: set[str]) -> None:
    _, headers = await make_account()
    response = await client.get("/v1/event-types", params=params, headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [e["type"] for e in data] == types
    assert {p["format"] for e in data for p in e["formats"]} == formats


def _names_the_value(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    [error] = problem["errors"]
    assert error["field"] == field
    assert repr(NOPE) in error["message"] and "GET /v1/event-types" in error["message"]


async def test_unknown_types_are_refused_everywhere_a_filter_is_set(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    endpoint = {"url": "https://hooks.example.com/x", "event_types": ["porting_order.*", NOPE]}
    _names_the_value(await client.post("/v1/endpoints", json=endpoint, headers=headers),
                     "body.event_types[1]")
    created = await client.post("/v1/endpoints", headers=headers,
                                json={"url": "https://hooks.example.com/x",
                                      "event_types": ["porting_order.*"]})
    assert created.status_code == 201, created.text
    _names_the_value(await client.patch(f"/v1/endpoints/{created.json()['id']}",
                                        json={"event_types": [NOPE]}, headers=headers),
                     "body.event_types[0]")
    _names_the_value(await client.post("/v1/notification-profiles",
                                       json={"name": "desk", "event_types": [NOPE]},
                                       headers=headers), "body.event_types[0]")
    profile = await client.post("/v1/notification-profiles", json={"name": "desk"},
                                headers=headers)
    assert profile.status_code == 201, profile.text
    _names_the_value(await client.patch(f"/v1/notification-profiles/{profile.json()['id']}",
                                        json={"event_types": [NOPE]}, headers=headers),
                     "body.event_types[0]")
    for path, who in (("/v1/events", headers), ("/v1/operator/events", operator_headers),
                      ("/v1/event-types", headers)):
        _names_the_value(await client.get(path, params={"type": ["*", NOPE]}, headers=who),
                         "query.type")
    unchanged = await client.get(f"/v1/endpoints/{created.json()['id']}", headers=headers)
    assert unchanged.json()["event_types"] == ["porting_order.*"]


async def test_patterns_as_elsewhere_still_list_events(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    created = await client.post("/v1/endpoints", headers=headers,
                                json={"url": "https://hooks.example.com/x"})
    assert created.status_code == 201, created.text
    for pattern in ("*", "porting_order.*", "endpoint.disabled", "record.dids.*"):
        response = await client.get("/v1/events", params={"type": pattern}, headers=headers)
        assert response.status_code == 200, (pattern, response.text)
