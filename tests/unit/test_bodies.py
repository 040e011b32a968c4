"""The request-body gate's pure checks: JSON syntax, NaN and infinities, NUL
characters, nesting depth, query parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porthook.bodies import check_json, check_query, parse_json
from porthook.problems import Unprocessable


def _field_and_message(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(Unprocessable) as raised:
        call(*args, **kwargs)
    errors = raised.value.errors or []
    assert len(errors) == 1
    return errors[0].field, errors[0].message


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"a": 1,}', "line 1 column 9"),  # a trailing comma: where it is
    (b'{"a": }', "Expecting value"),  # no value: why
    (b'{"a": NaN}', "NaN is not a JSON number"),  # SQLite stores it, jsonb refuses it
    (b'{"a": -Infinity}', "-Infinity is not a JSON number"),  # the same for infinities
    (b'{"a": 1e400}', "out of the range of a double"),  # an infinity in disguise
    (b'\xff\xfe{', "not"),  # not text at all
])
def test_parse_json_says_where_and_why(body: bytes, expected: str) -> None:
    field, message = _field_and_message(parse_json, body)
    assert field == "body"
    assert expected in message


def test_nesting_past_the_limit_names_where() -> None:
    deep: Any = 1
    for _ in range(10):
        deep = {"a": [deep]}
    field, message = _field_and_message(check_json, {"flow_data": deep}, max_depth=8)
    assert field.startswith("body.flow_data.a[0]")
    assert "deeper than 8" in message
    check_json({"flow_data": deep}, max_depth=21)


@pytest.mark.parametrize(("value", "field"), [
    ({"body": "a\x00b"}, "body.body"),  # in a value
    ({"x": [{"y": "\x00"}]}, "body.x[0].y"),  # nested
    ({"k\x00": 1}, "body.k\x00"),  # in a key
])
def test_nul_characters_are_refused_naming_the_field(value: Any, field: str) -> None:
    found, message = _field_and_message(check_json, value, max_depth=32)
    assert found == field
    assert "NUL" in message


def test_nul_in_a_query_parameter_is_refused() -> None:
    found, _ = _field_and_message(check_query, b"limit=5&customer_reference=a%00b")
    assert found == "query.customer_reference"
    check_query(b"customer_reference=a%20b&cursor=")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_parses_or_is_a_422(body: bytes) -> None:
    try:
        check_json(parse_json(body), max_depth=8)
    except Unprocessable as problem:
        assert problem.errors and problem.errors[0].field.startswith("body")
