"""Porting orders walked through their whole lives over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.porting_helpers import (
    CHICAGO,
    NY,
    TORONTO,
    assert_no_pins,
    create_order,
    desk_status,
    order_events,
    run_due,
    submitted_order,
    upload,
)


def _types(events: list[dict[str, object]]) -> list[object]:
    return [e["type"] for e in events]


async def test_scheduled_activation_ports_the_order(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
    database: Database, settings: Settings, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO)
    foc = (clock.now() + timedelta(days=6)).isoformat()
    confirmed = await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                                  foc_date=foc)
    assert {n["status"] for n in confirmed["phone_numbers"]} == {"confirmed"}

    await run_due(database, settings, clock)  # too early: nothing happens
    still = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert still["status"] == "foc-date-confirmed"

    clock.advance(timedelta(days=7))
    await run_due(database, settings, clock)
    ported = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert ported["status"] == "ported"
    assert {n["activate_user"] for n in ported["phone_numbers"]} == {"system"}

    events = await order_events(client, headers, order["id"])
    assert _types(events) == [
        "porting_order.created", "porting_order.document_added",
        "porting_order.status_changed", "porting_order.status_changed",
        "porting_order.status_changed", "porting_order.numbers_confirmed",
        "porting_order.numbers_activated", "porting_order.status_changed",
    ]
    assert [e["sequence"] for e in events] == list(range(1, 9))
    assert [e["data"].get("previous_status") for e in events if "status_changed" in e["type"]
            ] == ["draft", "in-process", "submitted", "foc-date-confirmed"]
    assert events[-1]["data"]["porting_order"]["status"] == "ported"
    assert len(events[-2]["data"]["phone_numbers"]) == 2
    assert_no_pins(events, ported)


async def test_on_demand_activation(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY,
                                  on_demand_activation=True)
    early = await client.post(f"/v1/porting-orders/{order['id']}/actions/activate",
                              headers=headers)
    assert early.status_code == 409
    await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                      foc_date=datetime.now(UTC).isoformat())
    response = await client.post(f"/v1/porting-orders/{order['id']}/actions/activate",
                                 headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ported"
    assert body["phone_numbers"][0]["status"] == "activated"
    assert body["phone_numbers"][0]["activate_user"] == "customer"


async def test_operator_activates_numbers_one_batch_at_a_time(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO)
    await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                      foc_date=datetime.now(UTC).isoformat())
    url = f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions/activate"
    first = await client.post(url, json={"phone_numbers": [NY]}, headers=operator_headers)
    assert first.json()["status"] == "foc-date-confirmed"
    second = await client.post(url, json={"phone_numbers": [CHICAGO]}, headers=operator_headers)
    assert second.json()["status"] == "ported"
    again = await client.post(url, json={"phone_numbers": [CHICAGO]}, headers=operator_headers)
    assert again.status_code == 409


async def test_exception_loop_and_edit_in_exception(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY)
    url = f"/v1/operator/porting-orders/{order['id']}/status"
    no_details = await client.post(url, json={"status": "exception"}, headers=operator_headers)
    assert no_details.status_code == 422
    bad_code = await client.post(url, json={"status": "exception",
                                            "details": [{"code": "NOPE"}]},
                                 headers=operator_headers)
    assert bad_code.status_code == 422
    raised = await desk_status(client, operator_headers, order["id"], "exception", details=[
        {"code": "ACCOUNT_NUMBER_MISMATCH"}, {"code": "LOA_ILLEGIBLE"}])
    assert raised["status_details"] == [
        {"code": "ACCOUNT_NUMBER_MISMATCH",
         "description": "Account number does not match that on the CSR"},
        {"code": "LOA_ILLEGIBLE", "description": "The LOA is illegible"},
    ]
    patch = await client.patch(f"/v1/porting-orders/{order['id']}",
                               json={"port_out": {"account_number": "ACC-10"}}, headers=headers)
    assert patch.status_code == 200
    back = await desk_status(client, operator_headers, order["id"], "submitted")
    assert back["status_details"] == []
    assert back["port_out"]["account_number"] == "ACC-10"
    locked = await client.patch(f"/v1/porting-orders/{order['id']}",
                                json={"customer_reference": "x"}, headers=headers)
    assert locked.status_code == 409
    events = await order_events(client, headers, order["id"])
    updated = [e for e in events if e["type"] == "porting_order.updated"]
    assert updated[0]["data"]["changed_fields"] == ["port_out"]


async def test_split_moves_numbers_with_one_event_each(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO, TORONTO,
                                  reseller_name="Resell Co")
    response = await client.post(f"/v1/operator/porting-orders/{order['id']}/actions/split",
                                 json={"phone_numbers": [CHICAGO, TORONTO]},
                                 headers=operator_headers)
    assert response.status_code == 201, response.text
    child = response.json()
    assert child["parent_order_id"] == order["id"]
    assert child["status"] == "submitted"
    assert [n["phone_number"] for n in child["phone_numbers"]] == [CHICAGO, TORONTO]
    assert child["port_out"]["pin_set"] is True
    parent = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert [n["phone_number"] for n in parent["phone_numbers"]] == [NY]
    splits = [e for e in await order_events(client, headers, order["id"])
              if e["type"] == "porting_order.split"]
    assert [(e["data"]["from"], e["data"]["to"], e["data"]["phone_number"]) for e in splits] == [
        ({"id": order["id"]}, {"id": child["id"]}, CHICAGO),
        ({"id": order["id"]}, {"id": child["id"]}, TORONTO),
    ]
    moved = [e for e in await order_events(client, headers, subject_type=None)
             if e["type"] == "record.lnp_numbers.updated"]
    assert {e["data"]["record"]["lnp_request_id"] for e in moved} == {child["id"]}
    everything = await client.post(f"/v1/operator/porting-orders/{order['id']}/actions/split",
                                   json={"phone_numbers": [NY]}, headers=operator_headers)
    assert everything.status_code == 422


async def test_cancel_then_desk_confirms_and_number_is_free_again(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY)
    cancel = await client.post(f"/v1/porting-orders/{order['id']}/actions/cancel",
                               headers=headers)
    assert cancel.json()["status"] == "cancel-pending"
    # Seed 000: while cancel-pending, the numbers cannot go on a new order.
    held = await client.post("/v1/porting-orders", json={"phone_numbers": [NY]},
                             headers=headers)
    assert held.status_code == 409
    assert order["id"] in held.json()["detail"]
    done = await desk_status(client, operator_headers, order["id"], "cancelled")
    assert done["phone_numbers"][0]["status"] == "canceled"
    again = await client.post("/v1/porting-orders", json={"phone_numbers": [NY]},
                              headers=headers)
    assert again.status_code == 201


async def test_draft_deleted_after_30_days_untouched(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    settings: Settings, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    old = await create_order(client, headers, NY)
    clock.advance(timedelta(days=20))
    # Dated from the shifted clock: a desired port date may not be in the past.
    in_five_days = (clock.now() + timedelta(days=5)).date().isoformat()
    touched = await create_order(client, headers, CHICAGO, desired_port_date=in_five_days)
    clock.advance(timedelta(days=10, seconds=1))
    await run_due(database, settings, clock)
    gone = await client.get(f"/v1/porting-orders/{old['id']}", headers=headers)
    assert gone.status_code == 404
    kept = await client.get(f"/v1/porting-orders/{touched['id']}", headers=headers)
    assert kept.status_code == 200
    events = await order_events(client, headers, old["id"])
    assert _types(events) == ["porting_order.created", "porting_order.deleted"]
    assert events[-1]["data"]["deleted_at"].endswith("Z")
    records = [e["type"] for e in await order_events(client, headers, subject_type=None)
               if e["type"].startswith("record.")]
    assert "record.lnp_requests.deleted" in records
    assert "record.lnp_numbers.deleted" in records
    reuse = await client.post("/v1/porting-orders", json={"phone_numbers": [NY]},
                              headers=headers)
    assert reuse.status_code == 201


async def test_customer_deletes_draft_only(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    draft = await create_order(client, headers, NY)
    assert (await client.delete(f"/v1/porting-orders/{draft['id']}",
                                headers=headers)).status_code == 204
    assert (await client.delete(f"/v1/porting-orders/{draft['id']}",
                                headers=headers)).status_code == 404
    listed = (await client.get("/v1/porting-orders", headers=headers)).json()
    assert listed["data"] == []
    live = await submitted_order(client, headers, operator_headers, CHICAGO)
    refused = await client.delete(f"/v1/porting-orders/{live['id']}", headers=headers)
    assert refused.status_code == 409
    assert "submitted" in refused.json()["detail"]


async def test_messaging_and_comments(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY, messaging={"enable_messaging": True})
    assert order["messaging"]["messaging_port_status"] == "pending"
    url = f"/v1/operator/porting-orders/{order['id']}/messaging"
    response = await client.post(url, json={"messaging_port_status": "exception"},
                                 headers=operator_headers)
    assert response.json()["messaging"]["messaging_port_status"] == "exception"
    note = await client.post(f"/v1/operator/porting-orders/{order['id']}/comments",
                             json={"body": "Need a new LOA"}, headers=operator_headers)
    assert note.status_code == 201
    assert note.json()["user_type"] == "admin" and note.json()["user_id"] is None
    reply = await client.post(f"/v1/porting-orders/{order['id']}/comments",
                              json={"body": "Attached"}, headers=headers)
    assert reply.json()["user_type"] == "user"
    comments = (await client.get(f"/v1/porting-orders/{order['id']}/comments",
                                 headers=headers)).json()["data"]
    assert [c["body"] for c in comments] == ["Need a new LOA", "Attached"]
    events = await order_events(client, headers, order["id"])
    assert _types(events)[1:] == ["porting_order.messaging_changed",
                                  "porting_order.new_comment", "porting_order.new_comment"]
    assert events[1]["data"]["previous_messaging_port_status"] == "pending"
    assert events[2]["data"]["comment"]["body"] == "Need a new LOA"


async def test_customer_resubmits_an_exception_once_its_fields_are_fixed(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY)
    url = f"/v1/porting-orders/{order['id']}"
    early = await client.post(f"{url}/actions/resubmit", headers=headers)
    assert early.status_code == 409  # submitted, not in exception
    assert early.json()["current_status"] == "submitted"
    await desk_status(client, operator_headers, order["id"], "exception", details=[
        {"code": "ACCOUNT_NUMBER_MISMATCH"}, {"code": "LOA_ILLEGIBLE"},
        {"code": "OSP_IRRESPONSIVE"}])

    unchanged = await client.post(f"{url}/actions/resubmit", headers=headers)
    assert unchanged.status_code == 422
    assert unchanged.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in unchanged.json()["errors"]} == {
        "port_out.account_number", "documents.loa"}

    # A change elsewhere does not fix the account number.
    await client.patch(url, json={"customer_reference": "ref-2"}, headers=headers)
    await client.patch(url, json={"port_out": {"account_number": "ACC-10"}}, headers=headers)
    half = await client.post(f"{url}/actions/resubmit", headers=headers)
    assert half.status_code == 422
    assert [e["field"] for e in half.json()["errors"]] == ["documents.loa"]

    assert (await upload(client, headers, order["id"])).status_code == 201
    done = await client.post(f"{url}/actions/resubmit", headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "submitted"
    assert done.json()["status_details"] == []
    again = await client.post(f"{url}/actions/resubmit", headers=headers)
    assert again.status_code == 409

    events = await order_events(client, headers, order["id"])
    last = events[-1]
    assert last["type"] == "porting_order.status_changed"
    assert last["data"]["previous_status"] == "exception"
    assert last["data"]["porting_order"]["status"] == "submitted"
    assert_no_pins(events)
    # The desk takes it up as any submitted order: the FOC can be confirmed.
    await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                      foc_date=(datetime.now(UTC) + timedelta(days=6)).isoformat())


async def test_resubmit_is_the_customers_own(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    _, other = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY)
    await desk_status(client, operator_headers, order["id"], "exception",
                      details=[{"code": "OSP_IRRESPONSIVE"}])
    url = f"/v1/porting-orders/{order['id']}/actions/resubmit"
    assert (await client.post(url, headers=other)).status_code == 404
    # A code the desk resolves asks no field of the customer.
    assert (await client.post(url, headers=headers)).status_code == 200
