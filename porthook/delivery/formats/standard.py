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

from typing import Any

from porthook.delivery.formats.base import EventView, iso_z


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
