"""Builders shared by the porting tests: a complete order body, an LOA, the
desk's moves, and the events of one order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.porting import due

PDF = b"%PDF-1.4\n% a tiny LOA\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
NY = "+12125550101"
CHICAGO = "+13125550102"
TORONTO = "+14165550103"
PINS = ("s3cr3t-pin", "w1r3l3ss-pin")


def order_body(*numbers: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phone_numbers": list(numbers or (NY,)),
        "customer_reference": "ref-1",
        "desired_port_date": (datetime.now(UTC) + timedelta(days=5)).date().isoformat(),
        "end_user": {
            "business_name": "Acme Inc", "location_type": "business",
            "authorized_person": "Ann Smith", "business_contact": "Bob",
            "service_address": {"line1": "1 Main St", "city": "New York", "state": "NY",
                                "zip": "10001", "country": "US"},
        },
        "port_out": {"losing_carrier": "OldTel", "account_number": "ACC-9", "btn": NY,
                     "pin": PINS[0], "wireless_pin": PINS[1]},
    }
    body.update(overrides)
    return body


async def create_order(
    client: httpx.AsyncClient, headers: dict[str, str], *numbers: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/v1/porting-orders", json=order_body(*numbers, **overrides),
                                 headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: str,
    content: bytes = PDF, document_type: str = "loa",
) -> httpx.Response:
    return await client.post(
        f"/v1/porting-orders/{order_id}/documents", headers=headers,
        files={"file": ("loa.pdf", content, "application/pdf")},
        data={"document_type": document_type},
    )


async def submitted_order(
    client: httpx.AsyncClient, headers: dict[str, str], operator: dict[str, str],
    *numbers: str, **overrides: Any,
) -> dict[str, Any]:
    """An order walked to ``submitted`` (created, LOA attached, submitted, taken by the desk)."""
    order = await create_order(client, headers, *numbers, **overrides)
    assert (await upload(client, headers, order["id"])).status_code == 201
    submit = await client.post(f"/v1/porting-orders/{order['id']}/actions/submit",
                               headers=headers)
    assert submit.status_code == 200, submit.text
    return await desk_status(client, operator, order["id"], "submitted")


async def desk_status(
    client: httpx.AsyncClient, operator: dict[str, str], order_id: str, status: str,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(f"/v1/operator/porting-orders/{order_id}/status",
                                 json={"status": status, **extra}, headers=operator)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def order_events(
    client: httpx.AsyncClient, headers: dict[str, str], subject_id: str | None = None,
    subject_type: str | None = "porting_order",
) -> list[dict[str, Any]]:
    """The account's events (of one subject when ``subject_id`` is given)."""
    params = {"limit": "500", **({"subject_id": subject_id} if subject_id else {}),
              **({"subject_type": subject_type} if subject_type else {})}
    response = await client.get("/v1/events", params=params, headers=headers)
    assert response.status_code == 200
    return list(response.json()["data"])


async def run_due(database: Database, settings: Settings, clock: ShiftableClock) -> None:
    async with database.sessions() as session:
        await due.run_due_work(session, now=clock.now(), settings=settings)
        await session.commit()


def assert_no_pins(*documents: Any) -> None:
    text = json.dumps(documents)
    for pin in PINS:
        assert pin not in text
    assert '"pin"' not in text and '"wireless_pin"' not in text
