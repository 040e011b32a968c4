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
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from porthook.delivery.formats.base import EventView, iso_z
from porthook.events.types import EventType


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


def schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the body sent for ``event_type``: the envelope strict,
    ``data`` as the models the API itself returns (order, comment, endpoint...)."""
    data = _data_model(event_type).model_json_schema(mode="serialization")
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


def _data_model(event_type: str) -> type[BaseModel]:
    # Imported here, not at the top: the API's models are for the catalog only,
    # and the worker that renders bodies never needs them.
    from porthook.delivery.schemas import EndpointPublic
    from porthook.porting import schemas as porting
    order: dict[str, Any] = {"porting_order": (porting.PortingOrderPublic, ...)}
    numbers = {"phone_numbers": (list[porting.PhoneNumberPublic], ...)}
    extra: dict[str, dict[str, Any]] = {
        EventType.PORTING_ORDER_CREATED: order,
        EventType.PORTING_ORDER_UPDATED: {**order, "changed_fields": (list[str], ...)},
        EventType.PORTING_ORDER_STATUS_CHANGED: {**order, "previous_status": (str, ...)},
        EventType.PORTING_ORDER_NEW_COMMENT: {**order, "comment": (porting.CommentPublic, ...)},
        EventType.PORTING_ORDER_SPLIT: {
            **order, "from_": (_OrderRef, Field(alias="from")), "to": (_OrderRef, ...),
            "phone_number": (str, ...)},
        EventType.PORTING_ORDER_MESSAGING_CHANGED: {
            **order, "previous_messaging_port_status": (str, ...)},
        EventType.PORTING_ORDER_DELETED: {**order, "deleted_at": (datetime, ...)},
        EventType.PORTING_ORDER_NUMBERS_CONFIRMED: {**order, **numbers},
        EventType.PORTING_ORDER_NUMBERS_REJECTED: {**order, **numbers},
        EventType.PORTING_ORDER_NUMBERS_ACTIVATED: {**order, **numbers},
        EventType.PORTING_ORDER_DOCUMENT_ADDED: {
            **order, "document": (porting.DocumentPublic, ...)},
        EventType.SMS_ENABLEMENT_COMPLETED: {
            "did_id": (int, ...), "number": (str, ...),
            "status": (Literal["success", "error"], ...), "verbose": (str, ...)},
    }
    endpoint = {"endpoint": (EndpointPublic, ...), "reason": (str, ...)}
    fields = extra.get(event_type) or (
        endpoint if event_type.startswith("endpoint.") else _record_fields(event_type))
    return create_model(_model_name(event_type), __base__=_Envelope, **fields)


def _record_fields(event_type: str) -> dict[str, Any]:
    from porthook.delivery.formats import records

    name = records.schema_of(event_type)
    return {"schema_": (str, Field(alias="schema", json_schema_extra={"const": name})),
            "record": (records.record_model(name), ...)}


def _model_name(event_type: str) -> str:
    return "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Data"


class _Subject(BaseModel):
    type: str = Field(description="porting_order, endpoint, sms_enablement or a records schema")
    id: str


class _Envelope(BaseModel):
    """The keys every ``data`` starts with (see the module docstring)."""

    id: uuid.UUID = Field(description="The event id, also the webhook-id header")
    account_id: uuid.UUID
    subject: _Subject
    sequence: int = Field(ge=1, description="1, 2, 3... per subject")


class _OrderRef(BaseModel):
    id: uuid.UUID
