from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porthook.delivery import models, rules

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULE = (0.0, 5.0, 300.0, 1800.0)


def _mid() -> float:
    return 0.5  # a random draw in the middle: no jitter applied


@pytest.mark.parametrize(
    ("attempt", "status", "error", "retry_after", "expected_status", "delay_s", "disable"),
    [
        (1, 200, None, None, models.DELIVERED, None, False),  # 2xx is success
        (1, 204, None, None, models.DELIVERED, None, False),  # any 2xx
        (1, None, None, None, models.DELIVERED, None, False),  # e-mail accepted, no code
        (1, 301, None, None, models.PENDING, 5.0, False),  # 3xx is a failure (no redirects)
        (1, 500, None, None, models.PENDING, 5.0, False),  # after attempt 1 wait schedule[1]
        (2, 500, None, None, models.PENDING, 300.0, False),  # after attempt 2 wait schedule[2]
        (3, 502, None, None, models.PENDING, 1800.0, False),  # last step of the schedule
        (4, 500, None, None, models.DEAD, None, False),  # schedule spent: dead
        (1, None, "timed out", None, models.PENDING, 5.0, False),  # network errors retry
        (1, 200, "boom", None, models.PENDING, 5.0, False),  # an error wins over a code
        (1, 410, None, None, models.DEAD, None, True),  # 410 Gone disables the endpoint
        (4, 410, None, None, models.DEAD, None, True),  # 410 even at the end
        (1, 429, None, "120", models.PENDING, 120.0, False),  # Retry-After seconds honoured
        (1, 503, None, "2", models.PENDING, 5.0, False),  # never sooner than the schedule
        (1, 429, None, "999999", models.PENDING, 3600.0, False),  # capped at retry_after_max_s
        (1, 500, None, "120", models.PENDING, 5.0, False),  # Retry-After only on 429/503
        (1, 429, None, "soon", models.PENDING, 5.0, False),  # unparsable header ignored
        (1, 503, None, "Thu, 01 Jan 2026 12:10:00 GMT", models.PENDING, 600.0, False),  # date
        (4, 429, None, "10", models.DEAD, None, False),  # schedule spent even if asked later
    ],
)
def test_decide(
    attempt: int, status: int | None, error: str | None, retry_after: str | None,
    expected_status: str, delay_s: float | None, disable: bool,
) -> None:
    decision = rules.decide(
        attempt=attempt, status_code=status, error=error, retry_after=retry_after, now=NOW,
        schedule=SCHEDULE, jitter=0.2, retry_after_max_s=3600.0, random=_mid,
    )
    assert decision.status == expected_status
    assert decision.disable_endpoint is disable
    expected_at = NOW + timedelta(seconds=delay_s) if delay_s is not None else None
    assert decision.next_attempt_at == expected_at


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        (0.0, 240.0),  # lowest draw: -20 %
        (0.5, 300.0),  # middle draw: the schedule itself
        (1.0, 360.0),  # highest draw: +20 %
    ],
)
def test_retry_delay_jitter(draw: float, expected: float) -> None:
    delay = rules.retry_delay_s(2, schedule=SCHEDULE, jitter=0.2, random=lambda: draw)
    assert delay == pytest.approx(expected)


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("failing_since", "notified", "succeeded", "gone", "expected", "threshold_s"),
    [
        # healthy endpoint succeeds: nothing to say
        (None, False, True, False, rules.Health(None, False), 0.0),
        # first failure, no threshold: failing from now, endpoint.failing once
        (None, False, False, False, rules.Health(NOW, True, events=("endpoint.failing",)), 0.0),
        # still failing, already told: silence
        (NOW - DAY, True, False, False, rules.Health(NOW - DAY, True), 0.0),
        # first failure with a 15 min threshold: failing from now, nothing said yet
        (None, False, False, False, rules.Health(NOW, False), 900.0),
        # failing for 10 min, threshold 15 min: still quiet
        (NOW - timedelta(minutes=10), False, False, False,
         rules.Health(NOW - timedelta(minutes=10), False), 900.0),
        # failing for 20 min, threshold 15 min: endpoint.failing once
        (NOW - timedelta(minutes=20), False, False, False,
         rules.Health(NOW - timedelta(minutes=20), True, events=("endpoint.failing",)), 900.0),
        # a transient failure healed before the threshold: no recovered either
        (NOW - timedelta(minutes=1), False, True, False, rules.Health(None, False), 900.0),
        # failing for 5 days: disabled
        (NOW - 5 * DAY, True, False, False,
         rules.Health(NOW - 5 * DAY, True, disable=True, events=("endpoint.disabled",)), 0.0),
        # a success after failures: recovered
        (NOW - DAY, True, True, False,
         rules.Health(None, False, events=("endpoint.recovered",)), 0.0),
        # 410 disables at once (and says failing first)
        (None, False, False, True,
         rules.Health(NOW, True, disable=True, events=("endpoint.failing", "endpoint.disabled")),
         0.0),
    ],
)
def test_health_after(
    failing_since: datetime | None, notified: bool, succeeded: bool, gone: bool,
    expected: rules.Health, threshold_s: float,
) -> None:
    assert rules.health_after(
        failing_since=failing_since, failing_notified=notified, succeeded=succeeded, gone=gone,
        now=NOW, disable_after_s=5 * 24 * 3600.0, failing_after_s=threshold_s,
    ) == expected


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "porting_order.created", True),  # everything
        ([], "record.dids.inserted", True),  # no filter: everything
        (["porting_order.*"], "porting_order.status_changed", True),  # a family
        (["porting_order.*"], "porting_orderx.created", False),  # the dot is part of it
        (["porting_order.*"], "record.lnp_requests.updated", False),  # another family
        (["record.dids.*"], "record.dids.deleted", True),  # a sub-family
        (["record.*"], "record.dids.deleted", True),  # a wider family
        (["porting_order.created"], "porting_order.created", True),  # exact type
        (["porting_order.created"], "porting_order.updated", False),  # exact only
        (["endpoint.disabled", "sms_enablement.*"], "sms_enablement.completed", True),  # any
    ],
)
def test_matches(patterns: list[str], event_type: str, expected: bool) -> None:
    assert rules.matches(patterns, event_type) is expected


