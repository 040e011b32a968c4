"""The customer portal (account): orders, their timeline, comments and
documents, the create and fix forms, porting defaults and records, on the
same use cases as the customer API. Every lookup is scoped to the signed-in
account: another account's ids answer 404, as through the API."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import FormData, UploadFile

from porthook.config import Settings
from porthook.deps import ClockDep, SessionDep, SettingsDep
from porthook.pagination import DEFAULT_LIMIT
from porthook.porting import attachments, creation, defaults, moves, rules
from porthook.porting import service as orders
from porthook.porting.models import PortingOrder
from porthook.porting.schemas import (
    OrderFilters,
    PortabilityCheckIn,
    PortabilityCheckPublic,
    PortingDefaultsIn,
    PortingOrderCreate,
    PortingOrderUpdate,
)
from porthook.porting.snapshot import customer_comments
from porthook.problems import FieldError, NotFound, Unprocessable
from porthook.records import service as records
from porthook.records.registry import OWN_SCHEMAS
from porthook.records.schemas import snapshot as record_snapshot
from porthook.ui import forms, queries
from porthook.ui.deps import CheckedFormDep, PortalAccountDep
from porthook.ui.desk_routes import document_response
from porthook.ui.pages import form_action, render

router = APIRouter(prefix="/portal")

NOTICES = {
    "created": "Order saved as a draft. Upload the LOA if you have not, then submit.",
    "saved": "Changes saved.", "resubmitted": "Order resubmitted to the porting desk.",
    "submitted": "Order submitted to the porting desk.", "cancelled": "Cancellation requested.",
    "activated": "Numbers activated.", "comment": "Comment sent.",
    "document": "Document uploaded.", "defaults": "Porting defaults saved.",
}
DOCUMENT_TYPES = ("loa", "invoice", "csr", "other")


def _filters(status: str | None, customer_reference: str | None,
             phone_number: str | None) -> OrderFilters:
    return forms.validated(OrderFilters, {"status": status or None,
                                          "customer_reference": customer_reference or None,
                                          "phone_number": phone_number or None})


@router.get("")
async def read_orders(
    request: Request, session: SessionDep, clock: ClockDep, account_id: PortalAccountDep,
    status: str | None = None, customer_reference: str | None = None,
    phone_number: str | None = None, cursor: Annotated[str | None, Query()] = None,
) -> Response:
    filters = _filters(status, customer_reference, phone_number)
    # The desk queue's read model scoped to the account: a count of numbers
    # per order, not every order's numbers, comments and documents loaded.
    rows, next_cursor = await queries.desk_queue(
        session, filters=queries.QueueFilters(account_id=account_id, **filters.model_dump()),
        now=clock.now(), cursor=cursor, limit=DEFAULT_LIMIT)
    return render(request, "portal/orders.html", title="Porting orders", rows=rows,
                  filters=filters, next_cursor=next_cursor, query=dict(request.query_params),
                  statuses=[s.value for s in rules.OrderStatus
                            if s != rules.OrderStatus.DELETED])


# The fix form names, under each exception code, the fields it asks to change.
FIELD_LABELS = {
    "port_out.account_number": "Account number", "end_user.authorized_person":
    "Authorized person", "port_out.btn": "Billing telephone number (BTN)",
    "end_user.business_name": "Business name", "end_user.first_name": "First name",
    "end_user.last_name": "Last name", "end_user.service_address": "Service address",
    "end_user.service_address.zip": "ZIP or postal code", "port_out.partial_port":
    "Partial port", "port_out.partial_port_details": "Partial port details",
    "phone_numbers": "Phone numbers", "desired_port_date": "Desired port date",
    "desired_port_time": "Desired port time", "documents.loa": "a new LOA",
    "port_out.pin": "Port-out PIN",
}


def _fixes(order: PortingOrder | None) -> list[tuple[str, str, list[str]]]:
    """(code, description, labels of the fields to change) of an exception."""
    if order is None or order.status != rules.OrderStatus.EXCEPTION:
        return []
    return [(d["code"], d["description"],
             [FIELD_LABELS.get(f, f) for f in rules.fields_to_fix([d["code"]])])
            for d in order.status_details]


def _form_page(request: Request, *, order: PortingOrder | None, status_code: int = 200,
               values: dict[str, Any] | None = None, **context: Any) -> Response:
    title = "New porting order" if order is None else f"Fix order {order.support_key}"
    return render(request, "portal/order_form.html", status_code=status_code, title=title,
                  order=order, values=values or {}, time_zones=rules.TIME_ZONES,
                  fixes=_fixes(order), **context)


@router.get("/orders/new")
async def read_new_order(request: Request, _: PortalAccountDep) -> Response:
    return _form_page(request, order=None)


async def _upload(form: FormData, name: str, max_bytes: int) -> bytes | None:
    """The chosen file's content, one byte past ``max_bytes`` at most (so
    that its check can tell an oversized file); None if none was chosen."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(max_bytes + 1)


