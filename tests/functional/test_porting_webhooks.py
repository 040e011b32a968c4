"""A porting order driven through the customer and desk APIs, end to end to
telnyx (seed 001), sinch (seed 000) and standard endpoints on a loopback sink.

No synthetic event: every call at the sink comes from a real API move.
Deliveries to one endpoint may arrive in any order (no strict ordering asked),
so calls are put back in the order of the account's event log before comparing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from standardwebhooks import Webhook

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import signing
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint, running_dispatcher
from tests.functional.sinks import Received, Sink
from tests.porting_helpers import (
    CHICAGO,
    NY,
    TORONTO,
    assert_no_pins,
    create_order,
    desk_status,
    order_events,
    upload,
)
from tests.unit.format_events import same_keys

TOKEN = "tok-sinch-desk"  # the sinch endpoint's bearer credentials (seed 000's bearerAuth)
COMMENT = "Please find the CSR attached"
EXCEPTION_CODE = "ACCOUNT_NUMBER_MISMATCH"
TELNYX_EXPECTED = [
    ("porting_order.status_changed", "in-process"),
    ("porting_order.status_changed", "submitted"),
    ("porting_order.status_changed", "exception"),
    ("porting_order.status_changed", "submitted"),
    ("porting_order.new_comment", None),
    ("porting_order.split", None),
    ("porting_order.status_changed", "foc-date-confirmed"),
    ("porting_order.messaging_changed", None),
    ("porting_order.status_changed", "ported"),
]
# (seed event, order status or the numbers concerned); the child order's ORDER_UPDATED
# (its creation by the split) is checked apart.
SINCH_EXPECTED = [
    ("ORDER_UPDATED", "ORDER_BUILDING"),  # created
    ("ORDER_UPDATED", "ORDER_BUILDING"),  # LOA uploaded
    ("ORDER_UPDATED", "PENDING"),  # in-process
    ("ORDER_UPDATED", "PENDING"),  # submitted
    ("ORDER_UPDATED", "PENDING"),  # exception
    ("ORDER_UPDATED", "PENDING"),  # submitted again
    ("NEW_ORDER_NOTE", None),
    ("NUMBERS_CONFIRMED", [NY]),  # the desk's per-number confirmation
    ("ORDER_UPDATED", "PENDING"),  # split: TORONTO left
    ("ORDER_UPDATED", "CONFIRMED"),  # foc-date-confirmed...
    ("NUMBERS_CONFIRMED", [CHICAGO]),  # ...confirms the number still pending
    ("NUMBERS_ACTIVATED", [NY, CHICAGO]),
    ("ORDER_UPDATED", "COMPLETED"),  # ported
]
# Seed 001's v2 sample, key for key (its values are placeholders here).
V2_MESSAGING_SHAPE = {"id": 0, "event_type": 0, "occurred_at": 0, "urls": 0,
                      "organization_id": 0, "format": 0,
                      "payload": {"id": 0, "customer_reference": 0, "support_key": 0,
                                  "messaging": {"messaging_capable": 0, "enable_messaging": 0,
                                                "messaging_port_status": 0}}}
V2_DELETED_SHAPE = {**V2_MESSAGING_SHAPE,
                    "payload": {"id": 0, "customer_reference": 0, "deleted_at": 0}}


async def _endpoints(client: httpx.AsyncClient, headers: dict[str, str],
                     sink: Sink) -> dict[str, str]:
    """One endpoint per format on the sink; their signing secrets by format."""
    secrets = {}
    for fmt in ("standard", "telnyx", "sinch"):
        auth = {"credentials": {"type": "bearer", "token": TOKEN}} if fmt == "sinch" else {}
        created = await create_endpoint(client, headers, url=sink.url(f"/{fmt}"), format=fmt,
                                        event_types=["porting_order.*"], **auth)
        secrets[fmt] = created["secret"]
    return secrets


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _walk_to_submitted(client: httpx.AsyncClient, headers: dict[str, str],
                             operator: dict[str, str]) -> str:
    """Created, LOA uploaded, submitted, taken by the desk, an exception and back."""
    order = await create_order(client, headers, NY, CHICAGO, TORONTO,
                               on_demand_activation=True, messaging={"enable_messaging": True},
                               reseller_name="Maple Resale")  # TORONTO is Canadian
    assert (await upload(client, headers, order["id"])).status_code == 201
    await _ok(await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                                headers=headers))
    await desk_status(client, operator, order["id"], "submitted")
    await desk_status(client, operator, order["id"], "exception",
                      details=[{"code": EXCEPTION_CODE}])
    await desk_status(client, operator, order["id"], "submitted")
    return str(order["id"])


async def _walk_to_ported(client: httpx.AsyncClient, headers: dict[str, str],
                          operator: dict[str, str], order_id: str, foc: str) -> str:
    """Comment, confirm, split, FOC, messaging, activation; returns the split-off order."""
    desk = f"/v1/operator/porting-orders/{order_id}"
    await _ok(await client.post(f"/v1/porting-orders/{order_id}/comments",
                                json={"body": COMMENT}, headers=headers), 201)
    await _ok(await client.post(f"{desk}/phone-numbers/actions/confirm",
                                json={"phone_numbers": [NY], "foc_date": foc},
                                headers=operator))
    child = await _ok(await client.post(f"{desk}/actions/split",
                                        json={"phone_numbers": [TORONTO]}, headers=operator), 201)
    await desk_status(client, operator, order_id, "foc-date-confirmed", foc_date=foc)
    await _ok(await client.post(f"{desk}/messaging", json={"messaging_port_status": "activating"},
                                headers=operator))
    ported = await _ok(await client.post(f"/v1/porting-orders/{order_id}/actions/activate",
                                         headers=headers))
    assert ported["status"] == "ported"
    return str(child["id"])


async def _in_log_order(client: httpx.AsyncClient, headers: dict[str, str],
                        calls: list[Received]) -> list[Received]:
    """``calls`` sorted by the position of their event in the account's log."""
    log = [e["id"] for e in await order_events(client, headers)]
    return sorted(calls, key=lambda call: log.index(call.headers["webhook-id"]))


