"""bench/timers.py: inclusive CPU timers, counted only while on, and removed."""

from __future__ import annotations

import asyncio
import sys
import types

from bench.timers import Timers


def _module() -> types.ModuleType:
    module = types.ModuleType("timed_for_test")

    def spin(n: int) -> int:
        return sum(range(n))

    async def outer(n: int) -> int:
        await asyncio.sleep(0)
        return module.spin(n)  # looked up on the module: the timed one

    module.spin = spin  # type: ignore[attr-defined]
    module.outer = outer  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module


def test_timers_count_inclusive_cpu_only_while_on_and_uninstall() -> None:
    module = _module()
    original = module.spin
    timers = Timers()
    timers.install((("timed_for_test", "spin"), ("timed_for_test", "outer")))
    asyncio.run(module.outer(10))  # off: not counted
    with timers.counting():
        for _ in range(4):
            asyncio.run(module.outer(200_000))
    figures = timers.take(requests=4)
    assert figures["outer"]["calls"] == figures["spin"]["calls"] == 1.0
    assert figures["outer"]["us"] >= figures["spin"]["us"] > 0
    assert timers.take(requests=1) == {}  # taken: reset
    timers.uninstall()
    assert module.spin is original
    del sys.modules[module.__name__]
