"""How the dispatcher claims and records its batches: through sessions, or
on PostgreSQL through held connections.

``SessionStore`` runs the functions of ``queue`` (claims) and ``recording``
(outcomes) in one short session per batch: SQLite's way (its one writer
serialises claims whatever the client does).

``PgStore`` is PostgreSQL's hot path. A worker drains thousands of rows a
second, and through a session each batch paid for a pool checkout with its
ping (three round trips), BEGIN and COMMIT, and SQLAlchemy's per-row result
processing: more CPU than the HTTP calls themselves. Here each loop of the
dispatcher (claims, outcomes) holds one connection and runs the statements
``queue`` and ``recording`` build, compiled once for asyncpg, on the driver
connection with autocommit. Each statement is atomic on its own: the claim's
``UPDATE ... RETURNING`` joins the events its rows carry, and a batch of
outcomes and their attempts is one statement. Batches with skipped rows or
an endpoint whose health may change go through a session, so that the
outcomes, the health bookkeeping and its ``endpoint.*`` events commit
together.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import ClauseElement

from porthook.accounts.models import Account
from porthook.config import Settings
from porthook.db import Database, DriverStatement
from porthook.delivery import formats, queue, recording
from porthook.delivery.models import Endpoint
from porthook.events.models import Event

Claim = tuple[queue.Claimed, formats.EventView]
# What a batch needs besides its rows: the endpoints, as read at claim time.
Batch = tuple[list[Claim], list[Mapping[str, Any]]]
Wanted = queue.Wanted


class Store(Protocol):
    # How many ``record`` calls may run at once (batches of distinct rows).
    parallel_writes: int

    async def claim(self, *, now: datetime, limit: int, lease_s: float,
                    full: Collection[uuid.UUID] = (), wanted: Wanted = (),
                    probe: bool = True) -> Batch:
        """Lease up to ``limit`` due rows. With no ``full`` endpoints, in due
        order (``queue.claim``). Otherwise endpoint by endpoint
        (``queue.claim_by_endpoint``): the ``wanted`` ones', then, with
        ``probe``, those of other endpoints, neither full nor wanted."""
        ...

    async def record(self, outcomes: Sequence[queue.Outcome], *, now: datetime,
                     settings: Settings, random: Callable[[], float]) -> list[Endpoint]: ...

    async def renew(self, *, ids: Sequence[uuid.UUID], tokens: Collection[uuid.UUID],
                    expires: datetime) -> None:
        """Extend to ``expires`` the leases of ``ids`` still under ``tokens``."""
        ...

    async def notify(self, channel: str) -> None:
        """Wake the processes listening on ``channel`` (PostgreSQL's NOTIFY)."""
        ...

    async def close(self) -> None: ...


def for_database(database: Database) -> Store:
    return PgStore(database) if database.is_postgres else SessionStore(database)


@functools.cache
def _events_statement() -> sa.Select[Any]:
    return sa.select(Event.id, Event.type, Event.account_id, Event.subject_type,
                     Event.subject_id, Event.sequence, Event.occurred_at, Event.data
                     ).where(Event.id.in_(sa.bindparam("ids", expanding=True)))


@functools.cache
def _endpoints_statement(*, arrays: bool = False) -> sa.Select[Any]:
    among = (Endpoint.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Uuid())))
             if arrays else Endpoint.id.in_(sa.bindparam("ids", expanding=True)))
    return (sa.select(Endpoint.id, Endpoint.account_id, Account.name.label("account_name"),
                      Endpoint.channel, Endpoint.url, Endpoint.email_address, Endpoint.format,
                      Endpoint.credentials, Endpoint.secret, Endpoint.previous_secret,
                      Endpoint.previous_secret_expires_at, Endpoint.enabled,
                      Endpoint.max_concurrency, Endpoint.failing_since, Endpoint.headers,
                      Endpoint.rate_limit_per_s)
            .join(Account, Account.id == Endpoint.account_id)
            .where(among))


