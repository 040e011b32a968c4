"""The Alembic head builds exactly the schema the models describe, on both
backends; data migrations carry existing rows forward."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from porthook import migrate
from porthook.db import UTCDateTime, all_models, make_engine


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, all_models()))


async def _diff_after_upgrade(url: str) -> list[Any]:
    # Alembic's env runs its own event loop: give it a thread.
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def test_head_matches_models_on_sqlite(tmp_path: Any) -> None:
    assert await _diff_after_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") == []


async def test_head_matches_models_on_postgresql(scratch_pg_url: str) -> None:
    assert await _diff_after_upgrade(scratch_pg_url) == []


_PREVIOUS_HEAD = "d29f5b4c09a3"
_accounts = sa.table("accounts", sa.column("id", sa.Uuid()), sa.column("name", sa.String()),
                     sa.column("created_at", UTCDateTime()))
_defaults = sa.table("porting_defaults", sa.column("account_id", sa.Uuid()),
                     sa.column("webhook_url", sa.String()),
                     sa.column("webhook_format", sa.String()),
                     sa.column("updated_at", UTCDateTime()))
_orders = sa.table(
    "porting_orders", *(sa.column(name, type_) for name, type_ in (
        ("id", sa.Uuid()), ("account_id", sa.Uuid()), ("support_key", sa.String()),
        ("status", sa.String()), ("status_details", sa.JSON()),
        ("on_demand_activation", sa.Boolean()), ("end_user", sa.JSON()),
        ("port_out", sa.JSON()), ("enable_messaging", sa.Boolean()),
        ("messaging_capable", sa.Boolean()), ("messaging_port_status", sa.String()),
        ("webhook_url", sa.String()), ("created_at", UTCDateTime()),
        ("updated_at", UTCDateTime()))))


def _order(account_id: uuid.UUID, url: str | None, key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"id": uuid.uuid4(), "account_id": account_id, "support_key": key, "status": "draft",
            "status_details": [], "on_demand_activation": False, "end_user": {}, "port_out": {},
            "enable_messaging": False, "messaging_capable": True,
            "messaging_port_status": "not_applicable", "webhook_url": url,
            "created_at": now, "updated_at": now}


async def _endpoints_made_ahead(url: str) -> list[tuple[str, str, str, uuid.UUID]]:
    await asyncio.to_thread(migrate.upgrade, url, _PREVIOUS_HEAD)
    with_defaults, plain = uuid.uuid4(), uuid.uuid4()
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            now = datetime.now(UTC)
            await connection.execute(sa.insert(_accounts), [
                {"id": with_defaults, "name": "A", "created_at": now},
                {"id": plain, "name": "B", "created_at": now}])
            await connection.execute(sa.insert(_defaults), [{
                "account_id": with_defaults, "webhook_url": "https://a.example/defaults",
                "webhook_format": "sinch", "updated_at": now}])
            await connection.execute(sa.insert(_orders), [
                _order(with_defaults, "https://a.example/order", "k1"),
                _order(with_defaults, "https://a.example/order", "k2"),
                _order(plain, "https://b.example/order", "k3"),
                _order(plain, None, "k4")])
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text(
                "SELECT origin, url, format, account_id FROM endpoints ORDER BY url"))
            return [(o, u, f, a if isinstance(a, uuid.UUID) else uuid.UUID(a))
                    for o, u, f, a in rows.all()]
    finally:
        await engine.dispose()


def _expected(rows: list[tuple[str, str, str, uuid.UUID]]) -> list[tuple[str, str, str]]:
    return [(origin, url, format) for origin, url, format, _ in rows]


async def test_existing_webhook_urls_get_their_endpoints_on_sqlite(tmp_path: Any) -> None:
    rows = await _endpoints_made_ahead(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    # The order endpoint takes the defaults' format, as porting makes it today.
    assert _expected(rows) == [
        ("porting_defaults", "https://a.example/defaults", "sinch"),
        ("porting_order", "https://a.example/order", "sinch"),
        ("porting_order", "https://b.example/order", "telnyx")]


async def test_existing_webhook_urls_get_their_endpoints_on_postgresql(
    scratch_pg_url: str,
) -> None:
    rows = await _endpoints_made_ahead(scratch_pg_url)
    assert len({account for *_, account in rows}) == 2
    assert _expected(rows) == [
        ("porting_defaults", "https://a.example/defaults", "sinch"),
        ("porting_order", "https://a.example/order", "sinch"),
        ("porting_order", "https://b.example/order", "telnyx")]


_BEFORE_EVENT_TYPE = "5c2e8a1f7b34"


def _insert_delivery_rows(connection: Connection) -> None:
    """An account, an endpoint, two events of different types and a delivery
    of each, as the schema before the deliveries' event_type holds them (the
    models' tables for the column types; only the columns named are written)."""
    tables = all_models().tables
    now = datetime.now(UTC)
    account, endpoint = uuid.uuid4(), uuid.uuid4()
    connection.execute(tables["accounts"].insert(),
                       [{"id": account, "name": "A", "created_at": now}])
    connection.execute(tables["endpoints"].insert(), [{
        "id": endpoint, "account_id": account, "origin": "user", "channel": "webhook",
        "url": "https://a.example/hook", "format": "standard", "event_types": ["*"],
        "secret": "whsec_x", "enabled": True, "failing_notified": False,
        "strict_ordering": False, "created_at": now, "updated_at": now}])
    for sequence, type_ in enumerate(("porting_order.created", "record.dids.inserted"), 1):
        event = uuid.uuid4()
        connection.execute(tables["events"].insert(), [{
            "id": event, "account_id": account, "type": type_, "subject_type": "porting_order",
            "subject_id": "order-1", "sequence": sequence, "occurred_at": now, "data": {}}])
        connection.execute(tables["deliveries"].insert(), [{
            "id": uuid.uuid4(), "account_id": account, "event_id": event,
            "endpoint_id": endpoint, "status": "delivered", "ordered": False,
            "ordering_key": "porting_order:order-1", "sequence": sequence, "attempts": 1,
            "round_start": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}])


