"""Format ``sinch`` against seed 000's schemas and samples (000_daea8fd66a9fc9e7.txt)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from porthook.delivery import formats
from porthook.delivery.formats import Attempt, UnsupportedEvent
from tests.unit.format_events import make_event, make_number, make_order

ATTEMPT = Attempt(1, "https://hooks.example.com/sinch")

# The seed's request samples, as printed (its viewer folds desiredPortSchedule and
# the phoneNumbers items, so those are compared against the schema below instead).
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

# Every field of the seed's schemas that porthook has (newPortOutPin never; the
# per-number endUser/portOut/voice/sms/feature overrides do not exist in porthook).
ORDER_KEYS = {"id", "customerOrderReference", "desiredPortSchedule", "status",
              "onDemandActivation", "phoneNumbers", "notes", "documents", "resellerName"}
SCHEDULE_KEYS = {"desiredPortDate", "desiredPortTime", "desiredPortTimeZone"}
NUMBER_KEYS = {"phoneNumber", "status", "exclusionReason", "exclusionTime", "countryCode",
               "activateTime", "activateUser", "rejectReason", "focDate"}


def _render(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(formats.render("sinch", make_event(event_type, data),
                                                       ATTEMPT))
    return parsed


def test_order_updated_matches_seed_sample_and_schema() -> None:
    order = make_order(order_number=897867, customer_reference="123456", status="submitted",
                       on_demand_activation=False)
    body = _render("porting_order.status_changed", {"porting_order": order})
    assert set(body) == set(ORDER_UPDATED_SAMPLE) | {"event"}
    assert body["type"] == body["event"] == "ORDER_UPDATED"
    assert body["orderId"] == ORDER_UPDATED_SAMPLE["orderId"]
    assert set(body["order"]) == ORDER_KEYS
    assert set(body["order"]["desiredPortSchedule"]) == SCHEDULE_KEYS
    assert set(body["order"]["phoneNumbers"][0]) == NUMBER_KEYS
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
        comments=[{"id": "c1", "body": "Please send the CSR", "user_type": "admin",
                   "user_id": None, "inserted_at": "2024-05-02T10:00:00+00:00"}],
        documents=[{"id": "d1", "document_type": "loa", "filename": "loa.pdf",
                    "content_type": "application/pdf", "size": 1234, "sha256": "ab",
                    "created_at": "2024-05-02T10:05:00.5+00:00"}],
    )
    item = _render("porting_order.document_added",
                   {"porting_order": order, "document": order["documents"][0]})["order"]
    assert item["desiredPortSchedule"] == {"desiredPortDate": "2024-06-03",
                                           "desiredPortTime": "09:00:00",
                                           "desiredPortTimeZone": "US/Eastern"}
    assert item["onDemandActivation"] is True
    assert item["customerOrderReference"] == ""  # the seed's default
    assert item["resellerName"] == "Maple Resale"
    assert item["notes"] == [{"note": "Please send the CSR", "createdTime": "2024-05-02T10:00:00Z",
                              "createdBy": "admin"}]
    assert item["documents"] == [{"id": "d1", "documentName": "loa.pdf", "description": "loa",
                                  "createdDate": "2024-05-02T10:05:00Z"}]


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
        # rejected: the reason is the point
        ("porting_order.numbers_rejected", "NUMBERS_REJECTED",
         make_number(status="rejected", reject_reason="Not portable")),
    ],
)
def test_numbers_events_match_seed_samples(event_type: str, seed_event: str,
                                           number: dict[str, Any]) -> None:
    other = make_number(phone_number="+12125550199")
    order = make_order(phone_numbers=[number, other])
    body = _render(event_type, {"porting_order": order, "phone_numbers": [number]})
    assert set(body) == set(NUMBERS_SAMPLES[seed_event]) | {"event"}
    assert body["type"] == body["event"] == seed_event
    assert int(body["orderId"]) == NUMBERS_SAMPLES[seed_event]["orderId"]
    [item] = body["phoneNumbers"]  # only the numbers concerned
    assert set(item) == NUMBER_KEYS
    assert item["phoneNumber"] == number["phone_number"]
    assert item["status"] == number["status"].upper()
    assert item["rejectReason"] == number["reject_reason"]
    assert item["activateUser"] == number["activate_user"]


def test_excluded_number_carries_reason_and_time() -> None:
    number = make_number(status="excluded", exclusion_reason="Customer asked",
                         exclusion_time="2024-05-03T08:00:00+00:00")
    body = _render("porting_order.updated", {"porting_order": make_order(phone_numbers=[number]),
                                             "changed_fields": ["phone_numbers"]})
    item = body["order"]["phoneNumbers"][0]
    assert (item["status"], item["exclusionReason"], item["exclusionTime"]) == (
        "EXCLUDED", "Customer asked", "2024-05-03T08:00:00Z")


def test_new_order_note_matches_seed_sample() -> None:
    comment = {"id": "c1", "body": "This is a note", "user_type": "user", "user_id": "k1",
               "inserted_at": "2024-05-02T10:00:00+00:00"}
    body = _render("porting_order.new_comment", {"porting_order": make_order(), "comment": comment})
    assert set(body) == set(NOTE_SAMPLE) | {"event"}
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
