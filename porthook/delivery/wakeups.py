"""Who wakes a dispatcher's claim loop, and how soon it claims once woken.

Each claim statement costs the worker and PostgreSQL about a millisecond
whatever its size, so waking is kept from turning every commit into a claim of
its own. Two kinds of wake-up differ in urgency:

- a NOTIFY (PostgreSQL, other processes) or a commit of this process
  (``porthook serve``, ``Database.on_wake``): new rows somewhere. Shortly
  after a claim it waits ``worker_notify_gap_s`` for the commits that follow
  (``rules.claim_delay_s``), so that one claim takes the rows of several;
- a prompt wake-up from the dispatcher itself (a flush made room, a lane
  drained, stop): the claim runs at once, not after the gap.

In a pool of worker processes only the first listens to the API's NOTIFYs and
wakes the others when it has more than it takes (``WakeRole``,
``rules.wake_siblings``). Polling every ``worker_poll_interval_s`` is the
fallback: while the LISTEN connection is away, and, across processes,
SQLite's only way (it has no NOTIFY).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import asyncpg  # type: ignore[import-untyped]  # no stubs: used for one LISTEN connection
from sqlalchemy.engine import make_url

from porthook.delivery import fanout, rules

log = logging.getLogger(__name__)

LISTEN_RETRY_S = 5.0  # seconds between LISTEN reconnections (polling covers the gap)
# The processes of one `porthook worker --processes N` beyond the first listen
# here instead of on fanout.NOTIFY_CHANNEL: woken by every NOTIFY, each one
# claimed for every API write and all but one found nothing, a statement each
# for PostgreSQL too. The first wakes them here when it has more work than it
# takes (rules.wake_siblings). With the notify gap, at 88 API writes/s and two
# processes: worker CPU 1.4-1.7 -> 0.9-1.0 ms per write, PostgreSQL's 0.9-1.7
# ms less (bench/api.py --mode writes).
SIBLINGS_CHANNEL = "porthook_deliveries_siblings"
SIBLINGS_GAP_S = 0.1  # the first wakes its siblings at most this often

# Who hears NOTIFYs (PostgreSQL). ``alone``: a worker of its own (``porthook
# worker``, ``serve``, ``--processes 1``) hears them all. Within ``--processes
# N``, the ``first`` process hears them all and wakes the others, each a
# ``sibling``, on SIBLINGS_CHANNEL when it has more than it takes. A sibling
# killed changes nothing; the first killed, the siblings poll (every
# worker_poll_interval_s) until the supervisor has restarted it.
WakeRole = Literal["alone", "first", "sibling"]


class Wakeups:
    """The wake-ups of one claim loop: it calls ``rearm`` before deciding
    what to claim, ``claiming`` as a claim begins, then ``sleep`` and
    ``gather_notifies`` before the next round."""

    def __init__(
        self, *, database_url: str, notify: Callable[[str], Awaitable[None]],
        role: WakeRole, notify_gap_s: float, poll_interval_s: float,
    ) -> None:
        self._database_url = database_url
        self._notify = notify
        self._role = role
        self._notify_gap_s = notify_gap_s
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._notified = False  # a NOTIFY came since the last claim
        # A wake-up other than a NOTIFY came since the last claim (room made,
        # a lane drained, stop): the claim runs at once, not after the gap.
        self._prompted = False
        self._last_claim_at: float | None = None  # monotonic, when it began
        self._siblings_woken_at: float | None = None

    @property
    def notified(self) -> bool:
        """A NOTIFY came since the last claim began: new rows somewhere."""
        return self._notified

    def rearm(self) -> None:
        """A round of the claim loop begins: wake-ups from now on end its sleep."""
        self._wake.clear()
        self._prompted = False

    def claiming(self, now: float) -> None:
        """A claim begins (``now`` monotonic): it answers the NOTIFYs so far,
        and the gap of the next one counts from here."""
        self._notified = False
        self._last_claim_at = now

    def wake_now(self) -> None:
        """Wake the claim loop for a claim at once (room made, a lane drained)."""
        self._prompted = True
        self._wake.set()

    def on_notify(self) -> None:
        """Wake the claim loop for new rows (a NOTIFY, a commit of this process)."""
        self._notified = True
        self._wake.set()

    async def wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.wake_now()

    async def sleep(self) -> None:
        """Until a wake-up, or the poll interval."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)

    async def gather_notifies(self) -> None:
        """Woken by a NOTIFY only, shortly after the last claim: wait a few
        milliseconds for the commits that follow (rules.claim_delay_s)."""
        if self._prompted or not self._notified:
            return
        delay_s = rules.claim_delay_s(now=asyncio.get_running_loop().time(),
                                      last_claim_at=self._last_claim_at,
                                      gap_s=self._notify_gap_s)
        if delay_s > 0:
            # Not cut short by a prompt wake-up or a stop: a few milliseconds at most.
            await asyncio.sleep(delay_s)

    async def maybe_wake_siblings(self, *, claimed: int, room: int) -> None:
        """The first process of a pool, after a claim (or none, for want of
        room): wake the others if it had more than it took."""
        if self._role != "first":
            return
        now = asyncio.get_running_loop().time()
        if not rules.wake_siblings(claimed=claimed, room=room, now=now,
                                   last_woken_at=self._siblings_woken_at, gap_s=SIBLINGS_GAP_S):
            return
        self._siblings_woken_at = now
        try:
            await self._notify(SIBLINGS_CHANNEL)
        except Exception:  # they poll meanwhile
            log.exception("waking the other worker processes failed")

    async def listen(self, stop: asyncio.Event) -> None:
        """Hear NOTIFYs on one connection of its own (PostgreSQL) until stop,
        reconnecting when it is lost."""
        dsn = make_url(self._database_url).set(drivername="postgresql")
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
            except (OSError, asyncpg.PostgresError):
                log.warning("LISTEN connection failed; polling until it is back")
                await asyncio.sleep(LISTEN_RETRY_S)
                continue
            lost = asyncio.Event()
            try:
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                channel = (SIBLINGS_CHANNEL if self._role == "sibling"
                           else fanout.NOTIFY_CHANNEL)
                await connection.add_listener(channel, lambda *_args: self.on_notify())
                waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
