"""Every event type porthook emits: its name, description and subject, and the
formats that carry it.

Event-type filters (endpoints, profiles, the events list) are checked against
this list (``check_patterns``): a subscription to a type that does not exist is
refused instead of silently never firing. The published catalog of
``GET /v1/event-types``, with each format's schema and an example body, is
``porthook.catalog``: it needs porting's and records' models, which delivery
must not import.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from porthook.delivery import formats
from porthook.events import types as event_types
from porthook.events.types import (
    RECORD_OPERATIONS,
    EventType,
    matches,
    record_event_type,
)
from porthook.records.registry import SCHEMAS

__all__ = ["carried_by", "check_patterns", "describe", "matches", "subject_type", "type_names"]

_DESCRIPTIONS: dict[str, str] = {
    EventType.PORTING_ORDER_CREATED: "A porting order was created (by the customer, or by "
    "the desk splitting numbers off an order). data.porting_order is the order as "
    "GET /v1/porting-orders/{id} shows it.",
    EventType.PORTING_ORDER_UPDATED: "Fields of a porting order changed; changed_fields "
    "names them.",
    EventType.PORTING_ORDER_STATUS_CHANGED: "A porting order moved to another status "
    "(submitted, exception, foc-date-confirmed, ported...); previous_status is the one "
    "it left.",
    EventType.PORTING_ORDER_NEW_COMMENT: "A comment was added to a porting order, by the "
    "customer (user_type user) or the porting desk (admin).",
    EventType.PORTING_ORDER_SPLIT: "The desk moved a number to a new order: one event per "
    "number, from the original order to the new one.",
    EventType.PORTING_ORDER_MESSAGING_CHANGED: "The messaging port status of an order "
    "changed.",
    EventType.PORTING_ORDER_DELETED: "A draft porting order was deleted (by the customer, "
    "or when the draft expired).",
    EventType.PORTING_ORDER_NUMBERS_CONFIRMED: "Numbers of an order were confirmed by the "
    "losing carrier; phone_numbers lists those concerned, with their FOC date.",
    EventType.PORTING_ORDER_NUMBERS_REJECTED: "Numbers of an order were rejected; each "
    "carries the reason and when.",
    EventType.PORTING_ORDER_NUMBERS_ACTIVATED: "Numbers of an order were activated: they "
    "now ring on the new network.",
    EventType.PORTING_ORDER_DOCUMENT_ADDED: "A document (LOA, invoice, CSR) was attached "
    "to a porting order.",
    EventType.SMS_ENABLEMENT_COMPLETED: "An SMS enablement request of a DID finished "
    "(status success or error, with seed 002's verbose reason).",
    EventType.ENDPOINT_FAILING: "Every attempt to an endpoint has failed for a while; "
    "reason is the last failure. Deliveries go on being retried.",
    EventType.ENDPOINT_DISABLED: "An endpoint was disabled (it kept failing, or answered "
    "410 Gone); its events are kept until it is enabled again.",
    EventType.ENDPOINT_RECOVERED: "An endpoint that was failing took an attempt again.",
}
_RECORD_VERBS = {"inserted": "created", "updated": "changed", "deleted": "deleted"}


def subject_type(event_type: str) -> str:
    """What an event of this type is about (its ``subject.type``)."""
    if event_type.startswith("porting_order."):
        return "porting_order"
    if event_type.startswith("endpoint."):
        return "endpoint"
    if event_type == EventType.SMS_ENABLEMENT_COMPLETED:
        return "sms_enablement"
    return event_type.split(".")[1]  # record.<schema>.<operation>


@functools.cache
def type_names() -> tuple[str, ...]:
    """Every type porthook emits: its own, then ``record.<schema>.<operation>``
    for each schema of seed 002, in the seed's order."""
    records = (record_event_type(schema, operation)
               for schema in SCHEMAS for operation in RECORD_OPERATIONS)
    return (*(str(t) for t in EventType), *records)


def describe(event_type: str) -> str:
    if event_type in _DESCRIPTIONS:
        return _DESCRIPTIONS[event_type]
    schema, operation = event_type.split(".")[1:]
    return (f"A record of seed 002's {schema} schema was {_RECORD_VERBS[operation]}; "
            "data.record holds its seed fields (no secrets).")


def check_patterns(patterns: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first pattern that selects no type."""
    event_types.check_patterns(patterns, type_names())


def carried_by(event_type: str) -> list[str]:
    """The formats whose endpoints receive this type."""
    return [f for f in formats.FORMATS if formats.supports(f, event_type)]
