"""Dashboard pages through HTTP on both backends: the desk's actions and their
refusals, the portal's forms, and the webhook endpoint pages."""

from __future__ import annotations

import re

import httpx

from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.sinks import Sink
from tests.functional.test_ui_signin import rows, sign_in
from tests.porting_helpers import NY, PDF, create_order, order_body, order_events, upload


def _key(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_the_desk_moves_an_order_and_says_why_a_move_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account("Acme")
    order = await create_order(client, headers)
    assert (await upload(client, headers, order["id"])).status_code == 201
    submitted = await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                                  headers=headers)
    assert submitted.status_code == 200
    _, csrf = await sign_in(client, _key(operator_headers))
    queue = await client.get("/ui/desk?view=needs-action")
    assert order["support_key"] in queue.text and "Acme" in queue.text
    page = f"/ui/desk/orders/{order['id']}"

    # An exception without a code: 422 on the page, nothing changed.
    await client.post(f"{page}/status", data={"csrf_token": csrf, "status": "submitted"})
    refused = await client.post(f"{page}/status",
                                data={"csrf_token": csrf, "status": "exception"})
    assert refused.status_code == 422 and "an exception needs details" in refused.text
    moved = await client.post(f"{page}/status", data={
        "csrf_token": csrf, "status": "exception", "code": "PASSCODE_PIN_INVALID"})
    assert moved.status_code == 303
    assert "The port-out passcode or PIN is invalid" in (await client.get(page)).text
    # A move the state machine refuses: 409 with the allowed moves.
    illegal = await client.post(f"{page}/status", data={
        "csrf_token": csrf, "status": "foc-date-confirmed", "foc_date": "2026-12-01"})
    assert illegal.status_code == 409 and "allowed moves" in illegal.text
    rejected = await client.post(f"{page}/numbers", data={
        "csrf_token": csrf, "action": "reject", "phone_numbers": NY})
    assert rejected.status_code == 422 and "reason is required" in rejected.text
    rejected = await client.post(f"{page}/numbers", data={
        "csrf_token": csrf, "action": "reject", "phone_numbers": NY, "reason": "not on CSR"})
    assert rejected.status_code == 303
    api = await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)
    assert api.json()["phone_numbers"][0]["reject_reason"] == "not on CSR"
    document = api.json()["documents"][0]["id"]
    viewed = await client.get(f"{page}/documents/{document}")
    assert viewed.content == PDF and viewed.headers["content-disposition"].startswith("inline")
    downloaded = await client.get(f"{page}/documents/{document}?download=true")
    assert downloaded.content == PDF
    assert downloaded.headers["content-disposition"].startswith("attachment")
    # A confirm with the numbers' own FOC, given in the form's zone.
    confirmed = await client.post(f"{page}/numbers", data={
        "csrf_token": csrf, "action": "confirm", "phone_numbers": NY,
        "number_foc_date": "2030-03-04", "number_foc_time": "10:30",
        "number_foc_zone": "US/Central"})
    assert confirmed.status_code == 303
    number = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)
              ).json()["phone_numbers"][0]
    assert number["status"] == "confirmed"
    assert number["foc_date"].startswith("2030-03-04T16:30")  # 10:30 CST is 16:30 UTC


