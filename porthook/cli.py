"""The ``porthook`` command: serve, api, worker, db, accounts, operator keys."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from typing import Annotated

import typer
import uvicorn
import uvloop

from porthook import migrate
from porthook.accounts import service as accounts
from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.problems import Problem

app = typer.Typer(help="porthook: number-porting orders and their notifications.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
operator_keys_app = typer.Typer(help="Operator (porting desk) keys.", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys of any kind.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(operator_keys_app, name="operator-keys")
app.add_typer(api_keys_app, name="api-keys")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object")]


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s",'
        '"message":"%(message)s"}',
    )
    return settings


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Migrate, then run API + delivery worker + due-work loop in one process."""
    from porthook.web import create_app
    from porthook.worker import tune_collector

    settings = _settings()
    migrate.upgrade(settings.database_url)
    app = create_app(settings, with_worker=True)
    tune_collector()
    uvicorn.run(app, host=host or settings.host,
                port=port or settings.port, log_level=settings.log_level.lower())


@app.command()
def api(host: str | None = None, port: int | None = None,
        workers: Annotated[int, typer.Option(help="API processes")] = 1) -> None:
    """Run the HTTP API only (run `porthook worker` processes beside it)."""
    settings = _settings()
    uvicorn.run("porthook.web:app_from_env", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers,
                log_level=settings.log_level.lower())


@app.command()
def worker() -> None:
    """Run the delivery engine and the due-work loop (no HTTP API)."""
    from porthook.worker import Worker, tune_collector

    settings = _settings()
    tune_collector()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Worker(settings).run(stop)

    # uvloop, as uvicorn already runs the API: the engine spends most of its
    # time in the event loop and aiohttp's transport, which uvloop makes cheaper.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_main())


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations."""
    migrate.upgrade(_settings().database_url, revision)
    typer.echo(f"database at {revision}")


async def _create_account(settings: Settings, name: str, email: str | None) -> dict[str, str]:
    database = Database(settings, pool_size=1)
    try:
        async with database.sessions() as session:
            account, _, token = await accounts.create_account(
                session, name=name, contact_email=email, now=SystemClock().now()
            )
            await session.commit()
        return {"account_id": str(account.id), "api_key": token}
    finally:
        await database.dispose()


@accounts_app.command("create")
def accounts_create(
    name: str,
    contact_email: Annotated[str | None, typer.Option(help="Where account notices go")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account and print its id and first API key (shown once)."""
    settings = _settings()
    migrate.upgrade(settings.database_url)
    out = asyncio.run(_create_account(settings, name, contact_email))
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"account_id: {out['account_id']}\napi_key:    {out['api_key']}")


async def _create_operator_key(settings: Settings, name: str | None) -> dict[str, str]:
    database = Database(settings, pool_size=1)
    try:
        async with database.sessions() as session:
            key, token = await accounts.create_key(
                session, account_id=None, name=name, now=SystemClock().now()
            )
            await session.commit()
        return {"key_id": str(key.id), "api_key": token}
    finally:
        await database.dispose()


@operator_keys_app.command("create")
def operator_keys_create(name: str | None = None, as_json: JsonOption = False) -> None:
    """Create an operator key and print it (shown once)."""
    settings = _settings()
    migrate.upgrade(settings.database_url)
    out = asyncio.run(_create_operator_key(settings, name))
    text = f"key_id:  {out['key_id']}\napi_key: {out['api_key']}"
    typer.echo(json.dumps(out) if as_json else text)


async def _revoke(settings: Settings, key_id: uuid.UUID) -> None:
    database = Database(settings, pool_size=1)
    try:
        async with database.sessions() as session:
            await accounts.revoke_key(session, key_id=key_id, now=SystemClock().now())
            await session.commit()
    finally:
        await database.dispose()


async def _portal_link(settings: Settings, account_id: uuid.UUID) -> str:
    from porthook.ui import api_routes
    from porthook.ui import service as ui

    database = Database(settings, pool_size=1)
    try:
        async with database.sessions() as session:
            _, token = await ui.create_portal_link(
                session, account_id=account_id, ttl_s=settings.portal_link_ttl_s,
                now=SystemClock().now())
            await session.commit()
        return api_routes.link_url(settings, token)
    finally:
        await database.dispose()


@app.command("portal-link")
def portal_link(account_id: uuid.UUID) -> None:
    """Print a one-time sign-in URL to the account's portal (valid for
    PORTHOOK_PORTAL_LINK_TTL_S seconds, usable once)."""
    settings = _settings()
    try:
        url = asyncio.run(_portal_link(settings, account_id))
    except Problem as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    typer.echo(url)


@api_keys_app.command("revoke")
def api_keys_revoke(key_id: uuid.UUID) -> None:
    """Revoke a key (account or operator) by its id."""
    asyncio.run(_revoke(_settings(), key_id))
    typer.echo(f"revoked {key_id}")


def main() -> None:
    app()
