"""E-mail endpoints: a real SMTP server on loopback, and .eml files without one."""

from __future__ import annotations

import email
import email.policy
import email.utils
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

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


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
async def smtp_inbox() -> AsyncIterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    # aiosmtpd's controller checks its port by connecting to it, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _assert_rfc5322_headers(message: EmailMessage, *, event_id: uuid.UUID,
                            before: datetime) -> None:
    """RFC 5322 requires Date; large receivers refuse mail without a Message-ID."""
    sent = email.utils.parsedate_to_datetime(str(message["Date"]))
    # Taken from the worker's clock when sending (Date has whole seconds).
    assert before.replace(microsecond=0) <= sent <= datetime.now(UTC)
    message_id = str(message["Message-ID"])
    # Stable per delivery (event and endpoint), so a retry keeps it; the sender's domain.
    assert message_id.startswith(f"<{event_id}.") and message_id.endswith("@localhost>")


async def test_email_endpoint_receives_the_event_over_smtp(
    client: httpx.AsyncClient, make_account: AccountFactory, settings: Settings,
    database: Database, clock: ShiftableClock, smtp_inbox: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_inbox
    account_id, headers = await make_account()
    await create_endpoint(client, headers, channel="email", email_address="noc@acme.example.com")
    event_id = await record_event(database, clock, account_id=account_id)
    before = clock.now()
    with_smtp = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    async with running_dispatcher(with_smtp, database, clock):
        async def arrived() -> bool:
            return len(inbox.messages) == 1

        await eventually(arrived)
    [message] = inbox.messages
    assert message["To"] == "noc@acme.example.com"
    assert message["X-Porthook-Event-Id"] == str(event_id)
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    _assert_rfc5322_headers(message, event_id=event_id, before=before)
    assert (await deliveries_of(client, headers, event_id))[0]["status"] == "delivered"


async def test_without_smtp_mail_is_written_as_eml_files(
    client: httpx.AsyncClient, make_account: AccountFactory, settings: Settings,
    database: Database, clock: ShiftableClock,
) -> None:
    account_id, headers = await make_account()
    await create_endpoint(client, headers, channel="email", email_address="noc@acme.example.com")
    event_id = await record_event(database, clock, account_id=account_id)
    before = clock.now()
    async with running_dispatcher(settings, database, clock):
        async def written() -> bool:
            return settings.mail_dir.exists() and len(list(settings.mail_dir.glob("*.eml"))) == 1

        await eventually(written)
    [path] = settings.mail_dir.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "noc@acme.example.com"
    assert message["X-Porthook-Event-Id"] == str(event_id)
    _assert_rfc5322_headers(message, event_id=event_id, before=before)
