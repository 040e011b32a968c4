"""CRUD of every records schema, generated from the registry, on SQLite and PostgreSQL.

Each schema goes through create, list, filter, read, patch and delete through
the service, and each change must leave one ``record.<schema>.*`` event whose
record carries the seed's fields in the seed's order and no secret.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.events import service as events
from porthook.records import service
from porthook.records.registry import OWN_SCHEMAS, SchemaSpec, in_seed_order
from porthook.records.schemas import MODELS, snapshot
from tests.conftest import AccountFactory
from tests.records_samples import changed_value, first_patchable, sample_record


def _public_fields(spec: SchemaSpec) -> list[str]:
    return ["id", *(f.name for f in spec.fields if not f.secret)]


async def _create(
    session: AsyncSession, account_id: uuid.UUID, clock: ShiftableClock, schema: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    # Through the generated Create model, as the route does: values arrive normalised.
    values = MODELS[schema].create.model_validate(body).model_dump()
    return await service.create_record(session, account_id=account_id, schema=schema,
                                       values=values, now=clock.now())


async def _record_events(
    session: AsyncSession, account_id: uuid.UUID, schema: str, record_id: int
) -> list[Any]:
    rows, _ = await events.list_events(session, account_id=account_id, subject_type=schema,
                                       subject_id=str(record_id), cursor=None, limit=10)
    return rows


@pytest.mark.parametrize("schema", sorted(OWN_SCHEMAS))
async def test_record_lifecycle_with_events(
    schema: str, session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock
) -> None:
    spec = OWN_SCHEMAS[schema]
    account_id, _ = await make_account()

    async def create(name: str, body: dict[str, Any]) -> int:
        return int((await _create(session, account_id, clock, name, body))["id"])

    body = await sample_record(schema, create)
    created = await _create(session, account_id, clock, schema, body)
    await session.commit()
    record_id = int(created["id"])

    listed, _ = await service.list_records(session, account_id=account_id, schema=schema,
                                           filters={}, cursor=None, limit=50)
    assert record_id in [r["id"] for r in listed]
    field = first_patchable(spec)
    matching, _ = await service.list_records(
        session, account_id=account_id, schema=schema,
        filters={field.name: created[field.name]}, cursor=None, limit=50)
    assert [r["id"] for r in matching] == [record_id]

    new_value = MODELS[schema].update.model_validate(
        {field.name: changed_value(field)}).model_dump(exclude_unset=True)
    updated = await service.update_record(session, account_id=account_id, schema=schema,
                                          record_id=record_id, changes=new_value, now=clock.now())
    assert updated[field.name] == new_value[field.name]
    read = await service.get_record(session, account_id=account_id, schema=schema,
                                    record_id=record_id)
    assert read[field.name] == new_value[field.name]
    nobody, _ = await service.list_records(
        session, account_id=account_id, schema=schema,
        filters={field.name: created[field.name]}, cursor=None, limit=50)
    assert nobody == []

    await service.delete_record(session, account_id=account_id, schema=schema,
                                record_id=record_id, now=clock.now())
    await session.commit()

    written = await _record_events(session, account_id, schema, record_id)
    assert [e.type for e in written] == [
        f"record.{schema}.inserted", f"record.{schema}.updated", f"record.{schema}.deleted"]
    assert [e.sequence for e in written] == [1, 2, 3]
    for event in written:
        assert event.data["schema"] == schema
        # JSONB keeps no key order: renderers restore the seed's order with in_seed_order.
        assert list(in_seed_order(schema, event.data["record"])) == _public_fields(spec)
    assert written[0].data["record"] == snapshot(schema, created)
    assert written[1].data["record"][field.name] == snapshot(schema, updated)[field.name]
    _assert_no_secret(spec, body, written)


def _assert_no_secret(spec: SchemaSpec, body: dict[str, Any], written: list[Any]) -> None:
    for secret in (f for f in spec.fields if f.secret):
        assert body[secret.name] not in str([e.data for e in written])
        assert all(secret.name not in e.data["record"] for e in written)


@pytest.mark.parametrize("schema", sorted(OWN_SCHEMAS))
async def test_records_list_pages_with_cursor(
    schema: str, session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock
) -> None:
    account_id, _ = await make_account()

    async def create(name: str, body: dict[str, Any]) -> int:
        return int((await _create(session, account_id, clock, name, body))["id"])

    ids = [await create(schema, await sample_record(schema, create)) for _ in range(3)]
    await session.commit()
    first, cursor = await service.list_records(session, account_id=account_id, schema=schema,
                                               filters={}, cursor=None, limit=2)
    rest, end = await service.list_records(session, account_id=account_id, schema=schema,
                                           filters={}, cursor=cursor, limit=2)
    seen = [r["id"] for r in first + rest]
    assert set(ids) <= set(seen)
    assert seen == sorted(seen)
    assert end is None
