"""``lnp_requests`` / ``lnp_numbers`` use cases: porting-order use cases seen as records.

Every change goes through ``porthook.porting.service`` (which records the
``porting_order.*`` and ``record.lnp_*`` events), so a change through either
API is the same change with the same events. Never commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings
from porthook.pagination import UUID_KEY, decode_cursor, encode_cursor
from porthook.porting import creation, lnp, moves
from porthook.porting import service as porting
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.porting.schemas import PortingOrderCreate, PortingOrderUpdate
from porthook.porting.snapshot import number_public, snapshot
from porthook.problems import Conflict, NotFound

Record = dict[str, Any]


def request_record(order: PortingOrder) -> Record:
    return lnp.lnp_request_record(snapshot(order))


def number_record(number: PortingNumber) -> Record:
    return lnp.lnp_number_record(number.order_id, number_public(number).model_dump(mode="json"))


async def get_request(
    session: AsyncSession, *, account_id: uuid.UUID, request_id: uuid.UUID
) -> PortingOrder:
    return await porting.get_order(session, order_id=request_id, account_id=account_id)


async def list_requests(
    session: AsyncSession, *, account_id: uuid.UUID, request_status: str | None,
    cursor: str | None, limit: int,
) -> tuple[list[PortingOrder], str | None]:
    return await porting.list_orders(session, account_id=account_id, status=request_status,
                                     cursor=cursor, limit=limit)


async def create_request(
    session: AsyncSession, *, account_id: uuid.UUID, body: PortingOrderCreate,
    settings: Settings, now: datetime,
) -> PortingOrder:
    return await creation.create_order(session, account_id=account_id, body=body,
                                      settings=settings, now=now)


async def update_request(
    session: AsyncSession, *, account_id: uuid.UUID, request_id: uuid.UUID,
    body: PortingOrderUpdate, settings: Settings, now: datetime,
) -> PortingOrder:
    return await porting.update_order(session, account_id=account_id, order_id=request_id,
                                      body=body, settings=settings, now=now)


async def delete_request(
    session: AsyncSession, *, account_id: uuid.UUID, request_id: uuid.UUID, now: datetime
) -> None:
    await moves.delete_order(session, account_id=account_id, order_id=request_id, now=now)


def _numbers_query(account_id: uuid.UUID) -> sa.Select[PortingNumber]:
    return (
        sa.select(PortingNumber).join(PortingOrder, PortingNumber.order_id == PortingOrder.id)
        .where(PortingOrder.account_id == account_id,
               PortingOrder.status != porting.Status.DELETED)
    )


async def get_number(
    session: AsyncSession, *, account_id: uuid.UUID, number_id: uuid.UUID
) -> PortingNumber:
    number = await session.scalar(_numbers_query(account_id).where(PortingNumber.id == number_id))
    if number is None:
        raise NotFound(f"lnp_numbers record {number_id} does not exist")
    return number


async def list_numbers(
    session: AsyncSession, *, account_id: uuid.UUID, lnp_request_id: uuid.UUID | None,
    phone_number: str | None, cursor: str | None, limit: int,
) -> tuple[list[PortingNumber], str | None]:
    query = _numbers_query(account_id).order_by(PortingNumber.id).limit(limit + 1)
    if lnp_request_id is not None:
        query = query.where(PortingNumber.order_id == lnp_request_id)
    if phone_number is not None:
        query = query.where(PortingNumber.phone_number == phone_number)
    after = decode_cursor(cursor, UUID_KEY)
    if after is not None:
        query = query.where(PortingNumber.id > after)
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def _set_numbers(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID, numbers: list[str],
    settings: Settings, now: datetime,
) -> PortingOrder:
    body = PortingOrderUpdate(phone_numbers=numbers)
    return await porting.update_order(session, account_id=account_id, order_id=order_id,
                                      body=body, settings=settings, now=now)


def _on(order: PortingOrder, e164: str) -> PortingNumber:
    return next(n for n in order.numbers if n.phone_number == e164)


async def add_number(
    session: AsyncSession, *, account_id: uuid.UUID, lnp_request_id: uuid.UUID, e164: str,
    settings: Settings, now: datetime,
) -> PortingNumber:
    order = await porting.get_order(session, order_id=lnp_request_id, account_id=account_id)
    current = [n.phone_number for n in order.numbers]
    if e164 in current:
        raise Conflict(f"{e164} is already on lnp_request {lnp_request_id}")
    order = await _set_numbers(session, account_id=account_id, order_id=order.id,
                               numbers=[*current, e164], settings=settings, now=now)
    return _on(order, e164)


async def replace_number(
    session: AsyncSession, *, account_id: uuid.UUID, number_id: uuid.UUID, e164: str,
    settings: Settings, now: datetime,
) -> PortingNumber:
    number = await get_number(session, account_id=account_id, number_id=number_id)
    order = await porting.get_order(session, order_id=number.order_id, account_id=account_id)
    if number.phone_number == e164:
        return number
    numbers = [e164 if n.phone_number == number.phone_number else n.phone_number
               for n in order.numbers]
    order = await _set_numbers(session, account_id=account_id, order_id=order.id,
                               numbers=numbers, settings=settings, now=now)
    return _on(order, e164)


async def remove_number(
    session: AsyncSession, *, account_id: uuid.UUID, number_id: uuid.UUID,
    settings: Settings, now: datetime,
) -> None:
    number = await get_number(session, account_id=account_id, number_id=number_id)
    order = await porting.get_order(session, order_id=number.order_id, account_id=account_id)
    rest = [n.phone_number for n in order.numbers if n.id != number.id]
    if not rest:
        raise Conflict(f"lnp_numbers record {number_id} is the last number of lnp_request "
                       f"{order.id}; delete the lnp_request instead")
    await _set_numbers(session, account_id=account_id, order_id=order.id, numbers=rest,
                       settings=settings, now=now)
