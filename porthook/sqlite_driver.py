"""SQLite on the event loop's own thread: ``sqlite3`` inside SQLAlchemy's
greenlet, with lock waits that yield to the loop instead of blocking it.

Through SQLAlchemy's aiosqlite adapter an INSERT cost 366-450 µs of CPU,
through aiosqlite alone 90 µs and through plain ``sqlite3`` 16 µs (issue 17):
aiosqlite runs every call on a thread of its own and the loop waits for a
future, several hand-offs per statement. A statement of porthook's takes
tens of microseconds in SQLite itself, less than one hand-off, so this
dialect runs ``sqlite3`` directly on the loop's thread.

The one wait that must not block the loop is SQLite's busy handler (another
connection holds the file's write lock; it sleeps inside ``sqlite3``). The
connections here have no busy handler (``timeout=0``): a statement that
finds the file locked fails at once with ``SQLITE_BUSY``, and the cursor
sleeps on the loop (``await_`` of ``asyncio.sleep``: we are inside
SQLAlchemy's ``greenlet_spawn``) and tries again, 1, 2, 4 then every 5 ms,
for up to the connection's ``busy_timeout_s``, then raises SQLite's own
error ("database is locked"). Retried only where SQLite's own handler would
have waited, so a retry never repeats a write: a statement that failed with
``SQLITE_BUSY`` did nothing, except in ``executemany`` outside a transaction
(earlier rows committed on their own), which is not retried;
``SQLITE_BUSY_SNAPSHOT`` (a stale read snapshot trying to write) cannot pass
with time and is not retried either.

A statement holds the loop while SQLite runs it: fine for porthook's
statements (an index lookup, a row or a page of rows). A read that may scan
many rows (a delivery search whose filters match few of an account's rows,
an endpoint's stats over a week of attempts) is marked ``OFF_LOOP``: it runs,
and its rows are read, on a worker thread instead (one hand-off, ~100 µs).
So does a statement that binds a value over ``BIG_VALUE_BYTES`` (an LOA
document), and its transaction's COMMIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import ConnectArgsType, DBAPIConnection
from sqlalchemy.util.concurrency import await_, in_greenlet

DRIVER = "porthook"
# Execution options of a statement to run on a worker thread (ignored by
# other dialects): ``statement.execution_options(**OFF_LOOP)``.
OFF_LOOP = {"porthook_off_loop": True}
DEFAULT_BUSY_TIMEOUT_S = 30.0
FIRST_PAUSE_S = 0.001  # epoll's resolution: asyncio rounds a shorter sleep up to 1 ms
LONGEST_PAUSE_S = 0.005  # SQLite's own handler tried at 0, 1, 3, 8, 10 ms ...
_BUSY_SNAPSHOT = getattr(sqlite3, "SQLITE_BUSY_SNAPSHOT", 517)

_T = TypeVar("_T")


class _NoWait:
    """An awaitable that is done at once: one ``await_`` per statement, so
    that ``AsyncConnection.execute`` (which insists its call awaited
    something, ``_require_await``) accepts a driver that never has to."""

    def __await__(self) -> Any:
        return iter(())


_NO_WAIT = _NoWait()


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether ``error`` is a lock that may pass with time."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) == sqlite3.SQLITE_BUSY and code != _BUSY_SNAPSHOT


def pause(seconds: float) -> None:
    """Sleep without holding the loop when called inside SQLAlchemy's greenlet
    (every use through an ``AsyncEngine``); a plain sleep otherwise."""
    if in_greenlet():
        await_(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def _wait_out_busy(connection: LoopConnection, error: sqlite3.OperationalError,
                   attempt: Callable[[], _T]) -> _T:
    deadline = time.monotonic() + connection.busy_timeout_s
    wait = FIRST_PAUSE_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise error
        pause(min(wait, left))
        try:
            return attempt()
        except sqlite3.OperationalError as again:
            if not is_busy(again):
                raise
            error = again
        wait = min(wait * 2, LONGEST_PAUSE_S)


BIG_VALUE_BYTES = 256 * 1024


def _carries_a_big_value(parameters: Any) -> bool:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return any(type(value) is bytes and len(value) > BIG_VALUE_BYTES for value in values)


class LoopCursor(sqlite3.Cursor):
    """``sqlite3``'s cursor, waiting out a locked file on the loop."""

    connection: LoopConnection

    def execute(self, sql: str, parameters: Any = (), /) -> LoopCursor:
        if in_greenlet():
            if _carries_a_big_value(parameters):
                # A document (up to 10 MB): SQLite copying it into the file
                # took 22-35 ms of CPU, 87-261 ms in all, here; on a worker
                # thread, and so is its transaction's COMMIT.
                self.connection.commit_off_loop = True
                await_(_to_thread(self.connection, self._execute_here, sql, parameters))
                return self
            await_(_NO_WAIT)
        return self._execute_here(sql, parameters)

    def _execute_here(self, sql: str, parameters: Any) -> LoopCursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            _wait_out_busy(self.connection, error,
                           lambda: sqlite3.Cursor.execute(self, sql, parameters))
        return self

    async def _async_soft_close(self) -> None:
        # Called by SQLAlchemy's asyncio extension on every async dialect's
        # cursor before a result goes back to the caller (adapters fetch
        # their rows there). Rows of sqlite3 are read on the loop's thread
        # anyway, as the caller fetches them: nothing to do.
        return None

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> LoopCursor:
        if in_greenlet():
            await_(_NO_WAIT)
        # Read once, in case the first try fails (SQLAlchemy passes a list).
        rows = seq_of_parameters if isinstance(seq_of_parameters, list) else list(seq_of_parameters)
        # Inside a transaction only the first row can meet the lock (its write
        # takes it), so a retry repeats nothing; outside one, rows before the
        # failing one are committed already.
        retry = self.connection.in_transaction
        try:
            super().executemany(sql, rows)
        except sqlite3.OperationalError as error:
            if not (retry and is_busy(error)):
                raise
            _wait_out_busy(self.connection, error,
                           lambda: sqlite3.Cursor.executemany(self, sql, rows))
        return self


