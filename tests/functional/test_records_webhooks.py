"""Seed 002 end to end: a ``records`` endpoint on a loopback sink receives the
provider's exact messages for record changes of several schemas (porting orders
included, as lnp_requests) and the sms_enablement outcomes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.records import due, registry
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint, running_dispatcher
from tests.functional.sinks import Sink, sink  # noqa: F401  (pytest fixture)

Headers = dict[str, str]
SECRETS = ("inbox_pin", "wireless_pin", "97531864", "86420975")


async def _post(client: httpx.AsyncClient, headers: Headers, path: str,
                body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (201, 202), response.text
    return dict(response.json())


async def _changes(client: httpx.AsyncClient, headers: Headers) -> None:
    inbox = await _post(client, headers, "/v1/records/voicemail_inboxes",
                        {"inbox_number": "100", "inbox_name": "Front desk",
                         "inbox_pin": "97531864"})
    did = await _post(client, headers, "/v1/records/dids",
                      {"number": "3125550100", "number_type": "local",
                       "voicemail_inbox_id": inbox["id"]})
    patched = await client.patch(f"/v1/records/dids/{did['id']}", json={"inbound_cnam": True},
                                 headers=headers)
    assert patched.status_code == 200, patched.text
    ip = await _post(client, headers, "/v1/records/ip_addresses",
                     {"ip_address": "2001:db8::10", "ip_name": "pbx"})
    deleted = await client.delete(f"/v1/records/ip_addresses/{ip['id']}", headers=headers)
    assert deleted.status_code == 204
    await _post(client, headers, "/v1/porting-orders",
                {"phone_numbers": ["+13035550143"], "port_out": {"wireless_pin": "86420975"}})


async def test_records_endpoint_receives_the_seeds_messages(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    settings: Settings, clock: ShiftableClock, sink: Sink,  # noqa: F811
) -> None:
    _, headers = await make_account()
    await create_endpoint(client, headers, url=sink.url(), format="records")
    await _changes(client, headers)
    international = await _post(client, headers, "/v1/records/dids",
                                {"number": "+442071838750", "number_type": "international"})
    dids = (await client.get("/v1/records/dids", headers=headers)).json()["data"]
    local = next(d for d in dids if d["number"] == "3125550100")
    for did_id in (local["id"], local["id"], international["id"]):
        await _post(client, headers, f"/v1/records/dids/{did_id}/actions/enable-sms", {})
    async with database.sessions() as session:
        assert await due.run_sms_enablements(session, now=clock.now()) == 3
        await session.commit()

    async with running_dispatcher(settings, database, clock):
        # inbox, did, did update, ip insert + delete, lnp request + number,
        # three sms outcomes and the did update of the successful one.
        received = await sink.wait_for(12)
    bodies = [r.json() for r in received]
    assert all(not any(s in r.body.decode() for s in SECRETS) for r in received)

    records = [b for b in bodies if b["schema"] != "sms_enablement"]
    seen = {(b["type"], b["schema"]) for b in records}
    assert {("insert", "voicemail_inboxes"), ("insert", "dids"), ("update", "dids"),
            ("insert", "ip_addresses"), ("delete", "ip_addresses"),
            ("insert", "lnp_requests"), ("insert", "lnp_numbers")} <= seen
    for body in records:
        assert set(body) == {"type", "schema", "data"}
        record = json.loads(body["data"])  # a JSON string, as the seed says
        fields = [f for f in registry.SCHEMAS[body["schema"]].seed_fields if f in record]
        assert list(record) == fields, body["schema"]

    outcomes = [b for b in bodies if b["schema"] == "sms_enablement"]
    assert sorted(outcomes, key=lambda b: b["verbose"]) == [
        {"type": "update", "schema": "sms_enablement", "status": "success", "verbose": ""},
        {"type": "update", "schema": "sms_enablement", "status": "error",
         "verbose": "already provisioned"},
        {"type": "update", "schema": "sms_enablement", "status": "error",
         "verbose": "not 10 digits"},
    ]
