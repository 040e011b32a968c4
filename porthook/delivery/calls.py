"""What a claimed delivery becomes on the wire, built from the claim's rows.

A claim reads each endpoint once with its batch (``store.Store.claim``); a
``Target`` is that read, and it alone (no database) makes the call: a
webhook's body and signed headers, or an e-mail to the endpoint's address.
The dispatcher decides when: webhook calls for a whole batch at claim time
(``Dispatcher._prepare`` says why), again at send time when that failed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosmtplib

from porthook.clock import Clock
from porthook.delivery import formats, queue, rules, senders
from porthook.delivery.formats import email as email_format

# A webhook call's body and headers.
WebhookCall = tuple[bytes, dict[str, str]]


@dataclass(frozen=True)
class Target:
    """An endpoint as read in the claim's transaction."""

    id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    channel: str
    address: str  # URL or e-mail address
    format: str
    credentials: dict[str, Any] | None
    secrets: list[str]
    enabled: bool
    cap: int
    failing: bool
    headers: dict[str, str] | None = None  # the endpoint's custom headers
    rate_limit_per_s: float | None = None


def target_of(row: Mapping[str, Any], *, now: datetime, default_cap: int) -> Target:
    """The endpoint of a claim's row; ``default_cap`` when it sets no
    ``max_concurrency`` (settings.endpoint_concurrency)."""
    webhook = row["channel"] == "webhook"
    return Target(
        id=row["id"], account_id=row["account_id"], account_name=row["account_name"],
        channel=row["channel"],
        address=(row["url"] if webhook else row["email_address"]) or "",
        format=row["format"], credentials=row["credentials"],
        secrets=rules.signing_secrets(row["secret"], row["previous_secret"],
                                      row["previous_secret_expires_at"], now),
        enabled=row["enabled"],
        cap=row["max_concurrency"] or default_cap,
        failing=row["failing_since"] is not None,
        headers=row["headers"] or None, rate_limit_per_s=row["rate_limit_per_s"],
    )


def webhook_call(
    item: queue.Claimed, view: formats.EventView, target: Target, *, now: datetime,
    telnyx_key: bytes | None,
) -> WebhookCall:
    """Body and signed headers, timestamped ``now``; ``telnyx_key`` signs
    the ``telnyx`` format only."""
    body = formats.render(target.format, view, formats.Attempt(item.attempt, target.address))
    headers = senders.webhook_headers(
        event_id=view.id, body=body, timestamp=now, secrets=target.secrets,
        credentials=target.credentials,
        telnyx_key=telnyx_key if target.format == "telnyx" else None,
        custom=target.headers,
    )
    return body, headers


async def send_mail(
    item: queue.Claimed, view: formats.EventView, target: Target, *,
    mail: senders.MailSender, sender: str, clock: Clock,
) -> senders.SendResult:
    content = email_format.render_email(view, account_name=target.account_name)
    message = senders.build_message(
        sender=sender, to=target.address, subject=content.subject,
        text=content.text, html=content.html, sent_at=clock.now(),
        # One notification, one Message-ID: every retry of this delivery keeps it.
        message_key=f"{view.id}.{target.id}",
        headers={"X-Porthook-Event-Id": str(view.id), "X-Porthook-Attempt": str(item.attempt)},
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await mail.send(message)
    except (aiosmtplib.SMTPException, OSError) as error:
        return senders.SendResult(duration_ms=int((loop.time() - started) * 1000),
                                  error=f"{type(error).__name__}: {error}")
    # No status code: an e-mail attempt succeeds when the server (or the
    # mail folder) accepted the message without error.
    return senders.SendResult(duration_ms=int((loop.time() - started) * 1000))
