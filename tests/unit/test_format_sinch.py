"""Format ``sinch`` against seed 000's schemas and samples (000_daea8fd66a9fc9e7.txt)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
import pytest

from porthook.delivery import formats
from porthook.delivery.formats import Attempt, UnsupportedEvent, sinch
from tests.unit.format_events import make_event, make_number, make_order, same_keys

ATTEMPT = Attempt(1, "https://hooks.example.com/sinch")

# The seed's request samples, as printed: its viewer folds desiredPortSchedule and
# the phoneNumbers items, which the shapes below fill in from the seed's schemas.
ORDER_UPDATED_SAMPLE: dict[str, Any] = {
    "type": "ORDER_UPDATED",
    "orderId": "897867",
    "order": {
        "id": 897867,
        "customerOrderReference": "123456",
        "desiredPortSchedule": {},
        "status": "PENDING",
        "onDemandActivation": False,
        "phoneNumbers": [],
    },
}
NUMBERS_SAMPLES: dict[str, dict[str, Any]] = {
    name: {"type": name, "orderId": 897867, "phoneNumbers": [{}]}
    for name in ("NUMBERS_ACTIVATED", "NUMBERS_CONFIRMED", "NUMBERS_REJECTED")
}
NOTE_SAMPLE: dict[str, Any] = {"type": "NEW_ORDER_NOTE", "orderId": 897867,
                               "note": "This is a note"}

# PhoneNumberMinItem, key for key. Left out: newPortOutPin (a PIN, never sent) and the
# voice/SMS/feature configurations and phoneNumberGroup list porthook has no data for.
# endUser's keys and the portOutInfo key are those of the sample as the seed's page
# shows it unfolded; portOutInfo's only field there is existingPortOutPin, a PIN.
NUMBER_SHAPE: dict[str, Any] = {
    "phoneNumber": None,
    "endUser": dict.fromkeys(("name", "streetNum", "streetName", "city", "state", "zipCode")),
    "portOutInfo": {},
    "status": None, "exclusionReason": None, "exclusionTime": None, "countryCode": None,
    "activateTime": None, "activateUser": None, "rejectReason": None, "focDate": None,
}
# OrderBaseItem: the sample's keys, their folded parts unfolded, and the schema's
# fields the sample leaves out (notes, documents, createdDate, resellerName).
ORDER_SHAPE: dict[str, Any] = {
    **ORDER_UPDATED_SAMPLE["order"],
    "desiredPortSchedule": dict.fromkeys(("desiredPortDate", "desiredPortTime",
                                          "desiredPortTimeZone")),
    "phoneNumbers": [NUMBER_SHAPE],
    "notes": [dict.fromkeys(("note", "createdTime", "createdBy"))],
    "documents": [dict.fromkeys(("id", "documentName", "description"))],
    "createdDate": None,
    "resellerName": None,
}
DOCUMENT_ID = "9b2e6f3c-1d4a-4e8b-a7c5-0f1e2d3c4b5a"
COMMENT = {"id": "c1", "body": "Please send the CSR", "user_type": "admin", "user_id": None,
           "inserted_at": "2024-05-02T10:00:00+00:00"}
DOCUMENT = {"id": DOCUMENT_ID, "document_type": "loa", "filename": "loa.pdf",
            "content_type": "application/pdf", "size": 1234, "sha256": "ab",
            "created_at": "2024-05-02T10:05:00.5+00:00"}


def _render(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The body sent, checked against the strict schema the catalog publishes."""
    parsed: dict[str, Any] = json.loads(formats.render("sinch", make_event(event_type, data),
                                                       ATTEMPT))
    validator = jsonschema.Draft202012Validator(
        sinch.schema(event_type), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(parsed)
    return parsed


def _full_number(**overrides: Any) -> dict[str, Any]:
    """A number with every field set, so every key of the seed's item is sent."""
    return make_number(status="excluded", exclusion_reason="Customer asked",
                       exclusion_time="2024-05-03T08:00:00+00:00", reject_reason="Not portable",
                       foc_date="2024-06-03T00:00:00+00:00",
                       activate_time="2024-06-03T13:00:00+00:00",
                       activate_user="porthook") | overrides


def test_order_updated_matches_seed_sample_and_schema() -> None:
    order = make_order(order_number=897867, customer_reference="123456", status="submitted",
                       on_demand_activation=False, comments=[COMMENT], documents=[DOCUMENT],
                       phone_numbers=[_full_number()])
    body = _render("porting_order.status_changed", {"porting_order": order})
    same_keys(body, {**ORDER_UPDATED_SAMPLE, "event": None, "order": ORDER_SHAPE})
    assert body["type"] == body["event"] == "ORDER_UPDATED"
    assert body["orderId"] == ORDER_UPDATED_SAMPLE["orderId"]
    for key in ("id", "customerOrderReference", "status", "onDemandActivation"):
        assert body["order"][key] == ORDER_UPDATED_SAMPLE["order"][key], key


def test_order_id_keeps_both_readings_of_the_seed() -> None:
    body = _render("porting_order.updated", {"porting_order": make_order(order_number=897867),
                                             "changed_fields": ["customer_reference"]})
    # A string, as the schema and the first sample say; the number of the other samples
    # is one int() away, and equals order.id.
    assert body["orderId"] == "897867"
    assert int(body["orderId"]) == NOTE_SAMPLE["orderId"] == body["order"]["id"]


def test_order_fields_are_mapped() -> None:
    order = make_order(
        desired_port_date="2024-06-03", desired_port_time="09:00:00",
        desired_port_time_zone="US/Eastern", on_demand_activation=True,
        customer_reference=None, reseller_name="Maple Resale",
        comments=[COMMENT], documents=[DOCUMENT],
    )
    item = _render("porting_order.document_added",
                   {"porting_order": order, "document": DOCUMENT})["order"]
    assert item["desiredPortSchedule"] == {"desiredPortDate": "2024-06-03",
                                           "desiredPortTime": "09:00:00",
                                           "desiredPortTimeZone": "US/Eastern"}
    assert item["onDemandActivation"] is True
    assert item["customerOrderReference"] == ""  # the seed's default
    assert item["resellerName"] == "Maple Resale"
    assert item["notes"] == [{"note": "Please send the CSR", "createdTime": "2024-05-02T10:00:00Z",
                              "createdBy": "admin"}]
    # A number, as the seed types it: stable for the document, exact in any JSON parser.
    assert item["documents"] == [{"id": uuid.UUID(DOCUMENT_ID).int >> 75,
                                  "documentName": "loa.pdf", "description": "loa"}]
    assert 0 < item["documents"][0]["id"] < 2**53
    # "When the order was created": the order's time, not the document's.
    assert item["createdDate"] == "2024-05-01T10:00:00Z"


def test_numbers_carry_the_orders_end_user_and_no_pin() -> None:
    port_out = make_order()["port_out"] | {"pin": "8642", "wireless_pin": "9753"}
    order = make_order(port_out=port_out)
    item = _render("porting_order.updated", {"porting_order": order,
                                             "changed_fields": ["port_out"]})
    [number] = item["order"]["phoneNumbers"]
    assert number["endUser"] == {"name": "Acme Widgets", "streetNum": "1",
                                 "streetName": "Main St", "city": "New York", "state": "NY",
                                 "zipCode": "10001"}
    assert number["portOutInfo"] == {}
    assert "8642" not in json.dumps(item) and "9753" not in json.dumps(item)


@pytest.mark.parametrize(
    ("end_user", "name"),
    [
        ({"business_name": "Acme Widgets", "first_name": "Ada"}, "Acme Widgets"),  # business
        ({"first_name": "Ada", "last_name": "Lovelace"}, "Ada Lovelace"),  # residential
        ({"last_name": "Lovelace"}, "Lovelace"),  # half a name is still a name
        ({}, None),  # a draft with no end user yet
    ],
)
def test_end_user_name(end_user: dict[str, Any], name: str | None) -> None:
    body = _render("porting_order.created", {"porting_order": make_order(end_user=end_user)})
    assert body["order"]["phoneNumbers"][0]["endUser"].get("name") == name


@pytest.mark.parametrize(
    ("line1", "parts"),
    [
        ("123 Main St", ("123", "Main St")),  # the usual US shape
        ("12B Elm Road", ("12B", "Elm Road")),  # a house number with a suffix stays whole
        ("PO Box 5", (None, "PO Box 5")),  # no house number: all of it is the street
        ("42", (None, "42")),  # a lone number is not split into nothing
        ("  7  Oak Ave ", ("7", "Oak Ave")),  # stray spaces dropped
        ("", (None, None)),  # unset
        (None, (None, None)),  # unset
    ],
)
def test_split_street(line1: str | None, parts: tuple[str | None, str | None]) -> None:
    assert sinch.split_street(line1) == parts


@pytest.mark.parametrize(
    ("status", "seed_status"),
    [
        ("draft", "ORDER_BUILDING"),  # being created
        ("in-process", "PENDING"),  # submitted by the customer, desk not yet on it
        ("submitted", "PENDING"),  # sent to the losing carrier
        ("exception", "PENDING"),  # the seed's PENDING "can be updated": so can an exception
        ("foc-date-confirmed", "CONFIRMED"),  # firm order confirmation
        ("ported", "COMPLETED"),  # numbers active
        ("cancel-pending", "PENDING_CANCELATION"),  # numbers still held
        ("cancelled", "CANCELED"),  # the seed's single-L spelling
    ],
)
def test_order_status_mapping(status: str, seed_status: str) -> None:
    body = _render("porting_order.status_changed", {"porting_order": make_order(status=status)})
    assert body["order"]["status"] == seed_status


@pytest.mark.parametrize(
    ("event_type", "seed_event", "number"),
    [
        # activated: time and user filled
        ("porting_order.numbers_activated", "NUMBERS_ACTIVATED",
         make_number(status="activated", activate_time="2024-06-03T13:00:00+00:00",
                     activate_user="porthook", foc_date="2024-06-03")),
        # confirmed: the FOC date comes with it
        ("porting_order.numbers_confirmed", "NUMBERS_CONFIRMED",
         make_number(status="confirmed", foc_date="2024-06-03")),
        # rejected: the reason is the point, and the desk dates the rejection
        ("porting_order.numbers_rejected", "NUMBERS_REJECTED",
         make_number(status="rejected", reject_reason="Not portable",
                     exclusion_time="2024-05-03T08:00:00+00:00")),
    ],
)
def test_numbers_events_match_seed_samples(event_type: str, seed_event: str,
                                           number: dict[str, Any]) -> None:
    other = make_number(phone_number="+12125550199")
    order = make_order(phone_numbers=[number, other])
    body = _render(event_type, {"porting_order": order, "phone_numbers": [number]})
    assert body["type"] == body["event"] == seed_event
    assert int(body["orderId"]) == NUMBERS_SAMPLES[seed_event]["orderId"]
    assert set(body) == {*NUMBERS_SAMPLES[seed_event], "event"}
    [item] = body["phoneNumbers"]  # only the numbers concerned
    assert set(item) <= set(NUMBER_SHAPE)
    assert item["endUser"]["name"] == "Acme Widgets"  # from the order: no per-number override
    assert item["phoneNumber"] == number["phone_number"]
    assert item["status"] == number["status"].upper()
    assert item.get("rejectReason") == number["reject_reason"]
    assert item.get("activateUser") == number["activate_user"]
    assert None not in item.values()  # unset fields are left out, never null


def test_excluded_number_carries_reason_and_time() -> None:
    number = make_number(status="excluded", exclusion_reason="Customer asked",
                         exclusion_time="2024-05-03T08:00:00+00:00")
    body = _render("porting_order.updated", {"porting_order": make_order(phone_numbers=[number]),
                                             "changed_fields": ["phone_numbers"]})
    item = body["order"]["phoneNumbers"][0]
    assert (item["status"], item["exclusionReason"], item["exclusionTime"]) == (
        "EXCLUDED", "Customer asked", "2024-05-03T08:00:00Z")


def test_rejected_number_carries_reason_and_time_as_an_exclusion() -> None:
    number = make_number(status="rejected", reject_reason="Not portable",
                         exclusion_time="2024-05-03T08:00:00+00:00")
    body = _render("porting_order.numbers_rejected",
                   {"porting_order": make_order(phone_numbers=[number]),
                    "phone_numbers": [number]})
    [item] = body["phoneNumbers"]
    assert (item["status"], item["exclusionReason"], item["exclusionTime"],
            item["rejectReason"]) == ("REJECTED", "Not portable", "2024-05-03T08:00:00Z",
                                      "Not portable")


def test_a_number_back_from_a_rejection_carries_no_exclusion() -> None:
    number = make_number(status="confirmed", foc_date="2024-06-03T00:00:00+00:00")
    item = _render("porting_order.numbers_confirmed",
                   {"porting_order": make_order(), "phone_numbers": [number]})["phoneNumbers"][0]
    assert item["exclusionReason"] == ""  # the seed's default
    assert "exclusionTime" not in item and "rejectReason" not in item


@pytest.mark.parametrize(
    ("fields", "schedule"),
    [
        # a draft without a desired date: no schedule rather than an invented date
        ({"status": "draft", "desired_port_date": None}, None),
        # a date without time or zone: those are left out (the provider's defaults apply)
        ({"desired_port_date": "2024-06-03", "desired_port_time": None,
          "desired_port_time_zone": None}, {"desiredPortDate": "2024-06-03"}),
        # all three set
        ({"desired_port_date": "2024-06-03", "desired_port_time": "09:00:00",
          "desired_port_time_zone": "US/Central"},
         {"desiredPortDate": "2024-06-03", "desiredPortTime": "09:00:00",
          "desiredPortTimeZone": "US/Central"}),
    ],
)
def test_desired_port_schedule(fields: dict[str, Any], schedule: dict[str, Any] | None) -> None:
    order = _render("porting_order.created", {"porting_order": make_order(**fields)})["order"]
    assert order.get("desiredPortSchedule") == schedule


def test_a_bare_draft_leaves_unset_fields_out() -> None:
    draft = make_order(status="draft", desired_port_date=None, desired_port_time=None,
                       desired_port_time_zone=None, customer_reference=None, end_user={},
                       phone_numbers=[make_number()])
    body = _render("porting_order.created", {"porting_order": draft})

    def nulls(value: Any) -> bool:
        if isinstance(value, dict):
            return any(nulls(v) for v in value.values())
        if isinstance(value, list):
            return any(nulls(v) for v in value)
        return value is None

    assert not nulls(body)
    assert body["order"]["phoneNumbers"][0] == {
        "phoneNumber": "+12125550100", "endUser": {}, "portOutInfo": {}, "status": "PENDING",
        "exclusionReason": "", "countryCode": "US"}


def test_new_order_note_matches_seed_sample() -> None:
    comment = {"id": "c1", "body": "This is a note", "user_type": "user", "user_id": "k1",
               "inserted_at": "2024-05-02T10:00:00+00:00"}
    body = _render("porting_order.new_comment", {"porting_order": make_order(), "comment": comment})
    same_keys(body, {**NOTE_SAMPLE, "event": None})
    assert (body["type"], body["event"], body["note"]) == ("NEW_ORDER_NOTE", "NEW_ORDER_NOTE",
                                                          NOTE_SAMPLE["note"])


@pytest.mark.parametrize(
    ("event_type", "sent"),
    [
        ("porting_order.created", True),  # ORDER_UPDATED: "a port is made"
        ("porting_order.updated", True),  # ORDER_UPDATED
        ("porting_order.status_changed", True),  # ORDER_UPDATED
        ("porting_order.split", True),  # ORDER_UPDATED: its numbers changed
        ("porting_order.document_added", True),  # ORDER_UPDATED: documents grew
        ("porting_order.numbers_confirmed", True),  # NUMBERS_CONFIRMED
        ("porting_order.numbers_rejected", True),  # NUMBERS_REJECTED
        ("porting_order.numbers_activated", True),  # NUMBERS_ACTIVATED
        ("porting_order.new_comment", True),  # NEW_ORDER_NOTE
        ("porting_order.messaging_changed", False),  # nothing in OrderBaseItem changes
        ("porting_order.deleted", False),  # no such event or status in seed 000
        ("record.lnp_requests.updated", False),  # seed 002's world
        ("endpoint.failing", False),  # porthook's own
    ],
)
def test_supported_types(event_type: str, sent: bool) -> None:
    assert formats.supports("sinch", event_type) is sent
    if not sent:
        with pytest.raises(UnsupportedEvent):
            formats.render("sinch", make_event(event_type, {"porting_order": make_order()}),
                           ATTEMPT)
