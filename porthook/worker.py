"""The background side of porthook: the delivery engine and the due-work loop.

``porthook worker`` runs it alone; ``porthook serve`` runs it inside the API
process. Any number of workers may share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from datetime import timedelta

from porthook.clock import Clock, SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import listeners
from porthook.delivery.dispatcher import Dispatcher
from porthook.delivery.wakeups import WakeRole
from porthook.events import service as events
from porthook.idempotency import service as idempotency
from porthook.porting import defaults as porting_defaults
from porthook.porting import due
from porthook.records import due as records_due

log = logging.getLogger(__name__)

# Container allocations between two young collections (CPython's default is
# 700). A delivery allocates hundreds (coroutines, futures, dicts of headers
# and bodies), almost all freed by reference counting: at 700 the collector
# ran several times per delivery and cost about 5 % of a worker's CPU.
GC_YOUNG_THRESHOLD = 20_000


def tune_collector() -> None:
    """Set up the garbage collector for a long-running worker process, once
    it has started: what exists by then (modules, tables, settings) lives as
    long as the process, so it is frozen out of every later collection."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class Worker:
    def __init__(
        self, settings: Settings, *, database: Database | None = None, clock: Clock | None = None,
        wake_role: WakeRole = "alone",
    ) -> None:
        self.settings = settings
        self.wake_role = wake_role
        self.database = database or Database(settings)
        self.clock = clock or SystemClock()
        self._owns_database = database is None

    async def run(self, stop: asyncio.Event) -> None:
        dispatcher = Dispatcher(self.settings, database=self.database, clock=self.clock,
                                contact_fallback=porting_defaults.contact_email,
                                wake_role=self.wake_role)
        try:
            await asyncio.gather(dispatcher.run(stop), self._due_work_loop(stop))
        finally:
            if self._owns_database:
                await self.database.dispose()

    async def _due_work_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._due_work_pass()
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("due-work pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.due_work_interval_s)

    async def _due_work_pass(self) -> None:
        now = self.clock.now()
        async with self.database.sessions() as session:
            await due.run_due_work(session, now=now, settings=self.settings)
            await session.commit()
        # SMS enablements in their own transaction: a failing one must not hold back porting.
        async with self.database.sessions() as session:
            await records_due.run_sms_enablements(session, now=now)
            await session.commit()
        # Housekeeping in its own transaction: a slow purge must not hold back activations.
        async with self.database.sessions() as session:
            retention = timedelta(days=self.settings.event_retention_days)
            await events.purge_older_than(session, before=now - retention)
            ttl = timedelta(seconds=self.settings.idempotency_ttl_s)
            await idempotency.purge_older_than(session, before=now - ttl)
            gone = timedelta(seconds=self.settings.listener_ttl_s)
            await listeners.drop_gone(session, before=now - gone)
            await session.commit()