async def _with_csv(form: FormData) -> dict[str, Any]:
    """The form's fields with the numbers of its CSV file, if one was chosen,
    added to the pasted ones (``forms.csv_numbers``)."""
    content = await _upload(form, forms.CSV_FIELD, forms.CSV_MAX_BYTES)
    if content is None:
        return dict(form)
    return forms.with_numbers(form, forms.csv_numbers(content))


def _filename(form: FormData, name: str) -> str:
    upload = form.get(name)
    return (upload.filename or "document") if isinstance(upload, UploadFile) else "document"


@router.post("/orders")
async def create_order(
    request: Request, form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    now = clock.now()
    shown: dict[str, Any] = dict(form)

    async def work() -> PortingOrder:
        nonlocal shown
        shown = await _with_csv(form)
        body = forms.validated(PortingOrderCreate, forms.order_fields(shown))
        order = await creation.create_order(session, account_id=account_id, body=body,
                                          settings=settings, now=now)
        await _attach_loa(session, form, settings, order_id=order.id, account_id=account_id,
                          now=now)
        return order

    async def again(**problem: Any) -> Response:
        return _form_page(request, order=None, values=shown, **problem)
    return await form_action(session, work, again=again,
                             done=lambda order: _back(order.id, "created"))


async def _attach_loa(session: SessionDep, form: FormData, settings: Settings, *,
                      order_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> None:
    """The form's LOA file, if one was chosen, as the API's document upload."""
    loa = await _upload(form, "loa", settings.document_max_bytes)
    if loa is not None:
        await attachments.add_document(
            session, order_id=order_id, account_id=account_id, document_type="loa",
            filename=_filename(form, "loa"), content=loa,
            max_bytes=settings.document_max_bytes, now=now)


def _back(order_id: uuid.UUID, done: str) -> str:
    return f"/ui/portal/orders/{order_id}?done={done}"


async def _order_page(request: Request, session: SessionDep, account_id: uuid.UUID,
                      order_id: uuid.UUID, *, status_code: int = 200,
                      **context: Any) -> Response:
    order = await orders.get_order(session, order_id=order_id, account_id=account_id)
    events = await queries.order_events(session, order_id=order.id)
    return render(
        request, "portal/order.html", status_code=status_code,
        title=f"Order {order.support_key}", order=order, document_types=DOCUMENT_TYPES,
        timeline=queries.timeline(events, customer_comments(order)),
        editable=rules.is_editable(rules.OrderStatus(order.status)),
        allowed=[a.value for a in rules.allowed_actions(rules.OrderStatus(order.status))],
        notice=NOTICES.get(request.query_params.get("done", "")), **context)


@router.get("/orders/{order_id}")
async def read_order(
    request: Request, order_id: uuid.UUID, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _order_page(request, session, account_id, order_id)


def _again(request: Request, session: SessionDep, account_id: uuid.UUID,
           order_id: uuid.UUID) -> Callable[..., Awaitable[Response]]:
    return functools.partial(_order_page, request, session, account_id, order_id)


@router.get("/orders/{order_id}/edit")
async def read_order_form(
    request: Request, order_id: uuid.UUID, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    order = await orders.get_order(session, order_id=order_id, account_id=account_id)
    return _form_page(request, order=order)


@router.post("/orders/{order_id}")
async def update_order(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    """Save the fix form (fields, a new LOA, a message to the desk). "Save and
    resubmit" then resubmits the order out of exception, as the API's
    ``actions/resubmit``: all in one transaction, so a refused resubmit keeps
    nothing and the form shows why."""
    now = clock.now()
    resubmit = form.get("resubmit") is not None
    shown: dict[str, Any] = dict(form)

    async def work() -> None:
        nonlocal shown
        shown = await _with_csv(form)
        body = forms.validated(PortingOrderUpdate, forms.order_fields(shown))
        await orders.update_order(session, account_id=account_id, order_id=order_id,
                                  body=body, settings=settings, now=now)
        await _attach_loa(session, form, settings, order_id=order_id, account_id=account_id,
                          now=now)
        if note := forms.text(form, "message"):
            await attachments.add_comment(
                session, order_id=order_id, account_id=account_id, body=note,
                user_type="user", user_id=str(account_id), now=now)
        if resubmit:
            await moves.resubmit_order(session, account_id=account_id, order_id=order_id,
                                        now=now)

    async def again(**problem: Any) -> Response:
        order = await orders.get_order(session, order_id=order_id, account_id=account_id)
        return _form_page(request, order=order, values=shown, **problem)
    return await form_action(session, work, again=again,
                             done=_back(order_id, "resubmitted" if resubmit else "saved"))


ACTIONS = {
    "submit": (moves.submit_order, "submitted"),
    "resubmit": (moves.resubmit_order, "resubmitted"),
    "cancel": (moves.cancel_order, "cancelled"),
    "activate": (moves.activate_on_demand, "activated"),
}


@router.post("/orders/{order_id}/actions/{action}")
async def create_order_action(
    request: Request, order_id: uuid.UUID, action: str, _form: CheckedFormDep,
    session: SessionDep, clock: ClockDep, account_id: PortalAccountDep,
) -> Response:
    if action not in ACTIONS:
        raise NotFound(f"there is no order action {action!r}")
    use_case, done = ACTIONS[action]

    async def work() -> PortingOrder:
        return await use_case(session, account_id=account_id, order_id=order_id,
                              now=clock.now())
    return await form_action(session, work, done=_back(order_id, done),
                             again=_again(request, session, account_id, order_id))


@router.post("/orders/{order_id}/comments")
async def create_order_comment(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, account_id: PortalAccountDep,
) -> Response:
    async def work() -> object:
        return await attachments.add_comment(
            session, order_id=order_id, account_id=account_id,
            body=forms.required_text(form, "body"), user_type="user", user_id=str(account_id),
            now=clock.now())
    return await form_action(session, work, done=_back(order_id, "comment"),
                             again=_again(request, session, account_id, order_id))


@router.post("/orders/{order_id}/documents")
async def create_order_document(
    request: Request, order_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    async def work() -> object:
        document_type = forms.text(form, "document_type") or ""
        content = await _upload(form, "file", settings.document_max_bytes)
        if document_type not in DOCUMENT_TYPES or content is None:
            raise Unprocessable("choose a document type and a file", errors=[
                FieldError(field="file", message="a PDF, PNG or JPEG file")])
        return await attachments.add_document(
            session, order_id=order_id, account_id=account_id, document_type=document_type,
            filename=_filename(form, "file"), content=content,
            max_bytes=settings.document_max_bytes, now=clock.now())
    return await form_action(session, work, done=_back(order_id, "document"),
                             again=_again(request, session, account_id, order_id))


@router.get("/orders/{order_id}/documents/{document_id}")
async def read_order_document(
    order_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep,
    account_id: PortalAccountDep, download: bool = False,
) -> Response:
    document, content = await attachments.read_document_content(
        session, order_id=order_id, account_id=account_id, document_id=document_id)
    return document_response(document.filename, document.content_type, content,
                             download=download)


class FormPortabilityCheckIn(PortabilityCheckIn):
    """The API's check, plus the order a fix form edits: its own numbers are
    not reported as held by an open order (by itself)."""

    order_id: uuid.UUID | None = None


@router.post("/portability", response_model=PortabilityCheckPublic)
async def create_portability_check(
    body: FormPortabilityCheckIn, _form: CheckedFormDep, session: SessionDep,
    account_id: PortalAccountDep,
) -> PortabilityCheckPublic:
    """For the order forms' check as you type (JSON; CSRF token in a header)."""
    if body.order_id is not None:  # another account's order: 404, as everywhere
        await orders.get_order(session, order_id=body.order_id, account_id=account_id)
    results = await defaults.check_portability(session, account_id=account_id,
                                               phone_numbers=body.phone_numbers,
                                               except_order_id=body.order_id)
    return PortabilityCheckPublic(data=results)


@router.get("/defaults")
async def read_defaults(
    request: Request, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    current = await defaults.read_defaults(session, account_id=account_id)
    return render(request, "portal/defaults.html", title="Porting defaults",
                  values=current.model_dump(mode="json"), time_zones=rules.TIME_ZONES,
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.post("/defaults")
async def update_defaults(
    request: Request, form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    fields = ("default_port_time", "default_port_time_zone", "contact_email", "webhook_url",
              "webhook_format")
    data = {name: forms.text(form, name) for name in fields}

    async def work() -> object:
        body = forms.validated(PortingDefaultsIn, {k: v for k, v in data.items() if v})
        return await defaults.put_defaults(session, account_id=account_id, body=body,
                                           settings=settings, now=clock.now())

    async def again(**problem: Any) -> Response:
        return render(request, "portal/defaults.html", title="Porting defaults", values=data,
                      time_zones=rules.TIME_ZONES, **problem)
    return await form_action(session, work, done="/ui/portal/defaults?done=defaults",
                             again=again)


@router.get("/records")
async def read_record_schemas(request: Request, _: PortalAccountDep) -> Response:
    return render(request, "portal/records.html", title="Records", schemas=OWN_SCHEMAS,
                  schema=None)


@router.get("/records/{schema}")
async def read_records(
    request: Request, schema: str, session: SessionDep, account_id: PortalAccountDep,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    if schema not in OWN_SCHEMAS:
        raise NotFound(f"unknown records schema {schema!r}")
    rows, next_cursor = await records.list_records(
        session, account_id=account_id, schema=schema, filters={}, cursor=cursor,
        limit=DEFAULT_LIMIT)
    shown = [record_snapshot(schema, row) for row in rows]  # secrets never shown
    columns = list(shown[0]) if shown else ["id", *OWN_SCHEMAS[schema].seed_fields]
    return render(request, "portal/records.html", title=f"Records: {schema}",
                  schemas=OWN_SCHEMAS, schema=schema, rows=shown, columns=columns[:8],
                  next_cursor=next_cursor)


@router.get("/records/{schema}/{record_id}")
async def read_record(
    request: Request, schema: str, record_id: int, session: SessionDep,
    account_id: PortalAccountDep,
) -> Response:
    if schema not in OWN_SCHEMAS:
        raise NotFound(f"unknown records schema {schema!r}")
    row = await records.get_record(session, account_id=account_id, schema=schema,
                                   record_id=record_id)
    return render(request, "portal/record.html", title=f"{schema} record {record_id}",
                  schema=schema, record=record_snapshot(schema, row))
