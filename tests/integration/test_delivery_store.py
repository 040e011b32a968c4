"""The dispatcher's store on SQLite (sessions) and PostgreSQL (held driver
connections): the same claims, events, endpoints and outcomes either way."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import fanout, models, queue, service, store
from porthook.delivery.models import Delivery, DeliveryAttempt, Endpoint
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from tests.conftest import AccountFactory

LEASE_S = 60.0


@pytest.fixture
async def the_store(database: Database) -> AsyncIterator[store.Store]:
    chosen = store.for_database(database)
    yield chosen
    await chosen.close()


async def _endpoint(session: AsyncSession, settings: Settings, account_id: uuid.UUID,
                    now: datetime) -> Endpoint:
    body = EndpointCreate.model_validate({"url": "https://93.184.216.34/hook",
                                          "event_types": ["record.*"]})
    return await service.create_endpoint(session, account_id=account_id, body=body,
                                         settings=settings, now=now)


async def _record_event(session: AsyncSession, account_id: uuid.UUID, now: datetime,
                        number: int) -> uuid.UUID:
    event = await events.record(
        session, account_id=account_id, type="record.dids.inserted", subject_type="dids",
        subject_id=str(number), data={"schema": "dids", "record": {"id": number}},
        occurred_at=now)
    return event.id


async def _seeded(session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
                  settings: Settings, events: int) -> tuple[datetime, Endpoint, set[uuid.UUID]]:
    """An account with one endpoint and ``events`` events for it, committed."""
    account_id, _ = await make_account()
    now = clock.now()
    endpoint = await _endpoint(session, settings, account_id, now)
    event_ids = {await _record_event(session, account_id, now, n) for n in range(events)}
    await session.commit()
    return now, endpoint, event_ids


def _outcome(claimed: queue.Claimed, now: datetime, status_code: int) -> queue.Outcome:
    return queue.Outcome(claimed=claimed, attempted_at=now, duration_ms=3,
                         delivered_to="https://93.184.216.34/hook", status_code=status_code,
                         response_excerpt="ok")


async def test_claim_carries_events_and_endpoints(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    now, endpoint, event_ids = await _seeded(session, make_account, clock, settings, events=3)
    claimed, endpoints = await the_store.claim(now=now, limit=10, lease_s=LEASE_S)
    assert {view.id for _, view in claimed} == event_ids
    for item, view in claimed:
        assert (item.event_id, item.endpoint_id, item.attempt) == (view.id, endpoint.id, 1)
        assert view.data["record"]["id"] == int(view.subject_id)  # JSON decoded
        assert view.occurred_at.utcoffset() is not None
    [row] = endpoints
    assert (row["id"], row["account_name"], row["secret"]) == (endpoint.id, "Acme",
                                                               endpoint.secret)
    assert await the_store.claim(now=now, limit=10, lease_s=LEASE_S) == ([], [])  # all leased


async def test_with_a_full_endpoint_claims_go_endpoint_by_endpoint(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    account_id, _ = await make_account()
    now = clock.now()
    full, held, other = [await _endpoint(session, settings, account_id, now) for _ in range(3)]
    for n in range(3):  # each event goes to all three
        await _record_event(session, account_id, now, n)
    await session.commit()

    async def claim(**how: Any) -> list[uuid.UUID]:
        claimed, _ = await the_store.claim(now=now, limit=10, lease_s=LEASE_S, **how)
        return sorted(c.endpoint_id for c, _ in claimed)

    # The held endpoint with room gets what it asked for, nobody else.
    assert await claim(full=[full.id], wanted=[(held.id, 2)], probe=False) == [held.id] * 2
    # A probe finds the others: neither full nor wanted (held has one row left).
    assert await claim(full=[full.id], probe=True) == sorted([held.id] + [other.id] * 3)
    assert await claim(full=[full.id], probe=True) == []
    assert await claim() == [full.id] * 3  # due order, once nothing is full


async def test_outcomes_are_recorded_with_their_attempts_and_health(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    now, endpoint, _ = await _seeded(session, make_account, clock, settings, events=3)
    claimed, _ = await the_store.claim(now=now, limit=10, lease_s=LEASE_S)
    done, failed = [c for c, _ in claimed[:2]], claimed[2][0]

    # All succeeded: PostgreSQL's one-statement path.
    assert await the_store.record([_outcome(c, now, 200) for c in done], now=now,
                                  settings=settings, random=lambda: 0.5) == []
    # A failure: endpoint health is bookkept with it.
    await the_store.record([_outcome(failed, now, 500)], now=now, settings=settings,
                           random=lambda: 0.5)

    rows = dict((await session.execute(sa.select(Delivery.id, Delivery.status))).all())
    assert [rows[c.id] for c in done] == [models.DELIVERED, models.DELIVERED]
    assert rows[failed.id] == models.PENDING  # retried later
    attempts = (await session.execute(sa.select(DeliveryAttempt.delivery_id,
                                                DeliveryAttempt.status_code))).all()
    assert sorted(attempts) == sorted([(c.id, 200) for c in done] + [(failed.id, 500)])
    await session.refresh(endpoint)
    assert endpoint.failing_since == now


async def test_attempts_go_with_their_deliveries_however_these_are_deleted(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    # No foreign key holds them (its check cost a row lock per attempt): the
    # deliveries' trigger removes them, through the cascades too.
    now, endpoint, _ = await _seeded(session, make_account, clock, settings, events=2)
    other = await _endpoint(session, settings, endpoint.account_id, now)
    await _record_event(session, endpoint.account_id, now, 99)  # one for each endpoint
    await session.commit()
    claimed, _ = await the_store.claim(now=now, limit=10, lease_s=LEASE_S)
    assert len(claimed) == 4
    await the_store.record([_outcome(c, now, 200) for c, _ in claimed], now=now,
                           settings=settings, random=lambda: 0.5)

    async def attempted() -> set[uuid.UUID]:
        rows = await session.scalars(sa.select(DeliveryAttempt.endpoint_id))
        return set(rows.all())

    assert await attempted() == {endpoint.id, other.id}
    await service.delete_endpoint(session, account_id=endpoint.account_id,
                                  endpoint_id=endpoint.id)
    await session.commit()
    assert await attempted() == {other.id}  # endpoint -> deliveries -> attempts
    assert await events.purge_older_than(session, before=now + timedelta(seconds=1)) == 3
    await session.commit()
    assert await attempted() == set()  # event -> deliveries -> attempts


async def test_a_taken_over_lease_records_the_attempt_but_not_the_outcome(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    now, _, _ = await _seeded(session, make_account, clock, settings, events=1)
    [(stale, _)], _ = await the_store.claim(now=now, limit=10, lease_s=LEASE_S)
    clock.advance(timedelta(seconds=LEASE_S + 1))
    [(fresh, _)], _ = await the_store.claim(now=clock.now(), limit=10, lease_s=LEASE_S)
    assert (fresh.id, fresh.attempt) == (stale.id, 2)
    await the_store.record([_outcome(stale, now, 200)], now=clock.now(), settings=settings,
                           random=lambda: 0.5)
    status = await session.scalar(sa.select(Delivery.status).where(Delivery.id == stale.id))
    assert status == models.PENDING  # still leased by the second claim
    assert await session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt)) == 1


async def test_only_a_committed_enqueue_wakes_this_process(database: Database) -> None:
    woken: list[int] = []
    stop = database.on_wake(lambda: woken.append(1))
    async with database.sessions() as session:
        await fanout.notify(session)
        await session.rollback()
    async with database.sessions() as session:
        await session.commit()  # nothing enqueued
    assert woken == []
    async with database.sessions() as session:
        await fanout.notify(session)
        await session.commit()
    assert woken == [1]
    stop()
    async with database.sessions() as session:
        await fanout.notify(session)
        await session.commit()
    assert woken == [1]


async def test_a_lost_connection_is_taken_afresh(
    the_store: store.Store, database: Database, session: AsyncSession,
    make_account: AccountFactory, clock: ShiftableClock, settings: Settings,
) -> None:
    now, _, _ = await _seeded(session, make_account, clock, settings, events=2)
    [_], _ = await the_store.claim(now=now, limit=1, lease_s=LEASE_S)
    if database.is_postgres:  # the server drops every other connection (a restart, say)
        await session.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        await session.commit()
        # Which error depends on when the client reads the server's goodbye.
        lost = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                OSError)
        with pytest.raises(lost):
            await the_store.claim(now=now, limit=1, lease_s=LEASE_S)
    [_], _ = await the_store.claim(now=now, limit=1, lease_s=LEASE_S)  # the next one works


async def test_renewal_extends_only_the_leases_still_held(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    now, _, _ = await _seeded(session, make_account, clock, settings, events=3)
    claimed, _ = await the_store.claim(now=now, limit=2, lease_s=10.0)
    (kept, _), (recorded, _) = claimed
    await the_store.record([_outcome(recorded, now, 200)], now=now, settings=settings,
                           random=lambda: 0.5)
    # Past the first lease: renewed, the kept row stays leased; the recorded
    # one (no token any more) and a row never claimed are untouched.
    later = now + timedelta(seconds=8)
    await the_store.renew(ids=[kept.id, recorded.id], tokens={kept.lease_token},
                          expires=later + timedelta(seconds=10))
    clock.advance(timedelta(seconds=12))
    [(other, _)], _ = await the_store.claim(now=clock.now(), limit=10, lease_s=10.0)
    assert other.id not in {kept.id, recorded.id}
    session.expire_all()
    rows = {d.id: d for d in (await session.scalars(sa.select(Delivery))).all()}
    assert rows[kept.id].lease_expires_at == later + timedelta(seconds=10)
    assert rows[recorded.id].status == models.DELIVERED
    await session.rollback()  # SQLite: hand the writer's turn back to the store
    # A token that is not the row's own (it was taken over) extends nothing.
    await the_store.renew(ids=[kept.id], tokens={uuid.uuid4()}, expires=later + timedelta(hours=1))
    session.expire_all()
    assert await session.scalar(sa.select(Delivery.lease_expires_at).where(
        Delivery.id == kept.id)) == later + timedelta(seconds=10)


async def test_renewal_skips_a_row_another_statement_holds_instead_of_waiting(
    the_store: store.Store, session: AsyncSession, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings, database: Database, backend: str,
) -> None:
    # The outcome write locks its batch's rows in its own order: a renewal that
    # waited for them while holding others deadlocked with it (PostgreSQL).
    now, _, _ = await _seeded(session, make_account, clock, settings, events=2)
    claimed, _ = await the_store.claim(now=now, limit=2, lease_s=10.0)
    (held, _), (free, _) = claimed
    await session.rollback()
    expires = now + timedelta(seconds=30)
    if backend == "postgresql":
        async with database.engine.connect() as other:
            await other.execute(sa.select(Delivery.id).where(Delivery.id == held.id)
                                .with_for_update())
            async with asyncio.timeout(5):  # waiting would block until the lock goes
                await the_store.renew(ids=[held.id, free.id],
                                      tokens={held.lease_token, free.lease_token},
                                      expires=expires)
            await other.rollback()
    else:  # one writer at a time: nothing else can hold a row meanwhile
        await the_store.renew(ids=[held.id, free.id],
                              tokens={held.lease_token, free.lease_token}, expires=expires)
    session.expire_all()
    renewed = dict((await session.execute(sa.select(Delivery.id, Delivery.lease_expires_at)
                                          .where(Delivery.id.in_([held.id, free.id])))).all())
    assert renewed[free.id] == expires
    assert (renewed[held.id] == expires) == (backend == "sqlite")


@pytest.mark.parametrize("backend", ["postgresql"])  # its plan cache: PostgreSQL's own
async def test_the_claims_plan_is_kept_and_the_pool_gets_its_connection_back_as_it_was(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, database: Database,
) -> None:
    now, _, _ = await _seeded(session, make_account, clock, settings, events=8)
    pg = store.PgStore(database)
    for _ in range(8):  # past the 5 runs after which PostgreSQL may choose a plan itself
        await pg.claim(now=now, limit=1, lease_s=LEASE_S)
    async with pg._claims.driver() as driver:
        held = (await driver.fetchval("SELECT pg_backend_pid()"),
                await driver.fetchval("SHOW plan_cache_mode"), await driver.fetchval("SHOW jit"))
    assert held[1:] == ("force_generic_plan", "off")  # JIT: off on every connection
    await pg.close()
    # Any other use of that pooled connection plans as the server's settings say.
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(10):
            connection = await stack.enter_async_context(database.engine.connect())
            pid = await connection.scalar(sa.text("SELECT pg_backend_pid()"))
            if pid == held[0]:
                assert await connection.scalar(sa.text("SHOW plan_cache_mode")) == "auto"
                assert await connection.scalar(sa.text("SHOW jit")) == "off"
                break
        else:
            pytest.fail("the claims' connection did not go back to the pool")


# The rows a test adds in bulk behind the store's back: events of the
# endpoint's account, and a pending delivery of each, due at b_now.
_BULK_EVENTS = """
INSERT INTO events (id, account_id, type, subject_type, subject_id, sequence, occurred_at, data)
SELECT gen_random_uuid(), $1, 'record.dids.inserted', 'dids', 'bulk-' || n, 1, $2, '{}'
FROM generate_series(1, $3) AS n"""
_BULK_DELIVERIES = """
INSERT INTO deliveries (id, account_id, event_id, event_type, event_position, endpoint_id,
                        status, ordered, ordering_key, sequence, attempts, round_start,
                        next_attempt_at, created_at, updated_at)
