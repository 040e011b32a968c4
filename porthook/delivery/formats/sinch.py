"""Format ``sinch``: the porting webhooks of seed ``000_daea8fd66a9fc9e7.txt``.

=================================  ===================  ==============================
porthook type                      seed event           body besides event/type/orderId
=================================  ===================  ==============================
porting_order.created              ORDER_UPDATED        ``order`` (OrderBaseItem)
porting_order.updated              ORDER_UPDATED        ``order``
porting_order.status_changed       ORDER_UPDATED        ``order``
porting_order.split                ORDER_UPDATED        ``order`` (the order the event
                                                        is about, numbers as they now are)
porting_order.document_added       ORDER_UPDATED        ``order`` (its ``documents`` grew)
porting_order.numbers_activated    NUMBERS_ACTIVATED    ``phoneNumbers``: those concerned
porting_order.numbers_confirmed    NUMBERS_CONFIRMED    ``phoneNumbers``: those concerned
porting_order.numbers_rejected     NUMBERS_REJECTED     ``phoneNumbers``: those concerned
porting_order.new_comment          NEW_ORDER_NOTE       ``note``: the comment's text
porting_order.messaging_changed    —                    not sent: OrderBaseItem carries
                                                        nothing about messaging
porting_order.deleted              —                    not sent: the seed has no such
                                                        event and no status for it
anything else                      —                    not sent
=================================  ===================  ==============================

Where the seed contradicts itself porthook keeps both readings working:

* the event name is ``event`` in the seed's schema and ``type`` in its samples:
  both keys are sent, with the same value;
* ``orderId`` is typed ``string`` in every schema but is a number in four of
  the five samples: porthook sends the decimal string of the order number
  (``"897867"``). The schema is the contract typed clients are generated from,
  and a string parses as a number everywhere (``int(orderId)``,
  ``Number(orderId)``), while a number fed to a string-typed client fails.
  ``order.id`` stays the number the schema says it is.

Order statuses map draft→ORDER_BUILDING; in-process, submitted,
exception→PENDING; foc-date-confirmed→CONFIRMED; ported→COMPLETED;
cancel-pending→PENDING_CANCELATION; cancelled→CANCELED. Number statuses are the
native ones upper-cased. ``documents[].id`` is porthook's document UUID (a
string, not the seed's number: it is what fetches the document from the API).
``notes[].createdBy`` is the comment's ``user_type`` ("user" for the customer,
"admin" for the porting desk). ``order.createdDate`` is the order's creation
time: the seed lists it after ``documents`` but describes it as "When the order
was created", and OrderDocumentBase is id, documentName, description only.
Strings the seed defaults to ``""`` (customerOrderReference, exclusionReason,
resellerName) are ``""`` when unset; other unset fields are ``null``.

Every phone number (PhoneNumberMinItem, in ORDER_UPDATED and NUMBERS_*) carries
the two objects the seed marks required, filled from the order since porthook
has no per-number override:

* ``endUser``: the seed names the key ("will override the endUser for the
  order") but folds the object; its keys are those of the expanded ORDER_UPDATED
  sample on the page the seed was taken from
  (developers.sinch.com/docs/numbers/api-reference/porting/tag/Webhooks):
  ``name`` (business name, else first and last name), ``streetNum`` and
  ``streetName`` (service address line 1 split at its leading house number),
  ``city``, ``state``, ``zipCode``;
* ``portOutInfo``: the seed shows only "object (PortOutItem)"; the key is the
  one of that expanded sample, whose single field is the PIN
  (``existingPortOutPin``). PINs are never sent (nor ``newPortOutPin``), so it
  is ``{}``: porthook's other port-out facts have no name in the seed.

The number fields the seed defines and porthook has no data for (the voice,
SMS and feature configurations, the phoneNumberGroup list) are not sent.
"""

from __future__ import annotations

from typing import Any

from porthook.delivery.formats.base import EventView, UnsupportedEvent, iso_z, order_of
from porthook.events.types import EventType

ORDER_STATUS = {
    "draft": "ORDER_BUILDING",
    "in-process": "PENDING",
    "submitted": "PENDING",
    "exception": "PENDING",
    "foc-date-confirmed": "CONFIRMED",
    "ported": "COMPLETED",
    "cancel-pending": "PENDING_CANCELATION",
    "cancelled": "CANCELED",
}

SEED_EVENT: dict[str, str] = {
    EventType.PORTING_ORDER_CREATED: "ORDER_UPDATED",
    EventType.PORTING_ORDER_UPDATED: "ORDER_UPDATED",
    EventType.PORTING_ORDER_STATUS_CHANGED: "ORDER_UPDATED",
    EventType.PORTING_ORDER_SPLIT: "ORDER_UPDATED",
    EventType.PORTING_ORDER_DOCUMENT_ADDED: "ORDER_UPDATED",
    EventType.PORTING_ORDER_NUMBERS_ACTIVATED: "NUMBERS_ACTIVATED",
    EventType.PORTING_ORDER_NUMBERS_CONFIRMED: "NUMBERS_CONFIRMED",
    EventType.PORTING_ORDER_NUMBERS_REJECTED: "NUMBERS_REJECTED",
    EventType.PORTING_ORDER_NEW_COMMENT: "NEW_ORDER_NOTE",
}


