"""Which errors mean "the database cannot be reached right now" (503), and
which stay bugs (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
import sqlalchemy as sa

from porthook.unavailable import is_database_unavailable


def _sqlite_error(sql: str, database: str = ":memory:") -> sqlite3.Error:
    try:
        sqlite3.connect(database).execute(sql)
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("no error")


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> sa.exc.DBAPIError:
    return sa.exc.DBAPIError.instance("SELECT 1", None, orig, Exception,
                                      connection_invalidated=invalidated)


def _raised_here(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(("exc", "unavailable"), [
    # An SQLite file that cannot be opened: its directory is missing.
    (_wrapped(_sqlite_error("SELECT 1", "/nonexistent-dir/x.db")), True),
    # A bad statement is a bug, even though SQLite calls it OperationalError.
    (_wrapped(_sqlite_error("SELEC 1")), False),
    # db._WriterTurns' own timeout: no SQLite code, only the text.
    (_wrapped(sqlite3.OperationalError("database is locked (waited ...)")), True),
    # PostgreSQL starting up, or ending our connection for a restart.
    (asyncpg.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.AdminShutdownError("terminating connection"), True),
    # A connection SQLAlchemy found dead and invalidated.
    (_wrapped(Exception("closed"), invalidated=True), True),
    # A timeout or refusal raised outside the database driver (a webhook call).
    (_raised_here(TimeoutError()), False),
    (_raised_here(ConnectionRefusedError()), False),
    # Every pooled connection busy for the pool's whole timeout: overload.
    (sa.exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached"), True),
    # A constraint violation is the caller's problem.
    (_wrapped(sqlite3.IntegrityError("UNIQUE constraint failed")), False),
])
def test_is_database_unavailable(exc: BaseException, unavailable: bool) -> None:
    assert is_database_unavailable(exc) is unavailable
