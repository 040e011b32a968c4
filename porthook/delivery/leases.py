"""The leases a dispatcher holds, kept alive while it holds their rows.

A claim leases its rows for ``worker_lease_s`` (short: ~10 s), and the
dispatcher renews every lease it still holds a few times per lease, in one
statement (``Store.renew``) whatever the number of rows. A live worker keeps
its rows through a slow send (a request may take ``request_timeout_s``,
longer than the lease); a worker killed with ``kill -9`` stops renewing, and
another worker takes its rows within a lease instead of a minute.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from porthook.clock import Clock
from porthook.delivery import queue, rules
from porthook.delivery.store import Store

log = logging.getLogger(__name__)


class Leases:
    def __init__(self, *, store: Store, clock: Clock, lease_s: float) -> None:
        self._store = store
        self._clock = clock
        self.lease_s = lease_s
        self._lease = timedelta(seconds=lease_s)
        self._held: dict[uuid.UUID, uuid.UUID] = {}  # row id -> the lease token it is under
        self._expires: dict[uuid.UUID, datetime] = {}  # token -> when its lease runs out

    def hold(self, claimed: Sequence[queue.Claimed]) -> None:
        """Keep these rows' leases alive until ``let_go`` (a batch at a time:
        thousands of rows a second go through here)."""
        held = self._held
        for item in claimed:
            held[item.id] = item.lease_token
            if item.lease_token not in self._expires:
                self._expires[item.lease_token] = item.lease_expires_at

    def let_go(self, claimed: Sequence[queue.Claimed]) -> None:
        """Their outcomes are written (or given up on: their leases then run out)."""
        pop = self._held.pop
        for item in claimed:
            pop(item.id, None)

    def expires_at(self, claimed: queue.Claimed) -> datetime:
        """When the row's lease runs out, as far as this worker has renewed it."""
        return self._expires.get(claimed.lease_token, claimed.lease_expires_at)

    def claimed_at(self, claimed: queue.Claimed) -> datetime:
        return claimed.lease_expires_at - self._lease

    async def keep(self) -> None:
        """Renew until cancelled (after the dispatcher's last outcome is written)."""
        while True:
            await asyncio.sleep(rules.renew_every_s(self.lease_s))
            await self.renew()

    async def renew(self) -> None:
        tokens = set(self._held.values())
        for token in set(self._expires) - tokens:
            del self._expires[token]
        if not tokens:
            return
        expires = self._clock.now() + timedelta(seconds=self.lease_s)
        try:
            await self._store.renew(ids=list(self._held), tokens=tokens, expires=expires)
        except Exception:  # the next renewal may get through before the leases run out
            log.exception("renewing the leases of %d deliveries failed", len(self._held))
            return
        for token in tokens:
            self._expires[token] = expires