async def _deliveries_typed(url: str) -> list[tuple[str, str]]:
    await asyncio.to_thread(migrate.upgrade, url, _BEFORE_EVENT_TYPE)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_insert_delivery_rows)
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text(
                "SELECT deliveries.event_type, events.type FROM deliveries "
                "JOIN events ON events.id = deliveries.event_id ORDER BY events.type"))
            return [(typed, type_) for typed, type_ in rows.all()]
    finally:
        await engine.dispose()


_TYPED = [("porting_order.created", "porting_order.created"),
          ("record.dids.inserted", "record.dids.inserted")]


async def test_existing_deliveries_get_their_event_type_on_sqlite(tmp_path: Any) -> None:
    assert await _deliveries_typed(f"sqlite+aiosqlite:///{tmp_path / 't.db'}") == _TYPED


async def test_existing_deliveries_get_their_event_type_on_postgresql(
    scratch_pg_url: str,
) -> None:
    assert await _deliveries_typed(scratch_pg_url) == _TYPED


_BEFORE_LEASE_COLUMN = "e4b19c7d2a61"


def _table(name: str, **columns: Any) -> sa.TableClause:
    return sa.table(name, *(sa.column(key, type_) for key, type_ in columns.items()))


_endpoints = _table("endpoints", id=sa.Uuid(), account_id=sa.Uuid(), origin=sa.String(),
                    channel=sa.String(), url=sa.String(), format=sa.String(),
                    event_types=sa.JSON(), secret=sa.String(), enabled=sa.Boolean(),
                    failing_notified=sa.Boolean(),
                    strict_ordering=sa.Boolean(), created_at=UTCDateTime(),
                    updated_at=UTCDateTime())
_events = _table("events", id=sa.Uuid(), account_id=sa.Uuid(), type=sa.String(),
                 subject_type=sa.String(), subject_id=sa.String(), sequence=sa.BigInteger(),
                 occurred_at=UTCDateTime(), data=sa.JSON())
_deliveries = _table("deliveries", id=sa.Uuid(), account_id=sa.Uuid(), event_id=sa.Uuid(),
                     endpoint_id=sa.Uuid(), status=sa.String(), ordered=sa.Boolean(),
                     ordering_key=sa.String(), sequence=sa.BigInteger(), attempts=sa.Integer(),
                     round_start=sa.Integer(), next_attempt_at=UTCDateTime(),
                     lease_token=sa.Uuid(), created_at=UTCDateTime(), updated_at=UTCDateTime())


async def _leases_carried(url: str) -> dict[str, Any]:
    """A row leased (its lease then in next_attempt_at), one waiting, through
    the upgrade that moves leases into ``lease_expires_at``."""
    await asyncio.to_thread(migrate.upgrade, url, _BEFORE_LEASE_COLUMN)
    engine = make_engine(url, pool_size=1)
    now = datetime.now(UTC)
    lease_end = now + timedelta(seconds=10)
    account, endpoint = uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(_accounts), [
                {"id": account, "name": "A", "created_at": now}])
            await connection.execute(sa.insert(_endpoints), [{
                "id": endpoint, "account_id": account, "origin": "user", "channel": "webhook",
                "url": "https://a.example/", "format": "standard", "event_types": ["*"],
                "secret": "s",
                "enabled": True, "failing_notified": False, "strict_ordering": False,
                "created_at": now, "updated_at": now}])
            for name, token, due in (("leased", uuid.uuid4(), lease_end), ("waiting", None, now)):
                event = uuid.uuid4()
                await connection.execute(sa.insert(_events), [{
                    "id": event, "account_id": account, "type": "t", "subject_type": "s",
                    "subject_id": name, "sequence": 1, "occurred_at": now, "data": {}}])
                await connection.execute(sa.insert(_deliveries), [{
                    "id": uuid.uuid4(), "account_id": account, "event_id": event,
                    "endpoint_id": endpoint, "status": "pending", "ordered": False,
                    "ordering_key": name, "sequence": 1, "attempts": 1, "round_start": 0,
                    "next_attempt_at": due, "lease_token": token, "created_at": now,
                    "updated_at": now}])
        await asyncio.to_thread(migrate.upgrade, url)
        leases = _table("deliveries", ordering_key=sa.String(), lease_expires_at=UTCDateTime())
        async with engine.connect() as connection:
            rows = await connection.execute(sa.select(leases.c.ordering_key,
                                                      leases.c.lease_expires_at))
            found: dict[str, Any] = dict(rows.all())
    finally:
        await engine.dispose()
    return {**found, "lease_end": lease_end}


