"""Inclusive CPU timers on named functions: where one request's CPU goes.

``python -m bench.api_cpu --timers`` wraps each function of ``TIMED`` with a
timer of the process's CPU time, counted only while a measured request runs.
A timer is inclusive: what the function's callees and its awaits cost, the
event loop's own work for that request included (one request runs at a
time). A profiler cannot give this for the API: SQLAlchemy runs each
statement in a greenlet, and py-spy's stacks break at the greenlet, so the
statements' CPU shows up under no route at all.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# (module, attribute): a function, or a method as "Class.method". A function
# called by its bare name in another module is timed where it is looked up.
TIMED = (
    ("fastapi.routing", "solve_dependencies"),
    ("fastapi.routing", "run_endpoint_function"),
    ("porthook.porting.creation", "create_order"),
    ("porthook.porting.creation", "_check_new_order"),
    ("porthook.porting.creation", "_insert"),
    ("porthook.porting.outbox", "publish"),
    ("porthook.porting.outbox", "publish_summary"),
    ("porthook.porting.attachments", "add_comment"),
    ("porthook.porting.outbox", "snapshot"),
    ("porthook.porting.snapshot", "to_public"),
    ("porthook.porting.numbers", "parse_all"),
    ("porthook.porting.numbers", "locate"),
    ("porthook.events.service", "record_many"),
    ("porthook.delivery.fanout", "delivery_rows"),
    ("porthook.db", "driver_rows"),
    ("sqlalchemy.ext.asyncio.engine", "AsyncConnection.execute"),
    ("sqlalchemy.ext.asyncio.session", "AsyncSession.execute"),
    ("sqlalchemy.ext.asyncio.session", "AsyncSession.flush"),
    ("sqlalchemy.ext.asyncio.session", "AsyncSession.commit"),
)


class Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False
        self._undo: list[Callable[[], None]] = []

    def install(self, timed: tuple[tuple[str, str], ...] = TIMED) -> None:
        for module_name, attribute in timed:
            owner: Any = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            self._wrap(owner, name, attribute)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def take(self, requests: int) -> dict[str, dict[str, float]]:
        """µs and calls per request of each timer since the last take; resets."""
        figures = {label: {"us": round(self.seconds[label] / requests * 1e6),
                           "calls": round(self.calls[label] / requests, 2)}
                   for label in sorted(self.seconds, key=lambda k: -self.seconds[k])}
        self.seconds.clear()
        self.calls.clear()
        return figures

    def _wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        wrapped = (self._coroutine(original, label) if inspect.iscoroutinefunction(original)
                   else self._function(original, label))
        setattr(owner, name, wrapped)
        self._undo.append(lambda: setattr(owner, name, original))

    def _add(self, label: str, start: float) -> None:
        if self.on:
            self.seconds[label] += time.process_time() - start
            self.calls[label] += 1

    def _coroutine(self, original: Any, label: str) -> Any:
        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return await original(*args, **kwargs)
            finally:
                self._add(label, start)
        return timed

    def _function(self, original: Any, label: str) -> Any:
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(label, start)
        return timed