def supports(event_type: str) -> bool:
    return event_type in SEED_EVENT


def build(event: EventView) -> dict[str, Any]:
    if not supports(event.type):
        raise UnsupportedEvent("sinch", event.type)
    name = SEED_EVENT[event.type]
    order = order_of(event)
    body: dict[str, Any] = {"type": name, "event": name, "orderId": _order_id(order)}
    if name == "ORDER_UPDATED":
        body["order"] = order_item(order)
    elif name == "NEW_ORDER_NOTE":
        body["note"] = (event.data.get("comment") or {}).get("body", "")
    else:
        body["phoneNumbers"] = _phone_number_items(order, event.data.get("phone_numbers", []))
    return body


def _order_id(order: dict[str, Any]) -> str | None:
    number = order.get("order_number")
    return None if number is None else str(number)


def order_item(order: dict[str, Any]) -> dict[str, Any]:
    """The seed's OrderBaseItem, from porthook's order snapshot."""
    return {
        "id": order.get("order_number"),
        "customerOrderReference": order.get("customer_reference") or "",
        "desiredPortSchedule": {
            "desiredPortDate": order.get("desired_port_date"),
            "desiredPortTime": order.get("desired_port_time"),
            "desiredPortTimeZone": order.get("desired_port_time_zone"),
        },
        "status": ORDER_STATUS.get(str(order.get("status")), "PENDING"),
        "onDemandActivation": bool(order.get("on_demand_activation")),
        "phoneNumbers": _phone_number_items(order, order.get("phone_numbers") or []),
        "notes": [_note_item(c) for c in order.get("comments") or []],
        "documents": [_document_item(d) for d in order.get("documents") or []],
        "createdDate": iso_z(order.get("created_at")),
        "resellerName": order.get("reseller_name") or "",
    }


def _phone_number_items(order: dict[str, Any],
                        numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    end_user = _end_user_item(order.get("end_user") or {})
    return [_phone_number_item(n, end_user=end_user) for n in numbers]


def _phone_number_item(number: dict[str, Any], *, end_user: dict[str, Any]) -> dict[str, Any]:
    """The seed's PhoneNumberMinItem (also the order's phoneNumbers entries)."""
    return {
        "phoneNumber": number.get("phone_number"),
        "endUser": dict(end_user),
        # Only a PIN would go here (see the module docstring), never sent.
        "portOutInfo": {},
        "status": str(number.get("status") or "pending").upper(),
        "exclusionReason": number.get("exclusion_reason") or "",
        "exclusionTime": iso_z(number.get("exclusion_time")),
        "countryCode": number.get("country_code"),
        "activateTime": iso_z(number.get("activate_time")),
        "activateUser": number.get("activate_user"),
        "rejectReason": number.get("reject_reason"),
        "focDate": iso_z(number.get("foc_date")),
    }


def _end_user_item(end_user: dict[str, Any]) -> dict[str, Any]:
    """The seed's EndUser, with the keys of its expanded sample."""
    address = end_user.get("service_address") or {}
    street_num, street_name = split_street(address.get("line1"))
    return {
        "name": _end_user_name(end_user),
        "streetNum": street_num,
        "streetName": street_name,
        "city": address.get("city"),
        "state": address.get("state"),
        "zipCode": address.get("zip"),
    }


def _end_user_name(end_user: dict[str, Any]) -> str | None:
    # The seed's "name" is one field for a person or a company: the business
    # name when there is one (it is what the losing carrier's account holds).
    if end_user.get("business_name"):
        return str(end_user["business_name"])
    person = " ".join(p for p in (end_user.get("first_name"), end_user.get("last_name")) if p)
    return person or None


def split_street(line: str | None) -> tuple[str | None, str | None]:
    """``"123 Main St"`` → ``("123", "Main St")``; no leading house number → ``(None, line)``."""
    if not line:
        return None, None
    head, _, rest = line.strip().partition(" ")
    if head[:1].isdigit() and rest:
        return head, rest.strip()
    return None, line.strip()


def _note_item(comment: dict[str, Any]) -> dict[str, Any]:
    return {
        "note": comment.get("body"),
        "createdTime": iso_z(comment.get("inserted_at")),
        "createdBy": comment.get("user_type"),
    }


def _document_item(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": document.get("id"),
        "documentName": document.get("filename"),
        "description": document.get("document_type"),
    }