async def test_the_portal_creates_an_order_with_its_loa_and_refuses_bad_fields(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, _key(headers))
    body = order_body(NY)
    fields = {"csrf_token": csrf, "phone_numbers": f"{NY}\n", "customer_reference": "web-1",
              "desired_port_date": body["desired_port_date"],
              "end_user.business_name": "Acme Inc", "end_user.location_type": "business",
              "end_user.authorized_person": "Ann Smith", "address.line1": "1 Main St",
              "address.city": "New York", "address.state": "NY", "address.zip": "10001",
              "port_out.losing_carrier": "OldTel", "port_out.account_number": "A-1",
              "port_out.btn": NY, "port_out.pin": "1234"}
    bad = await client.post("/ui/portal/orders", data={**fields, "desired_port_date": "soon"},
                            files={"loa": ("loa.pdf", PDF, "application/pdf")})
    assert bad.status_code == 422 and "desired_port_date" in bad.text
    assert 'value="web-1"' in bad.text  # what was typed is kept
    assert await rows(database, "porting_orders") == 0
    created = await client.post("/ui/portal/orders", data=fields,
                                files={"loa": ("loa.pdf", PDF, "application/pdf")})
    assert created.status_code == 303
    order_page = created.headers["location"].split("?")[0]
    submitted = await client.post(f"{order_page}/actions/submit", data={"csrf_token": csrf})
    assert submitted.status_code == 303
    listed = (await client.get("/v1/porting-orders", headers=headers)).json()["data"]
    assert [(o["status"], o["port_out"]["pin_set"]) for o in listed] == [("in-process", True)]
    assert "1234" not in (await client.get(order_page)).text  # the PIN is write-only
    checked = await client.post("/ui/portal/portability", json={"phone_numbers": [NY, "12"]},
                                headers={"X-CSRF-Token": csrf})
    assert [r["portable"] for r in checked.json()["data"]] == [False, False]


async def test_webhook_endpoint_pages_show_the_secret_once_and_test_calls(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink,
) -> None:
    _, headers = await make_account("Mine")
    _, other = await make_account("Theirs")
    theirs = await client.post("/v1/endpoints", json={"url": sink.url("/theirs")},
                               headers=other)
    _, csrf = await sign_in(client, _key(headers))
    created = await client.post("/ui/portal/endpoints", data={
        "csrf_token": csrf, "channel": "webhook", "url": sink.url("/hook"), "format": "telnyx",
        "event_types": ["porting_order.*", "endpoint.*"]})
    assert created.status_code == 201
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.text)
    assert secret is not None
    endpoint = (await client.get("/v1/endpoints", headers=headers)).json()["data"][0]
    assert endpoint["format"] == "telnyx"
    assert endpoint["event_types"] == ["porting_order.*", "endpoint.*"]
    page = f"/ui/portal/endpoints/{endpoint['id']}"
    assert secret.group(0) not in (await client.get(page)).text  # shown once
    assert secret.group(0) not in (await client.get("/ui/portal/endpoints")).text

    tested = await client.post(f"{page}/test", data={"csrf_token": csrf})
    assert tested.status_code == 200 and "Test call: delivered" in tested.text
    assert len(sink.at("/hook")) == 1
    rotated = await client.post(f"{page}/rotate-secret", data={"csrf_token": csrf})
    new_secret = re.search(r"whsec_[A-Za-z0-9+/=]+", rotated.text)
    assert new_secret is not None and new_secret.group(0) != secret.group(0)
    recovered = await client.post(f"{page}/recover", data={
        "csrf_token": csrf, "since_date": "2026-01-01"})
    assert recovered.status_code == 200 and "0 failed or held deliveries requeued" in (
        recovered.text)

    bad = await client.post("/ui/portal/endpoints", data={
        "csrf_token": csrf, "channel": "webhook", "format": "standard"})
    assert bad.status_code == 422
    other_page = f"/ui/portal/endpoints/{theirs.json()['id']}"
    assert (await client.get(other_page)).status_code == 404
    for action in ("test", "rotate-secret", "enable"):
        answer = await client.post(f"{other_page}/{action}", data={"csrf_token": csrf})
        assert answer.status_code == 404, action
    assert sink.at("/theirs") == []


