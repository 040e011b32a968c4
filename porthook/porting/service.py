"""Reading and editing porting orders, and the checks and rules their use
cases share (numbers held or already active, the port date, support keys).

Given a session; never commits. Every change goes out through
``outbox.publish`` (events and lnp record events in the same transaction).
Creation lives in ``creation.py``, status moves and activation in
``moves.py``, operator use cases in ``desk.py``, comments and documents in
``attachments.py``, defaults and portability checks in ``defaults.py``: each
imports this module, never the reverse.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, lazyload, raiseload
from sqlalchemy.orm.attributes import set_committed_value

from porthook import db
from porthook.config import Settings
from porthook.delivery import ssrf
from porthook.events.types import EventType
from porthook.pagination import POSITION, decode_cursor, encode_cursor
from porthook.porting import numbers, outbox, rules
from porthook.porting.models import PortingComment, PortingDocument, PortingNumber, PortingOrder
from porthook.porting.schemas import PortingOrderUpdate
from porthook.porting.snapshot import snapshot
from porthook.problems import Conflict, FieldError, NotFound, Unprocessable
from porthook.records import service as records

Status = rules.OrderStatus
SUPPORT_KEY_ATTEMPTS = 8
NO_SUPPORT_KEY = "could not allocate a support key; retry"


async def get_order(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID | None,
    for_update: bool = False, collections: bool = True,
) -> PortingOrder:
    """The order, for its account (or for the operator: ``account_id=None``).
    Another account's order and a deleted draft both answer 404.

    ``collections=False``: its numbers, comments and documents are not loaded
    (touching them raises), for a change whose cost must not grow with them."""
    if collections:
        return await _get_with_collections(session, order_id=order_id, account_id=account_id,
                                           for_update=for_update)
    query = sa.select(PortingOrder).where(*_which_order(order_id, account_id)).options(
        raiseload(PortingOrder.numbers), raiseload(PortingOrder.comments),
        raiseload(PortingOrder.documents))
    if for_update:
        query = (query.with_for_update(of=PortingOrder)
                 .execution_options(populate_existing=True))
    order = await session.scalar(query)
    if order is None:
        raise NotFound(f"porting order {order_id} does not exist")
    return order


def _which_order(order_id: uuid.UUID, account_id: uuid.UUID | None
                 ) -> list[sa.ColumnElement[bool]]:
    which = [PortingOrder.id == order_id, PortingOrder.status != Status.DELETED]
    if account_id is not None:
        which.append(PortingOrder.account_id == account_id)
    return which


async def _get_with_collections(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID | None,
    for_update: bool,
) -> PortingOrder:
    """The order with its numbers, comments and documents in ONE statement
    (every move reads them: its events carry the whole order), where it took
    two (the numbers joined, then the comments and documents)."""
    rows = (await session.execute(_with_collections(account_id is not None, for_update),
                                  {"order_id": order_id, "account_id": account_id})).all()
    if not rows:
        raise NotFound(f"porting order {order_id} does not exist")
    order: PortingOrder = rows[0][0]
    set_committed_value(order, "numbers", [r[1] for r in rows if r[1] is not None])
    set_committed_value(order, "comments", [r[2] for r in rows if r[2] is not None])
    set_committed_value(order, "documents", [r[3] for r in rows if r[3] is not None])
    return order


@functools.cache
def _with_collections(for_account: bool, for_update: bool
                      ) -> sa.Select[PortingOrder, PortingNumber, PortingComment, PortingDocument]:
    """``_get_with_collections``' statement, built once per shape (building it
    cost about as much as running it): a three-row key (0, 1, 2) joined to
    the order and left-joined to the numbers on 0, the comments on 1 and the
    documents on 2, so each row holds one of them (or none: the ORM gives
    None) and the rows add up instead of multiplying."""
    key = sa.union_all(*(sa.select(sa.literal(k).label("k")) for k in (0, 1, 2))).subquery()
    which = [PortingOrder.id == sa.bindparam("order_id"), PortingOrder.status != Status.DELETED]
    if for_account:
        which.append(PortingOrder.account_id == sa.bindparam("account_id"))
    query = (
        sa.select(PortingOrder, PortingNumber, PortingComment, PortingDocument)
        .select_from(key).join(PortingOrder, sa.true()).where(*which)
        .outerjoin(PortingNumber, sa.and_(key.c.k == 0, PortingNumber.order_id == PortingOrder.id))
        .outerjoin(PortingComment,
                   sa.and_(key.c.k == 1, PortingComment.order_id == PortingOrder.id))
        .outerjoin(PortingDocument,
                   sa.and_(key.c.k == 2, PortingDocument.order_id == PortingOrder.id))
        # The relationships' own order_by, each within its part.
        .order_by(key.c.k, PortingNumber.position, PortingComment.inserted_at,
                  PortingDocument.created_at)
        # Filled from these rows (set_committed_value), not by SELECTs of their own.
        .options(lazyload(PortingOrder.numbers), lazyload(PortingOrder.comments),
                 lazyload(PortingOrder.documents))
    )
    if for_update:
        # Serialises concurrent changes of one order on PostgreSQL. OF: the
        # outer joins cannot be locked, and need not be (the order's lock
        # covers its collections).
        query = (query.with_for_update(of=PortingOrder)
                 .execution_options(populate_existing=True))
    return query


async def touch_order(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID | None,
    now: datetime,
) -> PortingOrder:
    """The order's columns, with ``updated_at`` set, in ONE statement (UPDATE
    ... RETURNING, which locks the row as FOR UPDATE would), for a change that
    touches no collection (a comment).

    A Core statement: the ORM's UPDATE ... RETURNING of an entity cost more
    CPU than the rest of a comment's statements together (issue 17). The
    order returned is NOT in the session and carries only ``_TOUCH_RETURNS``:
    read those columns (its summary), never its collections (they are empty,
    not loaded), and change it only through statements of its own."""
    connection = await session.connection()
    result = await connection.execute(touch_statement(account_id is not None),
                                      touch_params(order_id, account_id, now))
    return touched_order(order_id, result.one_or_none())


@functools.cache
def touch_statement(for_account: bool) -> sa.Update:
    """``touch_order``'s statement (built once: building it cost more than
    running it), for a caller that adds to it (a WITH); its parameters are
    ``touch_params``."""
    query = sa.update(_ORDERS).where(_ORDERS.c.id == sa.bindparam("touch_id"),
                                     _ORDERS.c.status != Status.DELETED)
    if for_account:
        query = query.where(_ORDERS.c.account_id == sa.bindparam("touch_account_id"))
    return query.values(updated_at=sa.bindparam("touch_now", type_=_ORDERS.c.updated_at.type)
                        ).returning(*_TOUCH_RETURNS)


def touch_params(order_id: uuid.UUID, account_id: uuid.UUID | None, now: datetime
                 ) -> dict[str, Any]:
    return {"touch_id": order_id, "touch_account_id": account_id, "touch_now": now}


def touched_order(order_id: uuid.UUID, row: sa.Row[Any] | None) -> PortingOrder:
    """The order of ``touch_statement``'s row, or 404."""
    if row is None:
        raise NotFound(f"porting order {order_id} does not exist")
    return PortingOrder(**row._mapping)


