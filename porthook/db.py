"""Database plumbing: the declarative base, portable column types, engines.

Engines are built by ``Database(settings)`` at start-up, never at import time.
SQLite is the embedded default; PostgreSQL is the production and scale-out engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import await_only

from porthook import jsoncodec, sqlite_driver
from porthook.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000  # a statement waits this long for the file's lock
WRITER_TURN_TIMEOUT_S = 30.0  # ... and as long for its turn among its process's writers
_WAKE_KEY = "porthook.wake_on_commit"
_HOLD_KEY = "porthook.hold_commits"
_ASKED_KEY = "porthook.commit_asked"
_IDLE_SINCE_KEY = "porthook.idle_since"
# Connections a PostgreSQL engine may open beyond its pool_size (make_engine).
PG_POOL_EXTRA = 20
PING_AFTER_IDLE_S = 5.0  # a pooled PostgreSQL connection idle this long is tested before use


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Plain JSON, not JSONB, on PostgreSQL: it keeps the key order of what was
# written (receivers of seed 002's ``data`` string and of the seeds' samples
# see fields in the documented order), and porthook never queries inside it.
JSONType = sa.JSON()
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        uuid.UUID: sa.Uuid(),
    }
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def new_id() -> uuid.UUID:
    """A row's id: a UUIDv7 (RFC 9562, section 5.7), the Unix time in
    milliseconds and then 74 random bits.

    Time-ordered, not UUIDv4: a new row's key lands at the right end of its
    index, not on a random leaf of it. With millions of deliveries and events
    kept, random keys made every insert, and every outcome's new index entry,
    touch a leaf page of its own (read in, then logged whole after each
    checkpoint). Python 3.14 has ``uuid.uuid7``; this is the same layout."""
    return uuid7(time.time_ns() // 1_000_000, os.urandom(10))


def uuid7(millisecond: int, random: bytes) -> uuid.UUID:
    """The UUIDv7 of a Unix millisecond and 10 random bytes (80 bits, of
    which the version and variant take 6)."""
    value = millisecond << 80 | int.from_bytes(random)
    return uuid.UUID(int=value & ~_UUID7_FIXED | _UUID7_BITS)


# The version (0b0111, bits 76-79) and the variant (0b10, bits 62-63).
_UUID7_FIXED = 0xF << 76 | 0x3 << 62
_UUID7_BITS = 0x7 << 76 | 0x2 << 62


def make_engine(database_url: str, *, pool_size: int = 10, read_only: bool = False) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        # sqlite3 on the loop's thread (sqlite_driver), whatever driver the
        # URL names: aiosqlite's thread hand-offs cost most of a write's CPU.
        sqlite_driver.register()
        engine = create_async_engine(sqlite_driver.url_for_loop(database_url),
                                     pool_size=pool_size, max_overflow=10,
                                     json_deserializer=jsoncodec.loads)
        _configure_sqlite(engine, read_only=read_only)
        return engine
    engine = create_async_engine(
        # Every connection kept once opened, up to the same cap as before
        # (pool_size + 20). As overflow, connections past pool_size were
        # closed at every check-in that found the pool full: 16 requests in
        # flight on one API process opened 169 connections for 550 orders
        # (a backend fork, authentication, type introspection and each
        # statement prepared again on PostgreSQL's side and ours), 22 now.
        database_url, pool_size=pool_size + PG_POOL_EXTRA, max_overflow=0,
        # Every claim decodes its events' data: orjson (see jsoncodec).
        json_deserializer=jsoncodec.loads,
        # The standard library's, as SQLAlchemy's default: the stored text of
        # every JSON column is what it always was.
        json_serializer=json_text,
        # Short OLTP statements only: with a million deliveries the planner's
        # cost passes jit_above_cost and JIT compilation alone took 160 ms of a
        # 10 ms claim.
        connect_args={"server_settings": {"jit": "off"}},
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only if it sat idle for
    ``PING_AFTER_IDLE_S``, instead of at every checkout (``pool_pre_ping``).

    asyncpg's ping is a transaction of its own (BEGIN, a statement, ROLLBACK):
    three round trips before every request's first statement, about a fifth of
    a comment's statements (issue 17). A connection in steady use is proven by
    its last statement; one that sat idle may have been cut (a restart, a
    firewall's idle timeout) and is tested, and replaced if dead. A connection
    that dies while in use fails its request with 503 (``unavailable``) and
    makes the pool drop every connection older than the failure.
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE_KEY] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE_KEY)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one).
            raise sa.exc.DisconnectionError(f"connection idle for a while is dead: {exc}"
                                            ) from exc


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control so that BEGIN IMMEDIATE below is ours:
        # a deferred transaction that reads and then writes can fail at once
        # with "database is locked" instead of waiting for the busy timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # No busy handler: it sleeps inside sqlite3, on the loop's thread.
        # A statement that finds the file locked waits on the loop instead
        # (sqlite_driver.LoopCursor), for up to this long.
        cursor.execute("PRAGMA busy_timeout=0")
        dbapi_connection.busy_timeout_s = SQLITE_BUSY_TIMEOUT_MS / 1000
        cursor.close()

    if read_only:
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin_read(connection: Any) -> None:
            # Readers take no lock at all in WAL mode: a deferred BEGIN lets
            # them run beside the one writer instead of queueing behind it.
            connection.exec_driver_sql("BEGIN")
        return
    turns = _WriterTurns()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        turns.take(connection.connection.info)
        _begin_immediate(connection)

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        turns.give_back(record.info)


def _begin_immediate(connection: Any) -> None:
    """BEGIN IMMEDIATE: the write lock from the start, so that a transaction
    that reads and then writes never fails at its first write.

    While another process holds the file's write lock, the driver tries again
    every few milliseconds (1, 2, 4, then 5 ms) for up to
    ``SQLITE_BUSY_TIMEOUT_MS``, sleeping on the loop (``sqlite_driver``).
    Not SQLite's busy handler: besides blocking the loop, its sleeps grow to
    100 ms, and against another process committing a few hundred short
    transactions a second (``porthook api`` beside ``porthook worker``) a
    waiter that missed a few gaps slept through the next ones (bench.delivery:
    41 ms on average, up to 1.2 s, in the worker's BEGIN IMMEDIATE).
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _WriterTurns:
    """SQLite's one writer, queued for in this process rather than in SQLite.

    A transaction that finds the file locked waits in SQLite's busy handler,
    which sleeps and retries (1, 2, 5 … 100 ms): under a steady stream of
    writes a commit could wait half a second for a lock that was free for
    most of that time. Here each write transaction of this engine first waits
    its turn on an asyncio lock, woken the moment the previous holder's
    connection goes back to the pool (after its COMMIT or ROLLBACK: the
    engine's commit event comes before the COMMIT runs). Other processes on
    the same file still meet in SQLite's busy handler.

    A connection keeps its turn across transactions until it is checked in,
    so a connection that begins again (``engine.connect()`` with several
    ``begin()``) never waits on itself.
    """

    _KEY = "porthook.writer_turn"

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def take(self, info: dict[str, Any]) -> None:
        if info.get(self._KEY):
            return
        # Inside SQLAlchemy's greenlet: await_only suspends this connection's
        # caller on the event loop, as any of its statements would.
        await_only(self._acquire())
        info[self._KEY] = True

    async def _acquire(self) -> None:
        # Bounded as SQLite's own wait is: a writer stuck behind one that
        # waits for it fails with SQLite's error instead of hanging.
        try:
            async with asyncio.timeout(WRITER_TURN_TIMEOUT_S):
                await self._lock.acquire()
        except TimeoutError:
            locked = sqlite3.OperationalError(
                "database is locked (waited for this process's other writers)")
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, locked) from None

    def give_back(self, info: dict[str, Any]) -> None:
        if info.pop(self._KEY, False):
            self._lock.release()


