"""Use cases of the records domain, the same for every schema. Never commits.

Values arrive validated and normalised by the generated schemas; this module
checks what needs the database (references within the account, uniqueness,
referrers before a delete) and records one ``record.<schema>.<operation>``
event per change, in the change's transaction. The event code knows no schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.events import service as events
from porthook.events.types import record_event_type
from porthook.pagination import POSITION, decode_cursor, encode_cursor
from porthook.problems import Conflict, FieldError, NotFound, Unprocessable
from porthook.records import rules
from porthook.records.models import TABLES, SmsEnablement
from porthook.records.registry import OWN_SCHEMAS, SchemaSpec, referrers
from porthook.records.schemas import snapshot

Record = dict[str, Any]


def _spec(schema: str) -> SchemaSpec:
    spec = OWN_SCHEMAS.get(schema)
    if spec is None:
        raise NotFound(f"unknown records schema {schema!r}")
    return spec


async def _emit(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, operation: str,
    row: Record, now: datetime,
) -> None:
    await events.record_many(session, [_event(account_id=account_id, schema=schema,
                                              operation=operation, row=row, now=now)])


def _event(*, account_id: uuid.UUID, schema: str, operation: str, row: Record,
           now: datetime) -> events.NewEvent:
    return events.NewEvent(
        account_id=account_id, type=record_event_type(schema, operation),
        subject_type=schema, subject_id=str(row["id"]),
        data={"schema": schema, "record": snapshot(schema, row)}, occurred_at=now,
    )


async def get_record(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, record_id: int,
    for_update: bool = False,
) -> Record:
    table = TABLES[_spec(schema).name]
    query = sa.select(table).where(table.c.id == record_id, table.c.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"{schema} record {record_id} does not exist")
    return dict(row)


async def list_records(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, filters: dict[str, Any],
    cursor: str | None, limit: int,
) -> tuple[list[Record], str | None]:
    table = TABLES[_spec(schema).name]
    query = sa.select(table).where(table.c.account_id == account_id)
    for name, value in filters.items():
        query = query.where(table.c[name] == value)
    after = decode_cursor(cursor, POSITION)
    if after is not None:
        query = query.where(table.c.id > after)
    rows = (await session.execute(query.order_by(table.c.id).limit(limit + 1))).mappings().all()
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return [dict(r) for r in rows[:limit]], next_cursor


async def create_record(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, values: dict[str, Any],
    now: datetime,
) -> Record:
    spec = _spec(schema)
    row = {f.name: f.default for f in spec.fields} | values
    await _check(session, spec=spec, account_id=account_id, row=row, changed=row.keys())
    table = TABLES[schema]
    statement = sa.insert(table).values(
        account_id=account_id, created_at=now, updated_at=now, **row
    ).returning(*table.c)
    created = dict((await _write(session, statement, spec)).mappings().one())
    await _emit(session, account_id=account_id, schema=schema, operation="inserted",
                row=created, now=now)
    return created


async def update_record(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, record_id: int,
    changes: dict[str, Any], now: datetime,
) -> Record:
    spec = _spec(schema)
    current = await get_record(session, account_id=account_id, schema=schema,
                               record_id=record_id, for_update=True)
    row = current | changes
    await _check(session, spec=spec, account_id=account_id, row=row, changed=changes.keys(),
                 record_id=record_id)
    table = TABLES[schema]
    statement = (
        sa.update(table).where(table.c.id == record_id)
        .values(updated_at=now, **changes).returning(*table.c)
    )
    updated = dict((await _write(session, statement, spec)).mappings().one())
    await _emit(session, account_id=account_id, schema=schema, operation="updated",
                row=updated, now=now)
    return updated


async def delete_record(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, record_id: int, now: datetime
) -> None:
    spec = _spec(schema)
    current = await get_record(session, account_id=account_id, schema=schema,
                               record_id=record_id, for_update=True)
    blocking = await _referrers(session, account_id=account_id, schema=schema, record_id=record_id)
    if blocking:
        named = "; ".join(f"{name} {', '.join(map(str, ids))}" for name, ids in blocking.items())
        raise Conflict(
            f"{schema} record {record_id} is referenced by other records; delete or change"
            f" them first: {named}",
            extra={"referenced_by": blocking},
        )
    table = TABLES[schema]
    await _write(session, sa.delete(table).where(table.c.id == record_id), spec)
    await _emit(session, account_id=account_id, schema=schema, operation="deleted",
                row=current, now=now)


async def _write(session: AsyncSession, statement: Any, spec: SchemaSpec) -> Any:
    try:
        return await session.execute(statement)
    except IntegrityError as exc:
        # The checks above ran first; only a concurrent writer gets here.
        raise Conflict(
            f"the {spec.name} record conflicts with a concurrent change; retry the request"
        ) from exc


async def _check(
    session: AsyncSession, *, spec: SchemaSpec, account_id: uuid.UUID, row: dict[str, Any],
    changed: Collection[str], record_id: int | None = None,
) -> None:
    errors = _cross_field_errors(spec, row)
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise Unprocessable(f"The {spec.name} record is invalid: {detail}", errors=errors)
    for ref in spec.refs:
        if ref.name in changed and row.get(ref.name) is not None and ref.ref:
            target = TABLES[ref.ref]
            found = await session.scalar(sa.select(target.c.id).where(
                target.c.id == row[ref.name], target.c.account_id == account_id))
            if found is None:
                raise NotFound(f"{ref.name}: {ref.ref} record {row[ref.name]} does not exist")
    await _check_typed_refs(session, spec=spec, account_id=account_id, row=row, changed=changed)
    await _check_same_as(session, spec=spec, account_id=account_id, row=row, changed=changed)
    await _check_unique(session, spec=spec, account_id=account_id, row=row, changed=changed,
                        record_id=record_id)


async def _check_typed_refs(
    session: AsyncSession, *, spec: SchemaSpec, account_id: uuid.UUID, row: dict[str, Any],
    changed: Collection[str],
) -> None:
    for name, type_field, schemas in spec.typed_refs:
        if not ({name, type_field} & set(changed)) or row.get(name) is None:
            continue
        target_schema = schemas[row[type_field]]
        target = TABLES[target_schema]
        found = await session.scalar(sa.select(target.c.id).where(
            target.c.id == row[name], target.c.account_id == account_id))
        if found is None:
            # Another account's record does not exist for this one: same answer.
            raise NotFound(f"{name}: {target_schema} record {row[name]} does not exist "
                           f"(the {type_field} {row[type_field]} names {target_schema})")


async def _check_same_as(
    session: AsyncSession, *, spec: SchemaSpec, account_id: uuid.UUID, row: dict[str, Any],
    changed: Collection[str],
) -> None:
    for name, via, target_field in spec.same_as:
        if not ({name, via} & set(changed)) or row.get(name) is None or row.get(via) is None:
            continue
        target = TABLES[str(spec.field(via).ref)]
        expected = await session.scalar(sa.select(target.c[target_field]).where(
            target.c.id == row[via], target.c.account_id == account_id))
        if expected != row[name]:
            message = f"expected {expected}, the {target_field} of {via} {row[via]}"
            raise Unprocessable(f"The {spec.name} record is invalid: {name}: {message}",
                                errors=[FieldError(field=f"body.{name}", message=message)])


def _cross_field_errors(spec: SchemaSpec, row: dict[str, Any]) -> list[FieldError]:
    names = {f.name for f in spec.fields}
    if {"state", "zip"} <= names:
        message = rules.zip_state_errors(row.get("state"), row.get("zip"))
        if message:
            return [FieldError(field="body.zip", message=message)]
    return []


async def _check_unique(
    session: AsyncSession, *, spec: SchemaSpec, account_id: uuid.UUID, row: dict[str, Any],
    changed: Collection[str], record_id: int | None,
) -> None:
    table = TABLES[spec.name]
    for name in spec.unique:
        if name not in changed:
            continue
        query = sa.select(table.c.id).where(
            table.c.account_id == account_id, table.c[name] == row[name])
        if record_id is not None:
            query = query.where(table.c.id != record_id)
        other = await session.scalar(query)
        if other is not None:
            raise Conflict(f"{spec.name} record {other} already has {name} {row[name]}")


async def _referrers(
    session: AsyncSession, *, account_id: uuid.UUID, schema: str, record_id: int
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for spec, ref in referrers(schema):
        table = TABLES[spec.name]
        query = sa.select(table.c.id).where(
            table.c.account_id == account_id, table.c[ref.name] == record_id
        )
        if spec.name == schema:  # a self-reference does not block its own deletion
            query = query.where(table.c.id != record_id)
        ids = list((await session.scalars(query.order_by(table.c.id).limit(20))).all())
        if ids:
            found.setdefault(spec.name, []).extend(ids)
    return found


async def active_dids(
    session: AsyncSession, *, account_id: uuid.UUID, numbers_e164: Collection[str]
) -> dict[str, int]:
    """Which of these numbers (E.164) the account already has as DIDs: number -> DID id."""
    lookup = ActiveDids(account_id=account_id, numbers_e164=numbers_e164)
    if not lookup.stored:
        return {}
    return lookup.found(await session.execute(lookup.select()))


class ActiveDids:
    """``active_dids`` as a statement and the reading of its rows, for a caller
    that runs it within a larger statement (porting's checks before creating
    an order, one round trip for them all)."""

    def __init__(self, *, account_id: uuid.UUID, numbers_e164: Collection[str],
                 stored: dict[str, str] | None = None) -> None:
        """``stored``: the numbers as ``dids.number`` stores them (``rules.stored_number``)
        to their E.164, when the caller has parsed them already (parsing is
        most of what building this costs)."""
        self.account_id = account_id
        self.stored = (stored if stored is not None
                       else {rules.stored_number(n): n for n in numbers_e164})

    number = TABLES["dids"].c.number
    did_id = TABLES["dids"].c.id

    def select(self, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
        """``columns`` (by default: number, DID id) of the account's DIDs among the numbers."""
        table = TABLES["dids"]
        return sa.select(*(columns or (self.number, self.did_id))).where(
            table.c.account_id == self.account_id, table.c.number.in_(list(self.stored)))

    @classmethod
    def bound_select(cls, *columns: sa.ColumnElement[Any], array: bool = False
                     ) -> sa.Select[Any]:
        """``select`` with the account and the numbers as parameters (``params``):
        the same statement for every call, for a caller that builds it once.
        ``array`` (PostgreSQL): the numbers as one array, not an expanding list."""
        table = TABLES["dids"]
        numbers = (table.c.number == sa.any_(sa.bindparam("dids_numbers"))) if array else (
            table.c.number.in_(sa.bindparam("dids_numbers", expanding=True)))
        return sa.select(*(columns or (cls.number, cls.did_id))).where(
            table.c.account_id == sa.bindparam("dids_account_id"), numbers)

    def params(self) -> dict[str, Any]:
        """``bound_select``'s parameters."""
        return {"dids_account_id": self.account_id, "dids_numbers": list(self.stored)}

    def found(self, rows: Iterable[Sequence[Any]]) -> dict[str, int]:
        """number (E.164) -> DID id, from (number, DID id) rows."""
        return {self.stored[row[0]]: int(row[1]) for row in rows}


