"""Format ``telnyx``: the port-in notifications of seed ``001_eb60501d0a6d1371.txt``.

The seed shows two shapes and porthook sends each event in the shape the seed
shows it in, key for key:

=================================  =========  ===========================================
porthook type                      shape      payload
=================================  =========  ===========================================
porting_order.status_changed       envelope   customer_reference, id, status {details,
                                              value}, support_key, updated_at, webhook_url
porting_order.new_comment          envelope   comment {body, id, inserted_at, user_id,
                                              user_type}, porting_order_id, support_key
porting_order.split                envelope   from {id}, to {id} (one event per number)
porting_order.messaging_changed    v2         id, customer_reference, messaging
                                              {messaging_capable, enable_messaging,
                                              messaging_port_status}, support_key
porting_order.deleted              v2         id, customer_reference, deleted_at
anything else                      —          not sent to endpoints of this format
=================================  =========  ===========================================

envelope: ``{"data": {"event_type", "id", "occurred_at", "payload",
"record_type": "event"}, "meta": {"attempt", "delivered_to"}}``.
v2: ``{"id", "event_type", "occurred_at", "urls": [delivered_to],
"organization_id", "format": "v2", "payload"}``.

``id`` is always the event id (stable across retries); ``organization_id`` is
the account id; ``meta`` / ``urls`` are filled per attempt. Timestamps follow
the seed's samples: the envelope's ``occurred_at`` with microseconds and ``Z``
(every envelope sample), ``updated_at`` in whole seconds with ``+00:00`` (six of
the seven status samples), ``inserted_at``, and everything in the v2 shape, in
whole seconds with ``Z``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from porthook.delivery.formats.base import (
    Attempt,
    EventView,
    UnsupportedEvent,
    iso_offset,
    iso_z,
    order_of,
)
from porthook.events.types import EventType

Payload = dict[str, Any]


def _status_changed(event: EventView) -> Payload:
    order = order_of(event)
    return {
        "customer_reference": order.get("customer_reference"),
        "id": order.get("id"),
        "status": {
            "details": [
                {"code": d.get("code"), "description": d.get("description")}
                for d in order.get("status_details") or []
            ],
            "value": order.get("status"),
        },
        "support_key": order.get("support_key"),
        "updated_at": iso_offset(order.get("updated_at")),
        "webhook_url": order.get("webhook_url"),
    }


def _new_comment(event: EventView) -> Payload:
    order = order_of(event)
    comment = event.data.get("comment") or {}
    return {
        "comment": {
            "body": comment.get("body"),
            "id": comment.get("id"),
            "inserted_at": iso_z(comment.get("inserted_at")),
            "user_id": comment.get("user_id"),
            "user_type": comment.get("user_type"),
        },
        "porting_order_id": order.get("id", event.subject_id),
        "support_key": order.get("support_key"),
    }


def _split(event: EventView) -> Payload:
    moved_from = event.data.get("from") or {}
    moved_to = event.data.get("to") or {}
    return {"from": {"id": moved_from.get("id")}, "to": {"id": moved_to.get("id")}}


def _messaging_changed(event: EventView) -> Payload:
    order = order_of(event)
    messaging = order.get("messaging") or {}
    return {
        "id": order.get("id", event.subject_id),
        "customer_reference": order.get("customer_reference"),
        "messaging": {
            "messaging_capable": messaging.get("messaging_capable"),
            "enable_messaging": messaging.get("enable_messaging"),
            "messaging_port_status": messaging.get("messaging_port_status"),
        },
        "support_key": order.get("support_key"),
    }


def _deleted(event: EventView) -> Payload:
    order = order_of(event)
    return {
        "id": order.get("id", event.subject_id),
        "customer_reference": order.get("customer_reference"),
        "deleted_at": iso_z(event.data.get("deleted_at") or event.occurred_at),
    }


_ENVELOPE: dict[str, Callable[[EventView], Payload]] = {
    EventType.PORTING_ORDER_STATUS_CHANGED: _status_changed,
    EventType.PORTING_ORDER_NEW_COMMENT: _new_comment,
    EventType.PORTING_ORDER_SPLIT: _split,
}
_V2: dict[str, Callable[[EventView], Payload]] = {
    EventType.PORTING_ORDER_MESSAGING_CHANGED: _messaging_changed,
    EventType.PORTING_ORDER_DELETED: _deleted,
}
SUPPORTED = frozenset(_ENVELOPE) | frozenset(_V2)


def supports(event_type: str) -> bool:
    return event_type in SUPPORTED


def build(event: EventView, attempt: Attempt) -> Payload:
    if not supports(event.type):
        raise UnsupportedEvent("telnyx", event.type)
    if event.type in _ENVELOPE:
        return {
            "data": {
                "event_type": event.type,
                "id": str(event.id),
                "occurred_at": iso_z(event.occurred_at, micro=True),
                "payload": _ENVELOPE[event.type](event),
                "record_type": "event",
            },
            "meta": {"attempt": attempt.number, "delivered_to": attempt.delivered_to},
        }
    return {
        "id": str(event.id),
        "event_type": event.type,
        "occurred_at": iso_z(event.occurred_at),
        "urls": [attempt.delivered_to],
        "organization_id": str(event.account_id),
        "format": "v2",
        "payload": _V2[event.type](event),
    }


def event_name(event_type: str) -> str:
    """Seed 001 names events as porthook does (``porting_order.status_changed``)."""
    return event_type


DIALECT = "https://json-schema.org/draft/2020-12/schema"
_STRING = {"type": "string"}
_OPTIONAL_STRING = {"type": ["string", "null"]}
_UUID = {"type": "string", "format": "uuid"}


def _closed(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": properties}


def _all_required(**properties: Any) -> dict[str, Any]:
    return _closed(list(properties), **properties)


_PAYLOADS: dict[str, dict[str, Any]] = {
    EventType.PORTING_ORDER_STATUS_CHANGED: _all_required(
        customer_reference=_OPTIONAL_STRING, id=_UUID,
        status=_all_required(
            details={"type": "array", "items": _all_required(
                code=_STRING, description=_OPTIONAL_STRING)},
            value=_STRING),
        support_key=_STRING, updated_at=_STRING, webhook_url=_OPTIONAL_STRING),
    EventType.PORTING_ORDER_NEW_COMMENT: _all_required(
        comment=_all_required(body=_STRING, id=_UUID, inserted_at=_STRING,
                              user_id=_OPTIONAL_STRING,
                              user_type={"type": "string", "enum": ["user", "admin"]}),
        porting_order_id=_UUID, support_key=_STRING),
    EventType.PORTING_ORDER_SPLIT: _all_required(
        **{"from": _all_required(id=_UUID), "to": _all_required(id=_UUID)}),
    EventType.PORTING_ORDER_MESSAGING_CHANGED: _all_required(
        id=_UUID, customer_reference=_OPTIONAL_STRING,
        messaging=_all_required(messaging_capable={"type": "boolean"},
                                enable_messaging={"type": "boolean"},
                                messaging_port_status=_STRING),
        support_key=_STRING),
    EventType.PORTING_ORDER_DELETED: _all_required(
        id=_UUID, customer_reference=_OPTIONAL_STRING, deleted_at=_STRING),
}


def schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the body sent for ``event_type``, in its seed shape."""
    if not supports(event_type):
        raise UnsupportedEvent("telnyx", event_type)
    payload = _PAYLOADS[event_type]
    kind = {"type": "string", "const": event_type}
    if event_type in _ENVELOPE:
        body = _all_required(
            data=_all_required(event_type=kind, id=_UUID, occurred_at=_STRING,
                               payload=payload, record_type={"const": "event"}),
            meta=_all_required(attempt={"type": "integer", "minimum": 1},
                               delivered_to=_STRING))
    else:
        body = _all_required(
            id=_UUID, event_type=kind, occurred_at=_STRING,
            urls={"type": "array", "items": _STRING}, organization_id=_UUID,
            format={"const": "v2"}, payload=payload)
    return {"$schema": DIALECT, "title": f"telnyx {event_type}", **body}
