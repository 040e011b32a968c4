"""Payload formats: pure functions from an event (and the attempt) to a body.

Each format of a seed lives in its own module naming that seed file:
``standard`` (Standard Webhooks envelope, porthook's own types), ``telnyx``
(seed 001), ``sinch`` (seed 000), ``records`` (seed 002). A format that has no
equivalent for an event type says so through ``supports`` and the event is not
sent to endpoints of that format.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FORMATS = ("standard", "telnyx", "sinch", "records")


@dataclass(frozen=True)
class EventView:
    """What a format sees of an event (a plain copy of the ``events`` row)."""

    id: uuid.UUID
    type: str
    account_id: uuid.UUID
    subject_type: str
    subject_id: str
    sequence: int
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """Per-attempt facts some formats carry (seed 001's ``meta``)."""

    number: int  # 1 for the first try
    delivered_to: str  # the URL (or e-mail address) this attempt goes to
