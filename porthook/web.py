"""The FastAPI application, built by ``create_app(settings)``: nothing at import time."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from porthook import apidocs, bodies, problems, unavailable
from porthook.accounts import routes as accounts_routes
from porthook.accounts.keycache import KeyCache
from porthook.catalog import routes as catalog_routes
from porthook.clock import Clock, SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import catalog, listener_routes
from porthook.delivery import routes as delivery_routes
from porthook.delivery import search_routes as delivery_search_routes
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
    catalog_routes.router,
    delivery_search_routes.router,
    listener_routes.router,
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
        # What exists now lives as long as the process: out of every later
        # collection, and young collections rarer (they ran every ~700
        # allocations, about one per comment; issue 17).
        from porthook.worker import tune_collector

        tune_collector()
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
        docs_url=None,  # apidocs serves /docs and /redoc from local files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.key_cache = KeyCache(settings.api_key_cache_s)
    # Event-type filters are checked against it (events domain routes cannot
    # import the delivery catalog: delivery depends on events, not the reverse).
    app.state.event_type_names = catalog.type_names()
    problems.install(app)
    idempotency.install(app)
    ui_pages.install(app, settings)
    # Added last, so outermost: no middleware or route reads a body it refused.
    app.add_middleware(bodies.BodyGate, limits=bodies.Limits(
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.document_max_bytes + bodies.MULTIPART_OVERHEAD_BYTES,
        max_json_depth=settings.max_json_depth,
    ))
    for router in ROUTERS:
        app.include_router(router)
    _add_operations_routes(app, database, settings)
    apidocs.install(app)
    unavailable.install(app, retry_after_s=settings.unavailable_retry_after_s)
    return app


class Health(BaseModel):
    status: str = Field(description="`ok`: this process serves requests")
    database: str | None = Field(
        default=None, description="`ok`: the database answered (readiness only)")


def _add_operations_routes(app: FastAPI, database: Database, settings: Settings) -> None:
    @app.get("/healthz", tags=["operations"], response_model=Health,
             response_model_exclude_none=True, responses=problems.responses(503))
    async def read_health() -> Health | Response:
        """Readiness: 200 when the database answers, 503 (with the reason and
        `Retry-After`) when it does not. Point a load balancer's readiness
        check here; it needs no API key."""
        try:
            async with asyncio.timeout(settings.health_timeout_s):
                # The read engine: on SQLite it takes no writer's turn.
                async with database.read_engine.connect() as connection:
                    await connection.exec_driver_sql("SELECT 1")
        except Exception as exc:
            if not (isinstance(exc, TimeoutError) or unavailable.is_database_unavailable(exc)):
                raise
            return unavailable.unavailable_response(
                settings.unavailable_retry_after_s, unavailable.reason_of(exc),
                database="unreachable")
        return Health(status="ok", database="ok")

    @app.get("/livez", tags=["operations"], response_model=Health,
             response_model_exclude_none=True)
    async def read_liveness() -> Health:
        """Liveness: 200 while this process answers at all, whatever the
        database's state. Restart the process only when this fails."""
        return Health(status="ok")

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"}})
    async def read_metrics() -> Response:
        """Prometheus metrics of this process: delivery attempts sent and failed, their
        durations and claim sizes (from its in-process worker under `porthook serve`)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``porthook api --workers N``)."""
    return create_app(Settings())
