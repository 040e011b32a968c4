"""Per-endpoint custom headers and rate limit (issue 14), through HTTP against
a real sink on loopback, on both backends."""

from __future__ import annotations

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint, record_event, running_dispatcher
from tests.functional.sinks import Sink

ORDER_EVENTS = ["porting_order.*"]


async def test_custom_headers_are_sent_and_their_values_never_shown(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    created = await client.post("/v1/endpoints", headers=headers, json={
        "url": sink.url("/gw"), "event_types": ORDER_EVENTS,
        "headers": {"X-Tenant": "acme", "X-Api-Key": "s3cr3t"}})
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["header_names"] == ["X-Tenant", "X-Api-Key"]
    url = f"/v1/endpoints/{endpoint['id']}"
    shown = await client.get(url, headers=headers)
    assert "s3cr3t" not in shown.text and shown.json()["header_names"] == ["X-Tenant",
                                                                             "X-Api-Key"]
    event_id = await record_event(database, clock, account_id=account_id)
    async with running_dispatcher(settings, database, clock):
        [call] = await sink.wait_for(1, "/gw")
        assert call.headers["x-tenant"] == "acme" and call.headers["x-api-key"] == "s3cr3t"
        assert call.headers["webhook-id"] == str(event_id)  # porthook's own still there
        assert call.headers["content-type"] == "application/json"
        # A patch replaces the set; null removes it.
        patched = await client.patch(url, json={"headers": {"X-Tenant": "globex"}},
                                     headers=headers)
        assert patched.json()["header_names"] == ["X-Tenant"]
        await record_event(database, clock, account_id=account_id)
        second = (await sink.wait_for(2, "/gw"))[1]
        assert second.headers["x-tenant"] == "globex" and "x-api-key" not in second.headers
    cleared = await client.patch(url, json={"headers": None}, headers=headers)
    assert cleared.json()["header_names"] == []


@pytest.mark.parametrize(("custom", "named"), [
    ({"Content-Type": "text/plain"}, "'Content-Type' is reserved"),
    ({"webhook-signature": "v1,forged"}, "'webhook-signature' is reserved"),
    ({"Authorization": "Bearer x"}, "'Authorization' is reserved"),
    ({"X-Evil": "a\r\nX-Injected: 1"}, "'X-Evil': a value"),
    ({"Bad Name": "v"}, "'Bad Name': a name"),
])
async def test_reserved_or_malformed_headers_are_refused_naming_the_header(
    client: httpx.AsyncClient, make_account: AccountFactory, custom: dict[str, str], named: str,
) -> None:
    _, headers = await make_account()
    created = await client.post("/v1/endpoints", json={"url": "https://example.com/h",
                                                       "headers": custom}, headers=headers)
    endpoint = await create_endpoint(client, headers, url="https://example.com/h")
    patched = await client.patch(f"/v1/endpoints/{endpoint['id']}", json={"headers": custom},
                                 headers=headers)
    for response in (created, patched):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["field"] == "body.headers" and named in error["message"]


async def test_rate_limit_spaces_the_calls_to_an_endpoint(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    rate, events = 5.0, 12
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url=sink.url("/limited"),
                                     event_types=ORDER_EVENTS, rate_limit_per_s=rate,
                                     max_concurrency=8)
    assert endpoint["rate_limit_per_s"] == rate
    for _ in range(events):
        await record_event(database, clock, account_id=account_id)
    async with running_dispatcher(settings, database, clock):
        calls = await sink.wait_for(events, "/limited")
    times = sorted(c.at for c in calls)
    # Counts within windows, with generous margins for scheduling jitter: in
    # any one second at most rate + 1 (the first token) + 1 (jitter) calls...
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= rate + 2
    # ... so twelve calls span at least two seconds (a limit of 5/s spaces
    # them 0.2 s apart: 2.2 s), where an unlimited endpoint takes milliseconds.
    assert times[-1] - times[0] >= 1.5
