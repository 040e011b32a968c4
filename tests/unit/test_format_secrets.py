"""No PIN (or other secret) ever leaves through any format or e-mail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porthook.delivery import formats
from porthook.delivery.formats import FORMATS, Attempt
from porthook.delivery.formats.base import is_secret_key
from porthook.delivery.formats.email import render_email
from porthook.events.types import EventType
from tests.unit.format_events import make_event, make_number, make_order

SECRET_KEYS = ["pin", "wireless_pin", "inbox_pin", "voicemail_pin", "newPortOutPin",
               "password", "signing_secret", "credentials"]
EVENT_TYPES = [*EventType, "record.lnp_requests.updated", "record.voicemail_inboxes.inserted"]


def _plant(value: Any, key: str, secret: str) -> Any:
    """A copy of ``value`` with ``key: secret`` added to every object in it."""
    if isinstance(value, dict):
        return {**{k: _plant(v, key, secret) for k, v in value.items()}, key: secret}
    if isinstance(value, list):
        return [_plant(v, key, secret) for v in value]
    return value


def _data(event_type: str) -> dict[str, Any]:
    number = make_number(status="confirmed")
    return {
        "porting_order": make_order(phone_numbers=[number]),
        "phone_numbers": [number],
        "comment": {"id": "c", "body": "hello", "user_type": "user", "user_id": None,
                    "inserted_at": "2024-05-02T10:00:00Z"},
        "from": {"id": "a"}, "to": {"id": "b"},
        "schema": event_type.split(".")[1] if event_type.startswith("record.") else None,
        "record": {"id": 1, "inbox_name": "Front desk"},
        "status": "error", "verbose": "not 10 digits",
        "endpoint": {"id": "e", "url": "https://hooks.example.com"}, "reason": "HTTP 500",
    }


@given(
    event_type=st.sampled_from(EVENT_TYPES),
    key=st.sampled_from(SECRET_KEYS),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=8),
)
def test_no_secret_in_any_output(event_type: str, key: str, digits: str) -> None:
    secret = f"SECRET-{digits}"  # a marker that no legitimate field contains
    event = make_event(event_type, _plant(_data(event_type), key, secret))
    for format in FORMATS:
        if formats.supports(format, event_type):
            body = formats.render(format, event, Attempt(2, "https://hooks.example.com"))
            assert secret.encode() not in body, format
    mail = render_email(event, account_name="Acme")
    assert secret not in mail.text + mail.html + mail.subject


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("pin", True),  # port_out.pin
        ("wireless_pin", True),  # port_out.wireless_pin, seed 002 lnp_requests
        ("inbox_pin", True),  # seed 002 voicemail_inboxes
        ("newPortOutPin", True),  # seed 000 phone numbers
        ("password", True),  # endpoint basic auth
        ("pin_set", False),  # only says whether a PIN was given
        ("wireless_pin_set", False),  # likewise
        ("spin", False),  # a word that merely ends in "pin"
        ("phone_number", False),  # ordinary field
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    "planted",
    [
        None,  # nothing names a secret: render skips the walk
        "wireless_pin",  # a secret key: render falls back to the walk
        "pin_set",  # names "pin" but is no secret: walked, and kept
    ],
)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_render_is_the_built_body_in_compact_json(event_type: str, planted: str | None) -> None:
    data = _data(event_type) if planted is None else _plant(_data(event_type), planted, "1")
    event = make_event(event_type, data)
    attempt = Attempt(1, "https://hooks.example.com")
    for format in FORMATS:
        if formats.supports(format, event_type):
            body = formats.render(format, event, attempt)
            assert json.loads(body) == formats.build(format, event, attempt), format
            compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
            assert body == compact.encode(), format
