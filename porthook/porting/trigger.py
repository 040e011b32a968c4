"""``porthook trigger``: make a real event of a type by walking an order
through the real transitions, through the API (a client, like any customer).

Each event type has a plan: the steps from a fresh throwaway order to the
move that records the event. The customer's steps use the account key; the
porting desk's (``desk_*``) need an operator key (``--operator-key``): the CLI
talks to the API only, so that it works against any installation and every
endpoint and listener receives exactly what production sends. With
``--order`` the last step acts on that order instead.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# The smallest file the document upload takes as a PDF.
LOA_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PORT_IN_DAYS = 30  # the throwaway order's desired port date, from today


@dataclass
class Walk:
    """One trigger's state: the clients and the order being walked."""

    customer: httpx.Client
    desk: httpx.Client | None
    order_id: str | None = None
    numbers: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        client = self.customer if who == "customer" else self.desk
        if client is None:
            raise TriggerError("this event needs a porting desk move: pass --operator-key")
        response = client.request(method, path, **kwargs)
        self.log.append(f"{method} {path} -> {response.status_code}")
        if response.status_code >= 400:
            raise TriggerError(f"{method} {path} answered {response.status_code}: "
                               f"{response.text}")
        return response.json() if response.content else {}


class TriggerError(Exception):
    """A step was refused; the message says which and why."""


def _order_body(numbers: list[str]) -> dict[str, Any]:
    day = (datetime.now(UTC) + timedelta(days=PORT_IN_DAYS)).date().isoformat()
    return {
        "customer_reference": f"trigger-{uuid.uuid4().hex[:8]}", "phone_numbers": numbers,
        "desired_port_date": day, "desired_port_time": "10:00:00",
        "desired_port_time_zone": "US/Mountain",
        "end_user": {"business_name": "Trigger Test", "authorized_person": "Dev Tester",
                     "location_type": "business",
                     "service_address": {"line1": "1 Main St", "city": "Denver", "state": "CO",
                                         "zip": "80202", "country": "US"}},
        "port_out": {"losing_carrier": "OldTel", "account_number": "123456", "pin": "9999",
                     "btn": numbers[0]},
    }


def _fresh_numbers(count: int) -> list[str]:
    # 555-01xx-style fictional numbers would collide across runs; random lines of
    # one Denver exchange rarely do.
    return [f"+1303555{random.randrange(10_000):04d}" for _ in range(count)]


def create(walk: Walk) -> None:
    walk.numbers = _fresh_numbers(2)
    order = walk.call("customer", "POST", "/v1/porting-orders", json=_order_body(walk.numbers))
    walk.order_id = order["id"]


def create_with_messaging(walk: Walk) -> None:
    """An order that ports messaging too: the desk may then move its messaging status."""
    walk.numbers = _fresh_numbers(2)
    body = {**_order_body(walk.numbers), "messaging": {"enable_messaging": True}}
    walk.order_id = walk.call("customer", "POST", "/v1/porting-orders", json=body)["id"]


def _order(walk: Walk) -> str:
    if walk.order_id is None:
        raise TriggerError("no order to act on")
    return walk.order_id


def update(walk: Walk) -> None:
    walk.call("customer", "PATCH", f"/v1/porting-orders/{_order(walk)}",
              json={"customer_reference": f"trigger-{uuid.uuid4().hex[:8]}"})


def comment(walk: Walk) -> None:
    walk.call("customer", "POST", f"/v1/porting-orders/{_order(walk)}/comments",
              json={"body": "a comment from porthook trigger"})


def loa(walk: Walk) -> None:
    walk.call("customer", "POST", f"/v1/porting-orders/{_order(walk)}/documents",
              data={"document_type": "loa"},
              files={"file": ("loa.pdf", LOA_PDF, "application/pdf")})


def submit(walk: Walk) -> None:
    walk.call("customer", "POST", f"/v1/porting-orders/{_order(walk)}/actions/submit")


def delete(walk: Walk) -> None:
    walk.call("customer", "DELETE", f"/v1/porting-orders/{_order(walk)}")


def _desk(path: str, body: Callable[[Walk], dict[str, Any]]) -> Callable[[Walk], None]:
    def step(walk: Walk) -> None:
        order = walk.call("desk", "POST", f"/v1/operator/porting-orders/{_order(walk)}{path}",
                          json=body(walk))
        walk.log[-1] += f" (order {order.get('status', '?')})"
    step.__name__ = f"desk {path}"
    return step


def _foc(_: Walk) -> str:
    return (datetime.now(UTC) + timedelta(days=PORT_IN_DAYS)).strftime("%Y-%m-%dT17:00:00Z")


desk_submitted = _desk("/status", lambda w: {"status": "submitted"})
desk_foc = _desk("/status", lambda w: {"status": "foc-date-confirmed", "foc_date": _foc(w)})
desk_activate = _desk("/phone-numbers/actions/activate", lambda w: {"phone_numbers": w.numbers})
desk_reject = _desk("/phone-numbers/actions/reject",
                    lambda w: {"phone_numbers": w.numbers[:1], "reason": "porthook trigger"})
desk_split = _desk("/actions/split", lambda w: {"phone_numbers": w.numbers[:1]})
desk_messaging = _desk("/messaging", lambda w: {"messaging_port_status": "pending"})

_SUBMITTED = [create, loa, submit, desk_submitted]
# Each event type: the walk from nothing to the step that records it (the last).
PLANS: dict[str, list[Callable[[Walk], None]]] = {
    "porting_order.created": [create],
    "porting_order.updated": [create, update],
    "porting_order.new_comment": [create, comment],
    "porting_order.document_added": [create, loa],
    "porting_order.deleted": [create, delete],
    "porting_order.status_changed": [create, loa, submit],
    "porting_order.messaging_changed": [create_with_messaging, loa, submit, desk_messaging],
    "porting_order.split": [*_SUBMITTED, desk_split],
    "porting_order.numbers_rejected": [*_SUBMITTED, desk_reject],
    "porting_order.numbers_confirmed": [*_SUBMITTED, desk_foc],
    "porting_order.numbers_activated": [*_SUBMITTED, desk_foc, desk_activate],
}


def needs_desk(event_type: str) -> bool:
    return any(step.__name__.startswith("desk") for step in PLANS[event_type])


def run(walk: Walk, event_type: str) -> None:
    """Walk the plan; an order given beforehand (``walk.order_id``) gets the
    last step only."""
    steps = PLANS[event_type]
    if walk.order_id is not None:
        order = walk.call("customer", "GET", f"/v1/porting-orders/{walk.order_id}")
        walk.numbers = [n["phone_number"] for n in order.get("phone_numbers", [])]
        steps = steps[-1:]
    for step in steps:
        step(walk)
