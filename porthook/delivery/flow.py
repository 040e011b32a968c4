"""Flow control of one dispatcher: which endpoints may be claimed for, and how much.

A slow or dead endpoint must not hold up the others. Rows of an endpoint wait
here for one of its slots (``max_concurrency``); an endpoint whose waiting
rows exceed what it can send in about ``QUEUE_HORIZON_S`` (judged by its
latency, or by how long its oldest request has been running) is left out of
the next claims, and the total of waiting rows is capped, so a dead endpoint
holds a handful of rows while healthy ones keep the whole batch. Pure
bookkeeping, no I/O: ``now`` is a monotonic time passed in.
"""

from __future__ import annotations

import uuid
from collections import Counter

QUEUE_HORIZON_S = 1.0  # an endpoint may have about this much work waiting here
QUEUE_LIMIT_BATCHES = 4  # rows waiting across all endpoints: at most this many batches
FIRST_GUESS_S = 0.01  # latency assumed of an endpoint not heard from yet
EWMA_WEIGHT = 0.2  # weight of the newest latency sample


class FlowControl:
    def __init__(self, *, batch_size: int) -> None:
        self._batch_size = batch_size
        self._waiting: Counter[uuid.UUID] = Counter()
        self._sending: dict[uuid.UUID, dict[uuid.UUID, float]] = {}
        self._latency_s: dict[uuid.UUID, float] = {}
        self._caps: dict[uuid.UUID, int] = {}
        self._rates: dict[uuid.UUID, float] = {}

    def wait(self, endpoint_id: uuid.UUID, cap: int, rate_per_s: float | None = None) -> None:
        self._caps[endpoint_id] = cap
        if rate_per_s is None:
            self._rates.pop(endpoint_id, None)
        else:
            self._rates[endpoint_id] = rate_per_s
        self._waiting[endpoint_id] += 1

    def stop_waiting(self, endpoint_id: uuid.UUID) -> None:
        self._waiting[endpoint_id] -= 1
        if self._waiting[endpoint_id] <= 0:
            del self._waiting[endpoint_id]

    def started(self, endpoint_id: uuid.UUID, key: uuid.UUID, now: float) -> None:
        self._sending.setdefault(endpoint_id, {})[key] = now

    def finished(self, endpoint_id: uuid.UUID, key: uuid.UUID, now: float) -> None:
        sending = self._sending.get(endpoint_id, {})
        began = sending.pop(key, None)
        if not sending:
            self._sending.pop(endpoint_id, None)
        if began is not None:
            sample = now - began
            previous = self._latency_s.get(endpoint_id, sample)
            self._latency_s[endpoint_id] = (1 - EWMA_WEIGHT) * previous + EWMA_WEIGHT * sample

    def estimate_s(self, endpoint_id: uuid.UUID, now: float) -> float:
        estimate = self._latency_s.get(endpoint_id, FIRST_GUESS_S)
        sending = self._sending.get(endpoint_id)
        if sending:
            # A request running for 3 s says more than a past average of 2 ms.
            estimate = max(estimate, now - min(sending.values()))
        return max(estimate, 0.0005)

    def allowance(self, endpoint_id: uuid.UUID, now: float) -> int:
        cap = self._caps.get(endpoint_id, 1)
        rows = max(round(cap * QUEUE_HORIZON_S / self.estimate_s(endpoint_id, now)), cap)
        rate = self._rates.get(endpoint_id)
        if rate is not None:
            # A rate-limited endpoint sends no faster than its rate, whatever
            # its latency: rows beyond a horizon's worth would outwait their lease.
            rows = min(rows, max(1, round(rate * QUEUE_HORIZON_S)))
        return min(rows, self._batch_size)

    def waiting(self, endpoint_id: uuid.UUID) -> int:
        return self._waiting.get(endpoint_id, 0)

    def room(self, endpoint_id: uuid.UUID, now: float) -> int:
        """Rows the endpoint may still take before it is full."""
        return max(0, self.allowance(endpoint_id, now) - self.waiting(endpoint_id))

    def full_endpoints(self, now: float) -> list[uuid.UUID]:
        return [endpoint_id for endpoint_id, count in self._waiting.items()
                if count >= self.allowance(endpoint_id, now)]

    def drained(self, endpoint_id: uuid.UUID, now: float) -> bool:
        """Down to half its allowance: worth a claim again (a full batch, not a trickle)."""
        return self.waiting(endpoint_id) * 2 <= self.allowance(endpoint_id, now)

    def queue_full(self) -> bool:
        return sum(self._waiting.values()) >= QUEUE_LIMIT_BATCHES * self._batch_size

    def forget(self, endpoint_id: uuid.UUID) -> None:
        """Drop what is known of an endpoint with nothing waiting or sending."""
        if endpoint_id not in self._waiting and endpoint_id not in self._sending:
            self._latency_s.pop(endpoint_id, None)
            self._caps.pop(endpoint_id, None)
            self._rates.pop(endpoint_id, None)


class Backoff:
    """Spacing of a probe that keeps coming back empty: the pause doubles from
    ``base_s`` up to ``max_s`` after each empty try, and ends at a fruitful one.
    ``now`` is a monotonic time passed in."""

    def __init__(self, *, base_s: float, max_s: float) -> None:
        self._base_s = base_s
        self._max_s = max_s
        self._delay_s = 0.0
        self._not_before = 0.0

    def allows(self, now: float) -> bool:
        return now >= self._not_before

    def barren(self, now: float) -> None:
        self._delay_s = min(max(self._delay_s * 2, self._base_s), self._max_s)
        self._not_before = now + self._delay_s

    def reset(self) -> None:
        self._delay_s = 0.0
        self._not_before = 0.0