async def add_ported_did(
    session: AsyncSession, *, account_id: uuid.UUID, number_e164: str, now: datetime
) -> Record:
    """An activated port-in number becomes a DID of the account (``record.dids.inserted``).

    Idempotent: a number the account already has as a DID is returned unchanged,
    so a repeated activation does not fail or duplicate.
    """
    facts = rules.ported_number_facts(number_e164)
    table = TABLES["dids"]
    existing = (await session.execute(sa.select(table).where(
        table.c.account_id == account_id, table.c.number == facts.number))).mappings().first()
    if existing is not None:
        return dict(existing)
    values = {"number": facts.number, "number_type": facts.number_type,
              "state": facts.state, "ratecenter": facts.ratecenter}
    return await create_record(session, account_id=account_id, schema="dids", values=values,
                               now=now)


async def new_ported_dids(
    session: AsyncSession, *, account_id: uuid.UUID, numbers_e164: Sequence[str], now: datetime
) -> list[events.NewEvent]:
    """``add_ported_did`` for several numbers in two statements (which the account
    has already, one INSERT of the others), and their ``record.dids.inserted``
    events returned, in the numbers' order, for the caller to record with its
    own (one batch, fewer round trips), instead of recorded here."""
    wanted = {facts.number: facts for facts in map(rules.ported_number_facts, numbers_e164)}
    table, spec = TABLES["dids"], _spec("dids")
    existing = set((await session.scalars(sa.select(table.c.number).where(
        table.c.account_id == account_id, table.c.number.in_(list(wanted))))).all())
    fresh = [facts for number, facts in wanted.items() if number not in existing]
    if not fresh:
        return []
    defaults = {f.name: f.default for f in spec.fields}
    rows = [defaults | {"number": f.number, "number_type": f.number_type, "state": f.state,
                        "ratecenter": f.ratecenter, "account_id": account_id,
                        "created_at": now, "updated_at": now} for f in fresh]
    # create_record's checks but the uniqueness lookup (done above for all):
    # a ported DID sets no reference; a concurrent insert meets the unique index.
    statement = sa.insert(table).values(rows).returning(*table.c)
    created = sorted((dict(r) for r in (await _write(session, statement, spec)).mappings()),
                     key=lambda r: int(r["id"]))  # RETURNING's order is arbitrary on SQLite
    return [_event(account_id=account_id, schema="dids", operation="inserted", row=row, now=now)
            for row in created]


async def request_sms_enablement(
    session: AsyncSession, *, account_id: uuid.UUID, did_id: int, now: datetime
) -> SmsEnablement:
    """Queue SMS enablement of a DID; ``due.run_sms_enablements`` carries it out."""
    await get_record(session, account_id=account_id, schema="dids", record_id=did_id)
    request = SmsEnablement(id=db.new_id(), account_id=account_id, did_id=did_id,
                            status="pending", requested_at=now)
    session.add(request)
    await session.flush()
    return request


async def get_sms_enablement(
    session: AsyncSession, *, account_id: uuid.UUID, did_id: int, request_id: uuid.UUID
) -> SmsEnablement:
    request = await session.scalar(sa.select(SmsEnablement).where(
        SmsEnablement.id == request_id, SmsEnablement.account_id == account_id,
        SmsEnablement.did_id == did_id))
    if request is None:
        raise NotFound(f"SMS enablement request {request_id} of DID {did_id} does not exist")
    return request
