"""Pure decisions of the delivery engine: retries, endpoint health, routing.

No I/O here: ``now`` and the random source are passed in, so every rule is a
table of cases in ``tests/unit/test_delivery_rules.py``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from porthook.delivery import models
from porthook.events import types as event_types

RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410


@dataclass(frozen=True)
class Decision:
    """What to do with a delivery after one attempt."""

    status: str  # models.PENDING (retry later) | models.DELIVERED | models.DEAD
    next_attempt_at: datetime | None = None
    disable_endpoint: bool = False


def is_success(status_code: int | None) -> bool:
    # 3xx is a failure: redirects are not followed (PRODUCT.md, Delivery).
    return status_code is not None and 200 <= status_code < 300


def succeeded(status_code: int | None, error: str | None) -> bool:
    """An attempt succeeded: a 2xx, or (e-mail, no status code) no error at all."""
    if error is not None:
        return False
    return status_code is None or is_success(status_code)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def retry_delay_s(
    attempt: int, *, schedule: Sequence[float], jitter: float, random: Callable[[], float]
) -> float | None:
    """Delay before attempt ``attempt + 1``; ``None`` when the schedule is spent.

    ``schedule[0]`` is the first try ("at once"), so after attempt n the next
    waits ``schedule[n]``, spread by ±jitter so a recovering receiver is not
    hit by every retry at the same instant.
    """
    if attempt >= len(schedule):
        return None
    spread = 1.0 + jitter * (2.0 * random() - 1.0)
    return max(0.0, schedule[attempt] * spread)


def decide(
    *,
    attempt: int,
    status_code: int | None,
    error: str | None,
    retry_after: str | None,
    now: datetime,
    schedule: Sequence[float],
    jitter: float,
    retry_after_max_s: float,
    random: Callable[[], float],
) -> Decision:
    if succeeded(status_code, error):
        return Decision(status=models.DELIVERED)
    if status_code == GONE:
        return Decision(status=models.DEAD, disable_endpoint=True)
    delay = retry_delay_s(attempt, schedule=schedule, jitter=jitter, random=random)
    if delay is None:
        return Decision(status=models.DEAD)
    if status_code in RETRY_AFTER_STATUSES:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            # Honoured within bounds: never sooner than asked, never later than the cap.
            delay = max(delay, min(asked, retry_after_max_s))
    return Decision(status=models.PENDING, next_attempt_at=now + timedelta(seconds=delay))


@dataclass(frozen=True)
class Health:
    """An endpoint's health after a batch of outcomes, and the events it owes."""

    failing_since: datetime | None
    failing_notified: bool
    disable: bool = False
    events: tuple[str, ...] = field(default=())


def health_after(
    *,
    failing_since: datetime | None,
    failing_notified: bool,
    succeeded: bool,
    gone: bool,
    now: datetime,
    disable_after_s: float,
    failing_after_s: float = 0.0,
) -> Health:
    """``succeeded``: at least one attempt of the batch got a 2xx (it wins).

    ``endpoint.failing`` waits until the endpoint has failed for
    ``failing_after_s``: one transient 500 is the retry schedule's business, not
    news worth a failing/recovered pair.
    """
    if succeeded:
        events = ("endpoint.recovered",) if failing_notified else ()
        return Health(failing_since=None, failing_notified=False, events=events)
    since = failing_since or now
    failing_for = now - since
    due = not failing_notified and failing_for >= timedelta(seconds=failing_after_s)
    if gone or failing_for >= timedelta(seconds=disable_after_s):
        owed = () if failing_notified else ("endpoint.failing",)
        return Health(since, True, disable=True, events=(*owed, "endpoint.disabled"))
    if due:
        return Health(since, True, events=("endpoint.failing",))
    return Health(since, failing_notified)


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """The event-type filter of endpoints and profiles: the events domain's one rule."""
    return event_types.matches(patterns, event_type)


