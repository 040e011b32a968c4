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
native ones upper-cased. ``notes[].createdBy`` is the comment's ``user_type``
("user" for the customer, "admin" for the porting desk). ``order.createdDate``
is the order's creation time: the seed lists it after ``documents`` but
describes it as "When the order was created", and OrderDocumentBase is id,
documentName, description only.

Unset fields are left out, never ``null``: the seed types them as strings and
strict receivers refuse a null string. The three strings the seed defaults to
``""`` (customerOrderReference, exclusionReason, resellerName) are sent as
``""`` when unset, which is the seed's own default.

* ``desiredPortSchedule``: the seed marks ``desiredPortDate`` required inside
  it, but not the object itself. A draft without a desired date has no
  schedule yet, so the object is left out rather than sent with an invented
  date (any date porthook made up would be read as the customer's wish); it
  appears as soon as the order has a date. Time and time zone are left out
  when unset: the seed says the provider's defaults then apply.
* A REJECTED or EXCLUDED number carries ``exclusionReason`` (the exclusion
  reason, else the rejection reason) and ``exclusionTime`` (when it was
  excluded or rejected), as the seed says ("there would be exclusion reason
  along with date of exclusion"); ``rejectReason`` stays the rejection reason.
* ``documents[].id`` is a number, as the seed says: the top 53 bits of the
  document's UUID, stable for a document and exact in every JSON parser
  (JavaScript's numbers are exact to 2**53). The API's document id is the UUID.

``SCHEMAS`` is the strict JSON Schema of each seed event, written from the
seed's field lists: ``additionalProperties`` false where the seed lists every
field of an object, ``required`` where the seed says required, the seed's
types. The catalog (``GET /v1/event-types``) publishes it, and the tests
validate every real delivery against it.

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

import uuid
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

# Number statuses of numbers that left the order: they carry why and when (seed 000).
LEFT_ORDER = frozenset({"REJECTED", "EXCLUDED"})
DOCUMENT_ID_BITS = 53  # exact as a JSON number everywhere (JavaScript: 2**53)

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
    body: dict[str, Any] = _present({"type": name, "event": name, "orderId": _order_id(order)})
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


def _present(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without its unset (None) fields: the seed has no null strings."""
    return {key: value for key, value in item.items() if value is not None}


def order_item(order: dict[str, Any]) -> dict[str, Any]:
    """The seed's OrderBaseItem, from porthook's order snapshot."""
    return _present({
        "id": order.get("order_number"),
        "customerOrderReference": order.get("customer_reference") or "",
        "desiredPortSchedule": _schedule(order),
        "status": ORDER_STATUS.get(str(order.get("status")), "PENDING"),
        "onDemandActivation": bool(order.get("on_demand_activation")),
        "phoneNumbers": _phone_number_items(order, order.get("phone_numbers") or []),
        "notes": [_note_item(c) for c in order.get("comments") or []],
        "documents": [_document_item(d) for d in order.get("documents") or []],
        "createdDate": iso_z(order.get("created_at")),
        "resellerName": order.get("reseller_name") or "",
    })


def _schedule(order: dict[str, Any]) -> dict[str, Any] | None:
    # No desired date, no schedule (see the module docstring).
    if not order.get("desired_port_date"):
        return None
    return _present({
        "desiredPortDate": order.get("desired_port_date"),
        "desiredPortTime": order.get("desired_port_time"),
        "desiredPortTimeZone": order.get("desired_port_time_zone"),
    })


def _phone_number_items(order: dict[str, Any],
                        numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    end_user = _end_user_item(order.get("end_user") or {})
    return [_phone_number_item(n, end_user=end_user) for n in numbers]


def _phone_number_item(number: dict[str, Any], *, end_user: dict[str, Any]) -> dict[str, Any]:
    """The seed's PhoneNumberMinItem (also the order's phoneNumbers entries)."""
    status = str(number.get("status") or "pending").upper()
    left_order = status in LEFT_ORDER
    return _present({
        "phoneNumber": number.get("phone_number"),
        "endUser": dict(end_user),
        # Only a PIN would go here (see the module docstring), never sent.
        "portOutInfo": {},
        "status": status,
        "exclusionReason": (number.get("exclusion_reason")
                            or (number.get("reject_reason") if left_order else None) or ""),
        "exclusionTime": iso_z(number.get("exclusion_time")) if left_order else None,
        "countryCode": number.get("country_code"),
        "activateTime": iso_z(number.get("activate_time")),
        "activateUser": number.get("activate_user"),
        "rejectReason": number.get("reject_reason"),
        "focDate": iso_z(number.get("foc_date")),
    })


def _end_user_item(end_user: dict[str, Any]) -> dict[str, Any]:
    """The seed's EndUser, with the keys of its expanded sample."""
    address = end_user.get("service_address") or {}
    street_num, street_name = split_street(address.get("line1"))
    return _present({
        "name": _end_user_name(end_user),
        "streetNum": street_num,
        "streetName": street_name,
        "city": address.get("city"),
        "state": address.get("state"),
        "zipCode": address.get("zip"),
    })


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
    return _present({
        "note": comment.get("body"),
        "createdTime": iso_z(comment.get("inserted_at")),
        "createdBy": comment.get("user_type"),
    })


def _document_item(document: dict[str, Any]) -> dict[str, Any]:
    return _present({
        "id": document_number(document.get("id")),
        "documentName": document.get("filename"),
        "description": document.get("document_type"),
    })


def document_number(document_id: str | None) -> int | None:
    """The seed's numeric document id: the top 53 bits of the document's UUID."""
    if not document_id:
        return None
    return uuid.UUID(str(document_id)).int >> (128 - DOCUMENT_ID_BITS)


def event_name(event_type: str) -> str:
    """The seed's name for ``event_type`` (``NUMBERS_CONFIRMED``...)."""
    return SEED_EVENT[event_type]


def schema(event_type: str) -> dict[str, Any]:
    """The strict JSON Schema of the body sent for ``event_type``."""
    return SCHEMAS[SEED_EVENT[event_type]]


# The seed's JSON Schema dialect is OpenAPI's, a JSON Schema 2020-12 subset.
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_STRING = {"type": "string"}
_DATE_TIME = {"type": "string", "format": "date-time"}
_NUMBER_STATUSES = ["PENDING", "CONFIRMED", "REJECTED", "ACTIVATED", "CANCELED", "EXCLUDED"]
_ORDER_STATUSES = ["ORDER_BUILDING", "PENDING", "CONFIRMED", "COMPLETED",
                   "PENDING_CANCELATION", "CANCELED"]

# EndUser and PortOutItem are folded in the seed (no field list): open objects.
_END_USER = {"type": "object", "properties": dict.fromkeys(
    ("name", "streetNum", "streetName", "city", "state", "zipCode"), _STRING)}
# PhoneNumberMinItem. The seed also has voice, SMS and feature configurations
# and a phoneNumberGroup list whose keys it folds: porthook sends none of them.
_PHONE_NUMBER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["phoneNumber", "endUser", "portOutInfo"],
    "properties": {
        "phoneNumber": {"type": "string", "pattern": r"^\+[1-9][0-9]{1,14}$"},  # e164
        "endUser": _END_USER,
        "portOutInfo": {"type": "object"},
        "status": {"type": "string", "enum": _NUMBER_STATUSES},
        "exclusionReason": _STRING,
        "exclusionTime": _DATE_TIME,
        "countryCode": _STRING,
        "activateTime": _STRING,
        "activateUser": _STRING,
        "newPortOutPin": _STRING,
        "rejectReason": _STRING,
        "focDate": _DATE_TIME,
    },
    # "If the phone number is excluded or rejected ... there would be exclusion
    # reason along with date of exclusion."
    "if": {"required": ["status"], "properties": {"status": {"enum": ["REJECTED", "EXCLUDED"]}}},
    "then": {"required": ["exclusionReason", "exclusionTime"],
             "properties": {"exclusionReason": {"minLength": 1}}},
}
_ORDER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "desiredPortSchedule": {
            "type": "object",
            "additionalProperties": False,
            "required": ["desiredPortDate"],
            "properties": {
                "desiredPortDate": {"type": "string", "format": "date"},
                "desiredPortTime": _STRING,
                "desiredPortTimeZone": {"type": "string", "enum": [
                    "US/Eastern", "US/Central", "US/Mountain", "US/Pacific"]},
            },
        },
        "id": {"type": "number"},
        "status": {"type": "string", "enum": _ORDER_STATUSES},
        "customerOrderReference": _STRING,
        "onDemandActivation": {"type": "boolean"},
        "phoneNumbers": {"type": "array", "items": _PHONE_NUMBER},
        "notes": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"note": _STRING, "createdTime": _STRING, "createdBy": _STRING}}},
        "documents": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"id": {"type": "number"}, "documentName": _STRING,
                           "description": _STRING}}},
        "createdDate": _DATE_TIME,
        "resellerName": _STRING,
    },
}


def _event_schema(name: str, required: list[str], **fields: Any) -> dict[str, Any]:
    # ``event`` is the seed's key, ``type`` its samples' key: both are sent.
    event = {"type": "string", "const": name}
    return {
        "$schema": _DIALECT,
        "title": f"sinch {name}",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "event", *required],
        "properties": {"type": event, "event": event, "orderId": _STRING, **fields},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "ORDER_UPDATED": _event_schema("ORDER_UPDATED", ["order"], order=_ORDER),
    **{name: _event_schema(name, [], phoneNumbers={"type": "array", "items": _PHONE_NUMBER})
       for name in ("NUMBERS_ACTIVATED", "NUMBERS_CONFIRMED", "NUMBERS_REJECTED")},
    "NEW_ORDER_NOTE": _event_schema("NEW_ORDER_NOTE", [], note=_STRING),
}
