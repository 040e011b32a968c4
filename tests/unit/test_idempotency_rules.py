"""What an Idempotency-Key's row means for a new request with that key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porthook.idempotency import rules
from porthook.idempotency.rules import Claim, Verdict

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
TTL_S = 24 * 3600.0
LEASE_S = 10.0


def _claim(*, state: str = rules.IN_PROGRESS, age_s: float = 1.0,
           lease_left_s: float | None = 5.0, request_hash: str = "h") -> Claim:
    return Claim(request_hash=request_hash, state=state,
                 created_at=NOW - timedelta(seconds=age_s),
                 lease_expires_at=None if lease_left_s is None
                 else NOW + timedelta(seconds=lease_left_s))


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        # first use of the key
        (None, Verdict.RUN),
        # answered before: the answer again
        (_claim(state=rules.DONE, lease_left_s=None), Verdict.REPLAY),
        # answered, but past the TTL: forgotten, runs again
        (_claim(state=rules.DONE, age_s=TTL_S + 1, lease_left_s=None), Verdict.RUN),
        # the same key for another request, answered or not
        (_claim(state=rules.DONE, request_hash="other"), Verdict.MISMATCH),
        (_claim(request_hash="other"), Verdict.MISMATCH),
        # a live request holds it (its lease renewed)
        (_claim(lease_left_s=0.1), Verdict.BUSY),
        # its lease has just run out: its process died (its writes never committed)
        (_claim(lease_left_s=0.0), Verdict.TAKE_OVER),
        (_claim(age_s=3600, lease_left_s=-3590), Verdict.TAKE_OVER),
        # a claim from before leases: leased from its creation
        (_claim(age_s=LEASE_S - 1, lease_left_s=None), Verdict.BUSY),
        (_claim(age_s=LEASE_S + 1, lease_left_s=None), Verdict.TAKE_OVER),
        # a live request older than the TTL keeps its claim
        (_claim(age_s=TTL_S + 1, lease_left_s=5.0), Verdict.BUSY),
        # a dead claim past the TTL: a fresh start
        (_claim(age_s=TTL_S + 1, lease_left_s=-1.0), Verdict.RUN),
    ],
)
def test_judge(claim: Claim | None, expected: Verdict) -> None:
    assert rules.judge(claim, request_hash="h", now=NOW, ttl_s=TTL_S, lease_s=LEASE_S) \
        is expected


def test_a_claim_is_renewed_several_times_per_lease() -> None:
    assert rules.renew_every_s(LEASE_S) * 2 < LEASE_S
    assert rules.lease_until(NOW, LEASE_S) == NOW + timedelta(seconds=LEASE_S)
