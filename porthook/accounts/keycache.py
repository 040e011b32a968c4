"""Verified API keys, remembered for a moment by each API process.

Checking a key is a database round trip of its own (a pooled connection, a
ping, BEGIN, SELECT, ROLLBACK): a quarter of the round trips of a comment
(issue 17). A key found valid is trusted again for ``ttl_s`` seconds without
asking. Revocation stays bounded: the process that revokes a key forgets it at
once; any other process (another API process, the CLI) stops accepting it
within ``ttl_s`` seconds. ``ttl_s = 0`` turns the cache off (exact revocation).
Unknown and revoked keys are never remembered: every try asks the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from porthook.accounts.service import Principal

MAX_ENTRIES = 10_000  # far more keys than one process serves within ttl_s


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    expires_at: float


class KeyCache:
    """Key digest → principal, each entry for ``ttl_s`` seconds of ``monotonic``."""

    def __init__(self, ttl_s: float, *, max_entries: int = MAX_ENTRIES,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    def get(self, digest: str) -> Principal | None:
        now = self._monotonic()
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if now >= entry.expires_at:
            del self._entries[digest]
            return None
        return entry.principal

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        now = self._monotonic()
        if len(self._entries) >= self.max_entries:
            self._drop_expired(now)
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # a flood of distinct keys: start over, stay bounded
        self._entries[digest] = _Entry(principal, now + self.ttl_s)

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop a revoked key at once (in this process)."""
        for digest in [d for d, e in self._entries.items() if e.principal.key_id == key_id]:
            del self._entries[digest]

    def _drop_expired(self, now: float) -> None:
        for digest in [d for d, e in self._entries.items() if now >= e.expires_at]:
            del self._entries[digest]
