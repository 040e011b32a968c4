"""Alembic, driven from code (the migrations ship inside the package)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from porthook.db import make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    command.revision(config(database_url), message=message, autogenerate=True)


def head_revision() -> str | None:
    """The newest revision this porthook ships."""
    return ScriptDirectory.from_config(config("")).get_current_head()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None for one never migrated."""
    return (await schema_state(database_url))[0]


async def schema_state(database_url: str) -> tuple[str | None, bool]:
    """The database's revision, and whether it has porthook's tables at all
    (tests build them from the models, without Alembic)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema_state)
    finally:
        await engine.dispose()


def _schema_state(connection: Connection) -> tuple[str | None, bool]:
    revision = MigrationContext.configure(connection).get_current_revision()
    return revision, sa.inspect(connection).has_table("accounts")
