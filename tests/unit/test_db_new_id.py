"""Row ids are UUIDv7 (RFC 9562): valid UUIDs of version 7, led by the
millisecond they were made in, so that rows made later sort after (a new
key goes to the right end of its index, not to a random leaf)."""

from __future__ import annotations

import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from porthook import db


def _millisecond(value: uuid.UUID) -> int:
    return value.int >> 80


def test_an_id_is_a_version_7_uuid_of_this_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    made = db.new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= _millisecond(made) <= after
    assert uuid.UUID(str(made)) == made


def test_ids_made_later_sort_after_as_values_and_as_text() -> None:
    first = db.new_id()
    time.sleep(0.002)
    second = db.new_id()
    assert first < second
    assert str(first) < str(second)
    assert first.hex < second.hex  # SQLite keeps them as hex text


def test_ids_of_one_millisecond_differ() -> None:
    made = [db.new_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)


@given(st.binary(min_size=10, max_size=10), st.integers(min_value=0, max_value=2**48 - 1))
def test_the_fixed_bits_never_depend_on_the_random_ones(random: bytes, millisecond: int) -> None:
    made = db.uuid7(millisecond, random)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert _millisecond(made) == millisecond