async def test_leases_held_during_the_upgrade_carry_over_on_sqlite(tmp_path: Any) -> None:
    found = await _leases_carried(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    assert found["leased"] == found["lease_end"]  # still in flight until its lease ends
    assert found["waiting"] is None


async def test_leases_held_during_the_upgrade_carry_over_on_postgresql(
    scratch_pg_url: str,
) -> None:
    found = await _leases_carried(scratch_pg_url)
    assert found["leased"] == found["lease_end"]
    assert found["waiting"] is None


_BEFORE_ATTEMPTS_TRIGGER = "9d4c6b1e2f70"
_attempts = _table("delivery_attempts", delivery_id=sa.Uuid(), number=sa.Integer(),
                   attempted_at=UTCDateTime(), duration_ms=sa.Integer(),
                   delivered_to=sa.String())


async def _seed_attempted(connection: sa.ext.asyncio.AsyncConnection,
                          names: tuple[str, ...]) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    """An account, an endpoint, and per name an event, its delivery and two
    attempts: {name: (event id, delivery id)}."""
    now = datetime.now(UTC)
    account, endpoint = uuid.uuid4(), uuid.uuid4()
    await connection.execute(sa.insert(_accounts), [
        {"id": account, "name": "A", "created_at": now}])
    await connection.execute(sa.insert(_endpoints), [{
        "id": endpoint, "account_id": account, "origin": "user", "channel": "webhook",
        "url": "https://a.example/", "format": "standard", "event_types": ["*"],
        "secret": "s", "enabled": True, "failing_notified": False, "strict_ordering": False,
        "created_at": now, "updated_at": now}])
    made = {}
    for name in names:
        event, delivery = uuid.uuid4(), uuid.uuid4()
        await connection.execute(sa.insert(_events), [{
            "id": event, "account_id": account, "type": "t", "subject_type": "s",
            "subject_id": name, "sequence": 1, "occurred_at": now, "data": {}}])
        await connection.execute(sa.insert(_deliveries), [{
            "id": delivery, "account_id": account, "event_id": event, "endpoint_id": endpoint,
            "status": "pending", "ordered": False, "ordering_key": name, "sequence": 1,
            "attempts": 2, "round_start": 0, "next_attempt_at": now, "lease_token": None,
            "created_at": now, "updated_at": now}])
        await connection.execute(sa.insert(_attempts), [
            {"delivery_id": delivery, "number": n, "attempted_at": now, "duration_ms": 1,
             "delivered_to": "https://a.example/"} for n in (1, 2)])
        made[name] = (event, delivery)
    return made


async def _attempts_left(url: str) -> dict[str, Any]:
    """Attempts made before the upgrade that replaced their foreign key by a
    trigger; then deliveries deleted by a cascade (their event's) and
    directly; then down and up again."""
    await asyncio.to_thread(migrate.upgrade, url, _BEFORE_ATTEMPTS_TRIGGER)
    engine = make_engine(url, pool_size=1)

    async def left() -> set[uuid.UUID]:
        async with engine.connect() as connection:
            return set((await connection.scalars(sa.select(_attempts.c.delivery_id))).all())

    try:
        async with engine.begin() as connection:
            made = await _seed_attempted(connection, ("cascaded", "deleted", "kept"))
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.begin() as connection:
            await connection.execute(sa.delete(_events).where(
                _events.c.id == made["cascaded"][0]))
            await connection.execute(sa.delete(_deliveries).where(
                _deliveries.c.id == made["deleted"][1]))
        after_upgrade = await left()
        await asyncio.to_thread(command.downgrade, migrate.config(url), _BEFORE_ATTEMPTS_TRIGGER)
        async with engine.begin() as connection:  # the foreign key's cascade again
            await connection.execute(sa.delete(_events).where(_events.c.id == made["kept"][0]))
        after_downgrade = await left()
        await engine.dispose()
        diff = await _diff_after_upgrade(url)
    finally:
        await engine.dispose()
    return {"kept": made["kept"][1], "after_upgrade": after_upgrade,
            "after_downgrade": after_downgrade, "diff": diff}


async def test_attempts_go_with_their_delivery_after_the_upgrade_on_sqlite(
    tmp_path: Any,
) -> None:
    found = await _attempts_left(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    assert found["after_upgrade"] == {found["kept"]}
    assert found["after_downgrade"] == set()
    assert found["diff"] == []


async def test_attempts_go_with_their_delivery_after_the_upgrade_on_postgresql(
    scratch_pg_url: str,
) -> None:
    found = await _attempts_left(scratch_pg_url)
    assert found["after_upgrade"] == {found["kept"]}
    assert found["after_downgrade"] == set()
    assert found["diff"] == []
