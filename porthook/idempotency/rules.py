"""What an ``Idempotency-Key`` claim means for a new request with that key.

Pure decisions, ``now`` passed in. The write of a request and the answer it
stored commit in one transaction (see ``middleware``), so a claim still "in
progress" never hides a committed write: once its lease has lapsed (its
process died, or stopped renewing it), the write did not happen and the
request may run anew.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

IN_PROGRESS = "in_progress"
DONE = "done"
RENEWALS_PER_LEASE = 3  # a live request renews its claim this often per lease


class Verdict(enum.Enum):
    RUN = "run"  # no claim (or one past the TTL): claim the key and run
    REPLAY = "replay"  # answered before: send the stored answer again
    MISMATCH = "mismatch"  # the key was used for a different request
    BUSY = "busy"  # a live request holds the key
    TAKE_OVER = "take_over"  # its holder died before committing: run anew


@dataclass(frozen=True)
class Claim:
    """What a key's row says, as far as the decision goes."""

    request_hash: str
    state: str
    created_at: datetime
    lease_expires_at: datetime | None  # None: a claim from before leases (never renewed)


def judge(claim: Claim | None, *, request_hash: str, now: datetime, ttl_s: float,
          lease_s: float) -> Verdict:
    if claim is None:
        return Verdict.RUN
    live = claim.state == IN_PROGRESS and lease_live(claim, now=now, lease_s=lease_s)
    if not live and claim.created_at < now - timedelta(seconds=ttl_s):
        return Verdict.RUN
    if claim.request_hash != request_hash:
        return Verdict.MISMATCH
    if claim.state == DONE:
        return Verdict.REPLAY
    return Verdict.BUSY if live else Verdict.TAKE_OVER


def lease_live(claim: Claim, *, now: datetime, lease_s: float) -> bool:
    # A claim written before leases existed counts as leased from its creation.
    expires = claim.lease_expires_at or claim.created_at + timedelta(seconds=lease_s)
    return expires > now


def lease_until(now: datetime, lease_s: float) -> datetime:
    return now + timedelta(seconds=lease_s)


def renew_every_s(lease_s: float) -> float:
    """Renewed a few times per lease, so one late renewal does not lose it."""
    return lease_s / RENEWALS_PER_LEASE
