"""``actions/test``: send a synthetic event to an endpoint right away.

The synthetic event is not stored and leaves no delivery behind; the answer is
the attempt's result, so a user can check URL, credentials and signature
verification before real events flow.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.config import Settings
from porthook.delivery import formats, rules, senders, service
from porthook.delivery.formats import email as email_format
from porthook.delivery.models import Endpoint
from porthook.delivery.schemas import EndpointTestResult

# The first type the endpoint's format has an equivalent for is sent.
PROBE_TYPES = ("porting_order.status_changed", "record.dids.updated", "endpoint.recovered")


def _sample_order(now: datetime) -> dict[str, Any]:
    stamp = now.isoformat()
    return {
        "id": str(uuid.UUID(int=0)), "order_number": 0, "support_key": "sr_000000",
        "customer_reference": "porthook-test", "status": "submitted", "status_details": [],
        "desired_port_date": None, "desired_port_time": None, "desired_port_time_zone": None,
        "on_demand_activation": False, "end_user": None, "port_out": None,
        "phone_numbers": [], "messaging": None, "webhook_url": None, "reseller_name": None,
        "foc_date": None, "parent_order_id": None, "comments": [], "documents": [],
        "created_at": stamp, "updated_at": stamp,
    }


def synthetic_event(endpoint: Endpoint, now: datetime) -> formats.EventView:
    usable = [t for t in PROBE_TYPES
              if endpoint.channel == "email" or formats.supports(endpoint.format, t)]
    event_type = usable[0] if usable else PROBE_TYPES[0]
    data: dict[str, Any] = {"test": True, "porting_order": _sample_order(now),
                            "previous_status": "in-process",
                            "schema": "dids", "record": {"id": 0, "number": "+15555550100"},
                            "endpoint": service.endpoint_snapshot(endpoint),
                            "reason": "test event"}
    subject_type = event_type.split(".")[0]
    if subject_type == "record":
        subject_type = "dids"
    return formats.EventView(
        id=db.new_id(), type=event_type, account_id=endpoint.account_id,
        subject_type=subject_type, subject_id="0", sequence=0, occurred_at=now, data=data,
    )


async def test_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, endpoint_id: uuid.UUID, settings: Settings,
    now: datetime,
) -> EndpointTestResult:
    endpoint = await service.get_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    key = await service.signing_key(session, now=now)
    view = synthetic_event(endpoint, now)
    if endpoint.channel == "email":
        result = await _mail(endpoint, view, settings)
    else:
        result = await _post(endpoint, view, settings, key, now)
    return EndpointTestResult(
        event_type=view.type, success=rules.succeeded(result.status_code, result.error),
        status_code=result.status_code, duration_ms=result.duration_ms,
        response_excerpt=result.response_excerpt, error=result.error,
    )


async def _post(
    endpoint: Endpoint, view: formats.EventView, settings: Settings, key: bytes, now: datetime
) -> senders.SendResult:
    url = endpoint.url or ""
    try:
        body = formats.render(endpoint.format, view, formats.Attempt(1, url))
    except (formats.UnsupportedEvent, KeyError, TypeError, ValueError) as error:
        return senders.SendResult(duration_ms=0, error=f"cannot render a test event: {error}")
    secrets = rules.signing_secrets(endpoint.secret, endpoint.previous_secret,
                                    endpoint.previous_secret_expires_at, now)
    headers = senders.webhook_headers(
        event_id=view.id, body=body, timestamp=now, secrets=secrets,
        credentials=endpoint.credentials,
        telnyx_key=key if endpoint.format == "telnyx" else None, custom=endpoint.headers,
    )
    http = senders.HttpSender(settings)
    await http.start()
    try:
        return await http.post(url, body, headers)
    finally:
        await http.close()


async def _mail(
    endpoint: Endpoint, view: formats.EventView, settings: Settings
) -> senders.SendResult:
    content = email_format.render_email(view, account_name="test")
    message = senders.build_message(
        sender=settings.mail_from, to=endpoint.email_address or "", subject=content.subject,
        text=content.text, html=content.html, sent_at=view.occurred_at,
    )
    started = time.perf_counter()
    try:
        await senders.mail_sender(settings).send(message)
    except (aiosmtplib.SMTPException, OSError) as error:
        # A refusal (recipient, sender, login) is an answer for the user, not a crash.
        return senders.SendResult(duration_ms=_ms_since(started),
                                  error=f"{type(error).__name__}: {error}")
    return senders.SendResult(duration_ms=_ms_since(started))


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