@pytest.mark.parametrize(
    ("previous", "expires_at", "expected"),
    [
        (None, None, ["new"]),  # never rotated
        ("old", NOW + DAY, ["new", "old"]),  # within the overlap: both sign
        ("old", NOW - timedelta(seconds=1), ["new"]),  # overlap over
    ],
)
def test_signing_secrets(
    previous: str | None, expires_at: datetime | None, expected: list[str]
) -> None:
    assert rules.signing_secrets("new", previous, expires_at, NOW) == expected


@pytest.mark.parametrize(
    ("left_s", "held_s", "expected"),
    [
        (10.0, 0.0, True),  # just claimed
        (3.5, 0.0, True),  # more than a renewal interval (10 s / 3) left
        (3.0, 0.0, False),  # renewals are not keeping it: release instead
        (-1.0, 0.0, False),  # already expired
        (9.0, 60.0, True),  # renewed while it waited a minute
        (9.0, 61.0, False),  # waited too long behind a stalled endpoint: give it back
    ],
)
def test_may_send(left_s: float, held_s: float, expected: bool) -> None:
    assert rules.may_send(claimed_at=NOW - timedelta(seconds=held_s),
                          lease_expires_at=NOW + timedelta(seconds=left_s), now=NOW,
                          lease_s=10.0, hold_max_s=60.0) is expected


@pytest.mark.parametrize(
    ("now", "last_claim_at", "gap_s", "expected"),
    [
        (100.0, None, 0.02, 0.0),  # the first claim ever: at once
        (100.0, 99.0, 0.02, 0.0),  # a NOTIFY after a quiet spell: at once
        (100.0, 99.98, 0.02, 0.0),  # exactly one gap after the last claim: at once
        (100.0, 99.99, 0.02, 0.01),  # half a gap after: wait the other half
        (100.0, 100.0, 0.02, 0.02),  # woken during the claim that just began: a whole gap
        (100.0, 100.5, 0.02, 0.02),  # a clock read out of order: never more than a gap
        (100.0, 100.0, 0.0, 0.0),  # gap 0: every NOTIFY claims at once
    ],
)
def test_claim_delay_s(now: float, last_claim_at: float | None, gap_s: float,
                       expected: float) -> None:
    assert rules.claim_delay_s(now=now, last_claim_at=last_claim_at,
                               gap_s=gap_s) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("claimed", "room", "now", "last_woken_at", "expected"),
    [
        (1, 200, 10.0, None, False),  # a trickle: the first process takes it all
        (199, 200, 10.0, None, False),  # short by one: nothing more was due
        (200, 200, 10.0, None, True),  # a full batch: more may be due, wake the others
        (50, 50, 10.0, None, True),  # full for the room it had (unrecorded rows)
        (0, 0, 10.0, None, True),  # notified with no room at all: the others take it
        (200, 200, 10.0, 9.95, False),  # woken them 50 ms ago: they are claiming still
        (200, 200, 10.0, 9.85, True),  # more than a gap since the last wake-up: again
        (10, 200, 10.0, 0.0, False),  # short, however long ago the last wake-up
    ],
)
def test_wake_siblings(claimed: int, room: int, now: float, last_woken_at: float | None,
                       expected: bool) -> None:
    assert rules.wake_siblings(claimed=claimed, room=room, now=now, last_woken_at=last_woken_at,
                               gap_s=0.1) is expected
