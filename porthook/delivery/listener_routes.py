"""``porthook listen``'s routes: the stream of a listener's calls, and their results.

The stream is NDJSON, one object a line: ``ready`` first (the listener's
endpoint and signing secret), then ``delivery`` lines (``listeners.message``)
and a ``heartbeat`` every ``HEARTBEAT_S`` so proxies and load balancers that
close idle connections keep it open, and so the CLI notices a dead one; after
``STREAM_MAX_S`` an ``end`` line, and the CLI connects again (nothing is lost:
rows stay pending until their result is recorded).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from porthook import urls
from porthook.clock import Clock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import formats, listeners, rules, service
from porthook.delivery.models import Endpoint
from porthook.deps import (
    AccountIdDep,
    ClockDep,
    DatabaseDep,
    EventTypeNamesDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
)
from porthook.problems import FieldError, Unprocessable, responses

router = APIRouter(prefix="/v1/listeners", responses=responses(401, 403))
TAGS: list[str | Enum] = ["listeners"]

HEARTBEAT_S = 15.0  # under the usual 30-60 s idle timeout of proxies
# A stream ends itself (an ``end`` line; the CLI reconnects at once) after
# this long: uvicorn's graceful shutdown waits for every open response, and
# cannot tell a stream to stop, so this bounds how long one holds a stop up.
STREAM_MAX_S = 20.0
POLL_S = 0.5  # how often a stream looks for its rows (a developer's tool: no NOTIFY)
# A row sent down the stream stays leased this long: the CLI's local call
# (request timeout) and its report back fit inside it.
LEASE_MARGIN_S = 15.0
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, description="The listener's name")]


class ListenerResult(BaseModel):
    """What the local server answered to one forwarded call."""

    lease: uuid.UUID = Field(description="The lease the stream sent with the delivery")
    duration_ms: int = Field(ge=0)
    status_code: int | None = Field(default=None, ge=100, le=599)
    response_excerpt: str | None = Field(default=None, max_length=4096)
    error: str | None = Field(default=None, max_length=1000)
    retry_schedule: list[Annotated[float, Field(ge=0, le=86_400)]] | None = Field(
        default=None, min_length=1, max_length=20,
        description="Seconds before each retry, for this listener (porthook listen "
                    "--retry-schedule); the server's schedule when absent")


class ListenerResultRecorded(BaseModel):
    delivery_id: uuid.UUID
    status: str


_STREAM_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "NDJSON, one object a line: ready, then delivery, heartbeat and end lines",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}


@router.get("/{name}/stream", tags=TAGS, response_class=StreamingResponse,
            responses={**_STREAM_DOC, **responses(422)})
async def stream_listener(
    name: NameParam, request: Request, session: SessionDep, account_id: AccountIdDep,
    principal: PrincipalDep, database: DatabaseDep, settings: SettingsDep, clock: ClockDep,
    type_names: EventTypeNamesDep,
    forward_to: Annotated[str, Query(max_length=2048, description="Where the CLI forwards")],
    format: Annotated[str, Query(description="standard, telnyx, sinch or records")] = "standard",
    events: Annotated[list[str] | None, Query(description="Event type patterns")] = None,
    order: Annotated[str | None, Query(
        max_length=64, description="Only the events of this porting order (its id); "
                                   "every order's when absent")] = None,
) -> StreamingResponse:
    """Connect a listener (made on first use) and stream its deliveries as NDJSON."""
    patterns = events or ["*"]
    _check(format, patterns, type_names, forward_to)
    if order is not None and not await listeners.has_order(session, account_id=account_id,
                                                          order_id=order):
        raise Unprocessable("the listener cannot be connected", errors=[FieldError(
            field="order", message=f"expected the id of one of this account's porting orders, "
                                   f"got {order!r}")])
    endpoint = await listeners.connect(
        session, account_id=account_id, key_id=principal.key_id, name=name,
        forward_to=forward_to, format=format, event_types=patterns, subject_id=order,
        now=clock.now())
    telnyx_key = await service.signing_key(session, now=clock.now())
    await session.commit()
    ready = {"type": "ready", "endpoint_id": str(endpoint.id), "name": name,
             "secret": endpoint.secret, "format": format, "events": patterns, "order": order,
             "signing_key_url": "/v1/webhook-signing-key"}
    lines = _lines(request, database=database, settings=settings, clock=clock,
                   endpoint_id=endpoint.id, telnyx_key=telnyx_key, first=ready)
    return StreamingResponse(lines, media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _check(format: str, patterns: list[str], type_names: tuple[str, ...],
           forward_to: str) -> None:
    errors: list[FieldError] = []
    try:
        urls.parse_http_url(forward_to)
    except ValueError as error:
        errors.append(FieldError(field="forward_to", message=str(error)))
    if format not in formats.FORMATS:
        expected = ", ".join(formats.FORMATS)
        errors.append(FieldError(field="format", message=f"expected one of {expected}"))
    for pattern in patterns:
        if not any(rules.matches([pattern], name) for name in type_names):
            errors.append(FieldError(field="events", message=f"{pattern!r} matches no event type "
                                               "(see GET /v1/event-types)"))
    if errors:
        raise Unprocessable("the listener cannot be connected", errors=errors)


async def _lines(
    request: Request, *, database: Database, settings: Settings, clock: Clock,
    endpoint_id: uuid.UUID, telnyx_key: bytes, first: dict[str, Any],
) -> AsyncIterator[bytes]:
    yield _line(first)
    lease_s = settings.request_timeout_s + LEASE_MARGIN_S
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + HEARTBEAT_S
    take_over = True  # what a previous stream of this listener left unreported
    end_at = loop.time() + STREAM_MAX_S
    while not await request.is_disconnected():
        if loop.time() >= end_at:
            yield _line({"type": "end", "reason": "reconnect"})
            return
        async with database.sessions() as session:
            endpoint = await session.get(Endpoint, endpoint_id)
            if endpoint is None:  # swept or deleted meanwhile: the CLI reconnects
                return
            now = clock.now()
            batch = await listeners.take(session, endpoint=endpoint, now=now, lease_s=lease_s,
                                         take_over=take_over, telnyx_key=telnyx_key,
                                         settings=settings)
            if loop.time() >= beat_at:
                await listeners.seen(session, endpoint_id=endpoint_id, now=now)
            await session.commit()
        take_over = False
        for item in batch:
            yield _line(item)
        if loop.time() >= beat_at:
            beat_at = loop.time() + HEARTBEAT_S
            yield _line({"type": "heartbeat", "at": clock.now().isoformat()})
        if not batch:
            await asyncio.sleep(POLL_S)


def _line(item: dict[str, Any]) -> bytes:
    return json.dumps(item, separators=(",", ":")).encode() + b"\n"


@router.post("/{name}/deliveries/{delivery_id}/result", tags=TAGS,
             response_model=ListenerResultRecorded, responses=responses(404, 409, 422))
async def record_listener_result(
    name: NameParam, delivery_id: uuid.UUID, result: ListenerResult, session: SessionDep,
    account_id: AccountIdDep, principal: PrincipalDep, settings: SettingsDep, clock: ClockDep,
) -> ListenerResultRecorded:
    """Record what the local server answered as the delivery's attempt (retried
    on the schedule when it failed, as a webhook call would be)."""
    endpoint = await listeners.find(session, account_id=account_id, key_id=principal.key_id,
                                    name=name)
    answer = listeners.LocalAnswer(
        lease=result.lease, duration_ms=result.duration_ms, status_code=result.status_code,
        response_excerpt=result.response_excerpt, error=result.error,
        # The first try is "at once" (schedule[0]); the CLI gives the retries' delays.
        retry_schedule=(0.0, *result.retry_schedule) if result.retry_schedule else None)
    status = await listeners.record_result(session, endpoint=endpoint, delivery_id=delivery_id,
                                           answer=answer, now=clock.now(), settings=settings)
    await listeners.seen(session, endpoint_id=endpoint.id, now=clock.now())
    await session.commit()
    return ListenerResultRecorded(delivery_id=delivery_id, status=status)
