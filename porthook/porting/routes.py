"""Customer routes of porting orders (the operator's are in ``desk_routes.py``,
included here so that ``web.ROUTERS`` names the domain once)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from porthook.deps import AccountIdDep, ClockDep, PrincipalDep, SessionDep, SettingsDep
from porthook.pagination import Page, PageParams, page_params
from porthook.porting import attachments, creation, defaults, desk_routes, moves, service
from porthook.porting.exception_types import EXCEPTION_TYPES
from porthook.porting.schemas import (
    CommentCreate,
    CommentPublic,
    DocumentPublic,
    DocumentType,
    ExceptionType,
    OrderFilters,
    PortabilityCheckIn,
    PortabilityCheckPublic,
    PortingDefaultsIn,
    PortingDefaultsPublic,
    PortingOrderCreate,
    PortingOrderPublic,
    PortingOrderUpdate,
)
from porthook.porting.snapshot import (
    comment_public,
    customer_comments,
    document_public,
    to_public,
)
from porthook.problems import responses

router = APIRouter(prefix="/v1", responses=responses(401, 403))
orders_router = APIRouter(prefix="/porting-orders", tags=["porting orders"])

PageDep = Annotated[PageParams, Depends(page_params)]


@orders_router.post("", status_code=201, response_model=PortingOrderPublic,
                    responses=responses(409, 422))
async def create_porting_order(
    body: PortingOrderCreate, session: SessionDep, account_id: AccountIdDep,
    clock: ClockDep, settings: SettingsDep,
) -> PortingOrderPublic:
    """Create a porting order as a draft. Drafts can be edited (`PATCH`) until submitted
    with `actions/submit`; untouched drafts are deleted after 30 days. Answers 409 when a
    number is already in another open order of this account."""
    order = await creation.create_order(session, account_id=account_id, body=body,
                                       settings=settings, now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.get("", response_model=Page[PortingOrderPublic], responses=responses(422))
async def read_porting_orders(
    session: SessionDep, account_id: AccountIdDep, page: PageDep,
    filters: Annotated[OrderFilters, Query()],
) -> Page[PortingOrderPublic]:
    """List this account's porting orders, newest first, filtered by status, customer
    reference or phone number. Follow `next_cursor` for the next page."""
    rows, next_cursor = await service.list_orders(
        session, account_id=account_id, **filters.model_dump(),
        cursor=page.cursor, limit=page.limit,
    )
    return Page(data=[to_public(o) for o in rows], next_cursor=next_cursor)


@orders_router.get("/{order_id}", response_model=PortingOrderPublic, responses=responses(404))
async def read_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> PortingOrderPublic:
    """Read one porting order with its numbers, status and dates."""
    return to_public(await service.get_order(session, order_id=order_id, account_id=account_id))


@orders_router.patch("/{order_id}", response_model=PortingOrderPublic,
                     responses=responses(404, 409, 422))
async def update_porting_order(
    order_id: uuid.UUID, body: PortingOrderUpdate, session: SessionDep,
    account_id: AccountIdDep, clock: ClockDep, settings: SettingsDep,
) -> PortingOrderPublic:
    """Change a porting order: only the fields sent change. An order can be edited in
    `draft` or `exception` status only (409 otherwise); fix what the desk asked for in
    `exception`, then the desk takes it up again."""
    order = await service.update_order(session, account_id=account_id, order_id=order_id,
                                       body=body, settings=settings, now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.delete("/{order_id}", status_code=204, responses=responses(404, 409))
async def delete_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> Response:
    """Delete a draft. Submitted orders cannot be deleted (409): cancel them with
    `actions/cancel` instead."""
    await moves.delete_order(session, account_id=account_id, order_id=order_id,
                               now=clock.now())
    await session.commit()
    return Response(status_code=204)


@orders_router.post("/{order_id}/actions/submit", response_model=PortingOrderPublic,
                    responses=responses(404, 409, 422))
async def submit_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> PortingOrderPublic:
    """Submit a draft to the porting desk. Every required field must be set (422 lists
    each missing one); the order becomes `in-process` and a
    `porting_order.status_changed` event is sent."""
    order = await moves.submit_order(session, account_id=account_id, order_id=order_id,
                                       now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.post("/{order_id}/actions/resubmit", response_model=PortingOrderPublic,
                    responses=responses(404, 409, 422))
async def resubmit_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> PortingOrderPublic:
    """Send an order in `exception` back to the porting desk once fixed: first change (with
    `PATCH`) the fields its `status_details` codes name (e.g. `ACCOUNT_NUMBER_MISMATCH`:
    `port_out.account_number`; `LOA_ILLEGIBLE`: upload a new LOA). The order becomes
    `submitted` with its details cleared, and a `porting_order.status_changed` event is sent.
    422 lists each field still missing or unchanged since the exception; 409 when the
    order is not in `exception`."""
    order = await moves.resubmit_order(session, account_id=account_id, order_id=order_id,
                                         now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.post("/{order_id}/actions/cancel", response_model=PortingOrderPublic,
                    responses=responses(404, 409))
async def cancel_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> PortingOrderPublic:
    """Ask to cancel an order not yet ported: it becomes `cancel-pending` until the
    porting desk cancels it. Ported or cancelled orders answer 409."""
    order = await moves.cancel_order(session, account_id=account_id, order_id=order_id,
                                       now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.post("/{order_id}/actions/activate", response_model=PortingOrderPublic,
                    responses=responses(404, 409))
async def activate_porting_order(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> PortingOrderPublic:
    """On-demand activation of every confirmed number (seed 000's ``:activate``)."""
    order = await moves.activate_on_demand(session, account_id=account_id,
                                             order_id=order_id, now=clock.now())
    await session.commit()
    return to_public(order)


@orders_router.get("/{order_id}/comments", response_model=Page[CommentPublic],
                   responses=responses(404))
async def read_porting_order_comments(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> Page[CommentPublic]:
    """List the comments of a porting order, oldest first, yours and the porting desk's."""
    order = await service.get_order(session, order_id=order_id, account_id=account_id)
    return Page(data=[comment_public(c) for c in customer_comments(order)])


@orders_router.post("/{order_id}/comments", status_code=201, response_model=CommentPublic,
                    responses=responses(404, 422))
async def create_porting_order_comment(
    order_id: uuid.UUID, body: CommentCreate, session: SessionDep, account_id: AccountIdDep,
    clock: ClockDep,
) -> CommentPublic:
    """Add a comment to a porting order for the porting desk; a `porting_order.new_comment`
    event is sent."""
    comment = await attachments.add_comment(
        session, order_id=order_id, account_id=account_id, body=body.body, user_type="user",
        user_id=str(account_id), now=clock.now(),
    )
    await session.commit()
    return comment_public(comment)


@orders_router.get("/{order_id}/documents", response_model=Page[DocumentPublic],
                   responses=responses(404))
async def read_porting_order_documents(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> Page[DocumentPublic]:
    """List the documents (LOA, invoice) uploaded to a porting order."""
    order = await service.get_order(session, order_id=order_id, account_id=account_id)
    return Page(data=[document_public(d) for d in order.documents])


@orders_router.post("/{order_id}/documents", status_code=201, response_model=DocumentPublic,
                    responses=responses(404, 409, 413, 415, 422))
async def create_porting_order_document(
    order_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    settings: SettingsDep, file: Annotated[UploadFile, File(description="PDF, PNG or JPEG")],
    document_type: Annotated[DocumentType, Form()],
) -> DocumentPublic:
    """Upload a document (LOA, invoice, ...) to a porting order as `multipart/form-data`:
    PDF, PNG or JPEG, up to the server's size limit (413 above it, 415 for other types)."""
    # Read one byte past the limit: enough to know it is too large, no more.
    content = await file.read(settings.document_max_bytes + 1)
    document = await attachments.add_document(
        session, order_id=order_id, account_id=account_id, document_type=document_type,
        filename=file.filename or "document", content=content,
        max_bytes=settings.document_max_bytes, now=clock.now(),
    )
    await session.commit()
    return document_public(document)


@orders_router.get("/{order_id}/documents/{document_id}/content", response_class=Response,
                   responses={**responses(404), 200: {"content": {
                       "application/pdf": {}, "image/png": {}, "image/jpeg": {}}}})
async def read_porting_order_document_content(
    order_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> Response:
    """Download a document's content, as uploaded (its type in `Content-Type`, its SHA-256
    in `ETag`)."""
    document, content = await attachments.read_document_content(
        session, order_id=order_id, account_id=account_id, document_id=document_id
    )
    disposition = f'attachment; filename="{document.filename.replace(chr(34), "")}"'
    return Response(content=content, media_type=document.content_type,
                    headers={"Content-Disposition": disposition, "ETag": document.sha256})


@router.post("/portability-checks", response_model=PortabilityCheckPublic,
             tags=["porting orders"], responses=responses(422))
async def create_portability_check(
    body: PortabilityCheckIn, session: SessionDep, account_id: AccountIdDep
) -> PortabilityCheckPublic:
    """Check whether numbers can be ported before creating an order: each number is answered
    portable or not, with the reason."""
    results = await defaults.check_portability(session, account_id=account_id,
                                               phone_numbers=body.phone_numbers)
    return PortabilityCheckPublic(data=results)


@router.get("/porting-defaults", response_model=PortingDefaultsPublic, tags=["porting defaults"])
async def read_porting_defaults(
    session: SessionDep, account_id: AccountIdDep
) -> PortingDefaultsPublic:
    """Read this account's porting defaults: time zone, activation time and default webhook
    URL used by orders that do not set their own."""
    return await defaults.read_defaults(session, account_id=account_id)


@router.put("/porting-defaults", response_model=PortingDefaultsPublic,
            tags=["porting defaults"], responses=responses(422))
async def update_porting_defaults(
    body: PortingDefaultsIn, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    settings: SettingsDep,
) -> PortingDefaultsPublic:
    """Replace this account's porting defaults. A default webhook URL receives every order's
    events and appears in `GET /v1/endpoints` with origin `porting_defaults`."""
    result = await defaults.put_defaults(session, account_id=account_id, body=body,
                                         settings=settings, now=clock.now())
    await session.commit()
    return result


@router.get("/porting-exception-types", response_model=list[ExceptionType],
            tags=["porting orders"])
async def read_porting_exception_types(_: PrincipalDep) -> list[ExceptionType]:
    """List the exception codes the porting desk may put an order in `exception` status
    with, and what each asks of you."""
    return [ExceptionType(code=c, description=d) for c, d in EXCEPTION_TYPES.items()]


router.include_router(orders_router)
router.include_router(desk_routes.router)
