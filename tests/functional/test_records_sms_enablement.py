"""SMS enablement of a DID: 202 through HTTP, carried out by the worker's due work,
its result arriving as seed 002's ``sms_enablement`` outcome in an event."""

from __future__ import annotations

from typing import Any

import httpx

from porthook.clock import ShiftableClock
from porthook.db import Database
from porthook.records import due
from tests.conftest import AccountFactory

Headers = dict[str, str]


async def _did(client: httpx.AsyncClient, headers: Headers, number: str, kind: str) -> int:
    response = await client.post("/v1/records/dids", json={"number": number, "number_type": kind},
                                 headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _enable(client: httpx.AsyncClient, headers: Headers, did_id: int) -> dict[str, Any]:
    response = await client.post(f"/v1/records/dids/{did_id}/actions/enable-sms", headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return dict(response.json())


async def _run_due_work(database: Database, clock: ShiftableClock) -> int:
    async with database.sessions() as session:
        done = await due.run_sms_enablements(session, now=clock.now())
        await session.commit()
    return done


async def _results(client: httpx.AsyncClient, headers: Headers) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": "sms_enablement.completed"},
                                headers=headers)
    return [e["data"] | {"request_id": e["subject"]["id"]} for e in response.json()["data"]]


async def test_enable_sms_success_then_already_provisioned(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    did_id = await _did(client, headers, "3125550100", "local")
    first = await _enable(client, headers, did_id)
    second = await _enable(client, headers, did_id)
    assert await _run_due_work(database, clock) == 2
    assert await _run_due_work(database, clock) == 0  # nothing is done twice

    assert await _results(client, headers) == [
        {"did_id": did_id, "number": "3125550100", "status": "success", "verbose": "",
         "request_id": first["id"]},
        {"did_id": did_id, "number": "3125550100", "status": "error",
         "verbose": "already provisioned", "request_id": second["id"]},
    ]
    did = (await client.get(f"/v1/records/dids/{did_id}", headers=headers)).json()
    assert did["sms_enabled"] is True
    updated = await client.get("/v1/events", params={"type": "record.dids.updated"},
                               headers=headers)
    assert [e["data"]["record"]["sms_enabled"] for e in updated.json()["data"]] == [True]
    status = await client.get(f"/v1/records/dids/{did_id}/sms-enablements/{second['id']}",
                              headers=headers)
    assert status.json()["status"] == "completed"
    assert (status.json()["result"], status.json()["verbose"]) == ("error", "already provisioned")


async def test_enable_sms_on_a_number_that_is_not_10_digits(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    # A DID outside North America is stored E.164, as the seed's provider keeps it.
    did_id = await _did(client, headers, "+442071838750", "international")
    request = await _enable(client, headers, did_id)
    await _run_due_work(database, clock)
    assert await _results(client, headers) == [
        {"did_id": did_id, "number": "+442071838750", "status": "error",
         "verbose": "not 10 digits", "request_id": request["id"]},
    ]
    did = (await client.get(f"/v1/records/dids/{did_id}", headers=headers)).json()
    assert did["sms_enabled"] is False


async def test_enable_sms_on_unknown_did_is_404(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/records/dids/999999/actions/enable-sms", headers=headers)
    assert response.status_code == 404
