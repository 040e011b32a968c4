"""Input types shared by every domain's schemas and routes.

Integers: PostgreSQL's ``bigint`` and SQLite's integers hold 64 signed bits;
Python's and JSON's integers hold any number, and a larger one reaching the
database is a driver error (a 500). Every integer the API accepts is bounded
here, before the database sees it: out of range in a body or a query is a 422
naming the field; as a path id it names nothing stored, so it is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

from porthook.problems import NotFound

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""Any integer a column can hold."""
RecordRef = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A body or query reference to a record's numeric id (``*_id`` fields)."""


def _stored_id(value: int) -> int:
    if not 1 <= value <= INT64_MAX:
        # Not a ValueError: pydantic lets it through, so the route answers 404.
        raise NotFound(f"no record has the id {value}")
    return value


RecordIdPath = Annotated[
    int, Path(description="The record's numeric id", examples=[1]), AfterValidator(_stored_id)
]
"""A record's numeric id in a path: any number outside 1..2^63-1 is a 404."""
