"""``porthook worker --processes N``: N worker processes under one command.

One worker process is CPU-bound on one core (the event loop, the HTTP calls, the
claim and outcome statements), so a machine with more cores runs one per
core. They share the queue as separate ``porthook worker`` commands would
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the one writer on SQLite).

The parent only supervises: it starts the children (``spawn``: a fresh
interpreter each, no event loop or connection inherited), forwards SIGTERM
and SIGINT to them and waits for their clean stop. A child that dies while
no stop was asked for is restarted after ``RESTART_DELAY_S``; one that keeps
dying (``CRASH_LIMIT`` deaths within ``CRASH_WINDOW_S``, a bad setting or an
unreachable database at start) makes the parent stop the others and exit 1
rather than loop. Each child's log lines carry its number (``worker 2/4``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
CRASH_WINDOW_S = 60.0
CRASH_LIMIT = 5  # deaths of one child within the window: give up
# Beyond the request timeout a child may spend finishing its sends on stop.
STOP_GRACE_S = 10.0
PARENT_CHECK_S = 1.0  # how often a child looks whether its supervisor is still there
POLL_S = 0.2  # how often the supervisor looks at its flags between child exits

ChildMain = Callable[[int, int], None]


@dataclass
class _Slot:
    number: int  # 1..N, as the logs say it
    process: BaseProcess | None = None
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class Supervisor:
    """Runs ``target(number, count)`` in ``count`` spawned processes until
    a signal asks them to stop (``run`` returns the command's exit code)."""

    def __init__(self, count: int, target: ChildMain, *, stop_timeout_s: float) -> None:
        self._count = count
        self._target = target
        self._stop_timeout_s = stop_timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._slots = [_Slot(number) for number in range(1, count + 1)]
        self._stopping = False

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in self._slots:
                self._start(slot)
            code = self._supervise()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("%s: stopping %d worker processes", signal.Signals(signum).name,
                     self._count)
        self._stopping = True

    def _start(self, slot: _Slot) -> None:
        process = self._context.Process(target=self._target, args=(slot.number, self._count),
                                        name=f"porthook-worker-{slot.number}")
        process.start()
        slot.process, slot.restart_at = process, None
        log.info("worker %d/%d started (pid %s)", slot.number, self._count, process.pid)

    def _supervise(self) -> int:
        while not self._stopping:
            alive = [s.process.sentinel for s in self._slots if s.process is not None]
            multiprocessing.connection.wait(alive, timeout=POLL_S)
            now = time.monotonic()
            for slot in self._slots:
                if self._stopping:
                    break
                dead = slot.process is not None and not slot.process.is_alive()
                if dead and not self._died(slot, now):
                    return 1
                if slot.restart_at is not None and now >= slot.restart_at:
                    self._start(slot)
        return 0

    def _died(self, slot: _Slot, now: float) -> bool:
        """Note an unasked-for exit; whether the child is to be restarted."""
        assert slot.process is not None
        code, pid = slot.process.exitcode, slot.process.pid
        slot.process.close()
        slot.process = None
        slot.deaths.append(now)
        while slot.deaths and slot.deaths[0] < now - CRASH_WINDOW_S:
            slot.deaths.popleft()
        if len(slot.deaths) >= CRASH_LIMIT:
            log.error("worker %d/%d (pid %s) exited with %s, its %d exit within %.0f s: "
                      "stopping all", slot.number, self._count, pid, code, len(slot.deaths),
                      CRASH_WINDOW_S)
            return False
        log.error("worker %d/%d (pid %s) exited with %s; restarting it in %.0f s",
                  slot.number, self._count, pid, code, RESTART_DELAY_S)
        slot.restart_at = now + RESTART_DELAY_S
        return True

    def _stop_all(self) -> None:
        """SIGTERM to every child (a clean stop: sends finish, outcomes are
        written), then wait; a child still there after the timeout is killed
        (its leases run out and another worker sends its rows)."""
        running = [s for s in self._slots if s.process is not None and s.process.is_alive()]
        for slot in running:
            assert slot.process is not None and slot.process.pid is not None
            try:
                os.kill(slot.process.pid, signal.SIGTERM)
            except ProcessLookupError:  # exited meanwhile
                continue
        deadline = time.monotonic() + self._stop_timeout_s
        for slot in running:
            assert slot.process is not None
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.error("worker %d/%d (pid %s) did not stop in %.0f s: killed", slot.number,
                          self._count, slot.process.pid, self._stop_timeout_s)
                slot.process.kill()
                slot.process.join()
            log.info("worker %d/%d (pid %s) stopped (exit code %s)", slot.number, self._count,
                     slot.process.pid, slot.process.exitcode)


class _WorkerTag(logging.Filter):
    def __init__(self, label: str) -> None:
        super().__init__()
        self._label = label

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self._label  # a key of its own in JSON lines (logs.JsonFormatter)
        return True


def tag_logs(number: int, count: int) -> None:
    """Mark every log line of this child with its number (``worker 2/4``):
    in plain text after the logger's name, in JSON as the ``worker`` key."""
    label = f"{number}/{count}"
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WorkerTag(label))
        formatter = handler.formatter
        if formatter is not None and type(formatter) is logging.Formatter:
            handler.setFormatter(logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [worker %(worker)s]: %(message)s"))


async def watch_parent(parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once this process's parent is gone (it is then adopted:
    its parent id changes). The supervisor killed with -9 cannot forward a
    signal, and orphans would go on claiming under nobody's watch."""
    while not stop.is_set():
        if os.getppid() != parent:
            log.error("the supervising process %d is gone: stopping", parent)
            stop.set()
            return
        await asyncio.sleep(PARENT_CHECK_S)
