"""Payload formats: pure functions from an event (and the attempt) to a body.

Each format of a seed lives in its own module naming that seed file:
``standard`` (Standard Webhooks envelope, porthook's own types), ``telnyx``
(seed 001), ``sinch`` (seed 000), ``records`` (seed 002). A format that has no
equivalent for an event type says so through ``supports`` and the event is not
sent to endpoints of that format. E-mail endpoints get ``email.render_email``
whatever their format, for every event type.

Which event types each format sends (the detail is in each module's docstring):

==================================  ========  ======================  ==================  ========
porthook type                       standard  telnyx                  sinch               records
==================================  ========  ======================  ==================  ========
porting_order.created               yes       —                       ORDER_UPDATED       —
porting_order.updated               yes       —                       ORDER_UPDATED       —
porting_order.status_changed        yes       status_changed          ORDER_UPDATED       —
porting_order.new_comment           yes       new_comment             NEW_ORDER_NOTE      —
porting_order.split                 yes       split                   ORDER_UPDATED       —
porting_order.messaging_changed     yes       messaging_changed (v2)  —                   —
porting_order.deleted               yes       deleted (v2)            —                   —
porting_order.numbers_confirmed     yes       —                       NUMBERS_CONFIRMED   —
porting_order.numbers_rejected      yes       —                       NUMBERS_REJECTED    —
porting_order.numbers_activated     yes       —                       NUMBERS_ACTIVATED   —
porting_order.document_added        yes       —                       ORDER_UPDATED       —
record.<schema>.inserted            yes       —                       —                   insert
record.<schema>.updated             yes       —                       —                   update
record.<schema>.deleted             yes       —                       —                   delete
sms_enablement.completed            yes       —                       —                   update
endpoint.failing|disabled|recovered yes       —                       —                   —
==================================  ========  ======================  ==================  ========

Porting orders reach ``records`` endpoints as their ``lnp_requests`` /
``lnp_numbers`` record events, which the records domain emits alongside.

``render`` returns compact UTF-8 JSON. Whatever the format, keys that name a
secret (PINs, passwords) are dropped from the output (see ``base.without_secrets``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from porthook import jsoncodec
from porthook.delivery.formats import records, sinch, standard, telnyx
from porthook.delivery.formats.base import (
    Attempt,
    EventView,
    Payloads,
    UnsupportedEvent,
    is_secret_key,
    without_secrets,
)

if TYPE_CHECKING:
    from porthook.events.models import Event

__all__ = [
    "FORMATS",
    "Attempt",
    "EventView",
    "Payloads",
    "UnsupportedEvent",
    "build",
    "event_name",
    "event_view",
    "render",
    "schema",
    "supports",
]

FORMATS = ("standard", "telnyx", "sinch", "records")
_SUPPORTS: dict[str, Callable[[str], bool]] = {
    "standard": standard.supports,
    "telnyx": telnyx.supports,
    "sinch": sinch.supports,
    "records": records.supports,
}


def _check(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")


def supports(format: str, event_type: str) -> bool:
    """Whether endpoints of ``format`` receive events of ``event_type``."""
    _check(format)
    return _SUPPORTS[format](event_type)


# Per format: the name it gives a porthook type, and the JSON Schema of its body
# (each written once, in the format's own module).
_EVENT_NAME: dict[str, Callable[[str], str]] = {
    "standard": standard.event_name,
    "telnyx": telnyx.event_name,
    "sinch": sinch.event_name,
    "records": records.event_name,
}


def _self_contained(
    schema: Callable[[str], dict[str, Any]],
) -> Callable[[str, Payloads], dict[str, Any]]:
    """A format whose bodies embed none of porting's or records' models (seed
    001's and 000's fields are written out in full) needs no ``Payloads``."""
    return lambda event_type, _payloads: schema(event_type)


_SCHEMA: dict[str, Callable[[str, Payloads], dict[str, Any]]] = {
    "standard": standard.schema,
    "telnyx": _self_contained(telnyx.schema),
    "sinch": _self_contained(sinch.schema),
    "records": records.schema,
}


def event_name(format: str, event_type: str) -> str:
    """What ``format`` calls ``event_type`` (``NUMBERS_CONFIRMED``, ``insert``...).
    Raises ``UnsupportedEvent`` (see ``supports``)."""
    if not supports(format, event_type):
        raise UnsupportedEvent(format, event_type)
    return _EVENT_NAME[format](event_type)


def schema(format: str, event_type: str, payloads: Payloads) -> dict[str, Any]:
    """The JSON Schema of the bodies ``format`` sends for ``event_type``, embedding
    the schemas of event data that ``payloads`` gives (see ``Payloads``).
    Raises ``UnsupportedEvent`` (see ``supports``)."""
    if not supports(format, event_type):
        raise UnsupportedEvent(format, event_type)
    described = _SCHEMA[format](event_type, payloads)
    cleaned: dict[str, Any] = _secret_properties_dropped(described)
    return cleaned


def _secret_properties_dropped(schema: Any) -> Any:
    """``schema`` without the properties ``render`` drops from every body (secret-named
    keys, see ``without_secrets``), so it describes what is really sent."""
    if isinstance(schema, list):
        return [_secret_properties_dropped(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {key: _secret_properties_dropped(value) for key, value in schema.items()}
    if isinstance(cleaned.get("properties"), dict):
        cleaned["properties"] = {name: value for name, value in cleaned["properties"].items()
                                 if not is_secret_key(name)}
    if isinstance(cleaned.get("required"), list):
        cleaned["required"] = [name for name in cleaned["required"] if not is_secret_key(name)]
    return cleaned


def build(format: str, event: EventView, attempt: Attempt) -> dict[str, Any]:
    """The body as a JSON-ready dict. Raises ``UnsupportedEvent`` (see ``supports``)."""
    cleaned: dict[str, Any] = without_secrets(_body(format, event, attempt))
    return cleaned


def render(format: str, event: EventView, attempt: Attempt) -> bytes:
    """The body to send: compact JSON, UTF-8. Raises ``UnsupportedEvent``."""
    body = _body(format, event, attempt)
    encoded = jsoncodec.dumps(body)
    # The secrets walk costs as much as the JSON encoding itself, on every
    # delivery; a body whose text names no secret anywhere has no such key.
    if _may_name_a_secret(encoded):
        encoded = jsoncodec.dumps(without_secrets(body))
    return encoded


# Every key base.is_secret_key matches contains one of these, case aside
# (ASCII words: bytes.lower() finds them whatever the case).
_SECRET_WORDS = (b"pin", b"password", b"secret", b"credential")


def _may_name_a_secret(encoded: bytes) -> bool:
    lowered = encoded.lower()  # ten times faster than a case-insensitive regex here
    return any(word in lowered for word in _SECRET_WORDS)


def _body(format: str, event: EventView, attempt: Attempt) -> dict[str, Any]:
    _check(format)
    if not supports(format, event.type):
        raise UnsupportedEvent(format, event.type)
    if format == "telnyx":
        return telnyx.build(event, attempt)
    if format == "sinch":
        return sinch.build(event)
    if format == "records":
        return records.build(event)
    return standard.build(event)


def event_view(event: Event) -> EventView:
    """A plain, detached copy of an ``events`` row (safe outside its session)."""
    return EventView(
        id=event.id,
        type=event.type,
        account_id=event.account_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        data=copy.deepcopy(event.data),
    )
