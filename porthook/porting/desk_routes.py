"""Operator routes (the porting desk), on any account's porting orders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from porthook.deps import ClockDep, OperatorDep, SessionDep
from porthook.pagination import Page, PageParams, page_params
from porthook.porting import attachments, desk, rules, service
from porthook.porting.schemas import (
    DeskCommentCreate,
    DeskCommentPublic,
    MessagingChange,
    NumberMoveIn,
    OrderFilters,
    PortingOrderPublic,
    SplitIn,
    StatusChange,
)
from porthook.porting.snapshot import desk_comment_public, to_public
from porthook.problems import responses


class DeskOrderFilters(OrderFilters):
    account_id: uuid.UUID | None = None


router = APIRouter(prefix="/operator/porting-orders", tags=["porting orders (operator)"])

PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("", response_model=Page[PortingOrderPublic], responses=responses(422))
async def read_all_porting_orders(
    session: SessionDep, _: OperatorDep, page: PageDep,
    filters: Annotated[DeskOrderFilters, Query()],
) -> Page[PortingOrderPublic]:
    """List porting orders of every account (operator key), filtered by account, status,
    customer reference or phone number."""
    rows, next_cursor = await service.list_orders(
        session, **filters.model_dump(), cursor=page.cursor, limit=page.limit,
    )
    return Page(data=[to_public(o) for o in rows], next_cursor=next_cursor)


@router.get("/{order_id}", response_model=PortingOrderPublic, responses=responses(404))
async def read_any_porting_order(
    order_id: uuid.UUID, session: SessionDep, _: OperatorDep
) -> PortingOrderPublic:
    """Read any account's porting order (operator key)."""
    return to_public(await service.get_order(session, order_id=order_id, account_id=None))


@router.post("/{order_id}/status", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def update_porting_order_status(
    order_id: uuid.UUID, body: StatusChange, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Move an order to a new status (operator key): `in-process`, `exception` (with its
    codes), `foc-date-confirmed` (with `foc_date`), `cancel-pending`, ... Transitions the
    state machine does not allow answer 409; each change sends
    `porting_order.status_changed`."""
    order = await desk.change_status(session, order_id=order_id, body=body, now=clock.now())
    await session.commit()
    return to_public(order)


async def _move_numbers(
    move: rules.NumberMove, order_id: uuid.UUID, body: NumberMoveIn, session: SessionDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    order = await desk.move_numbers(session, order_id=order_id, move=move, body=body,
                                    now=clock.now())
    await session.commit()
    return to_public(order)


@router.post("/{order_id}/phone-numbers/actions/confirm", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def confirm_porting_numbers(
    order_id: uuid.UUID, body: NumberMoveIn, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Confirm numbers of an order for porting (operator key), with their FOC date; one
    `porting_order.numbers_confirmed` event is sent."""
    return await _move_numbers(rules.NumberMove.CONFIRM, order_id, body, session, clock)


@router.post("/{order_id}/phone-numbers/actions/reject", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def reject_porting_numbers(
    order_id: uuid.UUID, body: NumberMoveIn, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Reject numbers of an order (operator key) with a reason the customer sees."""
    return await _move_numbers(rules.NumberMove.REJECT, order_id, body, session, clock)


@router.post("/{order_id}/phone-numbers/actions/exclude", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def exclude_porting_numbers(
    order_id: uuid.UUID, body: NumberMoveIn, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Exclude numbers from an order (operator key), with a reason; the rest of the order
    goes on."""
    return await _move_numbers(rules.NumberMove.EXCLUDE, order_id, body, session, clock)


@router.post("/{order_id}/phone-numbers/actions/activate", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def activate_porting_numbers(
    order_id: uuid.UUID, body: NumberMoveIn, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Activate numbers now (operator key): they become the account's DIDs, and the order
    `ported` once all are done."""
    return await _move_numbers(rules.NumberMove.ACTIVATE, order_id, body, session, clock)


@router.post("/{order_id}/actions/split", status_code=201, response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def split_porting_order(
    order_id: uuid.UUID, body: SplitIn, session: SessionDep, _: OperatorDep, clock: ClockDep
) -> PortingOrderPublic:
    """Moves the numbers into a new order, which is returned."""
    child = await desk.split_order(session, order_id=order_id, phone_numbers=body.phone_numbers,
                                   now=clock.now())
    await session.commit()
    return to_public(child)


@router.post("/{order_id}/messaging", response_model=PortingOrderPublic,
             responses=responses(404, 409, 422))
async def update_porting_order_messaging(
    order_id: uuid.UUID, body: MessagingChange, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> PortingOrderPublic:
    """Set an order's messaging port status (operator key); a
    `porting_order.messaging_changed` event is sent."""
    order = await desk.set_messaging(session, order_id=order_id,
                                     messaging_port_status=body.messaging_port_status,
                                     now=clock.now())
    await session.commit()
    return to_public(order)


@router.post("/{order_id}/comments", status_code=201, response_model=DeskCommentPublic,
             responses=responses(404, 422))
async def create_desk_comment(
    order_id: uuid.UUID, body: DeskCommentCreate, session: SessionDep, _: OperatorDep,
    clock: ClockDep,
) -> DeskCommentPublic:
    """Comment on any order as the porting desk (operator key): the customer gets a
    `porting_order.new_comment` event, unless ``internal: true`` keeps the comment
    to the desk (no event; never shown to the customer)."""
    # Seed 001's sample: a desk comment has user_type "admin" and user_id null.
    comment = await attachments.add_comment(
        session, order_id=order_id, account_id=None, body=body.body, user_type="admin",
        user_id=None, now=clock.now(), internal=body.internal,
    )
    await session.commit()
    return desk_comment_public(comment)


@router.get("/{order_id}/comments", response_model=Page[DeskCommentPublic],
            responses=responses(404))
async def read_desk_comments(
    order_id: uuid.UUID, session: SessionDep, _: OperatorDep
) -> Page[DeskCommentPublic]:
    """Every comment of the order, internal ones included."""
    order = await service.get_order(session, order_id=order_id, account_id=None)
    return Page(data=[desk_comment_public(c) for c in order.comments])
