"""jsoncodec: orjson's speed, the standard library's reach.

Whatever the value, the output must parse back to it, and nothing the
standard library encoded or decoded before may fail now.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porthook import jsoncodec

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_what_it_writes_parses_back_to_the_value(value: Any) -> None:
    written = jsoncodec.dumps(value)
    assert json.loads(written) == value
    assert jsoncodec.loads(written) == value


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [1, 2, {"z": None, "y": True}]},  # key order as given, not sorted
    {"name": "Zoë ☎ 東京"},  # UTF-8, not \\u escapes
    {"n": 2**63 - 1, "m": -(2**63)},  # the ends of orjson's own range
])
def test_the_same_compact_json_as_the_standard_library(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert jsoncodec.dumps(value) == expected


@pytest.mark.parametrize("value", [
    {"id": 2**70},  # beyond 64 bits
    {1: "a", 2: "b"},  # non-string keys, which JSON writes as strings
])
def test_what_orjson_refuses_the_standard_library_writes(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert jsoncodec.dumps(value) == expected


def test_a_lone_surrogate_is_written_as_its_escape() -> None:
    # UTF-8 cannot carry it; the escape is what the API client sent.
    written = jsoncodec.dumps({"text": "a\ud800b", "name": "Zoë"})
    assert written == b'{"text":"a\\ud800b","name":"Zo\\u00eb"}'
    assert json.loads(written) == {"text": "a\ud800b", "name": "Zoë"}


def test_nan_and_infinities_are_written_as_null_which_every_parser_reads() -> None:
    assert jsoncodec.dumps([math.nan, math.inf, -math.inf]) == b"[null,null,null]"


@pytest.mark.parametrize("text, expected", [
    # orjson alone would read a float and lose digits
    ('{"id": 123456789012345678901234567890}', {"id": 123456789012345678901234567890}),
    (b'{"id": -99999999999999999999}', {"id": -99999999999999999999}),
    ('{"ref": "12345678901234567890123"}', {"ref": "12345678901234567890123"}),
    ('{"b": 1, "a": 2}', {"b": 1, "a": 2}),
    (b'{"name": "Zo\xc3\xab"}', {"name": "Zoë"}),
])
def test_reads_what_the_standard_library_reads(text: str | bytes, expected: Any) -> None:
    value = jsoncodec.loads(text)
    assert value == expected
    assert list(value) == list(expected)  # key order kept


def test_nan_is_read_as_the_standard_library_reads_it() -> None:
    assert math.isnan(jsoncodec.loads('{"x": NaN}')["x"])


def test_invalid_json_still_raises_a_value_error() -> None:
    with pytest.raises(ValueError):
        jsoncodec.loads("{not json")


def test_what_neither_can_write_still_raises() -> None:
    with pytest.raises(TypeError):
        jsoncodec.dumps({"x": object()})
