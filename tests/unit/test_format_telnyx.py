"""Format ``telnyx`` against seed 001's own samples (000_... is sinch; 001 is this one)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from porthook.delivery import formats
from porthook.delivery.formats import Attempt, UnsupportedEvent
from tests.unit.format_events import make_event, make_order, same_keys

HOOK = "https://example.com/porting_webhooks"


def _status_sample(
    event_id: str, occurred_at: str, order_id: str, reference: str, key: str,
    status: str, updated_at: str, details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    # The seed's status samples differ only in these facts; the shape is one.
    return {
        "data": {
            "event_type": "porting_order.status_changed",
            "id": event_id,
            "occurred_at": occurred_at,
            "payload": {
                "customer_reference": reference,
                "id": order_id,
                "status": {"details": details or [], "value": status},
                "support_key": key,
                "updated_at": updated_at,
                "webhook_url": HOOK,
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": HOOK},
    }


REF, ORDER = "1-alpha-2-bravo-3-charlie", "3594c6c3-51a7-4306-b715-ca3765f13464"
EXCEPTION_DETAILS = [
    {"code": "ACCOUNT_NUMBER_MISMATCH",
     "description": "Account number does not match that on the CSR"},
    {"code": "PORTING_ORDER_SPLIT_REQUIRED",
     "description": "The OSP requires this Porting Order to be split map_exception_detail "
                    "and submitted as separate orders"},
    {"code": "LOA_ILLEGIBLE", "description": "The LOA is illegible"},
]
STATUS_SAMPLES = [
    # Transition to in-process status
    _status_sample("8179f546-d479-42be-822b-8c78e1e89a59", "2023-01-11T16:08:31.804886Z",
                   "f6e10519-4664-4119-bb03-bbe73cf26ed3", REF, "sr_ac8c24", "in-process",
                   "2023-01-11T16:08:31.804886Z"),
    # Transition to submitted status
    _status_sample("12ae614e-ed37-4a19-9fe3-2b69bf33d429", "2021-01-19T19:52:13.874635Z",
                   ORDER, REF, "sr_98f022", "submitted", "2021-03-19T19:52:13+00:00"),
    # Transition to exception status, three detail codes
    _status_sample("72322cb3-b6c6-46a4-a571-21a759c02da0", "2021-01-19T19:51:37.844234Z",
                   ORDER, REF, "sr_98f022", "exception", "2021-03-19T19:51:37+00:00",
                   EXCEPTION_DETAILS),
    # Transition to foc-date-confirmed status
    _status_sample("80227461-b684-4e89-a1a9-5055a2b4d8ef", "2021-03-19T19:48:58.261079Z",
                   ORDER, REF, "sr_98f022", "foc-date-confirmed", "2021-03-19T19:48:57+00:00"),
    # Transition to ported status
    _status_sample("334e12a2-a016-489e-a2b6-7abb46637327", "2021-03-19T19:48:58.261079Z",
                   ORDER, REF, "sr_98f022", "ported", "2021-03-19T19:48:57+00:00"),
    # Transition to cancel-pending status
    _status_sample("4f0c225d-3892-4e0e-9524-7625dfc20b19", "2022-04-11T15:50:53.869432Z",
                   "f17074cb-72ee-48b4-bb45-64894e756f01", "Test1234", "sr_602ae7",
                   "cancel-pending", "2022-04-11T15:50:52+00:00"),
    # Transition to cancelled status
    _status_sample("6cac3a83-dc30-45a9-ab51-32e1882f4d04", "2022-04-11T15:52:52.596025Z",
                   "f17074cb-72ee-48b4-bb45-64894e756f01", "Test1234", "sr_602ae7",
                   "cancelled", "2022-04-11T15:52:47+00:00"),
]

NEW_COMMENT_SAMPLE: dict[str, Any] = {
    "data": {
        "event_type": "porting_order.new_comment",
        "id": "6cafaed2-05f4-4791-9bcf-2392a0c912ef",
        "occurred_at": "2021-11-04T17:37:43.145988Z",
        "payload": {
            "comment": {
                "body": "Testing Webhooks 123",
                "id": "ca4b9cf6-d840-4ba9-ba38-95f4bc971164",
                "inserted_at": "2021-11-04T17:37:42Z",
                "user_id": None,
                "user_type": "admin",
            },
            "porting_order_id": "b3d55519-25c8-4af4-a50a-c92a9ddf7da4",
            "support_key": "sr_acdabe",
        },
        "record_type": "event",
    },
    "meta": {"attempt": 1, "delivered_to": HOOK},
}

SPLIT_SAMPLE: dict[str, Any] = {
    "data": {
        "event_type": "porting_order.split",
        "id": "a98be460-2d1e-42b7-8c0d-d516c352efd2",
        "occurred_at": "2021-11-15T19:37:37.131727Z",
        "payload": {
            "from": {"id": "a6efe074-0a3a-4522-8512-d0e004cf6c7d"},
            "to": {"id": "ef245340-da3d-4212-8769-1fa7672a675f"},
        },
        "record_type": "event",
    },
    "meta": {"attempt": 1, "delivered_to": HOOK},
}


def _messaging_sample(status: str) -> dict[str, Any]:
    return {
        "id": "626110d0-fab6-4a13-9183-3b331c41ccac",
        "event_type": "porting_order.messaging_changed",
        "occurred_at": "2022-01-01T00:00:00Z",
        "urls": ["https://testing.com/callback"],
        "organization_id": "dbdbc891-dc82-4c39-b9a1-e51e830c4352",
        "format": "v2",
        "payload": {
            "id": "ce2f4509-d166-4834-a0b9-e3ecb469a537",
            "customer_reference": "my_ref_001",
            "messaging": {
                "messaging_capable": True,
                "enable_messaging": True,
                "messaging_port_status": status,
            },
            "support_key": "sr_abc123",
        },
    }


DELETED_SAMPLE: dict[str, Any] = {
    "id": "4da7b0e3-1a3c-4111-8335-dc436f6a0a00",
    "event_type": "porting_order.deleted",
    "occurred_at": "2023-01-01T00:00:00Z",
    "urls": ["https://example.com/webhook"],
    "organization_id": "dbdbc891-dc82-4c39-b9a1-e51e830c4352",
    "format": "v2",
    "payload": {
        "id": "74cc03c8-ab01-4887-bc31-9563e482d1e3",
        "customer_reference": "my_ref_123",
        "deleted_at": "2023-01-01T00:00:00Z",
    },
}


def _render(event_type: str, data: dict[str, Any], event_id: str, occurred_at: str,
            attempt: Attempt, **event_fields: Any) -> dict[str, Any]:
    event = make_event(event_type, data, id=event_id, occurred_at=occurred_at, **event_fields)
    body = formats.render("telnyx", event, attempt)
    parsed: dict[str, Any] = json.loads(body)
    return parsed


@pytest.mark.parametrize(
    "sample", STATUS_SAMPLES, ids=lambda s: s["data"]["payload"]["status"]["value"]
)
def test_status_changed_matches_seed_sample(sample: dict[str, Any]) -> None:
    payload = sample["data"]["payload"]
    order = make_order(
        id=payload["id"], customer_reference=payload["customer_reference"],
        support_key=payload["support_key"], status=payload["status"]["value"],
        status_details=payload["status"]["details"], updated_at=payload["updated_at"],
        webhook_url=payload["webhook_url"],
    )
    rendered = _render("porting_order.status_changed",
                       {"porting_order": order, "previous_status": "draft"},
                       sample["data"]["id"], sample["data"]["occurred_at"], Attempt(1, HOOK))
    same_keys(rendered, sample)
    # The in-process sample alone writes updated_at with microseconds and Z; porthook
    # writes the form of the six others, so compare that one as an instant.
    got, want = rendered["data"]["payload"].pop("updated_at"), dict(payload).pop("updated_at")
    assert datetime.fromisoformat(got) == datetime.fromisoformat(want).replace(microsecond=0)
    expected = json.loads(json.dumps(sample))
    del expected["data"]["payload"]["updated_at"]
    assert rendered == expected


def test_new_comment_matches_seed_sample() -> None:
    payload = NEW_COMMENT_SAMPLE["data"]["payload"]
    order = make_order(id=payload["porting_order_id"], support_key=payload["support_key"])
    comment = dict(payload["comment"], inserted_at="2021-11-04T17:37:42.000000+00:00")
    rendered = _render("porting_order.new_comment", {"porting_order": order, "comment": comment},
                       NEW_COMMENT_SAMPLE["data"]["id"], NEW_COMMENT_SAMPLE["data"]["occurred_at"],
                       Attempt(1, HOOK))
    assert rendered == NEW_COMMENT_SAMPLE


def test_split_matches_seed_sample() -> None:
    payload = SPLIT_SAMPLE["data"]["payload"]
    data = {"porting_order": make_order(id=payload["from"]["id"]), "from": payload["from"],
            "to": payload["to"], "phone_number": "+12125550100"}
    rendered = _render("porting_order.split", data, SPLIT_SAMPLE["data"]["id"],
                       SPLIT_SAMPLE["data"]["occurred_at"], Attempt(1, HOOK))
    assert rendered == SPLIT_SAMPLE


@pytest.mark.parametrize("status", ["exception", "ported"])
def test_messaging_changed_matches_seed_samples(status: str) -> None:
    sample = _messaging_sample(status)
    payload = sample["payload"]
    order = make_order(id=payload["id"], customer_reference=payload["customer_reference"],
                       support_key=payload["support_key"], messaging=payload["messaging"])
    rendered = _render("porting_order.messaging_changed",
                       {"porting_order": order, "previous_messaging_port_status": "activating"},
                       sample["id"], sample["occurred_at"], Attempt(1, sample["urls"][0]),
                       account_id=sample["organization_id"])
    assert rendered == sample


def test_deleted_matches_seed_sample() -> None:
    payload = DELETED_SAMPLE["payload"]
    order = make_order(id=payload["id"], customer_reference=payload["customer_reference"],
                       status="draft")
    rendered = _render("porting_order.deleted",
                       {"porting_order": order, "deleted_at": "2023-01-01T00:00:00+00:00"},
                       DELETED_SAMPLE["id"], DELETED_SAMPLE["occurred_at"],
                       Attempt(1, DELETED_SAMPLE["urls"][0]),
                       account_id=DELETED_SAMPLE["organization_id"])
    assert rendered == DELETED_SAMPLE


def test_meta_is_filled_per_attempt() -> None:
    order = make_order()
    event = make_event("porting_order.status_changed", {"porting_order": order})
    third = json.loads(formats.render("telnyx", event, Attempt(3, "https://b.example/hook")))
    assert third["meta"] == {"attempt": 3, "delivered_to": "https://b.example/hook"}
    assert third["data"]["id"] == str(event.id)


def test_unset_webhook_url_and_reference_are_null() -> None:
    order = make_order(webhook_url=None, customer_reference=None)
    event = make_event("porting_order.status_changed", {"porting_order": order})
    payload = formats.build("telnyx", event, Attempt(1, HOOK))["data"]["payload"]
    assert payload["webhook_url"] is None
    assert payload["customer_reference"] is None


@pytest.mark.parametrize(
    ("event_type", "sent"),
    [
        ("porting_order.status_changed", True),  # envelope sample x7
        ("porting_order.new_comment", True),  # envelope sample
        ("porting_order.split", True),  # envelope sample
        ("porting_order.messaging_changed", True),  # v2 samples x2
        ("porting_order.deleted", True),  # v2 sample
        ("porting_order.created", False),  # the seed notifies no creation
        ("porting_order.updated", False),  # nor field edits
        ("porting_order.numbers_confirmed", False),  # per-number moves are seed 000's
        ("porting_order.document_added", False),  # no document notification in seed 001
        ("record.dids.inserted", False),  # seed 002's world
        ("sms_enablement.completed", False),  # seed 002's world
        ("endpoint.disabled", False),  # porthook's own
    ],
)
def test_supported_types(event_type: str, sent: bool) -> None:
    assert formats.supports("telnyx", event_type) is sent
    if not sent:
        event = make_event(event_type, {"porting_order": make_order()})
        with pytest.raises(UnsupportedEvent):
            formats.render("telnyx", event, Attempt(1, HOOK))
