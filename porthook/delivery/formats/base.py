"""What every format shares: the event view, the attempt, timestamps, secrets.

``EventView``, ``Attempt`` and ``Payloads`` are re-exported by
``porthook.delivery.formats``; they live here so the format modules can import
them without a cycle.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, Protocol


class EventView(NamedTuple):
    """What a format sees of an event (a plain copy of the ``events`` row).
    A NamedTuple, like ``queue.Claimed``: a worker makes thousands a second,
    and a frozen dataclass costs three times as much to build."""

    id: uuid.UUID
    type: str
    account_id: uuid.UUID
    subject_type: str
    subject_id: str
    sequence: int
    occurred_at: datetime
    data: dict[str, Any]


class Attempt(NamedTuple):
    """Per-attempt facts some formats carry (seed 001's ``meta``)."""

    number: int  # 1 for the first try
    delivered_to: str  # the URL (or e-mail address) this attempt goes to


class Payloads(Protocol):
    """The JSON Schemas of what events carry, for the formats that embed them.

    Events' data are the API's models of porting and records, which sit above
    delivery (imports flow one way): the catalog (``porthook.catalog``), which
    may import them, hands their schemas to ``formats.schema``.
    """

    def data_schema(self, event_type: str) -> dict[str, Any]:
        """The ``data`` of a ``standard`` body: envelope keys, then the event's data."""
        ...

    def record_schema(self, schema: str) -> dict[str, Any]:
        """A record of seed 002's ``schema`` as events carry it."""
        ...


class UnsupportedEvent(ValueError):
    """The format has no equivalent for this event type (check ``supports`` first)."""

    def __init__(self, format: str, event_type: str) -> None:
        super().__init__(f"format {format!r} has no equivalent for {event_type!r}")
        self.format = format
        self.event_type = event_type


# PINs and credentials are write-only (PRODUCT.md). Snapshots already leave them
# out; this is the second lock, applied to every payload a format builds, so a
# snapshot that ever carries one by mistake still never leaves the building.
# Matches pin, wireless_pin, inbox_pin, newPortOutPin, password... but not
# pin_set / wireless_pin_set, which only say whether one was given.
_SECRET_KEY = re.compile(r"(?:^|_)(?:pin|PIN)$|[a-z]Pin$|(?i:password|secret|credential)")


@functools.lru_cache(maxsize=4096)  # a few hundred distinct keys: cheap on every payload
def is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def without_secrets(value: Any) -> Any:
    """A deep copy of ``value`` with every secret-named key dropped."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return value


def order_of(event: EventView) -> dict[str, Any]:
    """The order snapshot of a porting-order event (``{}`` when absent)."""
    order = event.data.get("porting_order")
    return order if isinstance(order, dict) else {}


def parse_datetime(value: str | datetime | None) -> datetime | None:
    """A snapshot timestamp (ISO-8601 string, as stored in JSON) as aware UTC."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_z(value: str | datetime | None, *, micro: bool = False) -> str | None:
    """``2021-11-04T17:37:42Z``; with ``micro`` ``2021-11-04T17:37:42.145988Z``.

    A bare date (``2024-05-01``, as FOC dates may be) is passed through unchanged.
    """
    if isinstance(value, str) and _is_bare_date(value):
        return value
    moment = parse_datetime(value)
    if moment is None:
        return None
    # isoformat, not strftime: several times faster, and every delivery renders one.
    text = moment.replace(tzinfo=None).isoformat(timespec="microseconds" if micro else "seconds")
    return text + "Z"


def iso_offset(value: str | datetime | None) -> str | None:
    """``2021-03-19T19:52:13+00:00``: whole seconds with an explicit offset."""
    moment = parse_datetime(value)
    return None if moment is None else moment.replace(microsecond=0).isoformat()


def _is_bare_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
