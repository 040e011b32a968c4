"""The pure rules of delivery search and endpoint health."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from porthook.delivery import rules

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("status", "last_error", "state"), [
    ("pending", None, "pending"),  # waiting, never failed
    ("pending", "HTTP 500", "retrying"),  # waiting after a failure
    ("delivered", None, "delivered"),
    ("dead", "HTTP 500", "dead"),  # a dead row stays dead whatever its last error
    ("held", None, "held"),  # endpoint disabled
])
def test_state_of(status: str, last_error: str | None, state: str) -> None:
    assert rules.state_of(status, last_error) == state


@pytest.mark.parametrize(("status_code", "error", "kind"), [
    (200, None, "2xx"),
    (204, None, "2xx"),
    (None, None, "2xx"),  # an e-mail accepted
    (301, None, "3xx"),  # redirects are not followed: a failure of its own class
    (404, None, "4xx"),
    (429, None, "4xx"),
    (500, None, "5xx"),
    (599, None, "5xx"),
    (None, "connection refused", "network"),  # no HTTP answer
])
def test_status_class(status_code: int | None, error: str | None, kind: str) -> None:
    assert rules.status_class(status_code, error) == kind


@pytest.mark.parametrize(("succeeded", "total", "rate"), [
    (0, 0, None),  # nothing attempted: no rate, not 0
    (3, 4, 0.75),
    (1, 3, 0.3333),  # rounded to four places
])
def test_success_rate(succeeded: int, total: int, rate: float | None) -> None:
    assert rules.success_rate(succeeded, total) == rate


@pytest.mark.parametrize(("enabled", "failing_since", "state"), [
    (True, None, "healthy"),
    (True, NOW, "failing"),
    (False, NOW, "disabled"),  # disabled wins
    (False, None, "disabled"),
])
def test_health_state(enabled: bool, failing_since: datetime | None, state: str) -> None:
    assert rules.health_state(enabled=enabled, failing_since=failing_since) == state


@pytest.mark.parametrize(("low", "high", "position", "value"), [
    (10.0, 20.0, 1.0, 10.0),  # on a rank: that value
    (20.0, 30.0, 1.5, 25.0),  # halfway
    (30.0, 40.0, 2.85, 38.5),
])
def test_interpolated_percentile(low: float, high: float, position: float,
                                 value: float) -> None:
    assert rules.interpolated_percentile(low, high, position) == pytest.approx(value)