class SessionStore:
    parallel_writes = 1  # SQLite: one writer at a time, whatever the client does

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(self, *, now: datetime, limit: int, lease_s: float,
                    full: Collection[uuid.UUID] = (), wanted: Wanted = (),
                    probe: bool = True) -> Batch:
        async with self._database.sessions() as session:
            if full:
                claimed = await queue.claim_by_endpoint(
                    session, now=now, limit=limit, lease_s=lease_s, wanted=wanted,
                    elsewhere=full if probe else None)
            else:
                claimed = await queue.claim(session, now=now, limit=limit, lease_s=lease_s)
            if not claimed:
                await session.commit()
                return [], []
            connection = await session.connection()
            # Plain rows, not ORM objects: a fresh dict per row is already a private copy.
            rows = await connection.execute(_events_statement(),
                                            {"ids": list({c.event_id for c in claimed})})
            views = {row[0]: formats.EventView(*row) for row in rows}
            endpoints = await connection.execute(
                _endpoints_statement(), {"ids": list({c.endpoint_id for c in claimed})})
            targets = [row._mapping for row in endpoints]
            await session.commit()
        return [(c, views[c.event_id]) for c in claimed if c.event_id in views], targets

    async def record(self, outcomes: Sequence[queue.Outcome], *, now: datetime,
                     settings: Settings, random: Callable[[], float]) -> list[Endpoint]:
        async with self._database.sessions() as session:
            disabled = await recording.record_outcomes(session, outcomes, now=now,
                                                       settings=settings, random=random)
            await session.commit()
        return disabled

    async def renew(self, *, ids: Sequence[uuid.UUID], tokens: Collection[uuid.UUID],
                    expires: datetime) -> None:
        async with self._database.sessions() as session:
            await queue.renew(session, ids=ids, tokens=tokens, expires=expires)
            await session.commit()

    async def notify(self, channel: str) -> None:
        return None  # SQLite has no NOTIFY: its workers poll

    async def close(self) -> None:
        return None