def _check_telnyx(calls: list[Received], *, url: str, public_key: str, order_id: str,
                  child_id: str) -> None:
    bodies = [c.json() for c in calls]
    seen = [(b["data"]["event_type"], b["data"]["payload"].get("status", {}).get("value"))
            if "data" in b else (b["event_type"], None) for b in bodies]
    assert seen == TELNYX_EXPECTED
    for call, body in zip(calls, bodies, strict=True):
        signing.verify_telnyx(public_key, call.headers, call.body)
        if "data" in body:
            assert body["meta"] == {"attempt": 1, "delivered_to": url}
    exception = bodies[2]["data"]["payload"]["status"]["details"]
    assert [d["code"] for d in exception] == [EXCEPTION_CODE]
    assert bodies[4]["data"]["payload"]["comment"]["body"] == COMMENT
    assert bodies[5]["data"]["payload"] == {"from": {"id": order_id}, "to": {"id": child_id}}
    messaging = bodies[7]
    same_keys(messaging, V2_MESSAGING_SHAPE)  # flat: no data/meta envelope
    assert (messaging["format"], messaging["urls"]) == ("v2", [url])
    assert messaging["payload"]["messaging"]["messaging_port_status"] == "activating"


def _numbers(item: list[dict[str, Any]]) -> list[str]:
    return [n["phoneNumber"] for n in item]


