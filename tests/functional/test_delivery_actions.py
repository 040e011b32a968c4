"""Issue 14 through HTTP on both backends, against real sinks on loopback:
fixing an endpoint and retrying in one call, redelivering where an event was
not received, rows under a worker's lease, and waiting rows made due by a fix."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.delivery_support import (
    create_endpoint,
    deliveries_of,
    eventually,
    record_event,
    running_dispatcher,
)
from tests.functional.sinks import Sink

ORDER_EVENTS = ["porting_order.*"]  # not endpoint.*: failures would bring those too
SETTLE_S = 0.5  # ten poll intervals: time enough for a duplicate to show up


def _slow_retries(settings: Settings) -> Settings:
    """A retry 25 minutes after the first failure, as in the issue."""
    return settings.model_copy(update={"retry_schedule": (0.0, 1500.0, 3000.0)})


async def _status(client: httpx.AsyncClient, headers: dict[str, str], event_id: uuid.UUID,
                  endpoint_id: str) -> str:
    rows = await deliveries_of(client, headers, event_id)
    [row] = [r for r in rows if r["endpoint_id"] == endpoint_id]
    status: str = row["status"]
    return status


async def _post(client: httpx.AsyncClient, headers: dict[str, str], path: str,
                body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_failing_endpoint_fixed_and_retried_receives_each_event_once_more(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    good = await create_endpoint(client, headers, url=sink.url("/good"), event_types=ORDER_EVENTS)
    sink.script("/flaky", then=500)
    flaky = await create_endpoint(client, headers, url=sink.url("/flaky"),
                                  event_types=ORDER_EVENTS)
    events = [await record_event(database, clock, account_id=account_id) for _ in range(3)]
    async with running_dispatcher(settings, database, clock):
        for event_id in events:  # the test schedule is short: all three die
            await eventually(lambda e=event_id: _is(client, headers, e, flaky["id"], "dead"))
            await eventually(lambda e=event_id: _is(client, headers, e, good["id"], "delivered"))
        failed_calls = len(sink.at("/flaky"))
        sink.script("/flaky", then=200)  # the receiver is fixed
        answer = await _post(client, headers, f"/v1/endpoints/{flaky['id']}/actions/retry")
        assert answer["requeued"] == 3 and answer["in_flight"] == []
        await sink.wait_for(failed_calls + 3, "/flaky")
        for event_id in events:
            await eventually(lambda e=event_id: _is(client, headers, e, flaky["id"],
                                                    "delivered"))
        await asyncio.sleep(SETTLE_S)
    resent = sink.at("/flaky")[failed_calls:]
    # Each event exactly once more (sent side by side: the order of arrival is
    # the endpoint's concurrency's); the healthy endpoint got nothing again.
    assert sorted(c.headers["webhook-id"] for c in resent) == sorted(str(e) for e in events)
    assert len(sink.at("/good")) == 3


async def _is(client: httpx.AsyncClient, headers: dict[str, str], event_id: uuid.UUID,
              endpoint_id: str, status: str) -> bool:
    return await _status(client, headers, event_id, endpoint_id) == status


async def test_redeliver_goes_where_the_event_was_not_received_or_to_one_endpoint(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    sink.script("/d", then=500)
    endpoints = {path: await create_endpoint(client, headers, url=sink.url(path),
                                             event_types=ORDER_EVENTS)
                 for path in ("/a", "/b", "/c", "/d")}
    event_id = await record_event(database, clock, account_id=account_id)
    async with running_dispatcher(settings, database, clock):
        await eventually(lambda: _is(client, headers, event_id, endpoints["/d"]["id"], "dead"))
        for path in ("/a", "/b", "/c"):
            await eventually(lambda p=path: _is(client, headers, event_id, endpoints[p]["id"],
                                                "delivered"))
        tried = len(sink.at("/d"))
        sink.script("/d", then=200)
        # The issue: this went to the three that had it, and skipped the failing one.
        answer = await _post(client, headers, f"/v1/events/{event_id}/actions/redeliver")
        assert answer["requeued"] == 1
        await sink.wait_for(tried + 1, "/d")
        # To one endpoint: that one only, though it had received it.
        answer = await _post(client, headers, f"/v1/events/{event_id}/actions/redeliver",
                             {"endpoint_id": endpoints["/a"]["id"]})
        assert answer["requeued"] == 1
        await sink.wait_for(2, "/a")
        await asyncio.sleep(SETTLE_S)
    assert [len(sink.at(p)) for p in ("/a", "/b", "/c", "/d")] == [2, 1, 1, tried + 1]


async def test_redeliver_refuses_force_with_an_endpoint(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url="https://example.com/hook")
    event_id = await record_event(database, clock, account_id=account_id)
    response = await client.post(f"/v1/events/{event_id}/actions/redeliver",
                                 json={"endpoint_id": endpoint["id"], "force": True},
                                 headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "exclude each other" in response.text


async def test_a_retry_of_a_delivery_being_sent_sends_it_once(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    await create_endpoint(client, headers, url=sink.url("/slow"), event_types=ORDER_EVENTS)
    sink.hold("/slow")
    event_id = await record_event(database, clock, account_id=account_id)
    [delivery] = await deliveries_of(client, headers, event_id)
    async with running_dispatcher(settings, database, clock):
        await sink.wait_for(1, "/slow")  # the worker is sending it now
        answer = await _post(client, headers, f"/v1/deliveries/{delivery['id']}/actions/retry")
        assert answer == {"requeued": 0, "delivery_ids": [], "created": 0,
                          "in_flight": [delivery["id"]]}
        sink.release("/slow")
        await eventually(lambda: _delivered(client, headers, event_id))
        await asyncio.sleep(SETTLE_S)
        assert len(sink.at("/slow")) == 1
        # Delivered, it may be sent again on purpose.
        answer = await _post(client, headers, f"/v1/deliveries/{delivery['id']}/actions/retry")
        assert answer["delivery_ids"] == [delivery["id"]]
        await sink.wait_for(2, "/slow")


async def _delivered(client: httpx.AsyncClient, headers: dict[str, str],
                     event_id: uuid.UUID) -> bool:
    return bool((await deliveries_of(client, headers, event_id))[0]["status"] == "delivered")


async def test_patching_the_url_sends_a_waiting_delivery_now(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    sink.script("/wrong", then=404)
    endpoint = await create_endpoint(client, headers, url=sink.url("/wrong"),
                                     event_types=ORDER_EVENTS)
    event_id = await record_event(database, clock, account_id=account_id)
    async with running_dispatcher(_slow_retries(settings), database, clock):
        await sink.wait_for(1, "/wrong")

        async def waiting() -> bool:
            row = (await deliveries_of(client, headers, event_id))[0]
            return bool(row["status"] == "pending" and row["last_status_code"] == 404)

        await eventually(waiting)  # next try in 25 minutes
        patched = await client.patch(f"/v1/endpoints/{endpoint['id']}",
                                     json={"url": sink.url("/right")}, headers=headers)
        assert patched.status_code == 200, patched.text
        calls = await sink.wait_for(1, "/right")  # now, not in 25 minutes
        await eventually(lambda: _delivered(client, headers, event_id))
    assert calls[0].headers["webhook-id"] == str(event_id)
    assert len(sink.at("/wrong")) == 1


async def test_enabling_an_endpoint_sends_what_was_held(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url=sink.url("/off"),
                                     event_types=ORDER_EVENTS)
    url = f"/v1/endpoints/{endpoint['id']}"
    assert (await client.patch(url, json={"enabled": False}, headers=headers)).status_code == 200
    event_id = await record_event(database, clock, account_id=account_id)
    assert (await deliveries_of(client, headers, event_id))[0]["status"] == "held"
    async with running_dispatcher(settings, database, clock):
        enabled = await client.post(f"{url}/actions/enable", headers=headers)
        assert enabled.status_code == 200, enabled.text
        calls = await sink.wait_for(1, "/off")  # no recover needed
        await eventually(lambda: _delivered(client, headers, event_id))
    assert [c.headers["webhook-id"] for c in calls] == [str(event_id)]


async def test_retries_of_a_disabled_endpoint_are_refused(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url="https://example.com/hook")
    url = f"/v1/endpoints/{endpoint['id']}"
    await client.patch(url, json={"enabled": False}, headers=headers)
    event_id = await record_event(database, clock, account_id=account_id)
    [delivery] = await deliveries_of(client, headers, event_id)
    for path in (f"{url}/actions/retry", f"/v1/deliveries/{delivery['id']}/actions/retry"):
        response = await client.post(path, headers=headers)
        assert response.status_code == 409, response.text
        assert "enable it" in response.json()["detail"]
    missing = await client.post(f"/v1/deliveries/{uuid.uuid4()}/actions/retry", headers=headers)
    assert missing.status_code == 404
    naive = await client.post(f"{url}/actions/retry", json={"since": "2026-01-01T00:00:00"},
                              headers=headers)
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "body.since"
    naive = await client.post(f"{url}/actions/retry", params={"since": "2026-01-01T00:00:00"},
                              headers=headers)
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "query.since"
