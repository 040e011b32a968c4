"""The delivery engine (filled in with the delivery domain)."""

from __future__ import annotations

import asyncio

from porthook.clock import Clock
from porthook.config import Settings
from porthook.db import Database


class Dispatcher:
    def __init__(self, settings: Settings, *, database: Database, clock: Clock) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
