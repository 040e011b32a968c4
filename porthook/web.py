"""The FastAPI application, built by ``create_app(settings)``: nothing at import time."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from porthook import problems
from porthook.accounts import routes as accounts_routes
from porthook.clock import Clock, SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import routes as delivery_routes
from porthook.events import routes as events_routes
from porthook.idempotency import middleware as idempotency
from porthook.porting import routes as porting_routes
from porthook.records import routes as records_routes
from porthook.ui import api_routes as ui_api_routes
from porthook.ui import pages as ui_pages
from porthook.ui import routes as ui_routes

log = logging.getLogger(__name__)

# The visible list of every domain the API serves.
ROUTERS = (
    accounts_routes.router,
    porting_routes.router,
    events_routes.router,
    delivery_routes.router,
    records_routes.router,
    ui_api_routes.router,
    ui_routes.router,  # the dashboard's pages (/ui)
)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
    with_worker: bool = False,
) -> FastAPI:
    """Build the API. ``with_worker`` runs the delivery and due-work loops in-process
    (``porthook serve``); ``porthook api`` leaves them to ``porthook worker``."""
    database = database or Database(settings)
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        # The geocoder's data (about 100 MB) is imported lazily so that
        # `porthook worker` never carries it; the API loads it at start, so
        # the first order or DID created does not wait for it.
        importlib.import_module("phonenumbers.geocoder")
        if with_worker:
            from porthook.worker import Worker

            task = asyncio.create_task(
                Worker(settings, database=database, clock=clock).run(stop)
            )
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await database.dispose()

    app = FastAPI(
        title="porthook",
        version="0.1.0",
        description="Number-porting (LNP port-in) orders and their notifications.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    problems.install(app)
    idempotency.install(app)
    ui_pages.install(app, settings)
    for router in ROUTERS:
        app.include_router(router)
    _add_operations_routes(app, database)
    return app


def _add_operations_routes(app: FastAPI, database: Database) -> None:
    @app.get("/healthz", tags=["operations"])
    async def read_health() -> dict[str, str]:
        async with database.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def read_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``porthook api --workers N``)."""
    return create_app(Settings())
