"""Format ``standard``: the Standard Webhooks envelope, for every event type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from porthook.delivery import formats
from porthook.delivery.formats import FORMATS, Attempt, EventView, event_view
from porthook.events.models import Event
from porthook.events.types import EventType
from tests.unit.format_events import make_event, make_order

ATTEMPT = Attempt(1, "https://hooks.example.com/standard")
ALL_TYPES = [*EventType, "record.dids.inserted", "record.lnp_requests.updated",
             "record.users.deleted"]


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_type_is_sent_in_the_envelope(event_type: str) -> None:
    event = make_event(event_type, {"porting_order": make_order()}, sequence=4)
    assert formats.supports("standard", event_type)
    body = json.loads(formats.render("standard", event, ATTEMPT))
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == event_type
    assert body["data"]["id"] == str(event.id)  # the webhook-id: deduplicate on it
    assert body["data"]["subject"] == {"type": event.subject_type, "id": event.subject_id}
    assert body["data"]["sequence"] == 4


def test_timestamp_and_data_are_the_events() -> None:
    order = make_order()
    event = make_event("porting_order.status_changed",
                       {"porting_order": order, "previous_status": "submitted"},
                       occurred_at="2024-05-02T11:30:15.654321+00:00")
    body = json.loads(formats.render("standard", event, ATTEMPT))
    assert body["timestamp"] == "2024-05-02T11:30:15.654321Z"
    assert body["data"]["porting_order"] == order
    assert body["data"]["previous_status"] == "submitted"
    assert body["data"]["account_id"] == str(event.account_id)


def test_envelope_keys_win_over_event_data() -> None:
    event = make_event("record.dids.updated", {"id": "not-the-event", "sequence": -1},
                       subject_type="dids", subject_id="41")
    data = formats.build("standard", event, ATTEMPT)["data"]
    assert (data["id"], data["sequence"]) == (str(event.id), event.sequence)


def test_render_is_compact_utf8() -> None:
    event = make_event("porting_order.created",
                       {"porting_order": make_order(customer_reference="Café Québec")})
    body = formats.render("standard", event, ATTEMPT)
    assert "Café Québec".encode() in body
    assert b", " not in body and b": " not in body


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        formats.supports("xml", "porting_order.created")
    assert FORMATS == ("standard", "telnyx", "sinch", "records")


def test_event_view_copies_the_row() -> None:
    data: dict[str, Any] = {"porting_order": make_order()}
    row = Event(id=uuid.uuid4(), account_id=uuid.uuid4(), type="porting_order.created",
                subject_type="porting_order", subject_id="o1", sequence=1,
                occurred_at=datetime(2024, 5, 2, tzinfo=UTC), data=data)
    view = event_view(row)
    assert isinstance(view, EventView)
    assert (view.id, view.type, view.sequence, view.occurred_at) == (
        row.id, row.type, 1, row.occurred_at)
    data["porting_order"]["status"] = "ported"  # a later change to the row...
    assert view.data["porting_order"]["status"] == "submitted"  # ...does not reach the copy
