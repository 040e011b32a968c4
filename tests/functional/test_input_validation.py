"""Bad input through HTTP, on SQLite and PostgreSQL: each class of input that
used to answer 500 (issue 13) is a clear 4xx naming the field, and changes
nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.web import create_app
from tests.conftest import AccountFactory
from tests.porting_helpers import (
    CHICAGO,
    NY,
    PDF,
    create_order,
    order_body,
    submitted_order,
    upload,
)
from tests.records_samples import sample_record

Headers = dict[str, str]
BIG = 99999999999999999999  # beyond 64 bits


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document = dict(response.json())
    if field is not None:
        assert [e["field"] for e in document["errors"]] == [field], document
    return document


async def _record(client: httpx.AsyncClient, headers: Headers, schema: str,
                  **overrides: Any) -> dict[str, Any]:
    async def create(name: str, body: dict[str, Any]) -> int:
        response = await client.post(f"/v1/records/{name}", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    body = await sample_record(schema, create) | overrides
    response = await client.post(f"/v1/records/{schema}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


# ---- 1. datetimes without a zone ----------------------------------------------

async def test_a_naive_foc_date_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers)
    naive = "2030-01-15T10:00:00"
    status = await client.post(f"/v1/operator/porting-orders/{order['id']}/status",
                               json={"status": "foc-date-confirmed", "foc_date": naive},
                               headers=operator_headers)
    assert "UTC offset" in _problem(status, 422, "body.foc_date")["detail"]
    confirm = await client.post(
        f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions/confirm",
        json={"phone_numbers": [NY], "foc_date": naive}, headers=operator_headers)
    _problem(confirm, 422, "body.foc_date")
    after = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert after["status"] == "submitted" and after["phone_numbers"][0]["status"] == "pending"


@pytest.mark.parametrize(("order_fields", "expected"), [
    ({}, "2030-01-15T14:00:00+00:00"),  # seed 000's 09:00 US/Eastern (EST)
    ({"desired_port_time": "07:30", "desired_port_time_zone": "US/Pacific"},
     "2030-01-15T15:30:00+00:00"),  # the order's own time in its zone
])
async def test_a_plain_foc_date_is_the_orders_port_time_that_day(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
    order_fields: dict[str, Any], expected: str,
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, **order_fields)
    confirmed = await client.post(f"/v1/operator/porting-orders/{order['id']}/status",
                                  json={"status": "foc-date-confirmed",
                                        "foc_date": "2030-01-15"},
                                  headers=operator_headers)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    moment = datetime.fromisoformat(expected)
    assert datetime.fromisoformat(body["foc_date"]) == moment
    assert datetime.fromisoformat(body["phone_numbers"][0]["foc_date"]) == moment


async def test_per_number_confirm_takes_a_plain_date_and_an_offset(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
) -> None:
    _, headers = await make_account()
    order = await submitted_order(client, headers, operator_headers, NY, CHICAGO)
    url = f"/v1/operator/porting-orders/{order['id']}/phone-numbers/actions/confirm"
    first = await client.post(url, json={"phone_numbers": [NY], "foc_date": "2030-01-15"},
                              headers=operator_headers)
    second = await client.post(url, json={"phone_numbers": [CHICAGO],
                                          "foc_date": "2030-01-16T09:00:00-06:00"},
                               headers=operator_headers)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    numbers = {n["phone_number"]: n["foc_date"] for n in second.json()["phone_numbers"]}
    assert datetime.fromisoformat(numbers[NY]) == datetime(2030, 1, 15, 14, tzinfo=UTC)
    assert datetime.fromisoformat(numbers[CHICAGO]) == datetime(2030, 1, 16, 15, tzinfo=UTC)


async def test_other_naive_times_are_refused(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    events = await client.get("/v1/events", params={"occurred_after": "2030-01-15T10:00:00"},
                              headers=headers)
    _problem(events, 422, "query.occurred_after")
    with_offset = await client.post("/v1/porting-orders", headers=headers,
                                    json=order_body(desired_port_time="10:00:00Z"))
    _problem(with_offset, 422, "body.desired_port_time")
    defaults = await client.put("/v1/porting-defaults", json={"default_port_time": "09:00+01:00"},
                                headers=headers)
    _problem(defaults, 422, "body.default_port_time")


# ---- 2. cursors ----------------------------------------------------------------

ACCOUNT_LISTS = ("/v1/porting-orders", "/v1/events", "/v1/endpoints", "/v1/notification-profiles",
                 "/v1/records/dids", "/v1/records/call_flows", "/v1/records/lnp_requests",
                 "/v1/records/lnp_numbers")
OPERATOR_LISTS = ("/v1/operator/porting-orders", "/v1/operator/events")


async def test_a_cursor_porthook_did_not_issue_is_422_on_every_list(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: Headers,
) -> None:
    _, headers = await make_account()
    routes = [(r, headers) for r in ACCOUNT_LISTS] + [(r, operator_headers)
                                                      for r in OPERATOR_LISTS]
    for route, who in routes:
        # W10 is [], e30 {}, eyJhIjoxfQ {"a":1}, IiI ""; NQ (5) is a position
        # cursor where lists page by number, and refused where they page by id.
        numbered = route.endswith(("porting-orders", "events", "dids", "call_flows",
                                   "lnp_requests"))
        for cursor in ("W10", "e30", "eyJhIjoxfQ", "IiI", "%%%", *(() if numbered else ("NQ",))):
            response = await client.get(route, params={"cursor": cursor}, headers=who)
            assert response.status_code == 422, (route, cursor, response.text)
            assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


# ---- 3. integers beyond 64 bits --------------------------------------------------

async def test_ids_beyond_64_bits_are_404_in_paths_and_422_elsewhere(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    for path in (f"/v1/records/dids/{BIG}", f"/v1/records/dids/-{BIG}",
                 f"/v1/records/call_flows/{BIG}"):
        _problem(await client.get(path, headers=headers), 404)
        _problem(await client.patch(path, json={}, headers=headers), 404)
        _problem(await client.delete(path, headers=headers), 404)
    _problem(await client.post(f"/v1/records/dids/{BIG}/actions/enable-sms", headers=headers),
             404)
    query = await client.get("/v1/records/dids", params={"call_flow_id": str(BIG)},
                             headers=headers)
    _problem(query, 422, "query.call_flow_id")
    body = await client.post("/v1/records/did_notes", json={"did_id": BIG, "note": "x"},
                             headers=headers)
    _problem(body, 422, "body.did_id")
    subscription = await client.post("/v1/records/subscriptions", headers=headers, json={
        "product_type": "did", "product_id": BIG, "bill_day_of_month": 1})
    _problem(subscription, 422, "body.product_id")


# ---- 4. URLs -----------------------------------------------------------------------

UNSENDABLE = (
    "http://a..b/",  # the IDNA codec refuses an empty label
    "http://" + "a" * 64 + ".example.com/",  # a label over 63 characters
    "http://example.com:99999/",  # no such port
    "http://xn--/",  # a bare ACE prefix
    "http://127.0.0.1:1\\@example.com/",  # checked as one host, read as another
    "",  # empty: not a URL (null means none)
)


async def test_unsendable_urls_are_refused_on_all_five_fields(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    endpoint = await client.post("/v1/endpoints", json={"url": "http://93.184.215.14/hook"},
                                 headers=headers)
    order = await create_order(client, headers)
    writes = (
        ("post", "/v1/endpoints", "url", {}),
        ("patch", f"/v1/endpoints/{endpoint.json()['id']}", "url", {}),
        ("post", "/v1/porting-orders", "webhook_url", order_body(CHICAGO)),
        ("patch", f"/v1/porting-orders/{order['id']}", "webhook_url", {}),
        ("put", "/v1/porting-defaults", "webhook_url", {}),
    )
    for method, path, field, body in writes:
        for url in UNSENDABLE:
            response = await client.request(method, path, json=body | {field: url},
                                            headers=headers)
            message = _problem(response, 422, f"body.{field}")["errors"][0]["message"]
            assert "expected an absolute http:// or https:// URL" in message, (path, url)
    stored = (await client.get(f"/v1/porting-orders/{order['id']}", headers=headers)).json()
    assert stored["webhook_url"] is None


async def test_webhook_url_null_clears_it(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers, webhook_url="http://93.184.215.14/porting")
    cleared = await client.patch(f"/v1/porting-orders/{order['id']}",
                                 json={"webhook_url": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["webhook_url"] is None


# ---- 5. records carry the porting order's limits ------------------------------------

async def test_lnp_request_strings_have_the_orders_limits(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/records/lnp_requests", headers=headers,
                                 json={"numbers": [NY], "business_name": "x" * 201})
    _problem(response, 422, "body.business_name")
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    name = schemas["LnpRequestCreate"]["properties"]["business_name"]["anyOf"][0]
    assert name["maxLength"] == 200


# ---- 6, 7. free-form JSON, NUL, NaN ------------------------------------------------

async def test_free_form_json_is_bounded_in_depth(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    deep: Any = {}
    for _ in range(300):
        deep = {"next": deep}
    response = await client.post("/v1/records/call_flows", headers=headers,
                                 json={"flow_name": "deep", "flow_data": deep})
    assert "deeper than 32" in _problem(response, 422)["errors"][0]["message"]
    assert (await client.get("/v1/records/call_flows", headers=headers)).json()["data"] == []


@pytest.mark.parametrize(("raw", "field", "why"), [
    ('{"flow_name": "f", "flow_data": {"gain": NaN}}', "body", "NaN"),  # SQLite stored it
    ('{"flow_name": "f", "flow_data": {"gain": Infinity}}', "body", "Infinity"),
    ('{"flow_name": "f\\u0000", "flow_data": {}}', "body.flow_name", "NUL"),  # jsonb/text
    ('{"flow_name": "f", "flow_data": {"k\\u0000": 1}}', "body.flow_data.k\x00", "NUL"),
])
async def test_nan_and_nul_are_refused_on_both_backends(
    client: httpx.AsyncClient, make_account: AccountFactory, raw: str, field: str, why: str,
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/records/call_flows", content=raw.encode(),
                                 headers=headers | {"Content-Type": "application/json"})
    assert why in _problem(response, 422, field)["detail"]
    assert (await client.get("/v1/records/call_flows", headers=headers)).json()["data"] == []


async def test_nul_in_a_comment_or_a_query_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers)
    comment = await client.post(f"/v1/porting-orders/{order['id']}/comments",
                                json={"body": "hello\x00world"}, headers=headers)
    _problem(comment, 422, "body.body")
    query = await client.get("/v1/porting-orders", params={"customer_reference": "a\x00"},
                             headers=headers)
    _problem(query, 422, "query.customer_reference")
    stored = (await client.get(f"/v1/porting-orders/{order['id']}/comments",
                               headers=headers)).json()
    assert stored["data"] == []
    # Written by hand: httpx would percent-encode the NUL of the file name.
    multipart = (b'--B\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nloa\r\n'
                 b'--B\r\nContent-Disposition: form-data; name="file"; filename="lo\x00a.pdf"'
                 b"\r\nContent-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--B--\r\n")
    document = await client.post(
        f"/v1/porting-orders/{order['id']}/documents", content=multipart,
        headers=headers | {"Content-Type": "multipart/form-data; boundary=B"})
    _problem(document, 422, "file")


# ---- 8. body size ---------------------------------------------------------------------

@pytest.fixture
async def small_client(
    settings: Settings, database: Database, clock: ShiftableClock,
) -> AsyncIterator[httpx.AsyncClient]:
    """porthook with a 4 KiB body limit (PORTHOOK_MAX_BODY_BYTES), 32 KB documents."""
    limits = {"max_body_bytes": 4096, "document_max_bytes": 32_000}
    app = create_app(settings.model_copy(update=limits), clock=clock, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as client:
        yield client


async def test_a_body_over_the_limit_is_413_before_it_is_read(
    small_client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    declared = await small_client.post("/v1/records/call_flows", headers=headers,
                                       json={"flow_name": "big", "flow_data": {"x": "y" * 5000}})
    assert "4096 bytes" in _problem(declared, 413)["detail"]
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"flow_name": "big", "flow_data": {"x": "'
        for _ in range(1000):  # 1 MB if read in full
            sent += 1
            yield b"y" * 1000
        yield b'"}}'

    streamed = await small_client.post("/v1/records/call_flows", content=chunks(),
                                       headers=headers | {"Content-Type": "application/json"})
    _problem(streamed, 413)
    assert sent < 10  # refused after the limit, not after the whole body
    fits = await small_client.post("/v1/records/call_flows", headers=headers,
                                   json={"flow_name": "small", "flow_data": {"x": "y"}})
    assert fits.status_code == 201, fits.text


async def test_uploads_keep_their_own_limit(
    small_client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(small_client, headers)
    document = await upload(small_client, headers, order["id"], PDF + b"0" * 20_000)
    assert document.status_code == 201, document.text
    declared = await upload(small_client, headers, order["id"], PDF + b"0" * 200_000)
    _problem(declared, 413)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (b'--B\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nloa\r\n'
               b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
               b"Content-Type: application/pdf\r\n\r\n" + PDF)
        for _ in range(1000):  # 10 MB if read in full
            sent += 1
            yield b"0" * 10_000
        yield b"\r\n--B--\r\n"

    streamed = await small_client.post(
        f"/v1/porting-orders/{order['id']}/documents", content=chunks(),
        headers=headers | {"Content-Type": "multipart/form-data; boundary=B"})
    _problem(streamed, 413)
    assert sent < 20
    listed = await small_client.get(f"/v1/porting-orders/{order['id']}/documents",
                                    headers=headers)
    assert len(listed.json()["data"]) == 1


# ---- 9. what a new user met --------------------------------------------------------------

async def test_a_past_desired_port_date_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    past = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    created = await client.post("/v1/porting-orders", json=order_body(desired_port_date=past),
                                headers=headers)
    assert "in the past" in _problem(created, 422, "desired_port_date")["detail"]
    order = await create_order(client, headers)
    patched = await client.patch(f"/v1/porting-orders/{order['id']}",
                                 json={"desired_port_date": past}, headers=headers)
    _problem(patched, 422, "desired_port_date")
    assert (await upload(client, headers, order["id"])).status_code == 201
    clock.advance(timedelta(days=10))  # the order's date (5 days ahead) has passed
    submitted = await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                                  headers=headers)
    assert "in the past" in _problem(submitted, 422, "desired_port_date")["detail"]


async def test_a_number_already_active_in_the_account_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    did = await _record(client, headers, "dids", number="2125550101")
    refused = await client.post("/v1/porting-orders", json=order_body(NY), headers=headers)
    assert f"DID {did['id']}" in _problem(refused, 409)["detail"]
    order = await create_order(client, headers, CHICAGO)
    patched = await client.patch(f"/v1/porting-orders/{order['id']}",
                                 json={"phone_numbers": [CHICAGO, NY]}, headers=headers)
    _problem(patched, 409)
    check = await client.post("/v1/portability-checks", json={"phone_numbers": [NY, CHICAGO]},
                              headers=headers)
    results = {r["phone_number"]: r for r in check.json()["data"]}
    assert results[NY]["portable"] is False and "already active" in results[NY]["reason"]
    _, other = await make_account("Other")
    assert (await client.post("/v1/porting-orders", json=order_body(NY),
                              headers=other)).status_code == 201


async def test_error_texts_say_what_was_expected(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    raw = json.dumps(order_body()).encode()
    untyped = await client.post("/v1/porting-orders", content=raw, headers=headers)
    assert "Content-Type: application/json" in _problem(untyped, 415)["detail"]
    broken = await client.post("/v1/porting-orders", content=b'{"phone_numbers": [1,}',
                               headers=headers | {"Content-Type": "application/json"})
    assert "Expecting value at line 1 column 22" in _problem(broken, 422, "body")["detail"]
    basic = await client.get("/v1/porting-orders", headers={"Authorization": "Basic dTpw"})
    assert "not a Bearer key" in _problem(basic, 401)["detail"]
    number = await client.post("/v1/porting-orders", json=order_body(desired_port_date=5),
                               headers=headers)
    message = _problem(number, 422, "body.desired_port_date")["errors"][0]["message"]
    assert message == "expected a date YYYY-MM-DD, e.g. 2030-01-15"
    assert (await client.get("/v1/porting-orders", headers=headers)).json()["data"] == []


async def test_a_subscription_names_a_product_of_the_account(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    _, other = await make_account("Other")
    theirs = await _record(client, other, "dids", number="3125550177")
    mine = await _record(client, headers, "dids", number="3125550178")
    body = {"product_type": "did", "bill_day_of_month": 1}
    for product_id in (theirs["id"], 4242):
        refused = await client.post("/v1/records/subscriptions", headers=headers,
                                    json=body | {"product_id": product_id})
        assert "dids record" in _problem(refused, 404)["detail"]
    created = await client.post("/v1/records/subscriptions", headers=headers,
                                json=body | {"product_id": mine["id"]})
    assert created.status_code == 201, created.text
    retyped = await client.patch(f"/v1/records/subscriptions/{created.json()['id']}",
                                 json={"product_type": "fax"}, headers=headers)
    assert "faxes record" in _problem(retyped, 404)["detail"]


async def test_unknown_ids_stay_unknown(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    response = await client.get(f"/v1/porting-orders/{uuid.uuid4()}", headers=headers)
    _problem(response, 404)
