"""One log line per failed attempt and per delivery that goes dead or held.

Only failures are logged: successes are counted in metrics, and the hot path
(thousands of deliveries a second) pays nothing here. Each line carries its
facts twice: as ``key=value`` text in the message (read by a person) and as
fields of their own (keys of the JSON line with ``PORTHOOK_LOG_FORMAT=json``).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

log = logging.getLogger("porthook.delivery.failures")

RETRYING = "retrying"  # failed; the next attempt is scheduled
DEAD = "dead"
HELD = "held"


def attempt_failed(
    *, delivery_id: uuid.UUID, endpoint_id: uuid.UUID, event_id: uuid.UUID, event_type: str,
    attempt: int, status_code: int | None, error: str | None, dead: bool,
    next_attempt_at: datetime | None,
) -> None:
    """An attempt failed: retried at ``next_attempt_at``, or ``dead`` for good."""
    _emit(logging.ERROR if dead else logging.WARNING,
          "delivery dead" if dead else "delivery attempt failed", {
              "delivery_id": delivery_id, "endpoint_id": endpoint_id, "event_id": event_id,
              "event_type": event_type, "attempt": attempt, "status_code": status_code,
              "error": error, "outcome": DEAD if dead else RETRYING,
              "next_attempt_at": None if dead else next_attempt_at,
          })


def not_sent(
    *, delivery_id: uuid.UUID, endpoint_id: uuid.UUID, event_id: uuid.UUID, event_type: str,
    outcome: str, error: str,
) -> None:
    """A claimed delivery went ``held`` or ``dead`` without an attempt."""
    _emit(logging.WARNING, f"delivery {outcome}", {
        "delivery_id": delivery_id, "endpoint_id": endpoint_id, "event_id": event_id,
        "event_type": event_type, "outcome": outcome, "error": error})


def endpoint_held(*, endpoint_id: uuid.UUID, held: int, reason: str) -> None:
    """An endpoint was disabled: its ``held`` waiting deliveries in one line
    (a busy endpoint may have thousands)."""
    _emit(logging.WARNING, "endpoint disabled, deliveries held", {
        "endpoint_id": endpoint_id, "outcome": HELD, "held": held, "error": reason})


def _emit(level: int, message: str, fields: dict[str, Any]) -> None:
    if not log.isEnabledFor(level):
        return
    present = {k: v.isoformat() if isinstance(v, datetime) else v
               for k, v in fields.items() if v is not None}
    text = " ".join(f"{k}={_quoted(v)}" for k, v in present.items())
    log.log(level, "%s: %s", message, text, extra=present)


def _quoted(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\\\n') else text
