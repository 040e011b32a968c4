"""The worker's one-pass outcome parameters (``recording.outcome_columns``)
are the values the row-by-row builders give (``_sent_row``, ``_attempt_row``),
whatever the outcome; ``needs_session`` picks out the batches that need
the session path (a row not sent, or a health verdict)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from porthook.config import Settings
from porthook.delivery import queue, recording

NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def _outcome(number: int, **facts: object) -> queue.Outcome:
    claimed = queue.Claimed(id=uuid.uuid4(), event_id=uuid.uuid4(), endpoint_id=uuid.uuid4(),
                            attempt=number, round_attempt=number, lease_token=uuid.uuid4(),
                            lease_expires_at=NOW + timedelta(seconds=10))
    return queue.Outcome(claimed=claimed, attempted_at=NOW - timedelta(seconds=1),
                         duration_ms=12, delivered_to="https://a.example/" + "x" * 3000,
                         **facts)  # type: ignore[arg-type]


OUTCOMES = [
    _outcome(1, status_code=200, response_excerpt="ok"),
    _outcome(1, status_code=204),
    _outcome(2, status_code=500, response_excerpt="boom" * 400),
    _outcome(1, error="timed out"),
    _outcome(1, status_code=410),
    _outcome(3, status_code=429, retry_after="5"),
    _outcome(9, status_code=503),  # the schedule spent: dead
    _outcome(1, status_code=302),
]


def test_outcome_columns_are_the_row_builders_values() -> None:
    settings = Settings(retry_schedule=(0.0, 1.0, 5.0, 30.0), retry_jitter=0.2)
    rows = [recording._sent_row(o, now=NOW, settings=settings, random=lambda: 0.25)
            for o in OUTCOMES]
    expected = recording._pg_params(OUTCOMES, rows, now=NOW)
    assert recording.outcome_columns(OUTCOMES, now=NOW, settings=settings,
                                     random=lambda: 0.25) == expected


@pytest.mark.parametrize(("outcome", "expected"), [
    (_outcome(1, status_code=200), False),
    (_outcome(1, status_code=500), True),
    (_outcome(1, error="timed out"), True),
    (_outcome(1, status_code=200, endpoint_was_failing=True), True),
    (_outcome(1, skipped="released"), True),
])
def test_needs_session(outcome: queue.Outcome, expected: bool) -> None:
    assert recording.needs_session([_outcome(1, status_code=201), outcome]) is expected
    assert recording.needs_session([outcome]) == bool(
        outcome.skipped is not None or recording.health_concerns([outcome]))
