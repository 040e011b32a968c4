"""Alembic, driven from code (the migrations ship inside the package)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

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
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()
