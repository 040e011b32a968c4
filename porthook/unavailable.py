"""When the database cannot be reached, the API says so: ``503`` problem+json
with ``Retry-After``, never a plain-text 500.

PostgreSQL restarting refuses connections, drops the ones it had and answers
"the database system is starting up" for a while; an SQLite file may sit on a
path that cannot be opened. Every such failure is the same thing to a client:
try again shortly. Nothing else is caught here: a bug stays a 500.

The engine recovers by itself once the database answers again: PostgreSQL's
pool pings a connection that sat idle before lending it (``db._ping_when_idle``),
a failure in use makes the pool drop every older connection, and SQLite opens
its file on each new connection. A request that waits for a pooled connection
longer than the pool's timeout (an overload) also gets the 503.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]  # no stubs: only its exception classes
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porthook.problems import Problem, problem_response

log = logging.getLogger(__name__)

# What the server or the network says while PostgreSQL is away or coming back.
_PG_AWAY = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: connection exceptions
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: our connection ended by a restart
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.ConnectionDoesNotExistError,  # the connection closed under a query
    asyncpg.InternalClientError,  # ... seen when the goodbye arrives mid-read
)
# Refused, reset, or no answer in time: the database's only when raised by
# its driver (asyncpg lets a refused connect through unwrapped), not by a
# webhook call a route makes.
_NETWORK = (ConnectionError, TimeoutError)
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg.")
# SQLite: a file it cannot open or read, or a lock waited on too long; all pass
# with time. Its other errors (a bad statement) are bugs.
_SQLITE_AWAY = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY,
                          sqlite3.SQLITE_LOCKED})


class DatabaseUnavailable(Problem):
    status = 503
    title = "Service unavailable"


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached right now."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):
        # No pooled connection freed within the pool's timeout: the API is
        # overloaded (seen at 2.6 x the rate it sustains); try again shortly.
        return True
    return any(isinstance(cause, _PG_AWAY) or _sqlite_away(cause)
               or (isinstance(cause, _NETWORK) and _raised_by_database(cause))
               for cause in _chain(exc))


def _raised_by_database(exc: BaseException) -> bool:
    frames = traceback.walk_tb(exc.__traceback__)
    return any(str(frame.f_globals.get("__name__", "")).startswith(_DATABASE_MODULES)
               for frame, _ in frames)


def _sqlite_away(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    # Our own writer-turn timeout (db._WriterTurns) carries no code, only the text.
    code = getattr(exc, "sqlite_errorcode", None)
    return (code & 0xFF) in _SQLITE_AWAY if code is not None else "locked" in str(exc)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    # SQLAlchemy wraps the driver's error (``orig``), and its asyncpg adapter
    # wraps asyncpg's own in turn (``__cause__``).
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = getattr(seen, "orig", None) or seen.__cause__


def unavailable_response(retry_after_s: int, reason: str, **extra: str) -> JSONResponse:
    problem = DatabaseUnavailable(
        f"The database cannot be reached ({reason}); nothing was changed. "
        f"Retry in {retry_after_s} s.", extra=dict(extra),
    )
    response = problem_response(problem.status, problem.document())
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def reason_of(exc: BaseException) -> str:
    """A short, key-free reason: the error's class, not its text (which may
    carry the connection URL or SQL)."""
    orig = getattr(exc, "orig", None)
    return type(orig if orig is not None else exc).__name__


class UnavailableMiddleware:
    """Outermost: catches the failures of middleware that uses the database
    itself (idempotency keys) as well as of routes."""

    def __init__(self, app: ASGIApp, *, retry_after_s: int) -> None:
        self.app = app
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started or not is_database_unavailable(exc):
                raise
            log.warning("database unavailable: %s", reason_of(exc))
            await unavailable_response(self.retry_after_s, reason_of(exc))(scope, receive, send)


def install(app: FastAPI, *, retry_after_s: int) -> None:
    """Call after every other middleware is added, so this one wraps them all."""

    app.add_middleware(UnavailableMiddleware, retry_after_s=retry_after_s)
