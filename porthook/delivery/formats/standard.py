"""Format ``standard``: the Standard Webhooks envelope with porthook's own types.

Every event type is supported::

    {"type": "porting_order.status_changed",
     "timestamp": "2024-05-01T12:00:00.123456Z",
     "data": {"id": <event id>, "account_id": ..., "subject": {"type", "id"},
              "sequence": 7, ...the event's data (see porthook.events.types)}}

``data.id`` is the event id, the same as the ``webhook-id`` header, so a
receiver that only keeps bodies can still deduplicate; ``subject`` and
``sequence`` let it put events of one order back in order (sequence counts
1, 2, 3... per subject) and notice a gap. The envelope keys win over an
event-data key of the same name, so a receiver can rely on them.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from porthook.delivery.formats.base import EventView, Payloads, iso_z


def supports(event_type: str) -> bool:
    del event_type
    return True


def build(event: EventView) -> dict[str, Any]:
    envelope = {
        "id": str(event.id),
        "account_id": str(event.account_id),
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "sequence": event.sequence,
    }
    # Envelope keys first and their values winning: a later key of a dict
    # display keeps the first one's place and sets its value.
    data = {**envelope, **event.data, **envelope}
    return {"type": event.type, "timestamp": iso_z(event.occurred_at, micro=True), "data": data}


def event_name(event_type: str) -> str:
    """The envelope's ``type``: porthook's own name."""
    return event_type


def schema(event_type: str, payloads: Payloads) -> dict[str, Any]:
    """The JSON Schema of the body sent for ``event_type``: the envelope strict,
    ``data`` as ``payloads`` describes it (models built on ``DataEnvelope``)."""
    data = payloads.data_schema(event_type)
    # Nested models' definitions are referred to from the document's root.
    definitions = data.pop("$defs", {})
    return {
        "$schema": DIALECT,
        "title": f"standard {event_type}",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "const": event_type},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": data,
        },
        **({"$defs": definitions} if definitions else {}),
    }


DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Subject(BaseModel):
    type: str = Field(description="porting_order, endpoint, sms_enablement or a records schema")
    id: str


class DataEnvelope(BaseModel):
    """The keys every ``data`` starts with (see the module docstring): the base
    of the models whose schemas ``Payloads.data_schema`` returns."""

    id: uuid.UUID = Field(description="The event id, also the webhook-id header")
    account_id: uuid.UUID
    subject: _Subject
    sequence: int = Field(ge=1, description="1, 2, 3... per subject")
