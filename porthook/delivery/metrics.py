"""Prometheus collectors of the delivery engine (module-level collectors are
plain counters, not clients: registering them at import costs nothing)."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Histogram

DELIVERIES_SENT = Counter(
    "porthook_deliveries_sent_total", "Attempts that got a 2xx answer", ["channel"]
)
DELIVERIES_FAILED = Counter(
    "porthook_deliveries_failed_total", "Attempts that failed (non-2xx, error or timeout)",
    ["channel"],
)
ATTEMPT_SECONDS = Histogram(
    "porthook_delivery_attempt_seconds", "Duration of one delivery attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
CLAIM_BATCH_SIZE = Histogram(
    "porthook_delivery_claim_batch_size", "Deliveries leased per claim",
    buckets=(1, 5, 10, 25, 50, 100, 200, 500, 1000),
)


@functools.cache
def attempts_counter(*, ok: bool, channel: str) -> Counter:
    """The labelled child, looked up once: ``labels()`` costs a lock and a dict per call."""
    return (DELIVERIES_SENT if ok else DELIVERIES_FAILED).labels(channel)