_ORDERS = cast(sa.Table, PortingOrder.__table__)
# What a touched order carries: its summary's columns and the rest of its
# scalars, not the end user and port-out documents (JSON a comment never
# reads) nor the PINs.
_TOUCH_RETURNS = [c for c in _ORDERS.c
                  if c.name not in ("end_user", "port_out", "port_out_pin", "wireless_pin")]


async def list_orders(
    session: AsyncSession, *, account_id: uuid.UUID | None, status: str | None = None,
    customer_reference: str | None = None, phone_number: str | None = None,
    cursor: str | None, limit: int,
) -> tuple[list[PortingOrder], str | None]:
    query = (sa.select(PortingOrder).where(PortingOrder.status != Status.DELETED)
             .order_by(PortingOrder.order_number).limit(limit + 1))
    if account_id is not None:
        query = query.where(PortingOrder.account_id == account_id)
    if status:
        query = query.where(PortingOrder.status == status)
    if customer_reference:
        query = query.where(PortingOrder.customer_reference == customer_reference)
    if phone_number:
        query = query.where(PortingOrder.id.in_(
            sa.select(PortingNumber.order_id)
            .where(PortingNumber.phone_number == normalise_number(phone_number))
        ))
    after = decode_cursor(cursor, POSITION)
    if after is not None:
        query = query.where(PortingOrder.order_number > after)
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(rows[limit - 1].order_number) if len(rows) > limit else None
    return rows[:limit], next_cursor


