"""Format ``records``: the account-wide change hooks of seed ``002_8c94001453ec1edb.txt``.

===================================  ==================================================
porthook type                        body
===================================  ==================================================
record.<schema>.inserted             ``{"type": "insert", "schema": <schema>,
                                     "data": "<the record as a JSON string>"}``
record.<schema>.updated              the same with ``"type": "update"``
record.<schema>.deleted              the same with ``"type": "delete"``
sms_enablement.completed             ``{"type": "update", "schema": "sms_enablement",
                                     "status": "success"|"error", "verbose": <reason>}``
anything else                        not sent (porting orders reach this format as
                                     their ``lnp_requests`` / ``lnp_numbers`` records)
===================================  ==================================================

``data`` is a JSON *string*, as the seed says ("will need a parse on your end"),
holding the record's seed fields in the seed's order. Secret fields the seed
lists (``wireless_pin``, ``inbox_pin``) are never in it.
"""

from __future__ import annotations

from typing import Any

from porthook import jsoncodec
from porthook.delivery.formats.base import (
    EventView,
    Payloads,
    UnsupportedEvent,
    without_secrets,
)
from porthook.events.types import RECORD_OPERATIONS, EventType
from porthook.records.registry import in_seed_order

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SEED_TYPE = {"inserted": "insert", "updated": "update", "deleted": "delete"}
assert set(SEED_TYPE) == set(RECORD_OPERATIONS)


def _record_parts(event_type: str) -> tuple[str, str] | None:
    """``record.dids.updated`` → ``("dids", "updated")``; None for other types."""
    prefix, _, rest = event_type.partition(".")
    schema, _, operation = rest.rpartition(".")
    if prefix != "record" or not schema or operation not in SEED_TYPE:
        return None
    return schema, operation


def supports(event_type: str) -> bool:
    return (
        event_type == EventType.SMS_ENABLEMENT_COMPLETED or _record_parts(event_type) is not None
    )


def build(event: EventView) -> dict[str, Any]:
    if event.type == EventType.SMS_ENABLEMENT_COMPLETED:
        return {
            "type": "update",
            "schema": "sms_enablement",
            "status": event.data.get("status"),
            "verbose": event.data.get("verbose") or "",
        }
    parts = _record_parts(event.type)
    if parts is None:
        raise UnsupportedEvent("records", event.type)
    schema, operation = parts
    # Events stored before the JSON column kept key order may come back
    # reordered; the seed's field order is part of what receivers read.
    record = in_seed_order(schema, without_secrets(event.data.get("record") or {}))
    return {
        "type": SEED_TYPE[operation],
        "schema": schema,
        "data": jsoncodec.dumps(record).decode(),
    }


def schema_of(event_type: str) -> str:
    """``record.dids.updated`` → ``dids``; ``sms_enablement`` for its completion."""
    if event_type == EventType.SMS_ENABLEMENT_COMPLETED:
        return "sms_enablement"
    parts = _record_parts(event_type)
    if parts is None:
        raise UnsupportedEvent("records", event_type)
    return parts[0]


def event_name(event_type: str) -> str:
    """The seed's ``type``: insert, update or delete."""
    if event_type == EventType.SMS_ENABLEMENT_COMPLETED:
        return "update"
    parts = _record_parts(event_type)
    if parts is None:
        raise UnsupportedEvent("records", event_type)
    return SEED_TYPE[parts[1]]


def schema(event_type: str, payloads: Payloads) -> dict[str, Any]:
    """The JSON Schema of the body sent for ``event_type``. ``data`` is a JSON
    string; its ``contentSchema`` describes the record inside it (as ``payloads``
    describes records)."""
    name = schema_of(event_type)
    body: dict[str, Any] = {
        "$schema": DIALECT, "title": f"records {event_type}", "type": "object",
        "additionalProperties": False,
    }
    if event_type == EventType.SMS_ENABLEMENT_COMPLETED:
        return body | {
            "required": ["type", "schema", "status", "verbose"],
            "properties": {"type": {"const": "update"}, "schema": {"const": name},
                           "status": {"enum": ["success", "error"]},
                           "verbose": {"type": "string"}},
        }
    record = payloads.record_schema(name)
    # Every seed field is sent (null when unset), and nothing else.
    record["additionalProperties"] = False
    record["required"] = list(record.get("properties", {}))
    return body | {
        "required": ["type", "schema", "data"],
        "properties": {
            "type": {"const": event_name(event_type)}, "schema": {"const": name},
            "data": {"type": "string", "contentMediaType": "application/json",
                     "contentSchema": record},
        },
    }
