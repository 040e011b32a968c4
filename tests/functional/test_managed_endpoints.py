"""The endpoints of porting's webhook URLs exist as soon as porting writes the
URL (the defaults, an order), before any event, and follow later writes."""

from __future__ import annotations

from typing import Any

import httpx

from porthook.clock import ShiftableClock
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.delivery_support import deliveries_of, record_event
from tests.porting_helpers import create_order
from tests.unit.format_events import make_order

HOOK = "http://127.0.0.1:9/defaults"


async def _endpoints(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/endpoints", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def _put_defaults(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> None:
    response = await client.put("/v1/porting-defaults", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_the_defaults_endpoint_follows_the_defaults(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    await _put_defaults(client, headers, webhook_url=HOOK, webhook_format="sinch")
    [made] = await _endpoints(client, headers)
    assert (made["origin"], made["url"], made["format"]) == ("porting_defaults", HOOK, "sinch")
    await _put_defaults(client, headers, webhook_url=HOOK + "/v2", webhook_format="standard")
    [moved] = await _endpoints(client, headers)
    # The same endpoint: its secret and settings stay with the account's default webhook.
    assert (moved["id"], moved["url"], moved["format"]) == (made["id"], HOOK + "/v2", "standard")


async def test_no_default_url_any_more_stops_new_deliveries_and_buries_waiting_ones(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    await _put_defaults(client, headers, webhook_url=HOOK)
    waiting = await record_event(database, clock, account_id=account_id)
    await _put_defaults(client, headers, contact_email="lnp@acme-telecom.com")
    [kept] = await _endpoints(client, headers)
    assert (kept["origin"], kept["url"]) == ("porting_defaults", None)
    [buried] = await deliveries_of(client, headers, waiting)
    assert (buried["status"], buried["last_error"]) == (
        "dead", "the porting defaults no longer name a webhook URL")
    later = await record_event(database, clock, account_id=account_id)
    assert await deliveries_of(client, headers, later) == []


async def test_an_order_naming_a_url_makes_its_endpoint_before_any_delivery(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    await create_order(client, headers, webhook_url="http://127.0.0.1:9/order")
    await create_order(client, headers, "+12125550199", webhook_url="http://127.0.0.1:9/order")
    [made] = await _endpoints(client, headers)
    assert (made["origin"], made["url"], made["format"]) == (
        "porting_order", "http://127.0.0.1:9/order", "telnyx")


async def test_an_event_naming_a_url_porting_never_wrote_makes_nothing(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
    clock: ShiftableClock,
) -> None:
    # The fan-out only reads endpoints: it no longer makes any.
    account_id, headers = await make_account()
    order = make_order(webhook_url="http://127.0.0.1:9/elsewhere")
    event = await record_event(database, clock, account_id=account_id,
                               data={"porting_order": order, "previous_status": "draft"})
    assert await deliveries_of(client, headers, event) == []
    assert await _endpoints(client, headers) == []
