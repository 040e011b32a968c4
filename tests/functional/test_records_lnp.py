"""lnp_requests / lnp_numbers through the records API are porting orders, and
activated port-ins become the account's DIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from porthook.records.registry import SCHEMAS
from tests.conftest import AccountFactory
from tests.porting_helpers import CHICAGO, NY, create_order, desk_status, submitted_order

Headers = dict[str, str]

LNP_REQUEST = {
    "btn": "2125550101", "location_type": "business", "business_contact": "Bob",
    "business_name": "Acme Inc", "account_number": "ACC-9", "service_address": "1 Main St",
    "service_state": "NY", "service_zip": "10001", "partial_port": False,
    "wireless_pin": "w1r3l3ss-pin", "caller_id": "ACME",
}


async def _types(client: httpx.AsyncClient, headers: Headers, family: str) -> list[str]:
    response = await client.get("/v1/events", params={"type": family, "limit": 500},
                                headers=headers)
    return [e["type"] for e in response.json()["data"]]


async def test_lnp_request_created_through_records_is_a_porting_order(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    account_id, headers = await make_account()
    response = await client.post("/v1/records/lnp_requests",
                                 json=LNP_REQUEST | {"numbers": [NY]}, headers=headers)
    assert response.status_code == 201, response.text
    record = response.json()
    assert list(record) == list(s for s in SCHEMAS["lnp_requests"].seed_fields
                                if s != "wireless_pin")
    assert (record["user_id"], record["request_status"]) == (str(account_id), "draft")
    assert "w1r3l3ss-pin" not in response.text

    order = (await client.get(f"/v1/porting-orders/{record['id']}", headers=headers)).json()
    assert order["end_user"]["business_name"] == "Acme Inc"
    assert order["end_user"]["service_address"]["line1"] == "1 Main St"
    assert order["port_out"]["wireless_pin_set"] is True
    assert await _types(client, headers, "porting_order.*") == ["porting_order.created"]
    assert await _types(client, headers, "record.*") == [
        "record.lnp_requests.inserted", "record.lnp_numbers.inserted"]


async def test_porting_order_reads_as_lnp_records_and_edits_are_the_same_change(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    read = (await client.get(f"/v1/records/lnp_requests/{order['id']}", headers=headers)).json()
    assert read["business_name"] == "Acme Inc"
    patched = await client.patch(f"/v1/records/lnp_requests/{order['id']}",
                                 json={"business_name": "Acme Corp"}, headers=headers)
    assert patched.status_code == 200, patched.text
    again = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert again["end_user"]["business_name"] == "Acme Corp"
    assert await _types(client, headers, "porting_order.*") == [
        "porting_order.created", "porting_order.updated"]
    assert (await _types(client, headers, "record.lnp_requests.*"))[-1] == (
        "record.lnp_requests.updated")

    listed = (await client.get("/v1/records/lnp_numbers",
                               params={"lnp_request_id": order["id"]}, headers=headers)).json()
    assert [n["number"] for n in listed["data"]] == [NY[2:]]


async def test_lnp_numbers_add_replace_remove_change_the_order(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    added = await client.post("/v1/records/lnp_numbers",
                              json={"lnp_request_id": order["id"], "number": "3125550102"},
                              headers=headers)
    assert added.status_code == 201, added.text
    assert added.json()["number"] == "3125550102"
    numbers = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert [n["phone_number"] for n in numbers["phone_numbers"]] == [NY, CHICAGO]

    bad = await client.post("/v1/records/lnp_numbers",
                            json={"lnp_request_id": order["id"], "number": "12"},
                            headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.number"

    removed = await client.delete(f"/v1/records/lnp_numbers/{added.json()['id']}",
                                  headers=headers)
    assert removed.status_code == 204
    last = (await client.get("/v1/records/lnp_numbers", headers=headers)).json()["data"]
    refused = await client.delete(f"/v1/records/lnp_numbers/{last[0]['id']}", headers=headers)
    assert refused.status_code == 409
    deleted = await client.delete(f"/v1/records/lnp_requests/{order['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get("/v1/records/lnp_requests", headers=headers)).json()["data"] == []


async def test_another_accounts_lnp_records_are_404(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, owner = await make_account("Owner")
    _, other = await make_account("Other")
    order = await create_order(client, owner, NY)
    number_id = order["phone_numbers"][0]["id"]
    assert (await client.get(f"/v1/records/lnp_requests/{order['id']}",
                             headers=other)).status_code == 404
    assert (await client.get(f"/v1/records/lnp_numbers/{number_id}",
                             headers=other)).status_code == 404
    assert (await client.post("/v1/records/lnp_numbers", headers=other, json={
        "lnp_request_id": order["id"], "number": CHICAGO})).status_code == 404


async def test_activated_port_ins_become_dids(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO)
    await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                      foc_date=datetime.now(UTC).isoformat())
    url = f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions/activate"
    first = await client.post(url, json={"phone_numbers": [NY]}, headers=operator_headers)
    assert first.status_code == 200, first.text

    dids: list[dict[str, Any]] = (await client.get("/v1/records/dids",
                                                   headers=headers)).json()["data"]
    assert [(d["number"], d["number_type"], d["state"]) for d in dids] == [
        ("2125550101", "local", "NY")]
    await client.post(url, json={"phone_numbers": [CHICAGO]}, headers=operator_headers)
    dids = (await client.get("/v1/records/dids", headers=headers)).json()["data"]
    assert [(d["number"], d["ratecenter"]) for d in dids] == [
        ("2125550101", "NEW YORK"), ("3125550102", "CHICAGO")]
    assert await _types(client, headers, "record.dids.*") == ["record.dids.inserted"] * 2
