"""Shared fixtures.

``database`` is parametrized over SQLite and PostgreSQL: every test that uses it
(directly or through ``session``, ``app`` or ``client``) runs on both. On
PostgreSQL each xdist worker gets its own database, created once and emptied
before each test. PostgreSQL is never skipped: if it is down the tests fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.accounts import service as accounts
from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Base, Database, all_models
from porthook.web import create_app

PG_HOST = os.environ.get("PORTHOOK_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"


async def recreate_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _create_schema(url: str) -> None:
    database = Database(Settings(database_url=url), pool_size=1)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(all_models().create_all)
    finally:
        await database.dispose()


def unique_pg_name(prefix: str) -> str:
    # The pid keeps concurrent test runs (several checkouts, several engineers
    # on one server) from dropping each other's databases.
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


async def drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    name = unique_pg_name("porthook_test")
    asyncio.run(recreate_pg_database(name))
    url = pg_url(name)
    asyncio.run(_create_schema(url))
    yield url
    asyncio.run(drop_pg_database(name))


@pytest.fixture
def scratch_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own (for migrations, CLI and process tests)."""
    name = unique_pg_name("porthook_scratch")
    asyncio.run(recreate_pg_database(name))
    yield pg_url(name)
    asyncio.run(drop_pg_database(name))


async def _empty_pg(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in all_models().sorted_tables)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'porthook.db'}"
    return str(request.getfixturevalue("pg_database_url"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        mail_dir=tmp_path / "mail",
        allow_private_targets=True,
        retry_schedule=(0.0, 0.2, 0.4),
        retry_jitter=0.0,
        worker_poll_interval_s=0.05,
        due_work_interval_s=0.1,
        endpoint_failing_after_s=0.0,  # health events at the first failure, in tests
    )


@pytest.fixture
async def database(settings: Settings, backend: str) -> AsyncIterator[Database]:
    database = Database(settings)
    if backend == "sqlite":
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
    else:
        all_models()
        await _empty_pg(database)
    yield database
    await database.dispose()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessions() as session:
        yield session


@pytest.fixture
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture
def app(settings: Settings, database: Database, clock: ShiftableClock) -> Any:
    return create_app(settings, clock=clock, database=database)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as client:
        yield client


AccountFactory = Callable[..., Awaitable[tuple[uuid.UUID, dict[str, str]]]]


@pytest.fixture
def make_account(database: Database, clock: ShiftableClock) -> AccountFactory:
    """Create an account; returns (account id, headers carrying its key)."""

    async def make(name: str = "Acme", contact_email: str | None = "ops@acme.test") -> Any:
        async with database.sessions() as s:
            account, _, token = await accounts.create_account(
                s, name=name, contact_email=contact_email, now=clock.now()
            )
            await s.commit()
        return account.id, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
async def operator_headers(database: Database, clock: ShiftableClock) -> dict[str, str]:
    async with database.sessions() as s:
        _, token = await accounts.create_key(s, account_id=None, name="desk", now=clock.now())
        await s.commit()
    return {"Authorization": f"Bearer {token}"}


async def count_rows(session: AsyncSession, table: str) -> int:
    return int((await session.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


@contextlib.contextmanager
def statements(database: Database, *, full: bool = False) -> Iterator[list[str]]:
    """The statements run meanwhile, in order: their first word (``full``:
    their text). Those SQLAlchemy runs, and on PostgreSQL those run on
    asyncpg itself (``db.driver_rows``); BEGIN and COMMIT are left out."""
    seen: list[str] = []

    def note(statement: str) -> None:
        seen.append(" ".join(statement.split()) if full else statement.split(None, 1)[0].upper())

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        note(statement)

    engine = database.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    stop = db.on_driver_statement(note)
    try:
        yield seen
    finally:
        stop()
        sa.event.remove(engine, "before_cursor_execute", record)
