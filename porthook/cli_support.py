"""What every ``porthook`` command shares: settings and logging, the database
it works on (named, and never made by accident), a session, and output.

Commands read the same ``PORTHOOK_*`` settings as the server. A SQLite file is
made only by ``porthook db upgrade`` and ``porthook serve``: any other command
run where no database file exists stops with exit code 2 and says so, instead
of working on a fresh empty ``./porthook.db``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import logs, migrate
from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.problems import Problem

T = TypeVar("T")
USAGE_ERROR = 2  # click's own code for a command that cannot run as asked
SAY_LOGGER = "porthook.cli"

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=10_000,
                                          help="At most this many rows.")]


def settings(*, server: bool = False) -> Settings:
    """The settings, with logging set up (servers log to stdout, commands to stderr)."""
    loaded = Settings()
    logs.configure(loaded, to_stdout=server)
    return loaded


def describe(database_url: str) -> str:
    """The database as a person should read it: password hidden, SQLite's
    file as an absolute path (a relative one depends on where you stand)."""
    url = make_url(database_url)
    path = sqlite_file(database_url)
    if path is not None:
        return f"sqlite file {path}"
    if url.get_backend_name() == "sqlite":
        return "sqlite in memory"
    return url.render_as_string(hide_password=True)


def sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or _in_memory(url.database):
        return None
    return Path(url.database).resolve()


def _in_memory(database: str) -> bool:
    return database == ":memory:" or database.startswith("file:")


def say(message: str, *, settings: Settings | None = None, level: int = logging.INFO) -> None:
    """A line for the person at the terminal, on stderr: shown whatever the
    log level, and a JSON object like every other line under JSON logs."""
    if settings is not None and settings.log_format == "json":
        record = logging.LogRecord(SAY_LOGGER, level, __file__, 0, message, None, None)
        typer.echo(logs.JsonFormatter().format(record), err=True)
    else:
        typer.echo(f"porthook: {message}", err=True)


def fail(message: str, *, settings: Settings | None = None) -> typer.Exit:
    say(message, settings=settings, level=logging.ERROR)
    return typer.Exit(USAGE_ERROR)


def name_database(settings: Settings) -> None:
    say(f"database {describe(settings.database_url)}", settings=settings)


def require_database(settings: Settings) -> None:
    """Name the database on stderr; stop (exit 2) if it is missing or not migrated."""
    name_database(settings)
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise fail(f"no database file at {path}. Create it with `porthook db upgrade` "
                   "(or set PORTHOOK_DATABASE_URL to the one porthook serve uses)",
                   settings=settings)
    current, has_tables = asyncio.run(migrate.schema_state(settings.database_url))
    # No revision but the tables: built from the models (tests), taken as current.
    if current != migrate.head_revision() and not (current is None and has_tables):
        state = "has no porthook schema" if current is None else f"is at revision {current}"
        raise fail(f"the database {state}; this porthook needs {migrate.head_revision()}: "
                   "run `porthook db upgrade`", settings=settings)


def run(settings: Settings, work: Callable[[AsyncSession, datetime], Awaitable[T]]) -> T:
    """Run ``work`` in one session and commit it (services never commit; the
    command does, once). A problem (not found, conflict...) ends the command
    with its message and exit code 1."""
    require_database(settings)

    async def _main() -> T:
        database = Database(settings, pool_size=1)
        try:
            async with database.sessions() as session:
                result = await work(session, SystemClock().now())
                await session.commit()
                return result
        finally:
            await database.dispose()

    try:
        return asyncio.run(_main())
    except Problem as problem:
        say(problem.detail, settings=settings, level=logging.ERROR)
        raise typer.Exit(1) from problem


def emit(document: Any, *, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(document, default=str) if as_json else text)


def emit_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool
) -> None:
    """``--json``: ``{"data": [...]}`` as the API lists; else a table."""
    if as_json:
        typer.echo(json.dumps({"data": list(rows)}, default=str))
        return
    typer.echo(table(rows, columns))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    if not rows:
        lines.append("(none)")
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)
