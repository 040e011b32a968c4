"""Internal comments: the desk's own notes on an order. The desk sees them
(operator API, dashboard); the customer never does, by API, webhook (any
format) or e-mail, and writing one records no event."""

from __future__ import annotations

import httpx

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint, eventually, running_dispatcher
from tests.functional.sinks import Sink
from tests.porting_helpers import create_order

NOTE = "OSP says the account is in collections; do not tell the customer"
PUBLIC = "We are checking the CSR with the losing carrier"
FORMATS = ("standard", "telnyx", "sinch", "records")


async def test_an_internal_comment_stays_with_the_desk(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
    sink: Sink, settings: Settings, database: Database, clock: ShiftableClock,
) -> None:
    _, headers = await make_account()
    for fmt in FORMATS:
        await create_endpoint(client, headers, url=sink.url(f"/{fmt}"), format=fmt)
    await create_endpoint(client, headers, channel="email", email_address="noc@acme-isp.com")
    order = await create_order(client, headers)
    comments = f"/v1/operator/porting-orders/{order['id']}/comments"
    events_before = (await client.get("/v1/events", headers=headers)).json()["data"]

    note = await client.post(comments, json={"body": NOTE, "internal": True},
                             headers=operator_headers)
    assert note.status_code == 201 and note.json()["internal"] is True
    # No event at all for the note.
    assert (await client.get("/v1/events", headers=headers)).json()["data"] == events_before
    public = await client.post(comments, json={"body": PUBLIC}, headers=operator_headers)
    assert public.status_code == 201 and public.json()["internal"] is False

    # The desk sees both; the customer only the public one.
    desk_view = (await client.get(comments, headers=operator_headers)).json()["data"]
    assert [(c["body"], c["internal"]) for c in desk_view] == [(NOTE, True), (PUBLIC, False)]
    customer_order = (await client.get(f"/v1/porting-orders/{order['id']}",
                                       headers=headers)).text
    customer_comments = (await client.get(f"/v1/porting-orders/{order['id']}/comments",
                                          headers=headers)).json()["data"]
    assert [c["body"] for c in customer_comments] == [PUBLIC]
    assert NOTE not in customer_order
    assert NOTE not in (await client.get("/v1/events", headers=headers)).text
    desk_order = (await client.get(f"/v1/operator/porting-orders/{order['id']}",
                                   headers=operator_headers)).text
    assert NOTE not in desk_order  # the order's public shape never carries it

    async with running_dispatcher(settings, database, clock):
        # created + new_comment reach every format that has them; the records
        # format gets the lnp record events, the e-mail one .eml per event.
        await sink.wait_for(2, "/standard")
        await sink.wait_for(1, "/telnyx")
        await sink.wait_for(2, "/sinch")
        await sink.wait_for(1, "/records")

        async def mailed() -> bool:
            return settings.mail_dir.exists() and len(list(settings.mail_dir.glob("*.eml"))) >= 2

        await eventually(mailed)
    bodies = [call.body.decode() for call in sink.received]
    assert any(PUBLIC in body for body in bodies)
    assert not any(NOTE in body for body in bodies)
    for path in settings.mail_dir.glob("*.eml"):
        assert NOTE not in path.read_text(errors="replace")


async def test_customers_cannot_write_internal_comments(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers)
    response = await client.post(f"/v1/porting-orders/{order['id']}/comments",
                                 json={"body": "x", "internal": True}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.internal"
