"""The desk console (operator): the queue of every account's orders and the
order page with its actions, on porting/desk.py's use cases."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from porthook.accounts import service as accounts
from porthook.delivery import search
from porthook.deps import ClockDep, SessionDep
from porthook.pagination import DEFAULT_LIMIT
from porthook.porting import attachments, desk, rules
from porthook.porting import service as orders
from porthook.porting.exception_types import EXCEPTION_TYPES
from porthook.porting.models import PortingOrder
from porthook.porting.schemas import NumberMoveIn, StatusChange
from porthook.problems import FieldError, NotFound, Unprocessable
from porthook.ui import forms, queries
from porthook.ui import rules as ui_rules
from porthook.ui.deps import CheckedFormDep, DeskViewerDep
from porthook.ui.pages import form_action, render

router = APIRouter(prefix="/desk")

NOTICES = {
    "status": "Status changed.", "numbers": "Numbers updated.", "split": "Order split.",
    "messaging": "Messaging status changed.", "comment": "Comment added.",
    "note": "Internal note added (seen by the desk only).",
}
NUMBER_MOVES = {m.value: m for m in rules.NumberMove}


@router.get("")
async def read_queue(
    request: Request, session: SessionDep, clock: ClockDep, _: DeskViewerDep,
    view: str = "all", status: str | None = None, account_id: str | None = None,
    phone_number: str | None = None, customer_reference: str | None = None,
    foc_from: date | None = None, foc_to: date | None = None,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    if view not in ui_rules.QUEUE_VIEWS:
        raise NotFound(f"there is no queue view {view!r}")
    filters = queries.QueueFilters(
        view=view, status=status or None,
        account_id=forms.optional_uuid(account_id, "account_id"),
        phone_number=phone_number or None, customer_reference=customer_reference or None,
        foc_from=foc_from, foc_to=foc_to)
    now = clock.now()
    rows, next_cursor = await queries.desk_queue(session, filters=filters, now=now,
                                                 cursor=cursor, limit=DEFAULT_LIMIT)
    return render(request, "desk/queue.html", title="Porting queue", rows=rows, now=now,
                  filters=filters, views=ui_rules.QUEUE_VIEWS, next_cursor=next_cursor,
                  statuses=[s.value for s in rules.OrderStatus if s != rules.OrderStatus.DELETED],
                  accounts=await queries.account_names(session),
                  query=dict(request.query_params))


def _operator_targets(status: str) -> list[str]:
    allowed = set(rules.allowed_actions(rules.OrderStatus(status)))
    return [target.value for target, action in rules.OPERATOR_TARGETS.items()
            if action in allowed]


async def _order_deliveries(session: SessionDep, order: PortingOrder) -> list[
    queries.DeliveryRow
]:
    """The deliveries of the order's events, by the API's own search (newest
    first; the desk sees any account's)."""
    found, _ = await search.search(session, account_id=order.account_id,
                                   where=search.DeliveryFilter(subject_id=str(order.id)),
                                   cursor=None, limit=DEFAULT_LIMIT)
    return await queries.delivery_rows(session, found)


async def _order_page(request: Request, session: SessionDep, clock: ClockDep,
                      order_id: uuid.UUID, *, status_code: int = 200,
                      **context: Any) -> Response:
    order = await orders.get_order(session, order_id=order_id, account_id=None)
    events = await queries.order_events(session, order_id=order.id)
    return render(
        request, "desk/order.html", status_code=status_code,
        title=f"Order {order.support_key}", order=order, now=clock.now(),
        account=await accounts.get_account(session, order.account_id),
        timeline=queries.timeline(events, order.comments),
        deliveries=await _order_deliveries(session, order),
        targets=_operator_targets(order.status), exception_types=EXCEPTION_TYPES,
        time_zones=rules.TIME_ZONES, messaging_statuses=rules.MESSAGING_STATUSES,
        number_moves=[m.value for m in rules.NumberMove],
        notice=NOTICES.get(request.query_params.get("done", "")), **context)


@router.get("/orders/{order_id}")
async def read_order(
    request: Request, order_id: uuid.UUID, session: SessionDep, clock: ClockDep,
    _: DeskViewerDep,
) -> Response:
    return await _order_page(request, session, clock, order_id)


def _again(request: Request, session: SessionDep, clock: ClockDep,
           order_id: uuid.UUID) -> Callable[..., Awaitable[Response]]:
    """The order page again, saying what went wrong (nothing was changed)."""
    return functools.partial(_order_page, request, session, clock, order_id)


def _back(order_id: uuid.UUID, done: str) -> str:
    return f"/ui/desk/orders/{order_id}?done={done}"


def _status_change(form: Any) -> StatusChange:
    target = forms.text(form, "status")
    data: dict[str, Any] = {"status": target}
    if target == rules.OrderStatus.EXCEPTION:
        message = forms.text(form, "message")
        data["details"] = [{"code": code, **({"description": message} if message else {})}
                           for code in forms.many(form, "code")]
    if target == rules.OrderStatus.FOC_DATE_CONFIRMED:
        data["foc_date"] = forms.local_moment(form, date_field="foc_date",
                                              time_field="foc_time", zone_field="foc_zone")
    return forms.validated(StatusChange, data)


@router.post("/orders/{order_id}/status")
async def update_order_status(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, _: DeskViewerDep,
) -> Response:
    async def work() -> object:
        return await desk.change_status(session, order_id=order_id, body=_status_change(form),
                                        now=clock.now())
    return await form_action(session, work, done=_back(order_id, "status"),
                             again=_again(request, session, clock, order_id))


@router.post("/orders/{order_id}/numbers")
async def update_order_numbers(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, _: DeskViewerDep,
) -> Response:
    async def work() -> object:
        move = NUMBER_MOVES.get(forms.text(form, "action") or "")
        if move is None:
            raise Unprocessable("choose what to do with the numbers", errors=[
                FieldError(field="action", message="one of confirm, reject, exclude, activate")])
        # A confirm may carry the numbers' FOC (else the order's), as the API's.
        foc = forms.local_moment(form, date_field="number_foc_date",
                                 time_field="number_foc_time", zone_field="number_foc_zone")
        body = forms.validated(NumberMoveIn, {
            "phone_numbers": forms.many(form, "phone_numbers"),
            "reason": forms.text(form, "reason"),
            **({"foc_date": foc} if foc is not None and move == rules.NumberMove.CONFIRM
               else {}),
        })
        return await desk.move_numbers(session, order_id=order_id, move=move, body=body,
                                       now=clock.now())
    return await form_action(session, work, done=_back(order_id, "numbers"),
                             again=_again(request, session, clock, order_id))


@router.post("/orders/{order_id}/split")
async def create_order_split(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, _: DeskViewerDep,
) -> Response:
    async def work() -> PortingOrder:
        return await desk.split_order(session, order_id=order_id,
                                      phone_numbers=forms.many(form, "phone_numbers"),
                                      now=clock.now())
    return await form_action(session, work, done=lambda child: _back(child.id, "split"),
                             again=_again(request, session, clock, order_id))


@router.post("/orders/{order_id}/messaging")
async def update_order_messaging(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, _: DeskViewerDep,
) -> Response:
    async def work() -> object:
        status = forms.text(form, "messaging_port_status") or ""
        if status not in rules.MESSAGING_STATUSES:
            raise Unprocessable("choose a messaging status", errors=[
                FieldError(field="messaging_port_status", message="unknown status")])
        return await desk.set_messaging(session, order_id=order_id,
                                        messaging_port_status=status, now=clock.now())
    return await form_action(session, work, done=_back(order_id, "messaging"),
                             again=_again(request, session, clock, order_id))


@router.post("/orders/{order_id}/comments")
async def create_order_comment(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, _: DeskViewerDep,
) -> Response:
    internal = forms.checked(form, "internal")

    async def work() -> object:
        return await attachments.add_comment(
            session, order_id=order_id, account_id=None, body=forms.required_text(form, "body"),
            user_type="admin", user_id=None, now=clock.now(), internal=internal)
    return await form_action(session, work, done=_back(order_id, "note" if internal else "comment"),
                             again=_again(request, session, clock, order_id))


@router.get("/orders/{order_id}/documents/{document_id}")
async def read_order_document(
    order_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep, _: DeskViewerDep,
    download: bool = False,
) -> Response:
    document, content = await attachments.read_document_content(
        session, order_id=order_id, account_id=None, document_id=document_id)
    return document_response(document.filename, document.content_type, content,
                             download=download)


def document_response(filename: str, content_type: str, content: bytes, *,
                      download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
    return Response(content=content, media_type=content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{safe_name}"',
        # A document is shown as what its bytes are (sniffed at upload), never run.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