class _HoldingSession(Session):
    """A session whose ``commit()`` can be held back (``hold_commits``).

    The ``Idempotency-Key`` middleware commits a request's writes together
    with the answer it stores, in one transaction, so that after a crash the
    key says for certain whether the write happened: the route's own commit
    then only flushes, and the middleware commits once the answer is known.
    """

    def commit(self) -> None:
        if self.info.get(_HOLD_KEY):
            self.flush()
            self.info[_ASKED_KEY] = True
            return
        super().commit()


def hold_commits(session: AsyncSession) -> None:
    """Make ``session.commit()`` flush only, until ``release_commits``."""
    session.info[_HOLD_KEY] = True
    session.info[_ASKED_KEY] = False


def release_commits(session: AsyncSession) -> bool:
    """Let commits through again; whether a commit was asked for meanwhile."""
    session.info.pop(_HOLD_KEY, None)
    return bool(session.info.pop(_ASKED_KEY, False))


class Database:
    """The engine and session factory of one process."""

    def __init__(self, settings: Settings, *, pool_size: int = 10) -> None:
        self.url = settings.database_url
        self.engine = make_engine(settings.database_url, pool_size=pool_size)
        # A session class of this Database's own, so its commit hook is ours alone.
        session_class = type("PorthookSession", (_HoldingSession,), {})
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                           sync_session_class=session_class)
        self._commit_listeners: list[Callable[[], None]] = []
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_rollback", self._after_rollback)
        # Sessions that only read (API-key lookups). On SQLite they get their own
        # engine whose transactions do not take the writer lock; elsewhere the
        # same engine serves both.
        self.read_engine = (
            make_engine(settings.database_url, pool_size=pool_size, read_only=True)
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    def on_wake(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each commit of this process that asked for
        a wake-up (``wake_on_commit``); returns the function that stops it.

        ``porthook serve`` wakes its own worker this way the moment a change
        commits; other processes hear of it through NOTIFY (PostgreSQL) or
        their poll interval (SQLite has no NOTIFY).
        """
        self._commit_listeners.append(listener)
        return lambda: self._commit_listeners.remove(listener)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_WAKE_KEY, False):
            for listener in list(self._commit_listeners):
                listener()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_WAKE_KEY, None)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def wake_on_commit(session: AsyncSession) -> None:
    """Ask for ``Database.on_wake`` listeners to be called when this session's
    transaction commits (nothing happens if it rolls back)."""
    session.info[_WAKE_KEY] = True


def all_models() -> sa.MetaData:
    """Import every domain's tables and return the shared metadata."""
    from porthook import models  # noqa: F401  (registers the tables)

    return Base.metadata


@dataclass(frozen=True)
class DriverStatement:
    """A Core statement compiled once for asyncpg, to run on the driver
    connection itself (``AsyncConnection.get_raw_connection()``).

    For the few statements a worker runs thousands of times a second:
    SQLAlchemy's per-execution work and per-row result processing cost more
    CPU than the server spends on them. Values go to asyncpg as they are (no
    bind processors): aware datetimes, ``uuid.UUID``, lists for arrays.
    """

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]

    @classmethod
    def compile(cls, statement: ClauseElement) -> DriverStatement:
        dialect = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # numeric_dollar: positional, in this order
        return cls(sql=compiled.string, names=tuple(compiled.positiontup or ()),
                   defaults=dict(compiled.params))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments, from named ``params`` (else the statement's own literals)."""
        return [params[name] if name in params else self.defaults[name] for name in self.names]


async def driver_rows(connection: AsyncConnection, statement: DriverStatement,
                      params: Mapping[str, Any]) -> list[Any]:
    """``statement``'s rows, run on the asyncpg connection under ``connection``
    (PostgreSQL) in the transaction SQLAlchemy holds on it.

    For the statements every write runs (its events, their deliveries): in
    the API, one cost 250 to 300 µs of CPU more through SQLAlchemy than on
    asyncpg. Values go as ``DriverStatement`` takes them (JSON as text:
    ``json_text``); JSON comes back decoded by the codec SQLAlchemy sets on
    each connection. Errors are asyncpg's own (``unavailable`` knows them)."""
    args = statement.args(params)
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if driver.is_in_transaction():
        for listener in _driver_listeners:
            listener(statement.sql)
        return list(await driver.fetch(statement.sql, *args))
    # SQLAlchemy's adapter sends BEGIN with the transaction's first statement:
    # this one goes through it, so that it never runs (and commits) on its own.
    return list((await connection.exec_driver_sql(statement.sql, tuple(args))).all())


def driver_value(column: sa.Column[Any], value: Any) -> Any:
    """``value`` as ``driver_rows`` takes it for ``column``: a JSON column's as
    its text (``None`` too: SQLAlchemy's JSON type writes it as JSON null)."""
    return json_text(value) if isinstance(column.type, sa.JSON) else value


_driver_listeners: list[Callable[[str], None]] = []


def on_driver_statement(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener`` with each statement ``driver_rows`` runs on asyncpg
    itself, which SQLAlchemy's ``before_cursor_execute`` never sees (a test's
    or a benchmark's count of statements); returns the function that stops it."""
    _driver_listeners.append(listener)
    return lambda: _driver_listeners.remove(listener)


def json_text(value: Any) -> str:
    """A JSON column's value as PostgreSQL's engine writes it (its
    ``json_serializer``), for ``driver_rows``."""
    return json.dumps(value)
