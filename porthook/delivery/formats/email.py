"""E-mail notifications: one readable message per event, for every event type.

E-mail endpoints (seed 001's email channel, and the account contact told about
a disabled endpoint) get this whatever their format. Porting-order events use
``templates/email_porting_order.*``: the order's support key and customer
reference, its status with the exception details, the numbers concerned, the
comment... Record, SMS-enablement and endpoint events use the generic
``templates/email_generic.*``, which lists the facts of the event. Both come as
plain text and HTML (autoescaped). Secrets never reach a template: the event
data goes through ``without_secrets`` first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jinja2

from porthook.delivery.formats.base import EventView, iso_z, without_secrets

Facts = list[tuple[str, str]]

STATUS_LABELS = {
    "draft": "Draft",
    "in-process": "In process",
    "submitted": "Submitted",
    "exception": "Exception",
    "foc-date-confirmed": "FOC date confirmed",
    "ported": "Ported",
    "cancel-pending": "Cancel pending",
    "cancelled": "Cancelled",
}
NUMBER_EVENTS = {
    "porting_order.numbers_confirmed": "confirmed",
    "porting_order.numbers_rejected": "rejected",
    "porting_order.numbers_activated": "activated",
}

# Events after which a person wants to see where every number of the order stands.
ORDER_NUMBER_EVENTS = frozenset(
    {"porting_order.created", "porting_order.status_changed", "porting_order.split"}
)


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


@functools.cache
def _environment() -> jinja2.Environment:
    # Built on first use, not at import; .txt templates must not be escaped.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("porthook.delivery", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(event: EventView, *, account_name: str) -> EmailContent:
    data = without_secrets(event.data)
    if event.type.startswith("porting_order."):
        context = _porting_context(event, data)
        template = "email_porting_order"
    else:
        context = _generic_context(event, data)
        template = "email_generic"
    context |= {
        "account_name": account_name,
        "event_id": str(event.id),
        "event_type": event.type,
        "occurred_at": iso_z(event.occurred_at),
    }
    environment = _environment()
    return EmailContent(
        subject=_one_line(f"[{account_name}] {context['headline']}"),
        text=environment.get_template(f"{template}.txt").render(context),
        html=environment.get_template(f"{template}.html").render(context),
    )


def _one_line(text: str) -> str:
    # A subject is a header: a line break in it would let data forge headers.
    return " ".join(text.split())


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "unknown")


def _porting_context(event: EventView, data: dict[str, Any]) -> dict[str, Any]:
    order = data.get("porting_order") or {}
    name = order.get("support_key") or event.subject_id
    numbers_concerned = event.type in NUMBER_EVENTS
    if numbers_concerned:
        numbers = data.get("phone_numbers")
    elif event.type in ORDER_NUMBER_EVENTS:
        numbers = order.get("phone_numbers")
    else:
        numbers = []  # a comment or a document: the list of numbers would only be noise
    return {
        "headline": _porting_headline(event.type, name, data),
        "facts": _order_facts(order),
        "details": order.get("status_details") or [],
        "numbers_title": "Numbers concerned" if numbers_concerned else "Numbers on the order",
        "numbers": [_number_row(n) for n in numbers or []],
        "comment": _comment(data) if event.type == "porting_order.new_comment" else None,
        "extra": _porting_extra(event.type, data),
    }


def _porting_headline(event_type: str, name: str, data: dict[str, Any]) -> str:
    order = data.get("porting_order") or {}
    if event_type in NUMBER_EVENTS:
        count = len(data.get("phone_numbers") or [])
        plural = "number" if count == 1 else "numbers"
        return f"{count} {plural} {NUMBER_EVENTS[event_type]} on porting order {name}"
    headlines = {
        "porting_order.created": f"Porting order {name} created",
        "porting_order.updated": f"Porting order {name} updated",
        "porting_order.status_changed": (
            f"Porting order {name} is now {status_label(order.get('status'))}"
        ),
        "porting_order.new_comment": f"New comment on porting order {name}",
        "porting_order.split": f"Porting order {name} split",
        "porting_order.messaging_changed": (
            f"Messaging on porting order {name}: "
            f"{(order.get('messaging') or {}).get('messaging_port_status')}"
        ),
        "porting_order.deleted": f"Draft porting order {name} deleted",
        "porting_order.document_added": f"Document added to porting order {name}",
    }
    return headlines.get(event_type, f"Porting order {name}: {event_type}")


def _order_facts(order: dict[str, Any]) -> Facts:
    schedule = " ".join(
        str(order[k])
        for k in ("desired_port_date", "desired_port_time", "desired_port_time_zone")
        if order.get(k)
    )
    facts = [
        ("Support key", order.get("support_key")),
        ("Customer reference", order.get("customer_reference")),
        ("Order number", order.get("order_number")),
        ("Status", status_label(order.get("status")) if order.get("status") else None),
        ("Desired port", schedule),
        ("FOC date", order.get("foc_date")),
        ("Order id", order.get("id")),
    ]
    return [(label, str(value)) for label, value in facts if value not in (None, "")]


def _comment(data: dict[str, Any]) -> dict[str, str]:
    comment = data.get("comment") or {}
    author = "the porting desk" if comment.get("user_type") == "admin" else "the customer"
    return {"body": str(comment.get("body") or ""), "author": author,
            "at": str(comment.get("inserted_at") or "")}


def _number_row(number: dict[str, Any]) -> dict[str, str]:
    note = number.get("reject_reason") or number.get("exclusion_reason") or ""
    when = number.get("activate_time") or number.get("foc_date") or ""
    return {
        "phone_number": str(number.get("phone_number") or ""),
        "status": str(number.get("status") or ""),
        "note": str(note),
        "when": str(when),
    }


def _porting_extra(event_type: str, data: dict[str, Any]) -> Facts:
    """The facts one event type adds to the order's own."""
    order = data.get("porting_order") or {}
    if event_type == "porting_order.split":
        pairs = [("Number moved", data.get("phone_number")),
                 ("From order", (data.get("from") or {}).get("id")),
                 ("To order", (data.get("to") or {}).get("id"))]
    elif event_type == "porting_order.status_changed":
        pairs = [("Previous status", status_label(data.get("previous_status")))]
    elif event_type == "porting_order.messaging_changed":
        messaging = order.get("messaging") or {}
        pairs = [("Messaging port status", messaging.get("messaging_port_status")),
                 ("Previous", data.get("previous_messaging_port_status"))]
    elif event_type == "porting_order.deleted":
        pairs = [("Deleted at", data.get("deleted_at"))]
    elif event_type == "porting_order.updated":
        pairs = [("Changed", ", ".join(data.get("changed_fields") or []))]
    elif event_type == "porting_order.document_added":
        document = data.get("document") or {}
        pairs = [("Document", document.get("filename")),
                 ("Type", document.get("document_type"))]
    else:
        pairs = []
    return [(label, str(value)) for label, value in pairs if value not in (None, "")]


def _generic_context(event: EventView, data: dict[str, Any]) -> dict[str, Any]:
    if event.type.startswith("record."):
        _, _, rest = event.type.partition(".")
        schema, _, operation = rest.rpartition(".")
        headline = f"{schema} record {event.subject_id} {operation}"
        facts = _flat_facts(data.get("record") or {})
    elif event.type.startswith("endpoint."):
        endpoint = data.get("endpoint") or {}
        target = endpoint.get("url") or endpoint.get("address") or event.subject_id
        headline = f"Notification endpoint {target} {event.type.partition('.')[2]}"
        facts = [("Reason", str(data.get("reason") or "")), *_flat_facts(endpoint)]
    else:
        headline = f"{event.type}: {data.get('number') or event.subject_id} {data.get('status')}"
        facts = _flat_facts(data)
    return {"headline": headline, "facts": [(k, v) for k, v in facts if v != ""]}


def _flat_facts(values: dict[str, Any]) -> Facts:
    return [(str(key), _plain(value)) for key, value in values.items()]


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    return str(value)
