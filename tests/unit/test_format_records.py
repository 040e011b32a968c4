"""Format ``records`` against seed 002's samples (002_8c94001453ec1edb.txt)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porthook.delivery import formats
from porthook.delivery.formats import Attempt, UnsupportedEvent
from porthook.delivery.formats.base import is_secret_key
from tests.unit.format_events import make_event, make_order, same_keys

ATTEMPT = Attempt(1, "https://hooks.example.com/records")

# The seed's three sms_enablement samples (its curly quotes made straight).
SMS_SAMPLES = [
    {"type": "update", "schema": "sms_enablement", "status": "error",
     "verbose": "already provisioned"},
    {"type": "update", "schema": "sms_enablement", "status": "error", "verbose": "not 10 digits"},
    {"type": "update", "schema": "sms_enablement", "status": "error", "verbose": ""},
]
# The seed's general shape: {"type": "update", "schema": "dids", "data": "{ dids object }"}.
DIDS_RECORD = {"id": 41, "user_id": 7, "call_flow_id": None, "channel_group_id": None,
               "voicemail_inbox_id": None, "number": "+12125550100", "number_type": "local",
               "state": "NY", "ratecenter": "NWYRCYZN01", "sms_enabled": False,
               "xmpp_enabled": False, "inbound_cnam": True}


def _body(event_type: str, data: dict[str, Any], subject_type: str = "dids") -> dict[str, Any]:
    event = make_event(event_type, data, subject_type=subject_type, subject_id="41")
    parsed: dict[str, Any] = json.loads(formats.render("records", event, ATTEMPT))
    return parsed


@pytest.mark.parametrize("sample", SMS_SAMPLES, ids=lambda s: s["verbose"] or "empty")
def test_sms_enablement_matches_seed_samples(sample: dict[str, str]) -> None:
    data = {"did_id": "41", "number": "+12125550100", "status": sample["status"],
            "verbose": sample["verbose"]}
    assert _body("sms_enablement.completed", data, subject_type="dids") == sample


@pytest.mark.parametrize(
    ("operation", "seed_type"),
    [
        ("inserted", "insert"),  # "Insert for a new record"
        ("updated", "update"),  # "Update if we've modified an existing record"
        ("deleted", "delete"),  # "Delete if that record has been removed"
    ],
)
def test_record_change_matches_seed_shape(operation: str, seed_type: str) -> None:
    body = _body(f"record.dids.{operation}", {"schema": "dids", "record": DIDS_RECORD})
    same_keys(body, {"type": "update", "schema": "dids", "data": "{ dids object }"})
    assert (body["type"], body["schema"]) == (seed_type, "dids")
    assert isinstance(body["data"], str)  # a JSON string: "will need a parse on your end"
    assert json.loads(body["data"]) == DIDS_RECORD
    assert list(json.loads(body["data"])) == list(DIDS_RECORD)  # the seed's field order


def test_secret_seed_fields_never_leave() -> None:
    inbox = {"id": 3, "user_id": 7, "inbox_number": "100", "inbox_name": "Front desk",
             "inbox_pin": "4321", "transcribe": True}
    body = _body("record.voicemail_inboxes.updated",
                 {"schema": "voicemail_inboxes", "record": inbox}, "voicemail_inboxes")
    assert "inbox_pin" not in json.loads(body["data"])
    assert "4321" not in body["data"]


@pytest.mark.parametrize(
    ("event_type", "sent"),
    [
        ("record.dids.inserted", True),  # every schema of the seed...
        ("record.lnp_requests.updated", True),  # ...porting orders as lnp_requests
        ("record.e911_records.deleted", True),
        ("sms_enablement.completed", True),  # the seed's error results
        ("record.dids.renamed", False),  # not one of the three operations
        ("record..inserted", False),  # no schema
        ("porting_order.status_changed", False),  # arrives as record.lnp_requests.updated
        ("endpoint.recovered", False),  # porthook's own
    ],
)
def test_supported_types(event_type: str, sent: bool) -> None:
    assert formats.supports("records", event_type) is sent
    if not sent:
        with pytest.raises(UnsupportedEvent):
            formats.render("records", make_event(event_type, {"porting_order": make_order()}),
                           ATTEMPT)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=3),
    max_leaves=10,
)


@given(
    schema=st.sampled_from(["dids", "sip_accounts", "users", "lnp_numbers", "faxes"]),
    operation=st.sampled_from(["inserted", "updated", "deleted"]),
    record=st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=8),
)
def test_record_data_always_parses_back(schema: str, operation: str,
                                        record: dict[str, Any]) -> None:
    body = _body(f"record.{schema}.{operation}", {"schema": schema, "record": record}, schema)
    parsed = json.loads(body["data"])
    assert set(parsed) == {k for k in record if not is_secret_key(k)}
    assert body["schema"] == schema
