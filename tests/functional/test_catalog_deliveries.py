"""Every real delivery validates against the schema the catalog publishes.

A full order lifecycle (created, LOA, submit, desk statuses, comment, confirm,
split, FOC, messaging, activation), a second order whose numbers are rejected
and excluded, a draft updated then deleted, record changes, an SMS enablement
and endpoint health events (one endpoint failing then recovering, one gone),
delivered to sinks on loopback in all four formats. Each body received is
validated with ``jsonschema`` against ``GET /v1/event-types``.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import jsonschema

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import formats
from porthook.records import due as records_due
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint, eventually, running_dispatcher
from tests.functional.sinks import Sink
from tests.porting_helpers import (
    CHICAGO,
    NY,
    TORONTO,
    create_order,
    desk_status,
    submitted_order,
    upload,
)

Headers = dict[str, str]
FORMAT_PATHS = {"/standard": "standard", "/telnyx": "telnyx", "/sinch": "sinch",
                "/records": "records", "/flaky": "standard", "/gone": "standard"}


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _endpoints(client: httpx.AsyncClient, headers: Headers, sink: Sink) -> None:
    for fmt in ("standard", "telnyx", "sinch", "records"):
        await create_endpoint(client, headers, url=sink.url(f"/{fmt}"), format=fmt,
                              event_types=["*"])
    # Health events: one endpoint fails once then recovers, one is gone (410).
    sink.script("/flaky", 500)
    sink.script("/gone", 410)
    # One event each, so the failure is the whole of a batch (a batch with a
    # success in it is not news: no failing/recovered pair).
    for path in ("/flaky", "/gone"):
        await create_endpoint(client, headers, url=sink.url(path),
                              event_types=["record.ip_addresses.deleted"])


async def _order_lifecycle(client: httpx.AsyncClient, headers: Headers, operator: Headers,
                           foc: str) -> None:
    order = await create_order(client, headers, NY, CHICAGO, TORONTO,
                               on_demand_activation=True, messaging={"enable_messaging": True},
                               reseller_name="Maple Resale")
    desk = f"/v1/operator/porting-orders/{order['id']}"
    assert (await upload(client, headers, order["id"])).status_code == 201
    await _ok(await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                                headers=headers))
    await desk_status(client, operator, order["id"], "submitted")
    await desk_status(client, operator, order["id"], "exception",
                      details=[{"code": "ACCOUNT_NUMBER_MISMATCH"}])
    await desk_status(client, operator, order["id"], "submitted")
    await _ok(await client.post(f"/v1/porting-orders/{order['id']}/comments",
                                json={"body": "CSR attached"}, headers=headers), 201)
    await _ok(await client.post(f"{desk}/phone-numbers/actions/confirm",
                                json={"phone_numbers": [NY], "foc_date": foc}, headers=operator))
    await _ok(await client.post(f"{desk}/actions/split", json={"phone_numbers": [TORONTO]},
                                headers=operator), 201)
    await desk_status(client, operator, order["id"], "foc-date-confirmed", foc_date=foc)
    await _ok(await client.post(f"{desk}/messaging", json={"messaging_port_status": "activating"},
                                headers=operator))
    await _ok(await client.post(f"/v1/porting-orders/{order['id']}/actions/activate",
                                headers=headers))


async def _rejections_and_a_deleted_draft(client: httpx.AsyncClient, headers: Headers,
                                          operator: Headers) -> None:
    order = await submitted_order(client, headers, operator, "+13125550160", "+13125550161",
                                  "+13125550162")
    moves = f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions"
    await _ok(await client.post(f"{moves}/reject", headers=operator, json={
        "phone_numbers": ["+13125550160"], "reason": "Account number does not match"}))
    await _ok(await client.post(f"{moves}/exclude", headers=operator, json={
        "phone_numbers": ["+13125550161"], "reason": "Customer keeps it"}))
    draft = await create_order(client, headers, "+13125550170", desired_port_date=None)
    await _ok(await client.patch(f"/v1/porting-orders/{draft['id']}", headers=headers,
                                 json={"customer_reference": "draft-2"}))
    deleted = await client.delete(f"/v1/porting-orders/{draft['id']}", headers=headers)
    assert deleted.status_code == 204


async def _record_changes(client: httpx.AsyncClient, headers: Headers, database: Database,
                          clock: ShiftableClock) -> None:
    inbox = await _ok(await client.post("/v1/records/voicemail_inboxes", headers=headers, json={
        "inbox_number": "100", "inbox_name": "Front desk", "inbox_pin": "97531864"}), 201)
    did = await _ok(await client.post("/v1/records/dids", headers=headers, json={
        "number": "3125550100", "number_type": "local",
        "voicemail_inbox_id": inbox["id"]}), 201)
    await _ok(await client.patch(f"/v1/records/dids/{did['id']}", json={"inbound_cnam": True},
                                 headers=headers))
    await _ok(await client.post(f"/v1/records/dids/{did['id']}/actions/enable-sms",
                                headers=headers), 202)
    ip = await _ok(await client.post("/v1/records/ip_addresses", headers=headers,
                                     json={"ip_address": "2001:db8::10", "ip_name": "pbx"}), 201)
    assert (await client.delete(f"/v1/records/ip_addresses/{ip['id']}",
                                headers=headers)).status_code == 204
    async with database.sessions() as session:
        assert await records_due.run_sms_enablements(session, now=clock.now()) == 1
        await session.commit()


async def _event_log(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    response = await client.get("/v1/events", params={"limit": "500"}, headers=headers)
    assert response.status_code == 200, response.text
    return {e["id"]: e["type"] for e in response.json()["data"]}


async def _schemas(client: httpx.AsyncClient, headers: Headers) -> dict[tuple[str, str], Any]:
    response = await client.get("/v1/event-types", headers=headers)
    assert response.status_code == 200, response.text
    return {(e["type"], p["format"]): p["json_schema"]
            for e in response.json()["data"] for p in e["formats"]}


def _validate(schema: dict[str, Any], body: dict[str, Any]) -> None:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(body)
    content = schema["properties"].get("data", {}).get("contentSchema")
    if content is not None:  # seed 002: the record is a JSON string
        jsonschema.Draft202012Validator(content, format_checker=checker).validate(
            json.loads(body["data"]))


async def test_every_delivery_of_a_lifecycle_validates_against_the_catalog(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
    sink: Sink, settings: Settings, database: Database, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    await _endpoints(client, headers, sink)
    await _order_lifecycle(client, headers, operator_headers,
                           (clock.now() + timedelta(days=3)).isoformat())
    await _rejections_and_a_deleted_draft(client, headers, operator_headers)
    await _record_changes(client, headers, database, clock)

    async def all_arrived() -> bool:
        log = await _event_log(client, headers)
        health = {"endpoint.failing", "endpoint.disabled", "endpoint.recovered"}
        expected = Counter(fmt for path, fmt in FORMAT_PATHS.items() if path in (
            "/standard", "/telnyx", "/sinch", "/records")
            for t in log.values() if formats.supports(fmt, t))
        seen = Counter(FORMAT_PATHS[c.path] for c in sink.received
                       if c.path not in ("/flaky", "/gone"))
        return health <= set(log.values()) and seen == expected

    async with running_dispatcher(settings, database, clock):
        await eventually(all_arrived, within_s=60.0)
    log = await _event_log(client, headers)
    schemas = await _schemas(client, headers)
    validated: Counter[str] = Counter()
    for call in sink.received:
        fmt = FORMAT_PATHS[call.path]
        event_type = log[call.headers["webhook-id"]]
        _validate(schemas[(event_type, fmt)], call.json())
        validated[fmt] += 1
    types_seen = set(log.values())
    # The lifecycle reached every porting type but messaging-only ones, records and health.
    assert {"porting_order.numbers_rejected", "porting_order.document_added",
            "porting_order.deleted", "porting_order.split", "sms_enablement.completed",
            "record.lnp_requests.inserted", "record.lnp_numbers.deleted",
            "record.dids.updated", "endpoint.recovered", "endpoint.disabled"} <= types_seen
    assert all(validated[fmt] >= 5 for fmt in ("standard", "telnyx", "sinch", "records"))