def _check_sinch(calls: list[Received], *, order_number: int, child_number: int) -> None:
    bodies = [c.json() for c in calls]
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {TOKEN}"}
    assert all(b["event"] == b["type"] for b in bodies)  # both readings of seed 000
    child = [b for b in bodies if b["orderId"] == str(child_number)]
    assert [(b["type"], b["order"]["status"], _numbers(b["order"]["phoneNumbers"]))
            for b in child] == [("ORDER_UPDATED", "PENDING", [TORONTO])]
    ours = [b for b in bodies if b["orderId"] == str(order_number)]
    seen = [(b["type"], b["order"]["status"] if "order" in b else
             _numbers(b["phoneNumbers"]) if "phoneNumbers" in b else None) for b in ours]
    assert seen == SINCH_EXPECTED
    assert ours[6]["note"] == COMMENT
    assert _numbers(ours[8]["order"]["phoneNumbers"]) == [NY, CHICAGO]  # after the split
    activated = ours[11]["phoneNumbers"]
    assert {(n["status"], n["activateUser"]) for n in activated} == {("ACTIVATED", "customer")}
    assert all(n["endUser"]["name"] == "Acme Inc" and n["portOutInfo"] == {}
               for n in activated)


async def _signing_key(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.get("/v1/webhook-signing-key", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["public_key"])


async def test_an_order_from_draft_to_ported_reaches_every_format(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
    sink: Sink, settings: Settings, database: Database, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    secrets = await _endpoints(client, headers, sink)
    foc = (clock.now() + timedelta(days=3)).isoformat()
    order_id = await _walk_to_submitted(client, headers, operator_headers)
    child_id = await _walk_to_ported(client, headers, operator_headers, order_id, foc)
    standard_count = len(await order_events(client, headers))
    async with running_dispatcher(settings, database, clock):
        telnyx = await sink.wait_for(len(TELNYX_EXPECTED), "/telnyx")
        sinch = await sink.wait_for(len(SINCH_EXPECTED) + 1, "/sinch")
        standard = await sink.wait_for(standard_count, "/standard")
    _check_telnyx(await _in_log_order(client, headers, telnyx), url=sink.url("/telnyx"),
                  public_key=await _signing_key(client, headers), order_id=order_id,
                  child_id=child_id)
    order = await _ok(await client.get(f"/v1/porting-orders/{order_id}", headers=headers))
    child = await _ok(await client.get(f"/v1/porting-orders/{child_id}", headers=headers))
    _check_sinch(await _in_log_order(client, headers, sinch),
                 order_number=order["order_number"], child_number=child["order_number"])
    for fmt, calls in (("standard", standard), ("telnyx", telnyx), ("sinch", sinch)):
        for call in calls:
            Webhook(secrets[fmt]).verify(call.body, call.headers)  # raises if it does not
    assert_no_pins(*(json.loads(c.body) for c in sink.received))


async def test_a_deleted_draft_reaches_telnyx_flat(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    await _endpoints(client, headers, sink)
    draft = await create_order(client, headers, NY, customer_reference="draft-1")
    deleted = await client.delete(f"/v1/porting-orders/{draft['id']}", headers=headers)
    assert deleted.status_code == 204
    async with running_dispatcher(settings, database, clock):
        [call] = await sink.wait_for(1, "/telnyx")
        await sink.wait_for(1, "/sinch")  # the draft's creation; its deletion has no seed event
    body = call.json()
    same_keys(body, V2_DELETED_SHAPE)  # seed 001's sample: no data/meta envelope
    assert (body["event_type"], body["format"], body["urls"]) == (
        "porting_order.deleted", "v2", [sink.url("/telnyx")])
    assert body["organization_id"] == str(account_id)
    assert body["payload"]["id"] == draft["id"]
    assert body["payload"]["customer_reference"] == "draft-1"
    assert body["payload"]["deleted_at"].endswith("Z")
    signing.verify_telnyx(await _signing_key(client, headers), call.headers, call.body)
    assert [c.json()["type"] for c in sink.at("/sinch")] == ["ORDER_UPDATED"]
    assert_no_pins(*(json.loads(c.body) for c in sink.received))
