"""The portal's webhook pages through HTTP on both backends: the delivery log
and its filters, a delivery with its attempts and "Retry now", the endpoint's
health, recent deliveries and "Retry all failed", the form's headers, rate
limit and event-type picker, and the desk's view of an order's deliveries."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.ui import delivery_routes
from tests.conftest import AccountFactory
from tests.functional.delivery_support import (
    create_endpoint,
    eventually,
    record_event,
    running_dispatcher,
)
from tests.functional.sinks import Sink
from tests.functional.test_ui_signin import sign_in

ORDER_EVENTS = ["porting_order.*"]
DELIVERY_LINK = re.compile(r'href="/ui/portal/deliveries/([0-9a-f-]{36})"')


def _key(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _states(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    page = await client.get("/v1/deliveries", headers=headers)
    return sorted(d["state"] for d in page.json()["data"])


async def test_the_log_filters_a_failed_delivery_is_retried_from_its_page_and_arrives(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    good = await create_endpoint(client, headers, url=sink.url("/good"), event_types=ORDER_EVENTS)
    sink.script("/bad", then=500)
    bad = await create_endpoint(client, headers, url=sink.url("/bad"), event_types=ORDER_EVENTS)
    order_id = str(uuid.uuid4())
    await record_event(database, clock, account_id=account_id, subject_id=order_id)
    async with running_dispatcher(settings, database, clock):
        await eventually(lambda: _is(client, headers, ["dead", "delivered"]))
        _, csrf = await sign_in(client, _key(headers))

        log = await client.get("/ui/portal/deliveries")
        assert log.status_code == 200
        assert len(DELIVERY_LINK.findall(log.text)) == 2
        assert "porting_order.status_changed" in log.text and order_id in log.text
        # As the GET form sends it: "Any" is an empty value.
        dead = await client.get("/ui/portal/deliveries", params={
            "state": "dead", "endpoint_id": "", "event_type": "", "status_class": "",
            "created_from": "", "created_to": ""})
        [dead_id] = DELIVERY_LINK.findall(dead.text)
        assert f"<td>{sink.url('/bad')}</td>" in dead.text
        assert f"<td>{sink.url('/good')}</td>" not in dead.text
        by_endpoint = await client.get("/ui/portal/deliveries",
                                       params={"endpoint_id": good["id"]})
        assert len(DELIVERY_LINK.findall(by_endpoint.text)) == 1
        assert len(DELIVERY_LINK.findall((await client.get("/ui/portal/deliveries", params={
            "status_class": "5xx"})).text)) == 1
        assert DELIVERY_LINK.findall((await client.get("/ui/portal/deliveries", params={
            "event_type": "record.*"})).text) == []
        assert len(DELIVERY_LINK.findall((await client.get("/ui/portal/deliveries", params={
            "event_type": "porting_order.*"})).text)) == 2
        assert DELIVERY_LINK.findall((await client.get("/ui/portal/deliveries", params={
            "created_to": "2000-01-01"})).text) == []
        wrong = await client.get("/ui/portal/deliveries", params={"state": "lost"})
        assert wrong.status_code == 422 and "state" in wrong.text
        assert (await client.get("/ui/portal/deliveries",
                                 params={"created_from": "soon"})).status_code == 422

        page = await client.get(f"/ui/portal/deliveries/{dead_id}")
        assert page.status_code == 200 and "dead" in page.text
        assert page.text.count("<td>500</td>") == len(sink.at("/bad"))
        calls = len(sink.at("/bad"))
        # Retry without the form's token: refused, nothing requeued.
        refused = await client.post(f"/ui/portal/deliveries/{dead_id}/retry")
        assert refused.status_code == 403
        sink.script("/bad", then=200)  # the receiver is fixed
        retried = await client.post(f"/ui/portal/deliveries/{dead_id}/retry",
                                    data={"csrf_token": csrf})
        assert retried.status_code == 200 and "Requeued" in retried.text
        await sink.wait_for(calls + 1, "/bad")
        await eventually(lambda: _is(client, headers, ["delivered", "delivered"]))

    endpoint_page = await client.get(f"/ui/portal/endpoints/{bad['id']}")
    assert "Health:" in endpoint_page.text and "Last failure" in endpoint_page.text
    assert f"/ui/portal/deliveries/{dead_id}" in endpoint_page.text
    assert f"/ui/portal/deliveries?endpoint_id={bad['id']}" in endpoint_page.text
    listing = await client.get("/ui/portal/endpoints")
    assert "Health (24 h)" in listing.text and "attempts" in listing.text


async def _is(client: httpx.AsyncClient, headers: dict[str, str], states: list[str]) -> bool:
    return await _states(client, headers) == states


async def test_another_accounts_delivery_answers_404_and_retry_needs_the_csrf_token(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, database: Database,
    clock: ShiftableClock, operator_headers: dict[str, str],
) -> None:
    _, mine = await make_account("Mine")
    their_id, theirs = await make_account("Theirs")
    await create_endpoint(client, theirs, url=sink.url("/theirs"), event_types=ORDER_EVENTS)
    order_id = str(uuid.uuid4())
    await record_event(database, clock, account_id=their_id, subject_id=order_id)
    [delivery] = (await client.get("/v1/deliveries", headers=theirs)).json()["data"]
    _, csrf = await sign_in(client, _key(mine))
    assert (await client.get(f"/ui/portal/deliveries/{delivery['id']}")).status_code == 404
    assert DELIVERY_LINK.findall((await client.get("/ui/portal/deliveries")).text) == []
    retried = await client.post(f"/ui/portal/deliveries/{delivery['id']}/retry",
                                data={"csrf_token": csrf})
    assert retried.status_code == 404
    # The desk sees any account's delivery, but the portal's pages are not the desk's.
    assert (await client.get(f"/ui/desk/deliveries/{delivery['id']}")).status_code == 403
    await sign_in(client, _key(operator_headers))
    desk_page = await client.get(f"/ui/desk/deliveries/{delivery['id']}")
    assert desk_page.status_code == 200 and sink.url("/theirs") in desk_page.text
    assert str(their_id) in desk_page.text and "Retry now" not in desk_page.text


async def test_retry_all_failed_and_the_endpoint_form_with_headers_rate_and_catalog(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, _key(headers))
    form = await client.get("/ui/portal/endpoints")
    # The picker offers the catalog's types with their descriptions.
    assert "porting_order.numbers_confirmed" in form.text
    assert "Numbers of an order were confirmed by the losing carrier" in form.text
    assert "record.*" in form.text
    bad_headers = await client.post("/ui/portal/endpoints", data={
        "csrf_token": csrf, "url": sink.url("/hook"), "headers": "no colon here"})
    assert bad_headers.status_code == 422 and "headers" in bad_headers.text
    created = await client.post("/ui/portal/endpoints", data={
        "csrf_token": csrf, "channel": "webhook", "url": sink.url("/hook"),
        "event_types": ["porting_order.numbers_confirmed"],
        "headers": "X-Tenant: acme-secret-value\n", "rate_limit_per_s": "5"})
    assert created.status_code == 201, created.text
    endpoint = (await client.get("/v1/endpoints", headers=headers)).json()["data"][0]
    assert endpoint["header_names"] == ["X-Tenant"] and endpoint["rate_limit_per_s"] == 5
    assert endpoint["event_types"] == ["porting_order.numbers_confirmed"]
    page = await client.get(f"/ui/portal/endpoints/{endpoint['id']}")
    assert "X-Tenant" in page.text and "acme-secret-value" not in page.text
    assert "5.0 calls a second" in page.text
    retried = await client.post(f"/ui/portal/endpoints/{endpoint['id']}/recover",
                                data={"csrf_token": csrf})
    assert retried.status_code == 200 and "0 failed or held deliveries requeued" in retried.text
    assert (await client.post(f"/ui/portal/endpoints/{endpoint['id']}/recover")
            ).status_code == 403

    # The edit form: headers typed replace the set, an empty rate limit clears it.
    edit = f"/ui/portal/endpoints/{endpoint['id']}/edit"
    fields = {"url": sink.url("/moved"), "format": "standard",
              "event_types": ["porting_order.*", "record.*"], "headers": "X-Region: eu"}
    assert (await client.post(edit, data=fields)).status_code == 403
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=headers)
            ).json()["url"] == sink.url("/hook")
    saved = await client.post(edit, data={"csrf_token": csrf, **fields})
    assert saved.status_code == 303
    changed = (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=headers)).json()
    assert changed["url"] == sink.url("/moved") and changed["header_names"] == ["X-Region"]
    assert changed["rate_limit_per_s"] is None
    assert changed["event_types"] == ["porting_order.*", "record.*"]
    wrong = await client.post(edit, data={"csrf_token": csrf, **fields,
                                          "event_types": "porting_order.nope"})
    assert wrong.status_code == 422 and "event_types" in wrong.text
    cleared = await client.post(edit, data={"csrf_token": csrf, **fields,
                                            "clear_headers": "on"})
    assert cleared.status_code == 303
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=headers)
            ).json()["header_names"] == []


async def test_the_log_pages_newest_first_by_cursor_keeping_its_filters(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, database: Database,
    clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery_routes, "DEFAULT_LIMIT", 1)
    account_id, headers = await make_account()
    await create_endpoint(client, headers, url=sink.url("/hook"), event_types=ORDER_EVENTS)
    for _ in range(2):
        await record_event(database, clock, account_id=account_id)
        clock.advance(timedelta(seconds=1))
    api = (await client.get("/v1/deliveries", headers=headers)).json()["data"]
    await sign_in(client, _key(headers))
    first = await client.get("/ui/portal/deliveries", params={"state": "pending"})
    assert DELIVERY_LINK.findall(first.text) == [api[0]["id"]]  # the newest
    next_link = re.search(r'href="(/ui/portal/deliveries\?[^"]*cursor=[^"]+)">Next page',
                          first.text)
    assert next_link is not None and "state=pending" in next_link.group(1)
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert DELIVERY_LINK.findall(second.text) == [api[1]["id"]]
    assert "Next page" not in second.text


async def test_endpoint_credentials_are_set_replaced_and_removed_from_the_forms_never_shown(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, _key(headers))
    created = await client.post("/ui/portal/endpoints", data={
        "csrf_token": csrf, "url": sink.url("/creds"), "credentials_type": "basic",
        "credentials.username": "acme", "credentials.password": "pa55-w0rd-secret"})
    assert created.status_code == 201, created.text
    assert "pa55-w0rd-secret" not in created.text
    endpoint = (await client.get("/v1/endpoints", headers=headers)).json()["data"][0]
    assert endpoint["credentials_type"] == "basic"
    url = f"/ui/portal/endpoints/{endpoint['id']}"
    page = await client.get(url)
    assert "basic set" in page.text and "pa55-w0rd-secret" not in page.text
    assert 'value="keep" selected' in page.text  # the edit form keeps them by default

    async def authorization_of_a_test_call() -> str | None:
        tested = await client.post(f"{url}/test", data={"csrf_token": csrf})
        assert tested.status_code == 200, tested.text
        return sink.at("/creds")[-1].headers.get("authorization")

    assert await authorization_of_a_test_call() == "Basic YWNtZTpwYTU1LXcwcmQtc2VjcmV0"
    edit = {"csrf_token": csrf, "url": sink.url("/creds"), "format": "standard"}
    kept = await client.post(f"{url}/edit", data={**edit, "credentials_type": "keep",
                                                  "description": "renamed"})
    assert kept.status_code == 303
    assert await authorization_of_a_test_call() == "Basic YWNtZTpwYTU1LXcwcmQtc2VjcmV0"

    no_token = await client.post(f"{url}/edit", data={**edit, "credentials_type": "bearer"})
    assert no_token.status_code == 422 and "credentials" in no_token.text
    replaced = await client.post(f"{url}/edit", data={
        **edit, "credentials_type": "bearer", "credentials.token": "tok-123-secret"})
    assert replaced.status_code == 303
    assert await authorization_of_a_test_call() == "Bearer tok-123-secret"
    assert "tok-123-secret" not in (await client.get(url)).text

    removed = await client.post(f"{url}/edit", data={**edit, "credentials_type": "remove"})
    assert removed.status_code == 303
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=headers)
            ).json()["credentials_type"] is None
    assert "not set" in (await client.get(url)).text
    assert await authorization_of_a_test_call() is None


async def test_notification_profiles_are_created_joined_paused_and_deleted_from_the_portal(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink,
) -> None:
    _, headers = await make_account()
    _, other = await make_account()
    _, csrf = await sign_in(client, _key(headers))
    nameless = await client.post("/ui/portal/profiles", data={
        "csrf_token": csrf, "event_types": "porting_order.*", "enabled": "on"})
    assert nameless.status_code == 422 and "name" in nameless.text
    assert (await client.post("/ui/portal/profiles", data={"name": "x"})).status_code == 403
    created = await client.post("/ui/portal/profiles", data={
        "csrf_token": csrf, "name": "Porting team", "enabled": "on",
        "event_types": ["porting_order.status_changed", "porting_order.new_comment"]})
    assert created.status_code == 303
    profile = (await client.get("/v1/notification-profiles", headers=headers)).json()["data"][0]
    assert profile["name"] == "Porting team" and profile["enabled"] is True
    assert profile["event_types"] == ["porting_order.status_changed",
                                      "porting_order.new_comment"]
    assert "Porting team" in (await client.get("/ui/portal/profiles")).text

    endpoint = await create_endpoint(client, headers, url=sink.url("/team"))
    edit = {"csrf_token": csrf, "url": sink.url("/team"), "format": "standard"}
    joined = await client.post(f"/ui/portal/endpoints/{endpoint['id']}/edit",
                               data={**edit, "profile_id": profile["id"]})
    assert joined.status_code == 303
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=headers)
            ).json()["profile_id"] == profile["id"]
    page = f"/ui/portal/profiles/{profile['id']}"
    assert "it groups 1 endpoint." in (await client.get(page)).text

    paused = await client.post(f"{page}/edit", data={
        "csrf_token": csrf, "name": "Porting team", "event_types": "porting_order.*"})
    assert paused.status_code == 303  # "enabled" left unchecked
    assert (await client.get(f"/v1/notification-profiles/{profile['id']}", headers=headers)
            ).json()["enabled"] is False
    in_use = await client.post(f"{page}/delete", data={"csrf_token": csrf})
    assert in_use.status_code == 409 and "still groups 1 endpoint" in in_use.text
    left = await client.post(f"/ui/portal/endpoints/{endpoint['id']}/edit",
                             data={**edit, "profile_id": ""})
    assert left.status_code == 303
    deleted = await client.post(f"{page}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert (await client.get("/v1/notification-profiles", headers=headers)).json()["data"] == []

    theirs = (await client.post("/v1/notification-profiles", json={"name": "theirs"},
                                headers=other)).json()
    assert (await client.get(f"/ui/portal/profiles/{theirs['id']}")).status_code == 404
    assert (await client.post(f"/ui/portal/profiles/{theirs['id']}/delete",
                              data={"csrf_token": csrf})).status_code == 404
