"""Cursor pagination: ``{"data": [...], "next_cursor": ...}`` with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from porthook.inputs import INT64_MAX
from porthook.problems import FieldError, Unprocessable

T = TypeVar("T")
C = TypeVar("C")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


async def page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# The shapes of the cursors porthook issues; ``decode_cursor`` accepts nothing else.
POSITION = TypeAdapter(Annotated[int, Field(ge=0, le=INT64_MAX)])  # an order number, an id
UUID_KEY = TypeAdapter(uuid.UUID)
MOMENT_AND_ID = TypeAdapter(tuple[AwareDatetime, uuid.UUID])  # (created_at, id)


def decode_cursor(cursor: str | None, shape: TypeAdapter[C]) -> C | None:
    """The value a ``next_cursor`` of this list encoded, or 422 naming ``cursor``
    for anything porthook did not issue (other JSON, other base64, other text)."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        return shape.validate_json(raw, strict=True)
    except (ValueError, UnicodeError, binascii.Error):  # ValidationError is a ValueError
        message = "not a cursor of this list: pass the next_cursor of a previous page unchanged"
        raise Unprocessable(f"cursor: {message}",
                            errors=[FieldError(field="query.cursor", message=message)]) from None
