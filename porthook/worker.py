"""The background side of porthook: the delivery engine and the due-work loop.

``porthook worker`` runs it alone; ``porthook serve`` runs it inside the API
process. Any number of workers may share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from porthook.clock import Clock, SystemClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery.dispatcher import Dispatcher
from porthook.porting import due

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self, settings: Settings, *, database: Database | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.database = database or Database(settings)
        self.clock = clock or SystemClock()
        self._owns_database = database is None

    async def run(self, stop: asyncio.Event) -> None:
        dispatcher = Dispatcher(self.settings, database=self.database, clock=self.clock)
        try:
            await asyncio.gather(dispatcher.run(stop), self._due_work_loop(stop))
        finally:
            if self._owns_database:
                await self.database.dispose()

    async def _due_work_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.database.sessions() as session:
                    await due.run_due_work(session, now=self.clock.now(), settings=self.settings)
                    await session.commit()
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("due-work pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.due_work_interval_s)
