"""The "endpoint disabled" notice: who is told, over a real SMTP server, when
a sink answers 410 Gone."""

from __future__ import annotations

import logging

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
from tests.functional.sinks import Sink
from tests.functional.smtp_support import Inbox, smtp_server


@pytest.mark.parametrize(("account_contact", "defaults_contact", "told"), [
    # Only the porting defaults name a contact: they are used.
    (None, "porting@acme.example.com", "porting@acme.example.com"),
    # Both do: the account's own contact comes first.
    ("ops@acme.test", "porting@acme.example.com", "ops@acme.test"),
])
async def test_disabled_endpoint_is_told_to_the_contact(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock,
    account_contact: str | None, defaults_contact: str, told: str,
) -> None:
    account_id, headers = await make_account(contact_email=account_contact)
    put = await client.put("/v1/porting-defaults", json={"contact_email": defaults_contact},
                           headers=headers)
    assert put.status_code == 200, put.text
    sink.script("/gone", 410)
    endpoint = await create_endpoint(client, headers, url=sink.url("/gone"),
                                     event_types=["porting_order.*"])
    await record_event(database, clock, account_id=account_id)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        with_smtp = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        async with running_dispatcher(with_smtp, database, clock):
            async def told_someone() -> bool:
                return len(inbox.arrived) == 1

            await eventually(told_someone)
    [notice] = inbox.arrived
    assert notice.recipients == [told]
    assert notice.message["To"] == told
    assert notice.message["Subject"] == f"porthook: endpoint {sink.url('/gone')} was disabled"
    text = notice.message.get_content()
    assert text.startswith("Hello Acme,")
    assert f"(endpoint {endpoint['id']}): " in text
    assert "410" in text


async def test_nobody_to_tell_is_logged(
    client: httpx.AsyncClient, make_account: AccountFactory, sink: Sink, settings: Settings,
    database: Database, clock: ShiftableClock, caplog: pytest.LogCaptureFixture,
) -> None:
    account_id, headers = await make_account(contact_email=None)
    sink.script("/gone", 410)
    endpoint = await create_endpoint(client, headers, url=sink.url("/gone"),
                                     event_types=["porting_order.*"])
    await record_event(database, clock, account_id=account_id)
    caplog.set_level(logging.WARNING, logger="porthook.delivery.notices")
    async with running_dispatcher(settings, database, clock):
        async def logged() -> bool:
            return f"endpoint {endpoint['id']} was disabled" in caplog.text

        await eventually(logged)
    assert "no contact e-mail" in caplog.text
    assert not settings.mail_dir.exists() or not list(settings.mail_dir.glob("*.eml"))
