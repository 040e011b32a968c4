"""The ``porthook`` command: the servers, the schema, and each domain's commands.

Every command reads the same ``PORTHOOK_*`` settings as the server and names
the database it works on (stderr). Only ``db upgrade`` and ``serve`` may
create a SQLite file (``cli_support.require_database``).
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
import uvloop

from porthook import cli_support as support
from porthook import logs, migrate
from porthook.accounts import cli as accounts_cli
from porthook.config import Settings
from porthook.delivery import cli as delivery_cli
from porthook.delivery import listen_cli
from porthook.events import cli as events_cli
from porthook.porting import cli as porting_cli
from porthook.ui import cli as ui_cli

if TYPE_CHECKING:  # the engine is imported by the worker commands only, when they run
    from porthook.delivery.wakeups import WakeRole

# Defaults shown in every --help (typer shows them for options only when asked).
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}
app = typer.Typer(help="porthook: number-porting orders and their notifications.",
                  no_args_is_help=True, context_settings=CONTEXT)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

# The visible list of every domain's commands.
app.add_typer(db_app, name="db")
app.add_typer(accounts_cli.accounts_app, name="accounts")
app.add_typer(accounts_cli.api_keys_app, name="api-keys")
app.add_typer(accounts_cli.operator_keys_app, name="operator-keys")
app.add_typer(delivery_cli.endpoints_app, name="endpoints")
app.add_typer(delivery_cli.deliveries_app, name="deliveries")
app.add_typer(events_cli.events_app, name="events")
# A developer's side of webhooks: API clients, no database.
app.command("listen")(listen_cli.listen)
app.command("trigger")(porting_cli.trigger)
app.command("verify")(listen_cli.verify_request)
app.command("portal-link")(ui_cli.portal_link)

HostOption = Annotated[str | None, typer.Option(help="Listen address (default: PORTHOOK_HOST).")]
PortOption = Annotated[int | None, typer.Option(help="Listen port (default: PORTHOOK_PORT).")]


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Migrate, then run API + delivery worker + due-work loop in one process."""
    from porthook.web import create_app

    settings = support.settings(server=True)
    support.name_database(settings)
    migrate.upgrade(settings.database_url)
    application = create_app(settings, with_worker=True)
    uvicorn.run(application, host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level.lower(),
                log_config=logs.config(settings, to_stdout=True))


@app.command()
def api(host: HostOption = None, port: PortOption = None,
        workers: Annotated[int, typer.Option(help="API processes.")] = 1) -> None:
    """Run the HTTP API only (run `porthook worker` processes beside it)."""
    settings = support.settings(server=True)
    support.require_database(settings)
    uvicorn.run("porthook.web:app_from_env", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers,
                log_level=settings.log_level.lower(),
                log_config=logs.config(settings, to_stdout=True))


ProcessesOption = Annotated[int | None, typer.Option(
    "--processes", min=1,
    help="Worker processes to run (default: the machine's cores); 1 runs in this process.")]


@app.command()
def worker(processes: ProcessesOption = None) -> None:
    """Run the delivery engine and the due-work loop (no HTTP API)."""
    from porthook.worker_pool import STOP_GRACE_S, Supervisor

    settings = support.settings(server=True)
    support.require_database(settings)
    count = processes or os.cpu_count() or 1
    if count == 1:
        _run_worker(settings)
        return
    supervisor = Supervisor(count, worker_process,
                            stop_timeout_s=settings.request_timeout_s + STOP_GRACE_S)
    raise typer.Exit(supervisor.run())


def worker_process(number: int, count: int) -> None:
    """One of ``porthook worker --processes N``'s children (spawned: it sets
    itself up from the environment like the command)."""
    from porthook.worker_pool import tag_logs

    settings = support.settings(server=True)
    tag_logs(number, count)
    # One process hears every NOTIFY and wakes the others when it has more
    # than it takes (wakeups.WakeRole); the supervisor restarts it with its number.
    _run_worker(settings, parent=os.getppid(), wake_role="first" if number == 1 else "sibling")


def _run_worker(
    settings: Settings, *, parent: int | None = None, wake_role: WakeRole = "alone"
) -> None:
    """Until SIGTERM or SIGINT; a child of ``--processes`` also stops
    (cleanly) when its ``parent`` is gone, killed with -9 say."""
    from porthook.worker import Worker, tune_collector
    from porthook.worker_pool import watch_parent

    tune_collector()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watcher = asyncio.create_task(watch_parent(parent, stop)) if parent else None
        try:
            await Worker(settings, wake_role=wake_role).run(stop)
        finally:
            if watcher is not None:
                watcher.cancel()

    # uvloop, as uvicorn already runs the API: the engine spends most of its
    # time in the event loop and its transports, which uvloop makes cheaper.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_main())


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="The revision to reach.")] = "head",
) -> None:
    """Apply the Alembic migrations (creates a SQLite file that does not exist yet)."""
    settings = support.settings()
    support.name_database(settings)
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("status")
def db_status(as_json: support.JsonOption = False) -> None:
    """Say which database the settings name and whether its schema is current
    (exit code 1 when it is missing or behind)."""
    settings = support.settings()
    path = support.sqlite_file(settings.database_url)
    exists = path is None or path.exists()
    current = asyncio.run(migrate.current_revision(settings.database_url)) if exists else None
    head = migrate.head_revision()
    out = {"database": support.describe(settings.database_url), "exists": exists,
           "revision": current, "head": head, "current": current == head}
    support.emit(out, as_json=as_json, text="\n".join(
        f"{key + ':':10}{value if value is not None else '-'}" for key, value in out.items()))
    if current != head:
        raise typer.Exit(1)


def main() -> None:
    app()