def signing_secrets(
    secret: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """Both secrets sign during the rotation overlap, so receivers can switch at leisure."""
    if previous and previous_expires_at is not None and now < previous_expires_at:
        return [secret, previous]
    return [secret]


RENEWALS_PER_LEASE = 3  # a worker renews the leases it holds this often per lease


def renew_every_s(lease_s: float) -> float:
    """How often a worker renews its leases: a few times per lease, so one
    late renewal does not lose them."""
    return lease_s / RENEWALS_PER_LEASE


def may_send(
    *, claimed_at: datetime, lease_expires_at: datetime, now: datetime, lease_s: float,
    hold_max_s: float,
) -> bool:
    """Whether a claimed row may still be sent (else it is released unsent).

    Its lease must be alive with more than a renewal interval left: the
    worker renews it while the row is held or sent, so a request may outlast
    the lease itself, but a lease the renewals failed to keep (the database
    unreachable) could lapse mid-send and another worker send the row too.
    And it must not have waited in this worker longer than ``hold_max_s``:
    a row stuck behind a stalled endpoint goes back to the queue instead of
    being held indefinitely (and a call signed at claim time stays well
    inside the receivers' five-minute tolerance).
    """
    return ((lease_expires_at - now).total_seconds() > renew_every_s(lease_s)
            and (now - claimed_at).total_seconds() <= hold_max_s)


def claim_delay_s(*, now: float, last_claim_at: float | None, gap_s: float) -> float:
    """How long a claim woken by a NOTIFY waits first: until ``gap_s`` after
    the previous claim began (monotonic seconds). Each claim statement costs
    the worker and PostgreSQL about a millisecond whatever its size, and API
    writes trickling in at 100/s would otherwise make a claim of one row each;
    waiting lets one claim take the rows of several commits. A NOTIFY after a
    quiet spell (the last claim longer than ``gap_s`` ago) claims at once, so
    the wait only ever applies when wake-ups come faster than one per gap."""
    if last_claim_at is None:
        return 0.0
    return max(0.0, min(gap_s, last_claim_at + gap_s - now))


def wake_siblings(
    *, claimed: int, room: int, now: float, last_woken_at: float | None, gap_s: float
) -> bool:
    """Whether the one process of a worker pool that hears every NOTIFY should
    wake the others: its claim took all it had room for (more rows may be
    due; ``room`` 0: it could take none), and it has not woken them within
    ``gap_s`` (a woken sibling claims until its claims come back short, so one
    wake-up per gap keeps it busy while the work lasts)."""
    if claimed < room:
        return False
    return last_woken_at is None or now - last_woken_at >= gap_s


def in_flight(*, lease_token_set: bool, lease_expires_at: datetime | None, now: datetime
              ) -> bool:
    """A worker holds the row: leased and the lease not yet run out. A retry
    action leaves such a row alone: requeueing it would clear the lease, drop
    the worker's outcome and send it a second time."""
    return lease_token_set and lease_expires_at is not None and lease_expires_at > now


# Per-endpoint custom headers (issue 14): bounded, RFC 7230 syntax, and never
# one porthook sets itself (signatures, auth, framing) or one a proxy owns.
MAX_CUSTOM_HEADERS = 20
MAX_HEADER_NAME_CHARS = 100
MAX_HEADER_VALUE_CHARS = 1000
MAX_HEADERS_TOTAL_CHARS = 8192
RESERVED_HEADERS = frozenset({
    "authorization", "connection", "content-encoding", "content-length", "content-type",
    "cookie", "expect", "host", "keep-alive", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent",
})
RESERVED_HEADER_PREFIXES = ("webhook-", "telnyx-", "x-porthook-", "proxy-", "sec-")
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def header_problems(headers: dict[str, str]) -> list[str]:
    """What is wrong with a set of custom headers, each problem naming its header."""
    problems: list[str] = []
    if len(headers) > MAX_CUSTOM_HEADERS:
        problems.append(f"at most {MAX_CUSTOM_HEADERS} headers, got {len(headers)}")
    seen: set[str] = set()
    for name, value in headers.items():
        problems += _header_problems(name, value, seen)
    total = sum(len(name) + len(value) for name, value in headers.items())
    if total > MAX_HEADERS_TOTAL_CHARS:
        problems.append(f"names and values together at most {MAX_HEADERS_TOTAL_CHARS} "
                        f"characters, got {total}")
    return problems


def _header_problems(name: str, value: str, seen: set[str]) -> list[str]:
    lower = name.lower()
    if not name or len(name) > MAX_HEADER_NAME_CHARS or not set(name) <= _TOKEN_CHARS:
        return [f"header {name!r}: a name is 1 to {MAX_HEADER_NAME_CHARS} token characters "
                "(RFC 7230: letters, digits and !#$%&'*+-.^_`|~)"]
    if lower in RESERVED_HEADERS or lower.startswith(RESERVED_HEADER_PREFIXES):
        return [f"header {name!r} is reserved: porthook or the HTTP connection sets it"]
    if lower in seen:
        return [f"header {name!r} is given twice (names are case-insensitive)"]
    seen.add(lower)
    # Printable ASCII, space and tab: CR/LF would split the request (header
    # injection), NUL and other controls are refused by receivers.
    if len(value) > MAX_HEADER_VALUE_CHARS or any(
            not (" " <= c <= "~" or c == "\t") for c in value):
        return [f"header {name!r}: a value is at most {MAX_HEADER_VALUE_CHARS} printable "
                "ASCII characters (no CR, LF, NUL or other control characters)"]
    return []


@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: ``tokens`` as of ``at`` (monotonic seconds).
    Tokens go below zero when calls are booked ahead: each call waits its turn."""

    tokens: float
    at: float


def take_token(
    bucket: Bucket | None, *, now: float, rate_per_s: float, burst: float = 1.0
) -> tuple[float, Bucket]:
    """Book one call at ``rate_per_s``: the seconds to wait before making it,
    and the bucket after. A fresh bucket starts full (``burst`` tokens); with
    the default burst of one, calls are spaced by at least ``1 / rate_per_s``.
    Several runners of one lane share the bucket: each booking moves the next
    free turn on, so together they keep to the rate."""
    if bucket is None:
        bucket = Bucket(tokens=burst, at=now)
    refilled = min(burst, bucket.tokens + max(0.0, now - bucket.at) * rate_per_s)
    left = refilled - 1.0
    wait_s = 0.0 if left >= 0 else -left / rate_per_s
    return wait_s, Bucket(tokens=left, at=max(now, bucket.at))


# What a search calls a delivery (``GET /v1/deliveries?status=``): the stored
# status, with the waiting rows that already failed told apart.
RETRYING = "retrying"
STATES = (models.PENDING, RETRYING, models.DELIVERED, models.DEAD, models.HELD)
# An attempt's outcome by what came back; ``network``: no HTTP answer at all
# (refused, reset, timed out, TLS, or a mail server that would not take it).
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "network")


def state_of(status: str, last_error: str | None) -> str:
    """``retrying``: pending after a failed attempt (its ``last_error`` is set by
    every failure and cleared by a success). ``held``: its endpoint was disabled
    when the row came up (or at fan-out); it waits for enable + recover."""
    if status == models.PENDING and last_error is not None:
        return RETRYING
    return status


def status_class(status_code: int | None, error: str | None) -> str:
    """The class of an attempt's outcome; an e-mail accepted (no status code,
    no error) counts as 2xx."""
    if status_code is None:
        return "network" if error is not None else "2xx"
    if status_code >= 500:
        return "5xx"
    return f"{min(max(status_code // 100, 2), 4)}xx"


def success_rate(succeeded: int, total: int) -> float | None:
    """Share of attempts that succeeded; None when nothing was attempted."""
    return round(succeeded / total, 4) if total else None


HEALTHY, FAILING, DISABLED = "healthy", "failing", "disabled"


def health_state(*, enabled: bool, failing_since: datetime | None) -> str:
    """One word for an endpoint: disabled, failing (every attempt since
    ``failing_since`` failed, see ``health_after``) or healthy."""
    if not enabled:
        return DISABLED
    return FAILING if failing_since is not None else HEALTHY


def interpolated_percentile(low: float, high: float, position: float) -> float:
    """``percentile_cont`` between the two neighbours of a fractional position."""
    return low + (high - low) * (position - int(position))
