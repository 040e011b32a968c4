"""Property: whatever sequence of customer and desk actions an order goes
through, legal or not, on SQLite and PostgreSQL:

- no answer is a server error, and every refusal is a problem document;
- a refused action changes nothing: the order reads the same and no event is
  recorded;
- an accepted change is never silent: when the order reads differently, at
  least one new event of the order says so;
- the order's events are numbered 1, 2, 3... with no gap, and the last
  ``status_changed`` event carries the status the order has.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AccountFactory
from tests.porting_helpers import PDF, create_order, order_events

# Raise for a deeper local run:
# PORTHOOK_LIFECYCLE_EXAMPLES=200 pytest tests/functional/test_order_lifecycle_properties.py
EXAMPLES = int(os.environ.get("PORTHOOK_LIFECYCLE_EXAMPLES", "25"))
STEPS = 12

# Two fresh numbers per order: a number on an open order, or active once
# ported, cannot be ordered again (555-0100 to 0199 are valid fiction).
_AREAS = ("212", "303", "312", "415", "512", "617", "646", "702", "718")
_FRESH = (f"+1{area}555{line:04d}" for area, line in itertools.product(_AREAS, range(100, 200)))


def _two_numbers() -> list[str]:
    return [next(_FRESH), next(_FRESH)]


STATUSES = ("submitted", "exception", "foc-date-confirmed", "cancelled", "ported",
            "in-process", "draft", "nope")
CODES = (None, "ACCOUNT_NUMBER_MISMATCH", "LOA_ILLEGIBLE", "OTHER", "BOGUS")
FOC = (None, "2030-01-15T17:00:00Z", "2020-01-01T00:00:00Z", "soon")
PATCHES = ({"port_out": {"account_number": "654321"}}, {"customer_reference": "web-7"},
           {"desired_port_date": "1999-01-01"}, {"phone_numbers": ["12"]},
           {"end_user": {"authorized_person": "Jane Roe"}}, {"port_out": {"pin": "4321"}},
           {"desired_port_time_zone": "Mars/Olympus"})

# (who, what, arguments): "numbers" picks the order's first, second, both or a stranger.
actions = st.one_of(
    st.tuples(st.just("customer"),
              st.sampled_from(["submit", "resubmit", "cancel", "activate"])),
    st.tuples(st.just("status"), st.sampled_from(STATUSES), st.sampled_from(CODES),
              st.sampled_from(FOC)),
    st.tuples(st.just("numbers"), st.sampled_from(["confirm", "reject", "exclude", "activate"]),
              st.sampled_from(["first", "second", "both", "stranger"]),
              st.sampled_from([None, "not on CSR"])),
    st.tuples(st.just("patch"), st.sampled_from(PATCHES)),
    st.tuples(st.just("comment"), st.sampled_from(["CSR attached", ""]),
              st.booleans()),
    st.tuples(st.just("upload"), st.sampled_from(["loa", "invoice", "passport"])),
    st.tuples(st.just("split"), st.sampled_from(["first", "both", "stranger"])),
    st.tuples(st.just("messaging"),
              st.sampled_from(["pending", "activated", "exception", "not_applicable", "x"])),
)


# A request of each kind of action: (method, path under the order, the desk's
# or the customer's, the request's arguments). "{o}" is the customer's
# /v1/porting-orders/{id}, "{d}" the desk's /v1/operator/porting-orders/{id}.
Request = tuple[str, str, bool, dict[str, Any]]


def _status(status: str, code: str | None, foc: str | None) -> Request:
    body: dict[str, Any] = {"status": status}
    if code:
        body["details"] = [{"code": code}]
    if foc:
        body["foc_date"] = foc
    return "POST", "{d}/status", True, {"json": body}


def _numbers(move: str, numbers: list[str], reason: str | None) -> Request:
    body: dict[str, Any] = {"phone_numbers": numbers}
    if reason:
        body["reason"] = reason
    return "POST", f"{{d}}/phone-numbers/actions/{move}", True, {"json": body}


def _request(action: tuple[Any, ...], picked: dict[str, list[str]]) -> Request:
    what, *args = action
    if what == "status":
        return _status(*args)
    if what == "numbers":
        return _numbers(args[0], picked[args[1]], args[2])
    requests: dict[str, Callable[[], Request]] = {
        "customer": lambda: ("POST", f"{{o}}/actions/{args[0]}", False, {}),
        "patch": lambda: ("PATCH", "{o}", False, {"json": args[0]}),
        "comment": lambda: ("POST", "{d}/comments" if args[1] else "{o}/comments", args[1],
                            {"json": {"body": args[0]}}),
        "upload": lambda: ("POST", "{o}/documents", False, {
            "files": {"file": ("doc.pdf", PDF, "application/pdf")},
            "data": {"document_type": args[0]}}),
        "split": lambda: ("POST", "{d}/actions/split", True,
                          {"json": {"phone_numbers": picked[args[0]]}}),
        "messaging": lambda: ("POST", "{d}/messaging", True,
                              {"json": {"messaging_port_status": args[0]}}),
    }
    return requests[what]()


async def _act(client: httpx.AsyncClient, key: dict[str, str], desk: dict[str, str],
               order: str, numbers: list[str], action: tuple[Any, ...]) -> httpx.Response:
    picked = {"first": numbers[:1], "second": numbers[1:], "both": numbers,
              "stranger": ["+19995550100"]}
    method, path, by_desk, arguments = _request(action, picked)
    url = path.format(o=f"/v1/porting-orders/{order}", d=f"/v1/operator/porting-orders/{order}")
    return await client.request(method, url, headers=desk if by_desk else key, **arguments)


async def _state(client: httpx.AsyncClient, key: dict[str, str], order: str
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    read = await client.get(f"/v1/porting-orders/{order}", headers=key)
    assert read.status_code == 200, read.text
    return read.json(), await order_events(client, key, order)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(submitted=st.booleans(), steps=st.lists(actions, min_size=1, max_size=STEPS))
async def test_any_sequence_of_actions_keeps_the_order_and_its_events_true(
    client: httpx.AsyncClient, make_account: AccountFactory, operator_headers: dict[str, str],
    submitted: bool, steps: list[tuple[Any, ...]],
) -> None:
    _, key = await make_account()
    numbers = _two_numbers()
    order = (await create_order(client, key, *numbers,
                                port_out={"losing_carrier": "OldTel", "account_number": "1",
                                          "btn": numbers[0]}))["id"]
    if submitted:  # the desk's moves start here: most of the life is past a draft
        for first in [("upload", "loa"), ("customer", "submit")]:
            started = await _act(client, key, operator_headers, order, numbers, first)
            assert started.status_code in (200, 201), started.text
    before, events = await _state(client, key, order)
    for step in steps:
        answer = await _act(client, key, operator_headers, order, numbers, step)
        assert answer.status_code < 500, (step, answer.text)
        after, now_events = await _state(client, key, order)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json", step
            assert after == before, (step, answer.text)  # a refusal changes nothing
            assert now_events == events, (step, answer.text)
        elif after != before:
            assert len(now_events) > len(events), (step, "a change without an event")
        sequences = [e["sequence"] for e in sorted(now_events, key=lambda e: e["sequence"])]
        assert sequences == list(range(1, len(now_events) + 1)), step
        moves = [e for e in now_events if e["type"] == "porting_order.status_changed"]
        if moves:
            last = max(moves, key=lambda e: e["sequence"])
            assert last["data"]["porting_order"]["status"] == after["status"], step
        before, events = after, now_events
