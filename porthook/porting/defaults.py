"""Porting defaults per account (seed 000's "porting defaults API") and the
portability check. Given a session; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings
from porthook.delivery import managed, ssrf
from porthook.porting import numbers
from porthook.porting import service as orders
from porthook.porting.models import PortingDefaults
from porthook.porting.schemas import (
    PortabilityResult,
    PortingDefaultsIn,
    PortingDefaultsPublic,
)
from porthook.records import service as records


async def get_defaults(session: AsyncSession, *, account_id: uuid.UUID) -> PortingDefaults | None:
    """The account's defaults row, if it set any."""
    return await session.get(PortingDefaults, account_id)


async def read_defaults(session: AsyncSession, *, account_id: uuid.UUID) -> PortingDefaultsPublic:
    row = await get_defaults(session, account_id=account_id)
    if row is None:
        return PortingDefaultsPublic(account_id=account_id)
    return PortingDefaultsPublic.model_validate(row)


async def put_defaults(
    session: AsyncSession, *, account_id: uuid.UUID, body: PortingDefaultsIn,
    settings: Settings, now: datetime,
) -> PortingDefaultsPublic:
    if body.webhook_url:
        await ssrf.check_url(body.webhook_url, settings, field="webhook_url")
    row = await get_defaults(session, account_id=account_id)
    if row is None:
        row = PortingDefaults(account_id=account_id, updated_at=now)
        session.add(row)
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    row.updated_at = now
    await session.flush()
    await managed.sync_defaults_endpoint(session, account_id=account_id, url=row.webhook_url,
                                         format=row.webhook_format, now=now)
    return PortingDefaultsPublic.model_validate(row)


async def contact_email(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """The contact e-mail of the defaults: where endpoint notices go when the
    account names none itself (the worker hands this to the dispatcher)."""
    row = await get_defaults(session, account_id=account_id)
    return row.contact_email if row is not None else None


async def check_portability(
    session: AsyncSession, *, account_id: uuid.UUID, phone_numbers: Sequence[str],
    except_order_id: uuid.UUID | None = None,
) -> list[PortabilityResult]:
    """Per number: could it be put on a new order now, and if not, why. With
    ``except_order_id`` (an order being edited), that order's own hold on a
    number does not count: the number may stay on it."""
    results: list[PortabilityResult] = []
    parsed: dict[int, numbers.ParsedNumber] = {}
    for index, raw in enumerate(phone_numbers):
        try:
            parsed[index] = numbers.parse(raw)
        except numbers.NumberError as exc:
            results.append(PortabilityResult(phone_number=raw, portable=False,
                                             reason=f"{exc.reason}: {exc.message}"))
            continue
        results.append(PortabilityResult(phone_number=parsed[index].e164, portable=True,
                                         country_code=parsed[index].country_code))
    e164s = [p.e164 for p in parsed.values()]
    held = await orders.holders(session, e164s)
    active = await records.active_dids(session, account_id=account_id, numbers_e164=e164s)
    for index, number in parsed.items():
        if number.e164 in active:
            results[index].portable = False
            results[index].reason = orders.active_reason(active[number.e164])
        elif number.e164 in held and held[number.e164][0] != except_order_id:
            results[index].portable = False
            results[index].reason = orders.held_reason(held[number.e164], account_id)
    return results
