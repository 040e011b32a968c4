"""Pure decisions of the dashboard: session expiry, CSRF comparison, security
headers, the desk queue's saved views and how ages read. No I/O; ``now`` is
passed in."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from porthook.porting.rules import OrderStatus

# A session's last_seen_at is written at most this often: a page view is
# otherwise a pure read, and SQLite's writers take turns.
TOUCH_EVERY_S = 60.0
FOC_SOON = timedelta(hours=48)


class SessionState(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"  # no request for longer than the idle timeout
    EXPIRED = "expired"  # older than the absolute lifetime


def session_state(*, created_at: datetime, last_seen_at: datetime, now: datetime,
                  idle_s: float, max_s: float) -> SessionState:
    if now - created_at >= timedelta(seconds=max_s):
        return SessionState.EXPIRED
    if now - last_seen_at >= timedelta(seconds=idle_s):
        return SessionState.IDLE
    return SessionState.ACTIVE


def should_touch(*, last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= timedelta(seconds=TOUCH_EVERY_S)


def csrf_matches(expected: str, given: object) -> bool:
    """Constant-time: the comparison must not tell how much of a guess was right."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def link_usable(*, expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    return used_at is None and now < expires_at


def security_headers(*, frame_ancestors: str) -> dict[str, str]:
    """Headers of every dashboard response. Scripts and styles come from
    porthook itself only (no inline script, no CDN)."""
    csp = "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ))
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # Keeps a one-time link's token (in the URL) out of other sites' logs.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    if frame_ancestors.strip() == "'none'":
        headers["X-Frame-Options"] = "DENY"  # for browsers without CSP level 2
    return headers


def format_age(delta: timedelta) -> str:
    """"3 d 4 h", "5 h 12 min", "7 min": the two largest units that matter."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


class QueueSort(StrEnum):
    NEWEST = "newest"  # order number, newest first
    OLDEST_IN_STATUS = "oldest_in_status"
    FOC = "foc"  # confirmed FOC date, soonest first
    ACTIVATION = "activation"  # scheduled activation, soonest first


@dataclass(frozen=True)
class QueueView:
    label: str
    status: OrderStatus | None
    sort: QueueSort


QUEUE_VIEWS: dict[str, QueueView] = {
    "all": QueueView("All orders", None, QueueSort.NEWEST),
    "needs-action": QueueView("Needs action (in process)", OrderStatus.IN_PROCESS,
                              QueueSort.OLDEST_IN_STATUS),
    "waiting-foc": QueueView("Submitted, waiting for FOC", OrderStatus.SUBMITTED,
                             QueueSort.OLDEST_IN_STATUS),
    "exception": QueueView("Exception, oldest first", OrderStatus.EXCEPTION,
                           QueueSort.OLDEST_IN_STATUS),
    "foc-48h": QueueView("FOC within 48 h", OrderStatus.FOC_DATE_CONFIRMED, QueueSort.FOC),
    "activating-today": QueueView("Activating today", OrderStatus.FOC_DATE_CONFIRMED,
                                  QueueSort.ACTIVATION),
}


def view_window(view: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The time window a view keeps (on FOC date or activation moment), if any.
    "Today" is the UTC day."""
    if view == "foc-48h":
        return now, now + FOC_SOON
    if view == "activating-today":
        start = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
        return start, start + timedelta(days=1)
    return None


# What each status means to the customer (UI.md: the references show customers
# their own labels, e.g. Kazoo's "Rejected - Action Required"), beside the
# API's status value.
CUSTOMER_STATUS_LABELS: dict[str, str] = {
    OrderStatus.DRAFT: "Draft: not submitted yet",
    OrderStatus.IN_PROCESS: "Received: the porting desk is reviewing it",
    OrderStatus.SUBMITTED: "Submitted to the losing carrier, waiting for the FOC date",
    OrderStatus.EXCEPTION: "Action required: fix the order and resubmit it",
    OrderStatus.FOC_DATE_CONFIRMED: "Scheduled: the losing carrier confirmed the date",
    OrderStatus.PORTED: "Ported: the numbers are active here",
    OrderStatus.CANCEL_PENDING: "Cancellation requested",
    OrderStatus.CANCELLED: "Cancelled",
}


def customer_status(status: str) -> str:
    return CUSTOMER_STATUS_LABELS.get(status, status)
