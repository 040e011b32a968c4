from __future__ import annotations

import uuid

import pytest

from porthook.delivery import flow

FAST, DEAD = uuid.uuid4(), uuid.uuid4()
BATCH = 200


def _control() -> flow.FlowControl:
    return flow.FlowControl(batch_size=BATCH)


@pytest.mark.parametrize(
    ("latency_s", "cap", "expected"),
    [
        (None, 8, 200),  # unknown endpoint: first guess 10 ms, bounded by the batch
        (0.002, 8, 200),  # fast endpoint: a whole batch may wait
        (0.1, 8, 80),  # 100 ms: about one second of work
        (0.5, 8, 16),  # slower still
        (15.0, 8, 8),  # timing out: no more than its slots
        (15.0, 2, 2),  # its own cap, whatever it is
    ],
)
def test_allowance_follows_latency(latency_s: float | None, cap: int, expected: int) -> None:
    control = _control()
    control.wait(FAST, cap)
    if latency_s is not None:
        control.started(FAST, FAST, 0.0)
        control.finished(FAST, FAST, latency_s)
    assert control.allowance(FAST, now=100.0) == expected


def test_a_request_that_hangs_shrinks_the_allowance_before_it_ends() -> None:
    control = _control()
    control.wait(DEAD, 8)
    control.started(DEAD, uuid.uuid4(), 0.0)
    assert control.allowance(DEAD, now=0.001) == BATCH  # just started: no verdict yet
    assert control.allowance(DEAD, now=5.0) == 8  # running for 5 s: treat it as slow


def test_full_endpoints_and_queue_limit() -> None:
    control = _control()
    control.started(DEAD, uuid.uuid4(), 0.0)
    for _ in range(8):
        control.wait(DEAD, 8)
    for _ in range(50):
        control.wait(FAST, 8)
    assert control.full_endpoints(now=10.0) == [DEAD]  # only the dead one is left out
    assert not control.queue_full()
    for _ in range(flow.QUEUE_LIMIT_BATCHES * BATCH):
        control.wait(FAST, 8)
    assert control.queue_full()


def test_forget_keeps_endpoints_that_still_have_work() -> None:
    control = _control()
    control.wait(FAST, 4)
    control.forget(FAST)
    assert control.allowance(FAST, now=0.0) == BATCH  # cap 4 still known: 4/0.01 > batch
    control.stop_waiting(FAST)
    control.forget(FAST)
    assert control.allowance(FAST, now=0.0) == 100  # forgotten: cap 1, first guess 10 ms


def test_backoff_doubles_while_barren_and_resets() -> None:
    backoff = flow.Backoff(base_s=1.0, max_s=5.0)
    assert backoff.allows(0.0)
    pauses = []
    now = 0.0
    for _ in range(5):
        backoff.barren(now)
        assert not backoff.allows(now)
        start = now
        while not backoff.allows(now):
            now += 0.5
        pauses.append(now - start)
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.barren(now)
    backoff.reset()
    assert backoff.allows(now)


@pytest.mark.parametrize(
    ("latency_s", "cap", "rate_per_s", "expected"),
    [
        (0.002, 8, None, 200),  # no limit: latency alone decides
        (0.002, 8, 50.0, 50),  # fast, but 50/s: one second's worth waits here
        (0.002, 8, 5.0, 5),  # below its cap of slots: the rate wins
        (0.002, 8, 0.1, 1),  # a call every ten seconds: one row at a time
        (0.5, 8, 500.0, 16),  # the rate is no reason to take more than latency allows
    ],
)
def test_allowance_keeps_to_a_rate_limit(
    latency_s: float, cap: int, rate_per_s: float | None, expected: int
) -> None:
    control = _control()
    control.wait(FAST, cap, rate_per_s)
    control.started(FAST, FAST, 0.0)
    control.finished(FAST, FAST, latency_s)
    assert control.allowance(FAST, now=100.0) == expected
