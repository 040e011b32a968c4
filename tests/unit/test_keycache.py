"""The per-process cache of verified API keys (``accounts.keycache``)."""

from __future__ import annotations

import uuid

from porthook.accounts.keycache import KeyCache
from porthook.accounts.service import Principal


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _principal() -> Principal:
    return Principal(key_id=uuid.uuid4(), account_id=uuid.uuid4())


def test_a_key_is_remembered_for_ttl_seconds_then_asked_again() -> None:
    clock = FakeMonotonic()
    cache = KeyCache(1.0, monotonic=clock)
    principal = _principal()
    cache.put("digest", principal)
    clock.now += 0.99
    assert cache.get("digest") == principal
    clock.now += 0.02
    assert cache.get("digest") is None


def test_forget_drops_a_revoked_key_at_once() -> None:
    cache = KeyCache(60.0, monotonic=FakeMonotonic())
    revoked, kept = _principal(), _principal()
    cache.put("a", revoked)
    cache.put("b", kept)
    cache.forget(revoked.key_id)
    assert cache.get("a") is None
    assert cache.get("b") == kept


def test_ttl_zero_remembers_nothing() -> None:
    cache = KeyCache(0.0, monotonic=FakeMonotonic())
    cache.put("digest", _principal())
    assert cache.get("digest") is None


def test_the_cache_stays_bounded() -> None:
    clock = FakeMonotonic()
    cache = KeyCache(60.0, max_entries=3, monotonic=clock)
    for i in range(10):
        cache.put(f"d{i}", _principal())
    assert sum(cache.get(f"d{i}") is not None for i in range(10)) <= 3
    assert cache.get("d9") is not None  # the newest is always kept
