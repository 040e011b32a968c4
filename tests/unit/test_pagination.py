"""Cursors: only those porthook issued are decoded; anything else is a 422
naming ``cursor``, never an error deeper down."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from porthook.inputs import INT64_MAX
from porthook.pagination import (
    MOMENT_AND_ID,
    POSITION,
    UUID_KEY,
    decode_cursor,
    encode_cursor,
)
from porthook.problems import Unprocessable

SHAPES: list[TypeAdapter[Any]] = [POSITION, UUID_KEY, MOMENT_AND_ID]
ID = uuid.UUID("8c1b1f3c-0000-4000-8000-000000000001")
MOMENT = datetime(2030, 1, 15, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "shape", "decoded"), [
    (42, POSITION, 42),  # an order number, an event position, a record id
    (str(ID), UUID_KEY, ID),  # a delivery's or an lnp_number's id
    ([MOMENT.isoformat(), str(ID)], MOMENT_AND_ID, (MOMENT, ID)),  # (created_at, id)
])
def test_issued_cursors_round_trip(value: Any, shape: TypeAdapter[Any], decoded: Any) -> None:
    assert decode_cursor(encode_cursor(value), shape) == decoded


@pytest.mark.parametrize(("cursor", "shape"), [
    ("W10", POSITION),  # [] : the issue's examples, base64 of the wrong JSON
    ("e30", POSITION),  # {}
    ("NQ", UUID_KEY),  # 5 where a UUID is expected
    (encode_cursor(INT64_MAX + 1), POSITION),  # beyond 64 bits: the database would fail
    (encode_cursor(-1), POSITION),  # no negative positions are issued
    (encode_cursor(True), POSITION),  # a boolean is not a position
    (encode_cursor(["2030-01-15T14:00:00", str(ID)]), MOMENT_AND_ID),  # a naive time
    (encode_cursor([MOMENT.isoformat()]), MOMENT_AND_ID),  # half a key
    ("not base64!", POSITION),  # not base64 at all
    ("é", POSITION),  # not ASCII
])
def test_cursors_porthook_did_not_issue_are_422(cursor: str, shape: TypeAdapter[Any]) -> None:
    with pytest.raises(Unprocessable) as raised:
        decode_cursor(cursor, shape)
    assert [e.field for e in raised.value.errors or []] == ["query.cursor"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@settings(max_examples=300)
@given(cursor=st.text(max_size=60) | json_values.map(_b64), shape=st.sampled_from(SHAPES))
def test_any_cursor_decodes_or_is_a_422(cursor: str, shape: TypeAdapter[Any]) -> None:
    try:
        decode_cursor(cursor, shape)
    except Unprocessable as problem:
        assert problem.status == 422
