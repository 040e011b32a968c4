"""porthook's own event types and what each event's ``data`` holds.

``data`` is a snapshot taken in the transaction of the change, so a delivery
made hours later still tells what was true at that moment. Secrets (PINs,
credentials) are never part of a snapshot.

Porting-order events (subject ``porting_order``/<order id>) carry
``data["porting_order"]``: the order as ``GET /v1/porting-orders/{id}`` returns
it (``porthook.porting.schemas.PortingOrderPublic``), plus per type. The one
exception is ``new_comment``: its ``porting_order`` is the order without its
``phone_numbers``, ``comments`` and ``documents`` (``PortingOrderSummary``),
so that the event's size and cost stay the same however many comments the
order has; what every format reads from it is there.

======================================  =============================================
type                                    extra keys in ``data``
======================================  =============================================
porting_order.created                   —
porting_order.updated                   ``changed_fields``: list of field names
porting_order.status_changed            ``previous_status``
porting_order.new_comment               ``comment``: {id, body, user_type, user_id,
                                        inserted_at}; user_type "user" | "admin";
                                        ``porting_order``: the summary (see above)
porting_order.split                     ``from``: {id}, ``to``: {id}, ``phone_number``
porting_order.messaging_changed         ``previous_messaging_port_status``
porting_order.deleted                   ``deleted_at``
porting_order.numbers_confirmed         ``phone_numbers``: the numbers concerned,
porting_order.numbers_rejected          each as in ``porting_order.phone_numbers``
porting_order.numbers_activated
porting_order.document_added            ``document``: {id, document_type, filename,
                                        content_type, size, sha256, created_at}
======================================  =============================================

Record events (subject ``<schema>``/<record id>), for every schema of seed 002
(``porthook.records``), including ``lnp_requests``/``lnp_numbers`` which are
views of porting orders: ``record.<schema>.inserted|updated|deleted`` with
``data = {"schema": <schema>, "record": {<seed fields, seed order, no secrets>}}``.

``sms_enablement.completed``: ``{"did_id", "number", "status": "success"|"error",
"verbose"}``. Endpoint health events (subject ``endpoint``/<endpoint id>):
``endpoint.failing|disabled|recovered`` with ``{"endpoint": {...}, "reason"}``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum


class EventType(StrEnum):
    PORTING_ORDER_CREATED = "porting_order.created"
    PORTING_ORDER_UPDATED = "porting_order.updated"
    PORTING_ORDER_STATUS_CHANGED = "porting_order.status_changed"
    PORTING_ORDER_NEW_COMMENT = "porting_order.new_comment"
    PORTING_ORDER_SPLIT = "porting_order.split"
    PORTING_ORDER_MESSAGING_CHANGED = "porting_order.messaging_changed"
    PORTING_ORDER_DELETED = "porting_order.deleted"
    PORTING_ORDER_NUMBERS_CONFIRMED = "porting_order.numbers_confirmed"
    PORTING_ORDER_NUMBERS_REJECTED = "porting_order.numbers_rejected"
    PORTING_ORDER_NUMBERS_ACTIVATED = "porting_order.numbers_activated"
    PORTING_ORDER_DOCUMENT_ADDED = "porting_order.document_added"
    SMS_ENABLEMENT_COMPLETED = "sms_enablement.completed"
    ENDPOINT_FAILING = "endpoint.failing"
    ENDPOINT_DISABLED = "endpoint.disabled"
    ENDPOINT_RECOVERED = "endpoint.recovered"


RECORD_OPERATIONS = ("inserted", "updated", "deleted")


def record_event_type(schema: str, operation: str) -> str:
    """``record.<schema>.<operation>``: one type per schema of seed 002."""
    if operation not in RECORD_OPERATIONS:
        raise ValueError(f"unknown record operation {operation!r}")
    return f"record.{schema}.{operation}"


# Event-type filters (endpoints, profiles, ``GET /v1/events?type=``): an exact
# type, a family such as ``porting_order.*`` or ``record.dids.*``, or ``*``.
# This is the one statement of the rule; the SQL of the events list reads it
# through ``family_prefix``.
ALL = "*"
FAMILY_SUFFIX = ".*"


def family_prefix(pattern: str) -> str | None:
    """``"porting_order.*"`` → ``"porting_order."``; ``"*"`` → ``""``; an exact type → None."""
    if pattern == ALL:
        return ""
    if pattern.endswith(FAMILY_SUFFIX):
        return pattern[:-1]
    return None


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether ``event_type`` passes the filter (an empty filter passes everything)."""
    if not patterns:
        return True
    for pattern in patterns:
        prefix = family_prefix(pattern)
        if pattern == event_type or (prefix is not None and event_type.startswith(prefix)):
            return True
    return False


def unmatched(patterns: Sequence[str], known: Collection[str]) -> list[str]:
    """The patterns that select none of the ``known`` types: a subscription to
    ``porting_order.nope`` would be accepted and never fire."""
    return [p for p in patterns if not any(matches([p], known_type) for known_type in known)]


def check_patterns(patterns: Sequence[str], known: Collection[str]) -> None:
    """Raise ``ValueError`` naming the first pattern that selects none of ``known``."""
    for pattern in unmatched(patterns, known):
        raise ValueError(
            f"{pattern!r} matches no event type porthook emits; expected a type such as "
            "'porting_order.status_changed', a family such as 'porting_order.*' or "
            "'record.dids.*', or '*' (the list: GET /v1/event-types)"
        )
