"""Comments (seed 000's notes) and documents on porting orders.
Given a session; never commits."""

from __future__ import annotations

import functools
import hashlib
import uuid
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porthook import db
from porthook.events.types import EventType
from porthook.porting import outbox, rules
from porthook.porting import service as orders
from porthook.porting.models import PortingComment, PortingDocument, PortingOrder
from porthook.porting.snapshot import comment_public, document_public
from porthook.problems import (
    Conflict,
    FieldError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from porthook.sqlite_driver import OFF_LOOP

# Magic bytes of the accepted formats: the declared content type is not trusted.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff(content: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)


async def add_comment(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID | None, body: str,
    user_type: str, user_id: str | None, now: datetime, internal: bool = False,
) -> PortingComment:
    """A comment by the customer (``user``) or the desk (``admin``, seed 001).

    An ``internal`` comment is the desk's own note: it is stored and nothing
    else happens (no event, no change of the order the customer could see)."""
    # Neither the order's comments nor its numbers are loaded: the 1,000th
    # comment costs what the first did (issue 17). The row lock still orders
    # the order's events. A public comment updates the order (updated_at) in
    # the statement that finds and locks it; an internal one leaves it as it
    # is. The comment is a Core insert: the ORM's unit of work for one row
    # cost more CPU than the statement.
    comment = PortingComment(id=db.new_id(), order_id=order_id, body=body,
                             user_type=user_type, user_id=user_id, internal=internal,
                             inserted_at=now)
    row = {column: getattr(comment, column) for column in _COMMENT_COLUMNS}
    connection = await session.connection()
    if internal:
        await orders.get_order(session, order_id=order_id, account_id=account_id,
                               for_update=True, collections=False)
        await connection.execute(_INSERT_COMMENT, row)
        return comment
    if connection.dialect.name == "postgresql":
        order = await _touch_and_comment(connection, order_id, account_id, now, row)
    else:
        order = await orders.touch_order(session, order_id=order_id, account_id=account_id,
                                         now=now)
        await connection.execute(_INSERT_COMMENT, row)
    change = outbox.Change(order, EventType.PORTING_ORDER_NEW_COMMENT,
                           {"comment": comment_public(comment).model_dump(mode="json")})
    await outbox.publish_summary(session, change=change, now=now)
    return comment


async def _touch_and_comment(
    connection: AsyncConnection, order_id: uuid.UUID, account_id: uuid.UUID | None,
    now: datetime, row: dict[str, Any],
) -> PortingOrder:
    """PostgreSQL: the order touched and the comment inserted in ONE statement
    (the insert a WITH of the update, taking the order's id from it: no order,
    no comment)."""
    params = orders.touch_params(order_id, account_id, now)
    params.update({f"comment_{column}": value for column, value in row.items()})
    result = await connection.execute(_touch_and_comment_statement(account_id is not None),
                                      params)
    return orders.touched_order(order_id, result.one_or_none())


@functools.cache
def _touch_and_comment_statement(for_account: bool) -> sa.Select[Any]:
    touched = orders.touch_statement(for_account).cte("touched")
    columns = [column for column in _COMMENT_COLUMNS if column != "order_id"]
    values = [sa.bindparam(f"comment_{c}", type_=_COMMENTS.c[c].type) for c in columns]
    added = sa.insert(_COMMENTS).from_select(
        [*columns, "order_id"], sa.select(*values, touched.c.id)).cte("added")
    return sa.select(touched).add_cte(added)


_COMMENTS = cast(sa.Table, PortingComment.__table__)
_INSERT_COMMENT = sa.insert(_COMMENTS)
_COMMENT_COLUMNS = ("id", "order_id", "body", "user_type", "user_id", "internal", "inserted_at")


async def add_document(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID, document_type: str,
    filename: str, content: bytes, max_bytes: int, now: datetime,
) -> PortingDocument:
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"documents are limited to {max_bytes} bytes")
    if "\x00" in filename:
        # Multipart fields pass the JSON body gate; PostgreSQL text cannot hold NUL.
        message = "the file name contains a NUL character, which no text field may hold"
        raise Unprocessable(message, errors=[FieldError(field="file", message=message)])
    content_type = sniff(content)
    if content_type is None:
        raise UnsupportedMediaType("documents must be PDF, PNG or JPEG files")
    order = await orders.get_order(session, order_id=order_id, account_id=account_id,
                                   for_update=True)
    if not rules.is_open(rules.OrderStatus(order.status)):
        raise Conflict(f"porting order {order.id} is {order.status}: documents can be added "
                       "only to open orders")
    before = outbox.baseline(order)
    document = PortingDocument(
        # Random, not db.new_id: seed 000's numeric document id is the top
        # 53 bits of this UUID, which in a UUIDv7 are its millisecond (two
        # documents of one millisecond would share it).
        id=uuid.uuid4(), document_type=document_type, filename=filename[:255] or "document",
        content_type=content_type, size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), content=content, created_at=now,
    )
    order.documents.append(document)
    change = outbox.Change(order, EventType.PORTING_ORDER_DOCUMENT_ADDED,
                           {"document": document_public(document).model_dump(mode="json")})
    await outbox.publish(session, before=before, changes=[change], now=now)
    return document


async def read_document_content(
    session: AsyncSession, *, order_id: uuid.UUID, account_id: uuid.UUID | None,
    document_id: uuid.UUID,
) -> tuple[PortingDocument, bytes]:
    order = await orders.get_order(session, order_id=order_id, account_id=account_id)
    document = next((d for d in order.documents if d.id == document_id), None)
    if document is None:
        raise NotFound(f"document {document_id} does not exist on porting order {order_id}")
    content = await session.scalar(
        # Up to 10 MB: read on a worker thread on SQLite.
        sa.select(PortingDocument.content).where(PortingDocument.id == document_id)
        .execution_options(**OFF_LOOP)
    )
    return document, content or b""