class _HeldConnection:
    """A pooled connection one loop keeps; dropped after any error (the
    server may have gone away) and taken afresh on the next use.

    ``settings``: session settings (``SET name = value``) for as long as it
    is held, reset before it goes back to the pool. ``replan_every_s``: its
    cached plans are dropped (``DISCARD PLANS``) before a use this long
    after the last time, so that they are made again from the tables as
    they are then."""

    def __init__(self, engine: AsyncEngine, settings: Mapping[str, str] | None = None, *,
                 replan_every_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._settings = dict(settings or {})
        self._replan_every_s = replan_every_s
        self._clock = clock
        self._planned_at = 0.0
        self._connection: AsyncConnection | None = None
        self._driver: Any = None

    @contextlib.asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        try:  # whatever fails, the connection is dropped and the next use starts afresh
            if self._connection is None:
                self._connection = await self._engine.connect()
                raw = await self._connection.get_raw_connection()
                self._driver = raw.driver_connection
                for name, value in self._settings.items():
                    await self._driver.execute(f"SET {name} = {value}")
                self._planned_at = self._clock()
            elif (self._replan_every_s is not None
                  and self._clock() - self._planned_at >= self._replan_every_s):
                await self._driver.execute("DISCARD PLANS")
                self._planned_at = self._clock()
            yield self._driver
        except BaseException:
            await self.close(invalidate=True)
            raise

    async def close(self, *, invalidate: bool = False) -> None:
        connection, driver = self._connection, self._driver
        self._connection, self._driver = None, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            if invalidate:
                await connection.invalidate()
            else:  # back to the pool as any other connection is
                for name in self._settings:
                    await driver.execute(f"RESET {name}")
            await connection.close()


@functools.cache
def _driver_statement(name: str) -> DriverStatement:
    statements: dict[str, Callable[[], ClauseElement]] = {
        "claim": lambda: queue.claim_with_events_statement(one_endpoint=False),
        "claim_one": lambda: queue.claim_with_events_statement(one_endpoint=True),
        "endpoints_due": lambda: queue.endpoints_due_statement(arrays=True),
        "endpoints": lambda: _endpoints_statement(arrays=True),
        "outcomes": lambda: recording.OUTCOMES_PG,
        "renew": lambda: queue.renew_statement(arrays=True),
    }
    return DriverStatement.compile(statements[name]())


# The claims' connection plans each claim statement once (a generic plan),
# not at every claim: planning the claim cost PostgreSQL 1.3 to 2 ms of CPU,
# as much as running it (bench/pg_rows.py: 20 to 22 us per row claimed, 16
# to 19 with it). Its plan is the same whatever the values: the due index in
# due order, or the endpoint's due index (checked on 700,000 pending rows).
# Its cost, estimated without the LIMIT's value, is past jit_above_cost, and
# JIT compiled it for 20 ms at each run: JIT is off on porthook's
# connections (db.py), which this plan needs.
# No bitmap scans: with few rows pending the planner took the due index
# through a bitmap and sorted, and a bitmap scan never marks the index
# entries of finished rows dead, as a plain index scan does once it meets
# them. A delivered row's entry stays in the due index until VACUUM, so each
# claim read every row finished since the last VACUUM: 2,100 and then 4,450
# entries per claim within a minute at 132 writes/s (now about 5).
CLAIM_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_bitmapscan": "off"}
# A cached plan is made from the tables' size when it is made, and kept
# until an ANALYZE of the table. Made on an empty table (a new installation,
# a worker started before anything was written), the claim read the whole
# table at every run inside a semi-join, and the outcomes' update hashed it:
# on a database a minute old taking 120 writes/s, the claims cost
# PostgreSQL 10 s of CPU in 30 s. Made again every REPLAN_S, a plan follows
# the table's real size (the planner reads the file's length, not only the
# last ANALYZE's count); the price is one planning of each statement per
# period.
REPLAN_S = 10.0


class PgStore:
    # Two batches of outcomes are written at once, each on its own connection:
    # sends wait for the unrecorded allowance while outcomes are written, and
    # one write at a time left them waiting most of a drain (a write of 128
    # rows takes PostgreSQL several milliseconds of CPU on a shared machine).
    parallel_writes = 2

    def __init__(self, database: Database, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        def held(settings: Mapping[str, str] | None = None) -> _HeldConnection:
            return _HeldConnection(database.engine, settings, replan_every_s=REPLAN_S,
                                   clock=clock)

        self._claims = held(CLAIM_SETTINGS)
        self._outcomes = [held() for _ in range(self.parallel_writes)]
        # Its own: renewals run beside claims and outcomes, on a timer.
        self._renewals = held()
        self._sessions = SessionStore(database)
        # Batches through a session change endpoints' health: one at a time,
        # so that two never wait on each other's endpoint rows.
        self._session_writes = asyncio.Lock()

    async def claim(self, *, now: datetime, limit: int, lease_s: float,
                    full: Collection[uuid.UUID] = (), wanted: Wanted = (),
                    probe: bool = True) -> Batch:
        token, expires = uuid.uuid4(), now + timedelta(seconds=lease_s)
        params = {"b_now": now, "b_token": token, "b_expires": expires}
        async with self._claims.driver() as driver:
            if full:
                async def find(excluded: list[uuid.UUID]) -> list[uuid.UUID]:
                    found = await _fetch(driver, "endpoints_due", {
                        **params, "b_excluded": excluded, "b_limit": queue.PROBE_ENDPOINTS})
                    return [endpoint_id for (endpoint_id,) in found]

                async def take(endpoint_id: uuid.UUID, most: int) -> list[Any]:
                    return await _fetch(driver, "claim_one", {
                        **params, "b_endpoint": endpoint_id, "b_limit": most})

                rows = await queue.by_endpoint(limit=limit, wanted=wanted, find=find,
                                               take=take, elsewhere=full if probe else None)
            else:
                rows = await _fetch(driver, "claim", {**params, "b_excluded": [],
                                                      "b_limit": limit})
            endpoint_ids = list({row[2] for row in rows})
            endpoints = await _fetch(driver, "endpoints", {"ids": endpoint_ids}) if rows else []
        return [_claim(row, token, expires) for row in rows], endpoints

    async def record(self, outcomes: Sequence[queue.Outcome], *, now: datetime,
                     settings: Settings, random: Callable[[], float]) -> list[Endpoint]:
        if recording.needs_session(outcomes):
            async with self._session_writes:
                return await self._sessions.record(outcomes, now=now, settings=settings,
                                                   random=random)
        # In the rows' order: two batches written at once lock their rows in
        # one order, should a row be in both (its lease ran out here and this
        # worker claimed it again), and so never deadlock.
        ordered = sorted(outcomes, key=_row_id)
        columns = recording.outcome_columns(ordered, now=now, settings=settings, random=random)
        held = self._outcomes.pop()  # the dispatcher runs at most parallel_writes at once
        try:
            async with held.driver() as driver:
                statement = _driver_statement("outcomes")
                await driver.execute(statement.sql, *statement.args(columns))
        finally:
            self._outcomes.append(held)
        return []

    async def renew(self, *, ids: Sequence[uuid.UUID], tokens: Collection[uuid.UUID],
                    expires: datetime) -> None:
        async with self._renewals.driver() as driver:
            statement = _driver_statement("renew")
            await driver.execute(statement.sql, *statement.args({
                "b_ids": list(ids), "b_tokens": list(tokens), "b_expires": expires}))

    async def notify(self, channel: str) -> None:
        async with self._claims.driver() as driver:
            await driver.execute("SELECT pg_notify($1, '')", channel)

    async def close(self) -> None:
        await self._claims.close()
        for held in self._outcomes:
            await held.close()
        await self._renewals.close()


async def _fetch(driver: Any, name: str, params: Mapping[str, Any]) -> list[Any]:
    statement = _driver_statement(name)
    rows: list[Any] = await driver.fetch(statement.sql, *statement.args(params))
    return rows


def _row_id(outcome: queue.Outcome) -> uuid.UUID:
    return outcome.claimed.id


def _claim(row: Any, token: uuid.UUID, expires: datetime) -> Claim:
    # Columns as queue.claim_with_events_statement lists them.
    claimed = queue.claimed_from_row(row, token, expires)
    view = formats.EventView(row[1], row[6], row[7], row[8], row[9], row[10], row[11], row[12])
    return claimed, view

