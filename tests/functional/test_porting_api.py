"""The porting API's edges: tenancy, refusals, documents, defaults, checks."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import httpx

from porthook.config import Settings
from porthook.delivery.formats import sinch
from tests.conftest import AccountFactory
from tests.porting_helpers import (
    CHICAGO,
    NY,
    PDF,
    PNG,
    TORONTO,
    assert_no_pins,
    create_order,
    desk_status,
    order_events,
    submitted_order,
    upload,
)


async def test_other_accounts_orders_answer_404(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, mine = await make_account("Mine")
    _, theirs = await make_account("Theirs")
    order = await create_order(client, theirs, NY)
    base = f"/v1/porting-orders/{order['id']}"
    for method, path, kwargs in [
        ("GET", base, {}),
        ("PATCH", base, {"json": {"customer_reference": "x"}}),
        ("DELETE", base, {}),
        ("POST", f"{base}/actions/submit", {}),
        ("POST", f"{base}/actions/cancel", {}),
        ("POST", f"{base}/actions/activate", {}),
        ("GET", f"{base}/comments", {}),
        ("POST", f"{base}/comments", {"json": {"body": "hi"}}),
        ("GET", f"{base}/documents", {}),
    ]:
        response = await client.request(method, path, headers=mine, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await upload(client, mine, order["id"])).status_code == 404
    assert (await client.get("/v1/porting-orders", headers=mine)).json()["data"] == []
    # The number is held by another tenant's order: refused without naming it.
    held = await client.post("/v1/porting-orders", json={"phone_numbers": [NY]}, headers=mine)
    assert held.status_code == 409
    assert order["id"] not in held.text
    check = await client.post("/v1/portability-checks", json={"phone_numbers": [NY]},
                              headers=mine)
    assert check.json()["data"][0]["portable"] is False
    assert order["id"] not in check.text


async def test_illegal_moves_name_the_status_and_allowed_moves(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    response = await client.post(f"/v1/operator/porting-orders/{order['id']}/status",
                                 json={"status": "foc-date-confirmed",
                                       "foc_date": datetime.now(UTC).isoformat()},
                                 headers=operator_headers)
    assert response.status_code == 409
    body = response.json()
    assert "status draft" in body["detail"]
    assert "submit -> in-process" in body["detail"] and "delete -> deleted" in body["detail"]
    assert body["current_status"] == "draft"
    assert body["allowed_actions"] == ["submit", "cancel", "delete"]
    ported = await client.post(f"/v1/operator/porting-orders/{order['id']}/status",
                               json={"status": "ported"}, headers=operator_headers)
    assert ported.status_code == 409
    assert "not to ported" in ported.json()["detail"]
    nonsense = await client.post(f"/v1/operator/porting-orders/{order['id']}/status",
                                 json={"status": "banana"}, headers=operator_headers)
    assert nonsense.status_code == 422
    # A refused move leaves no trace: one event (created) and nothing else.
    assert len(await order_events(client, headers, order["id"])) == 1


async def test_submit_lists_every_missing_field(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/porting-orders",
                                 json={"phone_numbers": [TORONTO]}, headers=headers)
    order = response.json()
    submit = await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                               headers=headers)
    assert submit.status_code == 422
    fields = [e["field"] for e in submit.json()["errors"]]
    assert fields == [
        "desired_port_date", "end_user.location_type", "end_user.authorized_person",
        "end_user.business_name", "end_user.service_address.line1",
        "end_user.service_address.city", "end_user.service_address.state",
        "end_user.service_address.zip", "port_out.losing_carrier", "port_out.account_number",
        "port_out.btn", "reseller_name", "documents.loa",
    ]
    still = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert still["status"] == "draft"


async def test_bad_numbers_are_all_named(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/porting-orders", json={
        "phone_numbers": [NY, "12", "+442079460000", NY]}, headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "phone_numbers[1]", "phone_numbers[2]", "phone_numbers[3]"]


async def test_pins_are_write_only(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY,
                                  port_out={"losing_carrier": "Old", "account_number": "A",
                                            "btn": NY, "pin": "s3cr3t-pin",
                                            "wireless_number": True,
                                            "wireless_pin": "w1r3l3ss-pin"})
    assert order["port_out"]["pin_set"] is True
    assert order["port_out"]["wireless_pin_set"] is True
    answers = [
        order,
        (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json(),
        (await client.get("/v1/porting-orders", headers=headers)).json(),
        (await client.get(f"/v1/operator/porting-orders/{order['id']}",
                          headers=operator_headers)).json(),
        await order_events(client, headers, subject_type=None),
    ]
    assert_no_pins(*answers)


async def test_unknown_fields_are_refused(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    create = await client.post("/v1/porting-orders",
                               json={"phone_numbers": [NY], "colour": "red"}, headers=headers)
    assert create.status_code == 422
    assert create.json()["errors"][0]["field"] == "body.colour"
    nested = await client.post("/v1/porting-orders", json={
        "phone_numbers": [NY], "end_user": {"service_address": {"planet": "Mars"}}},
        headers=headers)
    assert nested.json()["errors"][0]["field"] == "body.end_user.service_address.planet"
    order = await create_order(client, headers, NY)
    for path, body in [
        (f"/v1/porting-orders/{order['id']}", {"status": "ported"}),
        (f"/v1/operator/porting-orders/{order['id']}/status", {"status": "submitted", "x": 1}),
        (f"/v1/operator/porting-orders/{order['id']}/actions/split",
         {"phone_numbers": [NY], "y": 2}),
        ("/v1/porting-defaults", {"webhook_format": "standard", "z": 3}),
    ]:
        method = "PATCH" if path.endswith(order["id"]) else (
            "PUT" if "defaults" in path else "POST")
        auth = operator_headers if "operator" in path else headers
        response = await client.request(method, path, json=body, headers=auth)
        assert response.status_code == 422, (path, response.text)


async def test_documents_checked_by_magic_and_size(
    client: httpx.AsyncClient, make_account: AccountFactory, settings: Settings,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    png = await upload(client, headers, order["id"], content=PNG, document_type="invoice")
    assert png.status_code == 201
    assert png.json()["content_type"] == "image/png"
    fake = await upload(client, headers, order["id"], content=b"MZ\x90\x00not a pdf")
    assert fake.status_code == 415
    settings.document_max_bytes = 64
    big = await upload(client, headers, order["id"], content=PDF + b"x" * 100)
    assert big.status_code == 413
    bad_type = await upload(client, headers, order["id"], document_type="selfie")
    assert bad_type.status_code == 422
    listed = (await client.get(f"/v1/porting-orders/{order['id']}/documents",
                               headers=headers)).json()["data"]
    assert [d["document_type"] for d in listed] == ["invoice"]
    content = await client.get(
        f"/v1/porting-orders/{order['id']}/documents/{listed[0]['id']}/content",
        headers=headers)
    assert content.content == PNG
    assert content.headers["content-type"] == "image/png"
    assert listed[0]["sha256"] == hashlib.sha256(PNG).hexdigest()


async def test_portability_checks(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    response = await client.post("/v1/portability-checks", json={
        "phone_numbers": [NY, CHICAGO, "+442079460000", "junk"]}, headers=headers)
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [r["portable"] for r in rows] == [False, True, False, False]
    assert rows[0]["reason"] == f"already on open porting order {order['id']}"
    assert rows[1]["country_code"] == "US"
    assert rows[2]["reason"].startswith("not North American")
    assert rows[3]["reason"].startswith("invalid")


async def test_porting_defaults_round_trip(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    account_id, headers = await make_account()
    empty = (await client.get("/v1/porting-defaults", headers=headers)).json()
    assert empty["webhook_format"] == "standard" and empty["default_port_time"] is None
    body = {"default_port_time": "10:30:00", "default_port_time_zone": "US/Pacific",
            "contact_email": "lnp@acme-telecom.com", "webhook_url": "https://hooks.acme.test/lnp",
            "webhook_format": "sinch"}
    put = await client.put("/v1/porting-defaults", json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json() == {**body, "account_id": str(account_id)}
    bad = await client.put("/v1/porting-defaults", json={"webhook_url": "ftp://x"},
                           headers=headers)
    assert bad.status_code == 422
    bad_format = await client.put("/v1/porting-defaults", json={"webhook_format": "xml"},
                                  headers=headers)
    assert bad_format.status_code == 422


async def test_exception_types_catalogue(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    for auth in (headers, operator_headers):
        types = (await client.get("/v1/porting-exception-types", headers=auth)).json()
        codes = {t["code"] for t in types}
        assert {"ACCOUNT_NUMBER_MISMATCH", "SV_UNKNOWN_FAILURE", "LOA_ILLEGIBLE"} <= codes
        assert len(types) == 22 and all(t["description"] for t in types)


async def test_list_filters_and_cursor(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    account_id, headers = await make_account()
    _, other = await make_account("Other")
    first = await create_order(client, headers, NY, customer_reference="a")
    second = await create_order(client, headers, CHICAGO, customer_reference="b")
    await create_order(client, other, TORONTO)
    page = (await client.get("/v1/porting-orders?limit=1", headers=headers)).json()
    assert [o["id"] for o in page["data"]] == [first["id"]]
    rest = (await client.get(f"/v1/porting-orders?limit=1&cursor={page['next_cursor']}",
                             headers=headers)).json()
    assert [o["id"] for o in rest["data"]] == [second["id"]] and rest["next_cursor"] is None
    by_ref = (await client.get("/v1/porting-orders?customer_reference=b",
                               headers=headers)).json()
    assert [o["id"] for o in by_ref["data"]] == [second["id"]]
    by_number = (await client.get("/v1/porting-orders", params={"phone_number": NY},
                                  headers=headers)).json()
    assert [o["id"] for o in by_number["data"]] == [first["id"]]
    assert (await client.get("/v1/porting-orders?status=submitted",
                             headers=headers)).json()["data"] == []
    everyone = (await client.get("/v1/operator/porting-orders",
                                 headers=operator_headers)).json()
    assert len(everyone["data"]) == 3
    mine = (await client.get(f"/v1/operator/porting-orders?account_id={account_id}",
                             headers=operator_headers)).json()
    assert len(mine["data"]) == 2
    customer_on_desk = await client.get("/v1/operator/porting-orders", headers=headers)
    assert customer_on_desk.status_code == 403


async def test_number_moves_by_the_desk(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO, TORONTO,
                                  reseller_name="R")
    base = f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions"
    no_reason = await client.post(f"{base}/reject", json={"phone_numbers": [NY]},
                                  headers=operator_headers)
    assert no_reason.status_code == 422
    stranger = await client.post(f"{base}/confirm", json={"phone_numbers": ["+13125550199"]},
                                 headers=operator_headers)
    assert stranger.status_code == 422
    rejected = await client.post(f"{base}/reject", json={"phone_numbers": [NY],
                                                         "reason": "not portable"},
                                 headers=operator_headers)
    assert rejected.json()["phone_numbers"][0]["reject_reason"] == "not portable"
    # Dated as it leaves the order (seed 000: a rejected number carries the date)
    assert rejected.json()["phone_numbers"][0]["exclusion_time"] is not None
    excluded = await client.post(f"{base}/exclude", json={"phone_numbers": [TORONTO],
                                                         "reason": "customer keeps it"},
                                 headers=operator_headers)
    assert excluded.json()["phone_numbers"][2]["exclusion_time"] is not None
    foc = "2031-02-03T15:00:00Z"
    confirmed = await client.post(f"{base}/confirm", json={"phone_numbers": [CHICAGO],
                                                          "foc_date": foc},
                                  headers=operator_headers)
    assert confirmed.json()["phone_numbers"][1]["foc_date"] == foc
    again = await client.post(f"{base}/exclude", json={"phone_numbers": [TORONTO],
                                                      "reason": "x"}, headers=operator_headers)
    assert again.status_code == 409
    types = [e["type"] for e in await order_events(client, headers, order["id"])][-3:]
    assert types == ["porting_order.numbers_rejected", "porting_order.updated",
                     "porting_order.numbers_confirmed"]
    # The excluded number left the order: it may go on another one.
    other = await client.post("/v1/porting-orders", json={"phone_numbers": [TORONTO]},
                              headers=headers)
    assert other.status_code == 201
    await desk_status(client, operator_headers, order["id"], "foc-date-confirmed",
                      foc_date=foc)


async def test_unknown_status_filter_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    response = await client.get("/v1/porting-orders?status=finished", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.status"


async def test_documents_keep_random_ids_and_distinct_seed_numbers(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    """Rows get time-ordered ids, documents random ones: seed 000's numeric
    document id is the UUID's top 53 bits, a UUIDv7's millisecond."""
    _, headers = await make_account()
    order = await create_order(client, headers, NY)
    uploads = [await upload(client, headers, order["id"]) for _ in range(3)]
    ids = [uuid.UUID(response.json()["id"]) for response in uploads]
    assert {made.version for made in ids} == {4}
    assert len({sinch.document_number(str(made)) for made in ids}) == 3
    assert uuid.UUID(order["id"]).version == 7
