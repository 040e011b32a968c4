"""A real HTTP receiver on 127.0.0.1 for delivery tests: records every call
(path, headers, body) and answers from a script (status, headers, or hang)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

WAIT_TIMEOUT_S = 20.0  # upper bound of every wait in the tests (never a speed assertion)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (monotonic seconds)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    hang: bool = False  # never answer (a dead receiver)


class _Gate:
    """Held calls to one path: all let go at once, or a counted few."""

    def __init__(self) -> None:
        self.open = False
        self.passes = 0
        self.changed = asyncio.Condition()

    async def wait(self) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.open or self.passes > 0)
            if not self.open:
                self.passes -= 1

    async def let(self, *, passes: int = 0, open: bool = False) -> None:
        async with self.changed:
            self.passes += passes
            self.open = self.open or open
            self.changed.notify_all()


class Sink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._default: dict[str, Reply] = {}
        self._arrived = asyncio.Condition()
        self._gates: dict[str, _Gate] = {}
        self._releases: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply | int, then: Reply | int = 200) -> None:
        """Answer the next calls to ``path`` with ``replies`` in order, then ``then``."""
        self._scripts[path] = [_reply(r) for r in replies]
        self._default[path] = _reply(then)

    def hold(self, path: str) -> None:
        """Calls to ``path`` wait unanswered until ``release(path)``."""
        self._gates[path] = _Gate()

    def release(self, path: str) -> None:
        gate = self._gates.pop(path)
        # Held until done: the loop keeps only a weak reference to a task.
        task = asyncio.get_running_loop().create_task(gate.let(open=True))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def let_through(self, path: str, count: int) -> None:
        """Answer ``count`` more of the held calls to ``path`` (those waiting
        first, then the next to come); the others stay held."""
        await self._gates[path].let(passes=count)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, count: int, path: str | None = None,
                       within_s: float = WAIT_TIMEOUT_S) -> list[Received]:
        def enough() -> bool:
            return len(self.at(path) if path else self.received) >= count

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(enough), within_s)
        return self.at(path) if path else list(self.received)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.path, {k.lower(): v for k, v in
                                                     request.headers.items()}, body))
        async with self._arrived:
            self._arrived.notify_all()
        gate = self._gates.get(request.path)
        if gate is not None:
            await gate.wait()
        script = self._scripts.get(request.path, [])
        reply = script.pop(0) if script else self._default.get(request.path, Reply())
        if reply.hang:
            await asyncio.sleep(3600)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # asyncio.Server

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _reply(value: Reply | int) -> Reply:
    return value if isinstance(value, Reply) else Reply(status=value)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    receiver = Sink()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
