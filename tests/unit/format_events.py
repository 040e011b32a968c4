"""Builders for the format tests: an order snapshot and an ``EventView`` around it.

The snapshot has exactly the keys of ``data["porting_order"]`` (events/types.py
and the porting domain's ``PortingOrderPublic``), with overridable values.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from porthook.delivery.formats import EventView

ACCOUNT_ID = uuid.UUID("dbdbc891-dc82-4c39-b9a1-e51e830c4352")


def make_number(**overrides: Any) -> dict[str, Any]:
    number: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "phone_number": "+12125550100",
        "country_code": "US",
        "status": "pending",
        "reject_reason": None,
        "exclusion_reason": None,
        "exclusion_time": None,
        "foc_date": None,
        "activate_time": None,
        "activate_user": None,
    }
    return number | overrides


def make_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "order_number": 897867,
        "account_id": str(ACCOUNT_ID),
        "support_key": "sr_3f9a2c",
        "customer_reference": "1-alpha-2-bravo-3-charlie",
        "status": "submitted",
        "status_details": [],
        "desired_port_date": "2024-06-03",
        "desired_port_time": "09:00:00",
        "desired_port_time_zone": "US/Eastern",
        "on_demand_activation": False,
        "end_user": {
            "business_name": "Acme Widgets", "first_name": "Ada", "last_name": "Lovelace",
            "business_contact": "Ada Lovelace", "location_type": "business",
            "authorized_person": "Ada Lovelace",
            "service_address": {"line1": "1 Main St", "line2": None, "city": "New York",
                                "state": "NY", "zip": "10001", "country": "US"},
            "caller_id": "ACME",
        },
        "port_out": {
            "losing_carrier": "Old Telco", "account_number": "ACC-1", "btn": "+12125550100",
            "partial_port": False, "partial_port_details": None, "wireless_number": False,
            "pin_set": True, "wireless_pin_set": False,
        },
        "phone_numbers": [make_number()],
        "messaging": {"enable_messaging": True, "messaging_capable": True,
                      "messaging_port_status": "pending"},
        "webhook_url": "https://example.com/porting_webhooks",
        "reseller_name": None,
        "foc_date": None,
        "parent_order_id": None,
        "comments": [],
        "documents": [],
        "created_at": "2024-05-01T10:00:00.123456Z",
        "updated_at": "2024-05-02T11:30:15.654321Z",
    }
    return order | overrides


def make_event(
    type: str,
    data: dict[str, Any],
    *,
    id: str | uuid.UUID | None = None,
    occurred_at: str | datetime = "2024-05-02T11:30:15.654321Z",
    subject_type: str = "porting_order",
    subject_id: str | None = None,
    account_id: str | uuid.UUID = ACCOUNT_ID,
    sequence: int = 1,
) -> EventView:
    moment = occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(
        occurred_at
    )
    order = data.get("porting_order") or {}
    return EventView(
        id=uuid.UUID(str(id)) if id else uuid.uuid4(),
        type=type,
        account_id=uuid.UUID(str(account_id)),
        subject_type=subject_type,
        subject_id=subject_id or str(order.get("id") or uuid.uuid4()),
        sequence=sequence,
        occurred_at=moment.astimezone(UTC),
        data=data,
    )


def same_keys(actual: Any, expected: Any, path: str = "$") -> None:
    """Assert ``actual`` has exactly ``expected``'s keys, recursively (lists item by item)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(expected), (
            f"{path}: {sorted(actual)} != {sorted(expected)}"
        )
        for key, value in expected.items():
            same_keys(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            same_keys(left, right, f"{path}[{index}]")
