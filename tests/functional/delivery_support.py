"""Helpers of the delivery tests: a dispatcher running beside the API, events
recorded the way every domain records them, and bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from bench.delivery import delivery_row, event_row, insert_events
from porthook.accounts import service as accounts
from porthook.clock import Clock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import managed
from porthook.delivery import service as delivery_service
from porthook.delivery.dispatcher import Dispatcher
from porthook.delivery.models import Delivery
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from porthook.porting import defaults as porting_defaults
from tests.unit.format_events import make_order

WAIT_TIMEOUT_S = 20.0


@contextlib.asynccontextmanager
async def running_dispatcher(
    settings: Settings, database: Database, clock: Clock, **options: Any
) -> AsyncIterator[Dispatcher]:
    stop = asyncio.Event()
    # As the worker wires it: notices fall back on the porting defaults' contact.
    options.setdefault("contact_fallback", porting_defaults.contact_email)
    dispatcher = Dispatcher(settings, database=database, clock=clock, **options)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_TIMEOUT_S)


async def record_event(
    database: Database, clock: Clock, *, account_id: uuid.UUID,
    type: str = "porting_order.status_changed", data: dict[str, Any] | None = None,
    subject_type: str = "porting_order", subject_id: str | None = None,
) -> uuid.UUID:
    if data is None:
        order = make_order(webhook_url=None)
        data = {"porting_order": order, "previous_status": "in-process"}
    subject = subject_id or str(data.get("porting_order", {}).get("id", uuid.uuid4()))
    async with database.sessions() as session:
        event = await events.record(session, account_id=account_id, type=type,
                                    subject_type=subject_type, subject_id=subject, data=data,
                                    occurred_at=clock.now())
        await session.commit()
    return event.id


async def write_order_endpoint(
    database: Database, clock: Clock, *, account_id: uuid.UUID, url: str
) -> None:
    """What porting does when it writes an order naming ``url`` (events
    recorded here by hand skip porting)."""
    async with database.sessions() as session:
        await managed.ensure_order_endpoint(session, account_id=account_id, url=url,
                                            now=clock.now())
        await session.commit()


POLL_S = 0.05


async def eventually(
    check: Callable[[], Awaitable[bool]], within_s: float = WAIT_TIMEOUT_S
) -> None:
    """Wait (bounded) until ``check`` holds."""
    for _ in range(int(within_s / POLL_S)):
        if await check():
            return
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"condition not met within {within_s} s")


async def create_endpoint(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post("/v1/endpoints", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries_of(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: uuid.UUID
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/events/{event_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def seed_due_deliveries(database: Database, url: str, count: int, *, account: str) -> None:
    """An account, one endpoint at ``url`` and ``count`` due deliveries to it,
    inserted in bulk (a busy day's queue, without the API's cost)."""
    now = datetime.now(UTC)
    settings = Settings(database_url=database.url, allow_private_targets=True)
    async with database.sessions() as session:
        owner, _, _ = await accounts.create_account(session, name=account, contact_email=None,
                                                    now=now)
        endpoint = await delivery_service.create_endpoint(
            session, account_id=owner.id, body=EndpointCreate(url=url), settings=settings,
            now=now)
        rows = [event_row(owner.id, i, now) for i in range(count)]
        await insert_events(session, rows)
        await session.execute(sa.insert(Delivery), [
            delivery_row(owner.id, endpoint.id, e, now) for e in rows])
        await session.commit()
