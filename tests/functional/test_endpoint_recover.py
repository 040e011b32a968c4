"""``actions/recover``: which deliveries it requeues, and the time it accepts."""

from __future__ import annotations

from datetime import timedelta
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


async def _recover(
    client: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str, since: str
) -> httpx.Response:
    return await client.post(f"/v1/endpoints/{endpoint_id}/actions/recover",
                             json={"since": since}, headers=headers)


async def test_recover_requeues_only_failures_created_since(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    sink.script("/down", then=500)  # every attempt fails: the short test schedule kills both
    # Not "*": the endpoint's own health events (endpoint.failing...) would reach it too.
    endpoint = await create_endpoint(client, headers, url=sink.url("/down"),
                                     event_types=["porting_order.*"])
    early = await record_event(database, clock, account_id=account_id)
    clock.advance(timedelta(hours=1))
    late = await record_event(database, clock, account_id=account_id)

    async def delivery(event_id: Any) -> dict[str, Any]:
        [row] = await deliveries_of(client, headers, event_id)
        return row

    async def status_is(event_id: Any, status: str) -> bool:
        return (await delivery(event_id))["status"] == status

    async with running_dispatcher(settings, database, clock):
        await eventually(lambda: status_is(early, "dead"))
        await eventually(lambda: status_is(late, "dead"))
        early_calls = len(sink.received)
        sink.script("/down", then=200)
        # ``since`` equal to the late row's creation: "at or after" takes it in.
        since = (await delivery(late))["created_at"]
        recovered = await _recover(client, headers, endpoint["id"], since)
        assert recovered.status_code == 202, recovered.text
        [late_delivery] = recovered.json()["delivery_ids"]
        assert recovered.json()["requeued"] == 1
        assert late_delivery == (await delivery(late))["id"]
        await eventually(lambda: status_is(late, "delivered"))
        assert await status_is(early, "dead")
        resent = sink.received[early_calls:]
        assert [c.headers["webhook-id"] for c in resent] == [str(late)]
        # An earlier ``since`` reaches the early row; the delivered one is not sent again.
        since = (await delivery(early))["created_at"]
        again = await _recover(client, headers, endpoint["id"], since)
        assert again.json()["requeued"] == 1
        await eventually(lambda: status_is(early, "delivered"))


async def test_recover_requires_a_timezone_offset(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url="https://example.com/hook")
    naive = await _recover(client, headers, endpoint["id"], "2026-01-01T00:00:00")
    assert naive.status_code == 422
    assert naive.headers["content-type"] == "application/problem+json"
    [error] = naive.json()["errors"]
    assert error["field"] == "body.since"
    assert "UTC offset" in error["message"]
    for aware in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+02:00"):
        accepted = await _recover(client, headers, endpoint["id"], aware)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {"requeued": 0, "delivery_ids": [], "created": 0,
                                   "in_flight": []}


async def test_recover_requeues_a_delivery_waiting_for_its_next_retry(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    """The issue's report: after the receiver was fixed, recover requeued
    nothing, since the failed delivery was neither dead nor held but pending
    its retry in 25 minutes."""
    account_id, headers = await make_account()
    sink.script("/later", then=500)
    endpoint = await create_endpoint(client, headers, url=sink.url("/later"),
                                     event_types=["porting_order.*"])
    event_id = await record_event(database, clock, account_id=account_id)
    slow = settings.model_copy(update={"retry_schedule": (0.0, 1500.0)})
    async with running_dispatcher(slow, database, clock):
        await sink.wait_for(1, "/later")

        async def retrying() -> bool:
            [row] = await deliveries_of(client, headers, event_id)
            return bool(row["status"] == "pending" and row["last_status_code"] == 500)

        await eventually(retrying)
        sink.script("/later", then=200)
        recovered = await _recover(client, headers, endpoint["id"], "2000-01-01T00:00:00Z")
        assert recovered.status_code == 202, recovered.text
        assert recovered.json()["requeued"] == 1
        calls = await sink.wait_for(2, "/later")
    assert [c.headers["webhook-id"] for c in calls] == [str(event_id)] * 2
