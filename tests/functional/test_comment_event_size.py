"""A comment's event does not grow with the order's history (issue 17): it
carries the comment and the order's summary, never the order's other
comments, numbers or documents; every other porting event still carries the
whole order as it was at that moment."""

from __future__ import annotations

from typing import Any

import httpx

from porthook import jsoncodec
from tests.conftest import AccountFactory
from tests.porting_helpers import create_order

COMMENTS = 25


async def _events(client: httpx.AsyncClient, headers: dict[str, str], order_id: str,
                  event_type: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", headers=headers, params={
        "type": event_type, "subject_type": "porting_order", "subject_id": order_id,
        "limit": 100})
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_the_new_comment_event_is_the_same_size_on_the_first_and_the_last_comment(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers)
    url = f"/v1/porting-orders/{order['id']}/comments"
    for i in range(COMMENTS):
        # Bodies of one length: any growth of the event is the order's history.
        response = await client.post(url, json={"body": f"comment {i:04d}"}, headers=headers)
        assert response.status_code == 201

    events = await _events(client, headers, order["id"], "porting_order.new_comment")
    assert len(events) == COMMENTS
    sizes = [len(jsoncodec.dumps(e["data"])) for e in events]
    assert max(sizes) - min(sizes) <= 8, sizes  # timestamps may differ by a digit or two
    last = events[-1]["data"]
    assert last["comment"]["body"] == f"comment {COMMENTS - 1:04d}"
    summary = last["porting_order"]
    assert {"comments", "phone_numbers", "documents"}.isdisjoint(summary)
    # What the formats read from it (telnyx: id, support_key; sinch: order_number;
    # e-mail: the order's facts) is there.
    for key in ("id", "support_key", "order_number", "status", "customer_reference"):
        assert summary[key] == order[key]


async def test_a_status_change_still_carries_the_whole_order_with_its_comments(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    order = await create_order(client, headers)
    for i in range(3):
        await client.post(f"/v1/porting-orders/{order['id']}/comments",
                          json={"body": f"note {i}"}, headers=headers)
    cancel = await client.post(f"/v1/porting-orders/{order['id']}/actions/cancel",
                               headers=headers)
    assert cancel.status_code == 200, cancel.text
    (changed,) = await _events(client, headers, order["id"], "porting_order.status_changed")
    snapshot = changed["data"]["porting_order"]
    assert [c["body"] for c in snapshot["comments"]] == ["note 0", "note 1", "note 2"]
    assert len(snapshot["phone_numbers"]) == len(order["phone_numbers"])