SELECT gen_random_uuid(), account_id, id, type, position, $1, 'pending', false,
       'dids:' || subject_id, 1, 0, 0, $2, $2, $2
FROM events WHERE subject_id LIKE 'bulk-%'"""


async def _explained(driver: Any, plans: list[str]) -> None:
    """From now on, the plan each statement on ``driver`` ran with is
    appended to ``plans`` (auto_explain, sent back as a notice)."""
    driver.add_log_listener(lambda _connection, message: plans.append(message.message))
    await driver.execute("LOAD 'auto_explain'")
    await driver.execute("SET auto_explain.log_min_duration = 0")
    await driver.execute("SET auto_explain.log_level = notice")


@pytest.mark.parametrize("backend", ["postgresql"])  # its plan cache: PostgreSQL's own
async def test_the_claims_plan_is_made_again_as_the_table_grows(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, database: Database,
) -> None:
    """A worker started on a new installation's empty table keeps no plan
    that reads the whole table: within ``REPLAN_S`` its claims take the due
    index, however the table has grown meanwhile."""
    now, endpoint, _ = await _seeded(session, make_account, clock, settings, events=1)
    async with database.engine.connect() as connection:  # what a new table's statistics say
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("ANALYZE deliveries, events")
    ticks = [0.0]
    pg = store.PgStore(database, clock=lambda: ticks[0])
    try:
        assert len((await pg.claim(now=now, limit=5, lease_s=LEASE_S))[0]) == 1
        plans: list[str] = []
        async with pg._claims.driver() as driver:
            await _explained(driver, plans)
            await driver.execute(_BULK_EVENTS, endpoint.account_id, now, 3000)
            await driver.execute(_BULK_DELIVERIES, endpoint.id, now)

        claimed, _ = await pg.claim(now=now, limit=5, lease_s=LEASE_S)
        assert len(claimed) == 5
        stale = [p for p in plans if "WITH claimed AS" in p][-1]
        assert "Seq Scan on deliveries" in stale  # planned on a table of one row, and kept

        ticks[0] += store.REPLAN_S
        claimed, _ = await pg.claim(now=now, limit=5, lease_s=LEASE_S)
        assert len(claimed) == 5
        fresh = [p for p in plans if "WITH claimed AS" in p][-1]
        assert "Index Scan using ix_deliveries_due on deliveries" in fresh
        assert "Seq Scan on deliveries" not in fresh and "Bitmap" not in fresh
    finally:
        await pg.close()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_claims_connection_cut_while_idle_is_replaced_at_the_next_claim(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings, database: Database,
) -> None:
    """The first statement after a quiet spell is the replanning one: if the
    server cut the connection meanwhile, that claim fails and the next takes
    a new connection, with the claims' settings."""
    now, _, _ = await _seeded(session, make_account, clock, settings, events=3)
    ticks = [0.0]
    pg = store.PgStore(database, clock=lambda: ticks[0])
    try:
        assert len((await pg.claim(now=now, limit=1, lease_s=LEASE_S))[0]) == 1
        async with pg._claims.driver() as driver:
            cut = await driver.fetchval("SELECT pg_backend_pid()")
        async with database.engine.connect() as other:
            await other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": cut})
        ticks[0] += store.REPLAN_S
        with pytest.raises(Exception):  # noqa: B017  (asyncpg's or the socket's)
            await pg.claim(now=now, limit=1, lease_s=LEASE_S)
        assert len((await pg.claim(now=now, limit=1, lease_s=LEASE_S))[0]) == 1
        async with pg._claims.driver() as driver:
            assert await driver.fetchval("SELECT pg_backend_pid()") != cut
            assert await driver.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    finally:
        await pg.close()
