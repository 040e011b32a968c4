"""One example event per type, for the catalog (``service.py``).

Each example's ``data`` is made by the code that makes real events' data: the
order through the API's ``PortingOrderPublic``, records through the records
domain's ``snapshot`` (and porting's ``lnp`` views), the endpoint through
``service.endpoint_snapshot``. The catalog then renders them through the real
formats, so the published examples are what receivers get.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from porthook.delivery import service
from porthook.delivery.catalog import subject_type
from porthook.delivery.formats import EventView
from porthook.delivery.models import Endpoint
from porthook.events.types import EventType
from porthook.porting import lnp
from porthook.porting.schemas import PortingOrderPublic, PortingOrderSummary
from porthook.records.registry import SCHEMAS, FieldSpec, Kind
from porthook.records.schemas import snapshot

ACCOUNT_ID = uuid.UUID("6f1c3a2e-4b5d-4e8f-9a0b-1c2d3e4f5a6b")
ORDER_ID = uuid.UUID("0b7e2c9a-3d4f-4a5b-8c6d-7e8f9a0b1c2d")
CHILD_ORDER_ID = uuid.UUID("5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f")
ENDPOINT_ID = uuid.UUID("2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b")
EVENT_ID = uuid.UUID("9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4")
OCCURRED_AT = datetime(2026, 3, 2, 15, 4, 5, 123456, tzinfo=UTC)
FOC = "2026-03-10T13:00:00Z"

_NUMBERS = {
    "pending": {"phone_number": "+13125550142", "status": "pending"},
    "confirmed": {"phone_number": "+13125550143", "status": "confirmed", "foc_date": FOC},
    "rejected": {"phone_number": "+13125550144", "status": "rejected",
                 "reject_reason": "Account number does not match the CSR",
                 "exclusion_time": "2026-03-02T15:04:05Z"},
    "activated": {"phone_number": "+13125550145", "status": "activated", "foc_date": FOC,
                  "activate_time": "2026-03-10T13:02:11Z", "activate_user": "customer"},
}
_COMMENT = {"id": "7c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5", "body": "Please send the CSR",
            "user_type": "admin", "user_id": None, "inserted_at": "2026-03-02T15:04:05Z"}
_DOCUMENT = {"id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "document_type": "loa",
             "filename": "loa.pdf", "content_type": "application/pdf", "size": 48213,
             "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
             "created_at": "2026-03-01T09:30:00Z"}


def _number(index: int, status: str) -> dict[str, Any]:
    return {"id": str(uuid.UUID(int=ORDER_ID.int + index)), "country_code": "US",
            "reject_reason": None, "exclusion_reason": None, "exclusion_time": None,
            "foc_date": None, "activate_time": None, "activate_user": None,
            **_NUMBERS[status]}


def order(*statuses: str, **fields: Any) -> dict[str, Any]:
    """An order snapshot, as ``data.porting_order`` holds it."""
    values: dict[str, Any] = {
        "id": str(ORDER_ID), "order_number": 100234, "account_id": str(ACCOUNT_ID),
        "support_key": "sr_8c2f41", "customer_reference": "PO-2026-0142",
        "status": "submitted", "status_details": [],
        "desired_port_date": "2026-03-10", "desired_port_time": "09:00:00",
        "desired_port_time_zone": "US/Central", "on_demand_activation": False,
        "end_user": {"business_name": "Acme Widgets", "location_type": "business",
                     "authorized_person": "Ada Lovelace", "business_contact": "Ada Lovelace",
                     "service_address": {"line1": "200 W Adams St", "city": "Chicago",
                                         "state": "IL", "zip": "60606", "country": "US"}},
        "port_out": {"losing_carrier": "Old Telco", "account_number": "ACC-1138",
                     "btn": "+13125550142", "pin_set": True, "wireless_pin_set": False},
        "phone_numbers": [_number(i, s) for i, s in enumerate(statuses or ("pending",))],
        "messaging": {"enable_messaging": True, "messaging_capable": True,
                      "messaging_port_status": "pending"},
        "webhook_url": None, "reseller_name": None, "foc_date": None,
        "parent_order_id": None, "comments": [_COMMENT], "documents": [_DOCUMENT],
        "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-02T15:04:05Z",
    } | fields
    return PortingOrderPublic.model_validate(values).model_dump(mode="json")


def _porting_data(event_type: str) -> dict[str, Any]:
    by_type: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        EventType.PORTING_ORDER_CREATED: ((), {}),
        EventType.PORTING_ORDER_UPDATED: ((), {"changed_fields": ["customer_reference"]}),
        EventType.PORTING_ORDER_STATUS_CHANGED: ((), {"previous_status": "in-process"}),
        EventType.PORTING_ORDER_NEW_COMMENT: ((), {"comment": _COMMENT}),
        EventType.PORTING_ORDER_SPLIT: ((), {
            "from": {"id": str(ORDER_ID)}, "to": {"id": str(CHILD_ORDER_ID)},
            "phone_number": "+14165550146"}),
        EventType.PORTING_ORDER_MESSAGING_CHANGED: (
            (), {"previous_messaging_port_status": "pending"}),
        EventType.PORTING_ORDER_DELETED: ((), {"deleted_at": "2026-03-02T15:04:05Z"}),
        EventType.PORTING_ORDER_NUMBERS_CONFIRMED: (("confirmed", "pending"), {}),
        EventType.PORTING_ORDER_NUMBERS_REJECTED: (("rejected", "pending"), {}),
        EventType.PORTING_ORDER_NUMBERS_ACTIVATED: (("activated",), {}),
        EventType.PORTING_ORDER_DOCUMENT_ADDED: ((), {"document": _DOCUMENT}),
    }
    statuses, extra = by_type[event_type]
    statuses_after: dict[str, str] = {EventType.PORTING_ORDER_DELETED: "deleted",
                                      EventType.PORTING_ORDER_NUMBERS_ACTIVATED: "ported"}
    status = statuses_after.get(event_type, "submitted")
    snapshot_ = order(*statuses, status=status)
    if event_type.startswith("porting_order.numbers_"):
        extra = {"phone_numbers": snapshot_["phone_numbers"][:1]}  # the numbers concerned
    if event_type == EventType.PORTING_ORDER_NEW_COMMENT:
        # As snapshot.summary makes it: the order without its collections.
        snapshot_ = PortingOrderSummary.model_validate(snapshot_).model_dump(mode="json")
    return {"porting_order": snapshot_, **extra}


def _endpoint() -> dict[str, Any]:
    endpoint = Endpoint(
        id=ENDPOINT_ID, account_id=ACCOUNT_ID, profile_id=None, origin="user",
        channel="webhook", url=EXAMPLE_RECEIVER, email_address=None, format="standard",
        description="Order desk", event_types=["porting_order.*"], credentials=None,
        secret="", enabled=True, disabled_reason=None, disabled_at=None,
        failing_since=OCCURRED_AT, failing_notified=True, strict_ordering=False,
        max_concurrency=None, created_at=OCCURRED_AT, updated_at=OCCURRED_AT,
    )
    return service.endpoint_snapshot(endpoint)


EXAMPLE_RECEIVER = "https://hooks.example.com/porthook"


def _field_example(spec: FieldSpec) -> Any:
    if spec.kind is Kind.ENUM:
        return spec.choices[0]
    if spec.kind in (Kind.INT, Kind.REF):
        return max(spec.min_value or 1, 1) if spec.max_value is None else min(
            max(spec.min_value or 1, 1), spec.max_value)
    if spec.kind in (Kind.TEXT, Kind.DIGITS):
        sample = "1234" if spec.kind is Kind.DIGITS else "Front desk"
        low, high = spec.min_value or 1, spec.max_value or len(sample)
        return (sample * 4)[:max(low, min(len(sample), high))]
    return _KIND_EXAMPLES[spec.kind]


_KIND_EXAMPLES: dict[Kind, Any] = {
    Kind.LONG_TEXT: "Calls after 6 pm go to voicemail.", Kind.BOOL: True, Kind.MONEY: "12.50",
    Kind.DATETIME: "2026-03-02T15:04:05Z", Kind.DATE: "2026-03-02", Kind.PHONE: "+13125550142",
    Kind.DID_NUMBER: "3125550142", Kind.NANP10: "3125550142", Kind.EMAIL: "noc@example.com",
    Kind.IP: "192.0.2.10", Kind.STATE: "IL", Kind.ZIP: "60606",
    Kind.URL: "https://example.com/hook", Kind.HOSTNAME: "sip.example.com",
    Kind.JSON: {"steps": [{"action": "ring", "timeout_s": 20}]},
}


def record(schema: str) -> dict[str, Any]:
    """A record of ``schema`` as its events carry it."""
    if schema == lnp.LNP_REQUESTS:
        return lnp.lnp_request_record(order())
    if schema == lnp.LNP_NUMBERS:
        return lnp.lnp_number_record(ORDER_ID, order()["phone_numbers"][0])
    row = {"id": 41, **{f.name: _field_example(f) for f in SCHEMAS[schema].fields}}
    return snapshot(schema, row)


def data(event_type: str) -> dict[str, Any]:
    """The ``data`` of the example event of ``event_type``."""
    if event_type.startswith("porting_order."):
        return _porting_data(event_type)
    if event_type.startswith("endpoint."):
        recovered = event_type == EventType.ENDPOINT_RECOVERED
        reason = "an attempt succeeded" if recovered else "HTTP 503"
        return {"endpoint": _endpoint(), "reason": reason}
    if event_type == EventType.SMS_ENABLEMENT_COMPLETED:
        return {"did_id": 41, "number": "3125550142", "status": "success", "verbose": ""}
    schema = subject_type(event_type)
    return {"schema": schema, "record": record(schema)}


def event(event_type: str) -> EventView:
    """The example event of ``event_type``, as the outbox would have stored it."""
    values = data(event_type)
    subject = subject_type(event_type)
    subject_id = {"porting_order": str(ORDER_ID), "endpoint": str(ENDPOINT_ID)}.get(
        subject, str(values.get("record", {}).get("id", EVENT_ID)))
    return EventView(id=EVENT_ID, type=event_type, account_id=ACCOUNT_ID,
                     subject_type=subject, subject_id=subject_id, sequence=1,
                     occurred_at=OCCURRED_AT, data=values)