class OffLoopCursor(LoopCursor):
    """Runs its statement and reads all of its rows on a worker thread, so
    that a long read does not hold the loop (``OFF_LOOP``)."""

    _rows: list[Any] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> OffLoopCursor:
        if not in_greenlet():
            self._rows = None
            super().execute(sql, parameters)
            return self
        # On the thread LoopCursor is outside any greenlet: a locked file is
        # waited out there with plain sleeps.
        self._rows = await_(_to_thread(self.connection, self._run, sql, parameters))
        return self

    def _run(self, sql: str, parameters: Any) -> list[Any]:
        LoopCursor.execute(self, sql, parameters)
        return super().fetchall() if self.description is not None else []

    def fetchone(self) -> Any:
        if self._rows is None:
            return super().fetchone()
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._rows is None:
            return super().fetchmany(self.arraysize if size is None else size)
        size = self.arraysize if size is None else size
        taken, self._rows[:size] = self._rows[:size], []
        return taken

    def fetchall(self) -> list[Any]:
        if self._rows is None:
            return super().fetchall()
        taken, self._rows = self._rows, []
        return taken


async def _to_thread(connection: sqlite3.Connection, work: Callable[..., _T], *args: Any) -> _T:
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        # The thread still uses the connection, which SQLAlchemy closes next:
        # stop the statement and let the thread be done with it first.
        connection.interrupt()
        await asyncio.wait({running})
        with contextlib.suppress(BaseException):
            running.result()
        raise


class LoopConnection(sqlite3.Connection):
    """``sqlite3``'s connection with ``LoopCursor`` cursors and a COMMIT that
    waits out a locked file too (SQLite says a busy COMMIT may be retried)."""

    busy_timeout_s = DEFAULT_BUSY_TIMEOUT_S  # set per connection by db._configure_sqlite
    commit_off_loop = False  # the transaction wrote a big value (LoopCursor)

    def cursor(self, factory: Any = LoopCursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        if self.commit_off_loop:
            self.commit_off_loop = False
            if in_greenlet():
                await_(_to_thread(self, self._commit_here))
                return
        self._commit_here()

    def rollback(self) -> None:
        self.commit_off_loop = False
        super().rollback()

    def _commit_here(self) -> None:
        try:
            super().commit()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            _wait_out_busy(self, error, lambda: sqlite3.Connection.commit(self))


class _ExecutionContext(SQLiteExecutionContext):
    def create_default_cursor(self) -> Any:
        if self.execution_options.get("porthook_off_loop"):
            return self._dbapi_connection.cursor(OffLoopCursor)
        return super().create_default_cursor()


class SQLiteDialect_porthook(SQLiteDialect_pysqlite):
    """The pysqlite dialect, declared async so that ``create_async_engine``
    takes it: its calls run synchronously inside SQLAlchemy's greenlet, on
    the loop's thread."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True
    # Closing a sqlite3 connection is plain and safe anywhere, also when the
    # garbage collector finds a connection that was never checked in.
    has_terminate = True
    execution_ctx_cls = _ExecutionContext

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        args, options = super().create_connect_args(url)
        options["factory"] = LoopConnection
        options["timeout"] = 0  # no busy handler: LoopCursor waits on the loop instead
        # One task at a time uses a connection, on the loop's thread or, for
        # an OFF_LOOP read, on a worker thread while that task waits.
        options["check_same_thread"] = False
        return args, options

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        dbapi_connection.close()


dialect = SQLiteDialect_porthook


def register() -> None:
    """Make ``sqlite+porthook://`` URLs known to SQLAlchemy."""
    registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_porthook")


def url_for_loop(database_url: str) -> URL:
    """The URL with this dialect for any SQLite URL (``sqlite://``,
    ``sqlite+aiosqlite://``, ``sqlite+pysqlite://``): users' URLs keep working."""
    return make_url(database_url).set(drivername=f"sqlite+{DRIVER}")
