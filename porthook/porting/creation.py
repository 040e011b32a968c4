"""A customer's new porting order: its checks and its rows.

Given a session; never commits. The rules and messages it shares with the
other use cases (numbers held or active, the port date, the support key) are
``service``'s; this module only adds the creation's own path to the database.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]  # no stubs: only its exception classes
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from porthook import db
from porthook.config import Settings
from porthook.delivery import ssrf
from porthook.events.types import EventType
from porthook.porting import numbers, outbox, service
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.porting.schemas import PortingOrderCreate
from porthook.problems import Conflict
from porthook.records import service as records_service

Status = service.Status


async def create_order(
    session: AsyncSession, *, account_id: uuid.UUID, body: PortingOrderCreate,
    settings: Settings, now: datetime,
) -> PortingOrder:
    """The order as a draft."""
    parsed = numbers.parse_all(body.phone_numbers)
    if body.webhook_url:
        await ssrf.check_url(body.webhook_url, settings, field="webhook_url")
    service.ensure_port_date(body.desired_port_date, time_zone=body.desired_port_time_zone,
                             now=now)
    checks = await _check_new_order(session, parsed, account_id=account_id)
    service.refuse_held(checks.held, account_id=account_id, order_id=None)
    service.refuse_active(checks.active)
    if checks.support_key is None:
        raise Conflict(service.NO_SUPPORT_KEY)
    data = body.model_dump(exclude={"phone_numbers", "messaging", "end_user", "port_out"})
    port_out, pins = service.split_port_out(body.port_out.model_dump(exclude_none=True)
                                            if body.port_out else {})
    enable = bool(body.messaging and body.messaging.enable_messaging)
    order = PortingOrder(
        id=db.new_id(), account_id=account_id, support_key=checks.support_key,
        status=Status.DRAFT, status_details=[], **data,
        end_user=body.end_user.model_dump(exclude_none=True) if body.end_user else {},
        port_out=port_out, port_out_pin=pins.get("pin"), wireless_pin=pins.get("wireless_pin"),
        enable_messaging=enable, messaging_capable=True,
        messaging_port_status="pending" if enable else "not_applicable",
        created_at=now, updated_at=now, status_changed_at=now,
        numbers=[service.new_number(p, i) for i, p in enumerate(parsed)], comments=[],
        documents=[],
    )
    outbox.sync_holds(order)
    await _insert(session, order)
    await outbox.publish(session, before=outbox.Baseline(),
                         changes=[outbox.Change(order, EventType.PORTING_ORDER_CREATED)], now=now)
    return order


@dataclass(frozen=True)
class _Checks:
    """What a new order's numbers and support key meet in the database."""

    held: dict[str, tuple[uuid.UUID, uuid.UUID]]
    active: dict[str, int]
    support_key: str | None  # the first free candidate


async def _check_new_order(
    session: AsyncSession, parsed: Sequence[numbers.ParsedNumber], *, account_id: uuid.UUID
) -> _Checks:
    """``service.holders``, ``records.active_dids`` and ``new_support_key``'s
    lookup in ONE statement (UNION ALL): each statement is a round trip, and
    the API's CPU per round trip (the socket write, the driver) outweighs what
    these three small index lookups cost."""
    e164s = [p.e164 for p in parsed]
    candidates = [service.support_key() for _ in range(service.SUPPORT_KEY_ATTEMPTS)]
    # Only North American numbers get here: a DID stores their 10 digits.
    dids = records_service.ActiveDids(account_id=account_id, numbers_e164=e164s,
                                      stored={p.national: p.e164 for p in parsed})
    # On the session's connection: the session's own execute runs a statement
    # through the ORM's machinery, about twice the CPU for these plain rows;
    # on PostgreSQL on asyncpg itself, about half again.
    connection = await session.connection()
    params = {"e164s": e164s, "keys": candidates, **dids.params()}
    if connection.dialect.name == "postgresql":
        rows = await db.driver_rows(connection, _driver_checks(), params)
    else:
        rows = list(await connection.execute(_checks_statement(array=False), params))
    taken = {r[0] for r in rows if r[4] == "key"}
    return _Checks(
        held={str(r[0]): (r[1], r[2]) for r in rows if r[4] == "held"},
        active=dids.found((r[0], r[3]) for r in rows if r[4] == "did"),
        support_key=next((k for k in candidates if k not in taken), None),
    )