async def test_the_portal_list_counts_numbers_filters_and_shows_only_its_account(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    _, other = await make_account()
    await create_order(client, headers, NY, "+13125550102", customer_reference="two-numbers")
    await create_order(client, headers, "+13125550103", customer_reference="one-number")
    theirs = await create_order(client, other, "+13125550104", customer_reference="theirs")
    await sign_in(client, _key(headers))
    page = (await client.get("/ui/portal")).text
    counts = re.findall(r">(two-numbers|one-number)</td>.*?<td>(\d+)</td>", page, re.S)
    assert counts == [("one-number", "1"), ("two-numbers", "2")]  # newest first
    assert theirs["support_key"] not in page
    by_reference = (await client.get("/ui/portal?customer_reference=two-numbers")).text
    assert "two-numbers" in by_reference and "one-number" not in by_reference
    by_number = (await client.get("/ui/portal?phone_number=%2B13125550103")).text
    assert "one-number" in by_number and "two-numbers" not in by_number
    assert "No orders match" in (await client.get("/ui/portal?status=ported")).text


async def test_the_order_form_sets_wireless_messaging_and_clears_flags_when_unchecked(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, _key(headers))
    fields = {"csrf_token": csrf, "phone_numbers": NY, "end_user.business_contact": "Bob",
              "end_user.caller_id": "ACME", "port_out.partial_port": "on",
              "port_out.partial_port_details": "keep the fax line",
              "port_out.wireless_number": "on", "port_out.wireless_pin": "w1r3-pin",
              "messaging.enable_messaging": "on"}
    created = await client.post("/ui/portal/orders", data=fields)
    assert created.status_code == 303, created.text
    order = (await client.get("/v1/porting-orders", headers=headers)).json()["data"][0]
    assert order["end_user"]["business_contact"] == "Bob"
    assert order["end_user"]["caller_id"] == "ACME"
    assert order["port_out"]["partial_port"] is True
    assert order["port_out"]["wireless_number"] is True
    assert order["port_out"]["wireless_pin_set"] is True
    assert order["messaging"]["enable_messaging"] is True
    page = (await client.get(f"/ui/portal/orders/{order['id']}")).text
    assert "w1r3-pin" not in page and "Wireless PIN" in page
    # The edit form re-sent without the boxes checked: they are cleared.
    saved = await client.post(f"/ui/portal/orders/{order['id']}", data={
        "csrf_token": csrf, "phone_numbers": NY})
    assert saved.status_code == 303
    after = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert after["port_out"]["partial_port"] is False
    assert after["port_out"]["wireless_number"] is False
    assert after["port_out"]["wireless_pin_set"] is True  # a PIN left empty is kept
    assert after["messaging"]["enable_messaging"] is False


async def test_saving_the_fix_form_unchanged_sends_no_update_event(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    _, csrf = await sign_in(client, _key(headers))
    form = (await client.get(f"/ui/portal/orders/{order['id']}/edit")).text
    # Every field as the form shows it (the PINs are never shown: left empty).
    shown = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="(?:text|date|time)" '
                            r'value="([^"]*)"', form))
    shown["phone_numbers"] = NY
    shown["end_user.location_type"] = "business"
    assert shown["port_out.account_number"] == "ACC-9"
    saved = await client.post(f"/ui/portal/orders/{order['id']}",
                              data={"csrf_token": csrf, **shown})
    assert saved.status_code == 303
    events = await order_events(client, headers, order["id"])
    assert [e["type"] for e in events] == ["porting_order.created"]
    repinned = await client.post(f"/ui/portal/orders/{order['id']}", data={
        "csrf_token": csrf, **shown, "port_out.pin": "new-pin"})
    assert repinned.status_code == 303
    events = await order_events(client, headers, order["id"])
    assert events[-1]["type"] == "porting_order.updated"
    assert events[-1]["data"]["changed_fields"] == ["port_out"]


async def test_the_fix_forms_portability_check_does_not_count_the_orders_own_hold(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    _, other = await make_account()
    order = await create_order(client, headers, NY)
    theirs = await create_order(client, other, "+13125550109")
    _, csrf = await sign_in(client, _key(headers))
    url, csrf_header = "/ui/portal/portability", {"X-CSRF-Token": csrf}
    new = await client.post(url, json={"phone_numbers": [NY]}, headers=csrf_header)
    assert new.json()["data"][0]["portable"] is False  # for a new order: held
    own = await client.post(url, json={"phone_numbers": [NY], "order_id": order["id"]},
                            headers=csrf_header)
    assert own.json()["data"][0]["portable"] is True
    foreign = await client.post(url, json={"phone_numbers": [NY], "order_id": theirs["id"]},
                                headers=csrf_header)
    assert foreign.status_code == 404
