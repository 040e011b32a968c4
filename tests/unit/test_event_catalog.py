"""The event catalog: every type, its formats, schemas and examples, and the
filter check that refuses a type porthook never emits."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from porthook.catalog import examples, service
from porthook.delivery import catalog, formats
from porthook.delivery.formats import sinch
from porthook.events import types
from porthook.events.types import EventType
from porthook.records.registry import SCHEMAS

ENTRIES = [service.entry(examples.event(t)) for t in catalog.type_names()]


def validate(schema: dict[str, Any], body: dict[str, Any]) -> None:
    """``body`` against ``schema``; a records body's JSON string against its contentSchema."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(body)
    content = schema["properties"].get("data", {}).get("contentSchema")
    if content is not None:
        jsonschema.Draft202012Validator(content, format_checker=checker).validate(
            json.loads(body["data"]))


def test_every_type_porthook_emits_is_listed_once() -> None:
    names = catalog.type_names()
    assert len(names) == len(set(names))
    assert set(EventType) <= set(names)
    for schema in SCHEMAS:  # seed 002's schemas, lnp_* included
        assert {f"record.{schema}.{op}" for op in types.RECORD_OPERATIONS} <= set(names)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["type"] for e in ENTRIES])
def test_each_example_validates_against_its_published_schema(entry: dict[str, Any]) -> None:
    assert entry["description"]
    assert entry["formats"], "every type reaches at least the standard format"
    for payload in entry["formats"]:
        jsonschema.Draft202012Validator.check_schema(payload["json_schema"])
        validate(payload["json_schema"], payload["example"])


@pytest.mark.parametrize(
    ("event_type", "format", "name"),
    [
        ("porting_order.numbers_confirmed", "sinch", "NUMBERS_CONFIRMED"),  # seed 000
        ("porting_order.status_changed", "sinch", "ORDER_UPDATED"),  # seed 000's one update
        ("porting_order.status_changed", "telnyx", "porting_order.status_changed"),  # seed 001
        ("record.dids.inserted", "records", "insert"),  # seed 002
        ("record.lnp_numbers.deleted", "records", "delete"),  # seed 002, porting's view
        ("sms_enablement.completed", "records", "update"),  # seed 002's sms outcome
        ("endpoint.disabled", "standard", "endpoint.disabled"),  # porthook's own
    ],
)
def test_names_in_each_format(event_type: str, format: str, name: str) -> None:
    assert formats.event_name(format, event_type) == name
    [entry] = [e for e in ENTRIES if e["type"] == event_type]
    assert {p["format"]: p["name"] for p in entry["formats"]}[format] == name


def test_formats_carry_what_they_support() -> None:
    by_type = {e["type"]: [p["format"] for p in e["formats"]] for e in ENTRIES}
    assert by_type["porting_order.messaging_changed"] == ["standard", "telnyx"]
    assert by_type["porting_order.numbers_rejected"] == ["standard", "sinch"]
    assert by_type["record.dids.updated"] == ["standard", "records"]
    assert by_type["endpoint.failing"] == ["standard"]


def test_no_secret_in_schemas_or_examples() -> None:
    text = json.dumps(ENTRIES)
    for key in ('"pin"', '"wireless_pin"', '"inbox_pin"', "newPortOutPin", '"password"'):
        assert key not in text


@pytest.mark.parametrize(
    ("body_change", "valid"),
    [
        ({}, True),  # as rendered
        ({"activateTime": None}, False),  # null where the seed types a string
        ({"surprise": 1}, False),  # a field the seed does not list
        ({"status": "REJECTED", "exclusionTime": "2026-03-02T15:04:05Z"}, False),  # no reason
        ({"status": "REJECTED", "exclusionReason": "Not portable"}, False),  # no date
        ({"status": "REJECTED", "exclusionReason": "Not portable",
          "exclusionTime": "2026-03-02T15:04:05Z"}, True),  # both: as the seed says
    ],
)
def test_sinch_schema_is_strict(body_change: dict[str, Any], valid: bool) -> None:
    event = examples.event("porting_order.numbers_confirmed")
    body = formats.build("sinch", event, formats.Attempt(1, service.EXAMPLE_URL))
    body["phoneNumbers"][0] |= body_change
    schema = sinch.schema("porting_order.numbers_confirmed")
    if valid:
        validate(schema, body)
    else:
        with pytest.raises(jsonschema.ValidationError):
            validate(schema, body)


@pytest.mark.parametrize(
    ("pattern", "known"),
    [
        ("*", True),  # everything
        ("porting_order.*", True),  # a family
        ("porting_order.status_changed", True),  # an exact type
        ("record.*", True),  # every records type
        ("record.dids.*", True),  # one schema's
        ("record.lnp_requests.updated", True),  # porting's seed-002 view
        ("endpoint.*", True),  # health events
        ("porting_order.nope", False),  # the example: accepted, never fired
        ("record.nope.*", False),  # no such schema
        ("porting_order", False),  # a family needs its ".*"
        ("porting_order*", False),  # no glob but ".*" and "*"
        ("PORTING_ORDER.CREATED", False),  # types are lower case
        ("NUMBERS_CONFIRMED", False),  # a format's name is not a porthook type
    ],
)
def test_patterns_are_checked_against_the_catalog(pattern: str, known: bool) -> None:
    if known:
        catalog.check_patterns([pattern])
    else:
        with pytest.raises(ValueError, match=r"matches no event type") as raised:
            catalog.check_patterns(["*", pattern])
        assert repr(pattern) in str(raised.value)