@functools.cache
def _checks_statement(*, array: bool) -> sa.CompoundSelect[Any]:
    """Built once, its values as parameters: building it for each order cost
    about a tenth of a creation's CPU. ``array`` (PostgreSQL): each list of
    values one array parameter (``_driver_checks``), not an expanding one."""
    no_id, no_uuid = sa.cast(sa.null(), sa.BigInteger), sa.cast(sa.null(), sa.Uuid)
    dids = records_service.ActiveDids

    def values(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(name, expanding=not array)

    # Columns: (value, order id, account id, DID id, kind); the first SELECT
    # gives the types of the rows.
    return sa.union_all(
        service.holders_select(values("e164s"), no_id, sa.literal("held")),
        sa.select(PortingOrder.support_key, no_uuid, no_uuid, no_id, sa.literal("key"))
        .where(service.one_of(PortingOrder.support_key, values("keys"))),
        dids.bound_select(dids.number, no_uuid, no_uuid, dids.did_id, sa.literal("did"),
                          array=array),
    )


@functools.cache
def _driver_checks() -> db.DriverStatement:
    return db.DriverStatement.compile(_checks_statement(array=True))


async def _insert(session: AsyncSession, order: PortingOrder) -> None:
    """The order's row and its numbers' rows with Core statements, the order's
    number (``order_number``) set from what the insert returned; then the
    order in the session as if read from those rows.

    Not through the session's unit of work: its flush of a new order and its
    numbers was two statements and about a seventh of a creation's CPU; on
    PostgreSQL this is ONE statement (the order inserted in a WITH, the
    numbers from one array per column), on SQLite two."""
    connection = await session.connection()
    for number in order.numbers:
        number.order_id = order.id  # the session's flush set it from the relationship
    order_row = {c.key: _value(c, getattr(order, c.key)) for c in _ORDER_COLUMNS}
    number_rows = [{c.key: _value(c, getattr(n, c.key)) for c in _NUMBER_COLUMNS}
                   for n in order.numbers]
    try:
        if connection.dialect.name == "postgresql":
            order.order_number = await _insert_postgresql(connection, order_row, number_rows)
        else:
            order.order_number = (await connection.execute(
                _INSERT_ORDER, order_row)).scalar_one()
            await connection.execute(_INSERT_NUMBERS, number_rows)
    except (IntegrityError, asyncpg.UniqueViolationError) as exc:
        outbox.raise_if_held(exc)
        raise
    _attach(session, order, order_row, number_rows)


def _attach(session: AsyncSession, order: PortingOrder, order_row: dict[str, Any],
            number_rows: list[dict[str, Any]]) -> None:
    """The order and its numbers in the session as rows it has loaded (no
    INSERT at the next flush), so that the caller changes them as it would any
    order it read; every column set first, as an unset one would be loaded
    on first touch (which an async session cannot do)."""
    for item, row in [(order, order_row), *zip(order.numbers, number_rows, strict=True)]:
        for key, value in row.items():
            setattr(item, key, value)
        make_transient_to_detached(item)
    session.add(order)


def _value(column: sa.Column[Any], value: Any) -> Any:
    # As the session's flush did: a column left None gets its scalar default
    # (a flag such as on_demand_activation), not a NULL.
    if value is None and column.default is not None and column.default.is_scalar:
        return cast(ScalarElementColumnDefault, column.default).arg
    return value


async def _insert_postgresql(connection: AsyncConnection, order_row: dict[str, Any],
                             number_rows: list[dict[str, Any]]) -> int:
    params = {f"o_{c.key}": db.driver_value(c, order_row[c.key]) for c in _ORDER_COLUMNS}
    params.update({f"n_{c.key}": [db.driver_value(c, row[c.key]) for row in number_rows]
                   for c in _NUMBER_COLUMNS})
    ((order_number,),) = await db.driver_rows(connection, _driver_insert(), params)
    return int(order_number)


@functools.cache
def _driver_insert() -> db.DriverStatement:
    return db.DriverStatement.compile(_postgresql_statement())


@functools.cache
def _postgresql_statement() -> sa.Select[Any]:
    """Built once: building it cost more than running it."""
    new_order = (sa.insert(_ORDERS)
                 .values({c.key: sa.bindparam(f"o_{c.key}", type_=c.type) for c in _ORDER_COLUMNS})
                 .returning(_ORDERS.c.order_number).cte("new_order"))
    arrays = sa.func.unnest(*(
        sa.bindparam(f"n_{c.key}", type_=postgresql.ARRAY(c.type)) for c in _NUMBER_COLUMNS
    )).table_valued(*(c.key for c in _NUMBER_COLUMNS), with_ordinality="ord"
                   ).render_derived("rows")
    new_numbers = (sa.insert(_NUMBERS)
                   .from_select([c.key for c in _NUMBER_COLUMNS],
                                sa.select(*(arrays.c[c.key] for c in _NUMBER_COLUMNS))
                                .order_by(arrays.c.ord))
                   .cte("new_numbers"))
    # A WITH's insert runs whether or not the query reads it; its rows'
    # foreign key to the order is checked at the end of the statement, once
    # the order's row is there.
    return sa.select(new_order.c.order_number).add_cte(new_numbers)


_ORDERS = cast(sa.Table, PortingOrder.__table__)
_NUMBERS = cast(sa.Table, PortingNumber.__table__)
_ORDER_COLUMNS = [c for c in _ORDERS.c if c.key != "order_number"]
_NUMBER_COLUMNS = list(_NUMBERS.c)
_INSERT_ORDER = sa.insert(_ORDERS).returning(_ORDERS.c.order_number)
_INSERT_NUMBERS = sa.insert(_NUMBERS)