def normalise_number(raw: str) -> str:
    try:
        return numbers.parse(raw).e164
    except numbers.NumberError:
        return raw


async def holders(
    session: AsyncSession, e164s: Sequence[str]
) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """Which open order (id, account id) holds each of these numbers."""
    if not e164s:
        return {}
    rows = await session.execute(holders_select(e164s))
    return {str(r[0]): (r[1], r[2]) for r in rows}


def holders_select(e164s: Sequence[str] | sa.BindParameter[Any], *extra: sa.ColumnElement[Any]
                   ) -> sa.Select[Any]:
    """(number, order id, account id, *extra) of the open orders holding these
    numbers (or a parameter of them: expanding, or an array on PostgreSQL)."""
    return (
        sa.select(PortingNumber.held_number, PortingOrder.id, PortingOrder.account_id, *extra)
        .join(PortingOrder, PortingOrder.id == PortingNumber.order_id)
        .where(one_of(PortingNumber.held_number, e164s))
    )


def one_of(column: sa.ColumnElement[Any] | InstrumentedAttribute[Any],
           values: Sequence[Any] | sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    """``column IN values``; ``= ANY(values)`` for a parameter that is not
    expanding (an array: one statement however many values, which asyncpg
    runs as it is, ``db.DriverStatement``)."""
    if isinstance(values, sa.BindParameter) and not values.expanding:
        return column == sa.any_(values)
    return column.in_(values if isinstance(values, sa.BindParameter) else list(values))


def held_reason(holder: tuple[uuid.UUID, uuid.UUID], account_id: uuid.UUID) -> str:
    order_id, owner = holder
    # Naming another tenant's order would leak it: only the caller's own is named.
    if owner == account_id:
        return f"already on open porting order {order_id}"
    return "already on an open porting order of another account"


async def ensure_free(
    session: AsyncSession, parsed: Sequence[numbers.ParsedNumber], *,
    account_id: uuid.UUID, order_id: uuid.UUID | None,
) -> None:
    """409 naming, per number, the open order that already holds it."""
    refuse_held(await holders(session, [p.e164 for p in parsed]), account_id=account_id,
                 order_id=order_id)


def refuse_held(held: dict[str, tuple[uuid.UUID, uuid.UUID]], *, account_id: uuid.UUID,
                 order_id: uuid.UUID | None) -> None:
    errors = [
        FieldError(field="phone_numbers", message=f"{e164}: {held_reason(h, account_id)}")
        for e164, h in held.items() if h[0] != order_id
    ]
    if errors:
        detail = "; ".join(e.message for e in errors)
        raise Conflict(f"a number may sit on one open porting order only: {detail}",
                       errors=errors)


async def ensure_not_active(
    session: AsyncSession, parsed: Sequence[numbers.ParsedNumber], *, account_id: uuid.UUID
) -> None:
    """409 for numbers the account already has as active DIDs: ported in, or its own."""
    refuse_active(await records.active_dids(session, account_id=account_id,
                                             numbers_e164=[p.e164 for p in parsed]))


def refuse_active(active: dict[str, int]) -> None:
    errors = [FieldError(field="phone_numbers", message=f"{e164}: {active_reason(did_id)}")
              for e164, did_id in active.items()]
    if errors:
        detail = "; ".join(e.message for e in errors)
        raise Conflict(f"a number already active in this account cannot be ported in: {detail}",
                       errors=errors)


def active_reason(did_id: int) -> str:
    return f"already active in this account (DID {did_id} in /v1/records/dids)"


def ensure_port_date(desired: date | None, *, time_zone: str | None, now: datetime) -> None:
    why = rules.past_port_date(desired, time_zone=time_zone, now=now) if desired else None
    if why:
        raise Unprocessable(f"desired_port_date: {why}",
                            errors=[FieldError(field="desired_port_date", message=why)])


def support_key() -> str:
    return f"sr_{secrets.token_hex(3)}"


async def new_support_key(session: AsyncSession) -> str:
    for _ in range(SUPPORT_KEY_ATTEMPTS):
        key = support_key()
        taken = await session.scalar(
            sa.select(PortingOrder.order_number).where(PortingOrder.support_key == key)
        )
        if taken is None:
            return key
    raise Conflict(NO_SUPPORT_KEY)


def new_number(parsed: numbers.ParsedNumber, position: int) -> PortingNumber:
    return PortingNumber(id=db.new_id(), position=position, phone_number=parsed.e164,
                         country_code=parsed.country_code, status=rules.NumberStatus.PENDING)


def split_port_out(port_out: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    secrets_: dict[str, Any] = {
        k: port_out.pop(k) for k in ("pin", "wireless_pin") if k in port_out
    }
    return port_out, secrets_


def _merge(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _ensure_editable(order: PortingOrder) -> None:
    if not rules.is_editable(Status(order.status)):
        raise Conflict(
            f"porting order {order.id} is {order.status}: a porting order can be edited "
            "only in draft or exception"
        )


async def update_order(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID,
    body: PortingOrderUpdate, settings: Settings, now: datetime,
) -> PortingOrder:
    order = await get_order(session, order_id=order_id, account_id=account_id, for_update=True)
    _ensure_editable(order)
    if body.webhook_url:
        await ssrf.check_url(body.webhook_url, settings, field="webhook_url")
    if "desired_port_date" in body.model_fields_set:
        ensure_port_date(body.desired_port_date, now=now, time_zone=(
            body.desired_port_time_zone or order.desired_port_time_zone))
    before, old_public = outbox.baseline(order), snapshot(order)
    patch = body.model_dump(exclude_unset=True)
    if body.phone_numbers is not None:
        await _replace_numbers(session, order, patch.pop("phone_numbers"))
    messaging = patch.pop("messaging", None)
    if "end_user" in patch:
        order.end_user = _merge(order.end_user, patch.pop("end_user") or {})
    if "port_out" in patch:
        _patch_port_out(order, patch.pop("port_out") or {})
    for key, value in patch.items():
        if value is None and key == "on_demand_activation":
            continue  # a flag, not nullable: null leaves it as it is
        setattr(order, key, value)
    changes = _messaging_changes(order, messaging)
    new_public = snapshot(order)
    changed = [k for k in new_public if k != "updated_at" and new_public[k] != old_public[k]]
    if _pin_sent(body) and "port_out" not in changed:
        changed.append("port_out")  # a new PIN changes nothing visible, but it changed
    if changed:
        changes.insert(0, outbox.Change(order, EventType.PORTING_ORDER_UPDATED,
                                        {"changed_fields": changed}))
        await outbox.publish(session, before=before, changes=changes, now=now)
    return order


def _pin_sent(body: PortingOrderUpdate) -> bool:
    """A PIN was given: a change no snapshot shows. Other port-out fields
    sent as they were change nothing (the portal's form sends them all)."""
    port_out = body.port_out
    return port_out is not None and (port_out.pin is not None or port_out.wireless_pin is not None)


def _patch_port_out(order: PortingOrder, patch: dict[str, Any]) -> None:
    port_out, pins = split_port_out(dict(patch))
    order.port_out = _merge(order.port_out, port_out)
    if "pin" in pins:
        order.port_out_pin = pins["pin"]
    if "wireless_pin" in pins:
        order.wireless_pin = pins["wireless_pin"]


def _messaging_changes(order: PortingOrder, messaging: dict[str, Any] | None) -> list[
    outbox.Change
]:
    if messaging is None or messaging["enable_messaging"] == order.enable_messaging:
        return []
    previous = order.messaging_port_status
    order.enable_messaging = messaging["enable_messaging"]
    order.messaging_port_status = "pending" if order.enable_messaging else "not_applicable"
    return [outbox.Change(order, EventType.PORTING_ORDER_MESSAGING_CHANGED,
                          {"previous_messaging_port_status": previous})]


async def _replace_numbers(session: AsyncSession, order: PortingOrder, raws: list[str]) -> None:
    parsed = numbers.parse_all(raws)
    current = {n.phone_number: n for n in order.numbers}
    added = [p for p in parsed if p.e164 not in current]
    await ensure_free(session, added, account_id=order.account_id, order_id=order.id)
    await ensure_not_active(session, added, account_id=order.account_id)
    wanted = {p.e164 for p in parsed}
    for number in [n for n in order.numbers if n.phone_number not in wanted]:
        order.numbers.remove(number)
    start = max((n.position for n in order.numbers), default=-1) + 1
    order.numbers.extend(new_number(p, start + i) for i, p in enumerate(added))
