"""Searching deliveries and events, endpoint stats and health, through HTTP
against a real receiver on loopback (both backends)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.delivery_support import (
    create_endpoint,
    eventually,
    record_event,
    running_dispatcher,
)
from tests.functional.sinks import Reply, Sink
from tests.unit.format_events import make_order

FAMILY = ["porting_order.*"]  # not "*": the endpoints' own health events stay out


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # After a failure the next try is an hour away: failed rows stay retrying.
    return settings.model_copy(update={"retry_schedule": (0.0, 3600.0)})


async def _get(client: httpx.AsyncClient, headers: dict[str, str], path: str,
               **params: Any) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _rows(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[Any]:
    data: list[Any] = (await _get(client, headers, "/v1/deliveries", **params))["data"]
    return data


async def _record_orders(database: Database, clock: ShiftableClock, account_id: uuid.UUID,
                         count: int) -> list[tuple[uuid.UUID, str]]:
    """``count`` events of distinct orders, a second apart: (event id, order id)."""
    made = []
    for _ in range(count):
        order = make_order(webhook_url=None)
        event_id = await record_event(database, clock, account_id=account_id, data={
            "porting_order": order, "previous_status": "in-process"})
        made.append((event_id, str(order["id"])))
        clock.advance(timedelta(seconds=1))
    return made


async def test_a_failing_endpoint_is_found_by_search_and_its_stats_match_the_sink(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    sink.script("/down", then=Reply(status=500, body="upstream down"))
    good = await create_endpoint(client, headers, url=sink.url("/ok"), event_types=FAMILY)
    bad = await create_endpoint(client, headers, url=sink.url("/down"), event_types=FAMILY)
    made = await _record_orders(database, clock, account_id, 3)

    async with running_dispatcher(settings, database, clock):
        await sink.wait_for(3, "/ok")
        await sink.wait_for(3, "/down")

        async def all_failed() -> bool:
            return len(await _rows(client, headers, status="retrying")) == 3

        await eventually(all_failed)
        failing = await _rows(client, headers, status="retrying", status_class="5xx")
        assert {row["endpoint_id"] for row in failing} == {bad["id"]}
        assert [row["event_id"] for row in failing] == [str(e) for e, _ in reversed(made)]
        for row in failing:
            assert (row["state"], row["status"], row["attempts"]) == ("retrying", "pending", 1)
            assert (row["last_status_code"], row["last_error"]) == (500, "HTTP 500")
            assert row["last_response_excerpt"] == "upstream down"
            assert row["last_attempt_at"] is not None and row["next_attempt_at"] is not None

        stats = await _get(client, headers, f"/v1/endpoints/{bad['id']}/stats")
        healthy = await _get(client, headers, f"/v1/endpoints/{good['id']}/stats")
        listed = {e["id"]: e["health"] for e in (await _get(client, headers, "/v1/endpoints"))
                  ["data"]}

    seen = len(sink.at("/down"))
    for window in ("1h", "24h", "7d"):
        assert stats["windows"][window]["attempts"] == seen
        assert stats["windows"][window]["outcomes"] == {
            "2xx": 0, "3xx": 0, "4xx": 0, "5xx": seen, "network": 0}
        assert stats["windows"][window]["success_rate"] == 0.0
        assert stats["windows"][window]["latency_ms"] == {"p50": None, "p95": None}
    assert stats["last_success"] is None
    assert stats["last_failure"]["status_code"] == 500
    assert stats["last_failure"]["response_excerpt"] == "upstream down"
    assert stats["health"] == "failing"
    backlog = stats["backlog"]
    assert (backlog["pending"], backlog["retrying"], backlog["held"]) == (0, 3, 0)
    assert backlog["oldest_pending_age_s"] >= 0

    assert healthy["windows"]["24h"]["outcomes"]["2xx"] == len(sink.at("/ok")) == 3
    assert healthy["windows"]["24h"]["success_rate"] == 1.0
    assert healthy["windows"]["24h"]["latency_ms"]["p50"] is not None
    assert healthy["last_success"] is not None and healthy["last_failure"] is None
    assert healthy["backlog"]["oldest_pending_at"] is None

    assert listed[bad["id"]] == {"state": "failing", "success_rate_24h": 0.0,
                                 "attempts_24h": seen, "backlog": 3, "last_error": "HTTP 500"}
    assert listed[good["id"]] == {"state": "healthy", "success_rate_24h": 1.0,
                                  "attempts_24h": 3, "backlog": 0, "last_error": None}


async def test_filters_combine_and_pages_go_newest_first(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    sink.script("/down", then=503)
    good = await create_endpoint(client, headers, url=sink.url("/ok"), event_types=FAMILY)
    bad = await create_endpoint(client, headers, url=sink.url("/down"), event_types=FAMILY)
    made = await _record_orders(database, clock, account_id, 4)
    async with running_dispatcher(settings, database, clock):
        await sink.wait_for(4, "/down")

        async def settled() -> bool:
            return len(await _rows(client, headers, status=["delivered", "retrying"])) == 8

        await eventually(settled)

    everything = await _rows(client, headers)
    assert len(everything) == 8
    moments = [row["created_at"] for row in everything]
    assert moments == sorted(moments, reverse=True)

    # Pages of three, newest first, are the whole list in order, each row once.
    paged, cursor = [], None
    while True:
        page = await _get(client, headers, "/v1/deliveries", limit=3,
                          **({"cursor": cursor} if cursor else {}))
        paged += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["id"] for row in paged] == [row["id"] for row in everything]

    (second_event, second_order) = made[1]
    by_order = await _rows(client, headers, subject_id=second_order)
    assert {row["event_id"] for row in by_order} == {str(second_event)}
    assert len(by_order) == 2
    [one] = await _rows(client, headers, subject_id=second_order, status_class="5xx")
    assert one["endpoint_id"] == bad["id"]
    assert await _rows(client, headers, subject_id=second_order, status="dead") == []
    delivered = await _rows(client, headers, endpoint_id=good["id"], status_class="2xx",
                            event_type="porting_order.status_changed")
    assert len(delivered) == 4 and {r["state"] for r in delivered} == {"delivered"}
    assert await _rows(client, headers, endpoint_id=good["id"],
                       event_type="porting_order.created") == []
    assert len(await _rows(client, headers, event_type="porting_order.*")) == 8

    # A time range: created after the first event's rows and before the last's.
    first_at = next(r["created_at"] for r in everything if r["event_id"] == str(made[0][0]))
    last_at = next(r["created_at"] for r in everything if r["event_id"] == str(made[3][0]))
    middle = await _rows(client, headers, created_after=first_at, created_before=last_at)
    assert {r["event_id"] for r in middle} == {str(made[1][0]), str(made[2][0])}

    # The same filters on events: those with a failing delivery, newest first.
    events = await _get(client, headers, "/v1/events", delivery_status="retrying",
                        order="desc", limit=3)
    assert [e["id"] for e in events["data"]] == [str(e) for e, _ in reversed(made)][:3]
    rest = await _get(client, headers, "/v1/events", delivery_status="retrying",
                      order="desc", cursor=events["next_cursor"])
    assert [e["id"] for e in rest["data"]] == [str(made[0][0])]
    assert (await _get(client, headers, "/v1/events", delivery_status="dead"))["data"] == []
    window = await _get(client, headers, "/v1/events", occurred_before=last_at,
                        subject_id=second_order)
    assert [e["id"] for e in window["data"]] == [str(second_event)]


async def test_held_deliveries_of_a_disabled_endpoint(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url="https://example.com/hook",
                                     event_types=FAMILY)
    disabled = await client.patch(f"/v1/endpoints/{endpoint['id']}", json={"enabled": False},
                                  headers=headers)
    assert disabled.status_code == 200, disabled.text
    await _record_orders(database, clock, account_id, 2)

    held = await _rows(client, headers, status="held")
    assert len(held) == 2 and {r["state"] for r in held} == {"held"}
    assert all(r["next_attempt_at"] is None and r["last_attempt_at"] is None for r in held)
    assert await _rows(client, headers, status=["pending", "retrying"]) == []
    stats = await _get(client, headers, f"/v1/endpoints/{endpoint['id']}/stats")
    assert stats["health"] == "disabled"
    assert stats["backlog"]["held"] == 2 and stats["windows"]["7d"]["attempts"] == 0
    [listed] = (await _get(client, headers, "/v1/endpoints"))["data"]
    assert listed["health"] == {"state": "disabled", "success_rate_24h": None,
                                "attempts_24h": 0, "backlog": 2,
                                "last_error": "disabled through the API"}
    events = await _get(client, headers, "/v1/events", delivery_status="held")
    assert len(events["data"]) == 2
    # Several states: any of them (one index range each, merged).
    either = await _get(client, headers, "/v1/events", delivery_status=["dead", "held"],
                        order="desc")
    assert [e["id"] for e in either["data"]] == [e["id"] for e in reversed(events["data"])]
    assert (await _get(client, headers, "/v1/events",
                       delivery_status=["dead", "retrying"]))["data"] == []


async def test_other_accounts_deliveries_are_never_visible(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    endpoint = await create_endpoint(client, headers, url="https://example.com/hook",
                                     event_types=FAMILY)
    [(_, order_id)] = await _record_orders(database, clock, account_id, 1)
    assert len(await _rows(client, headers)) == 1
    _, other = await make_account(name="Other")

    assert await _rows(client, other) == []
    assert await _rows(client, other, endpoint_id=endpoint["id"]) == []
    assert await _rows(client, other, subject_id=order_id) == []
    stats = await client.get(f"/v1/endpoints/{endpoint['id']}/stats", headers=other)
    assert stats.status_code == 404
    assert stats.headers["content-type"] == "application/problem+json"
    assert (await _get(client, other, "/v1/events", delivery_status="pending"))["data"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "stuck"}, "status"),  # not one of the states
    ({"status_class": "6xx"}, "status_class"),
    ({"created_after": "2026-01-01T00:00:00"}, "created_after"),  # no timezone offset
    ({"cursor": "bm90IGEgY3Vyc29y"}, None),  # valid base64, not a cursor
])
async def test_bad_search_parameters_are_422_naming_them(
    client: httpx.AsyncClient, make_account: AccountFactory, params: dict[str, str],
    field: str | None,
) -> None:
    _, headers = await make_account()
    response = await client.get("/v1/deliveries", params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in response.text


async def test_the_operator_searches_every_account_and_narrows_to_one(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock, operator_headers: dict[str, str],
) -> None:
    first, first_headers = await make_account()
    second, second_headers = await make_account(name="Other")
    mine = await create_endpoint(client, first_headers, url="https://example.com/a",
                                 event_types=FAMILY)
    theirs = await create_endpoint(client, second_headers, url="https://example.com/b",
                                   event_types=FAMILY)
    disabled = await client.patch(f"/v1/endpoints/{theirs['id']}", json={"enabled": False},
                                  headers=second_headers)
    assert disabled.status_code == 200, disabled.text
    [(first_event, first_order)] = await _record_orders(database, clock, first, 1)
    [(second_event, _)] = await _record_orders(database, clock, second, 1)

    every = await _get(client, operator_headers, "/v1/operator/deliveries")
    assert [(r["account_id"], r["event_id"], r["event_type"]) for r in every["data"]] == [
        (str(second), str(second_event), "porting_order.status_changed"),
        (str(first), str(first_event), "porting_order.status_changed")]
    only_first = await _get(client, operator_headers, "/v1/operator/deliveries",
                            account_id=str(first))
    assert [r["endpoint_id"] for r in only_first["data"]] == [mine["id"]]
    # The account filters of GET /v1/deliveries work across accounts too.
    held = await _get(client, operator_headers, "/v1/operator/deliveries", status="held")
    assert [r["endpoint_id"] for r in held["data"]] == [theirs["id"]]
    by_order = await _get(client, operator_headers, "/v1/operator/deliveries",
                          subject_id=first_order, event_type="porting_order.*")
    assert [r["event_id"] for r in by_order["data"]] == [str(first_event)]
    assert (await _get(client, operator_headers, "/v1/operator/deliveries",
                       event_type="porting_order.created"))["data"] == []
    paged = await _get(client, operator_headers, "/v1/operator/deliveries", limit=1)
    rest = await _get(client, operator_headers, "/v1/operator/deliveries",
                      cursor=paged["next_cursor"])
    assert [r["id"] for r in paged["data"] + rest["data"]] == [r["id"] for r in every["data"]]


async def test_an_account_key_cannot_search_every_account(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
) -> None:
    _, headers = await make_account()
    refused = await client.get("/v1/operator/deliveries", headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    # And an operator key is not an account's: the account route refuses it.
    assert (await client.get("/v1/deliveries", headers=operator_headers)).status_code == 403
    bad = await client.get("/v1/operator/deliveries", params={"account_id": "nope"},
                           headers=operator_headers)
    assert bad.status_code == 422 and "account_id" in bad.text
