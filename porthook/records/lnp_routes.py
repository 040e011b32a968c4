"""``/v1/records/lnp_requests`` and ``/v1/records/lnp_numbers``: porting orders and
their numbers through the records API (see ``lnp_schemas`` for the mapping)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from porthook.deps import AccountIdDep, ClockDep, SessionDep, SettingsDep
from porthook.pagination import Page, PageParams, page_params
from porthook.problems import FieldError, Unprocessable, responses
from porthook.records import lnp_service as service
from porthook.records import rules
from porthook.records.lnp_schemas import (
    LnpNumberCreate,
    LnpNumberPublic,
    LnpNumberUpdate,
    LnpRequestCreate,
    LnpRequestPublic,
    LnpRequestUpdate,
    order_create,
    order_update,
)
from porthook.records.schemas import MODELS

router = APIRouter(responses=responses(401, 403, 422))
PageDep = Annotated[PageParams, Depends(page_params)]
REQUESTS: list[str | Enum] = ["records: lnp_requests"]
NUMBERS: list[str | Enum] = ["records: lnp_numbers"]
assert "lnp_requests" not in MODELS  # stored by the porting domain, not generated here


def _request(order: Any) -> LnpRequestPublic:
    return LnpRequestPublic.model_validate(service.request_record(order))


def _number(number: Any) -> LnpNumberPublic:
    return LnpNumberPublic.model_validate(service.number_record(number))


def _e164_filter(number: str | None) -> str | None:
    if number is None:
        return None
    try:
        return rules.normalize_phone(number)
    except ValueError as exc:
        raise Unprocessable(f"query.number: {exc}",
                            errors=[FieldError(field="query.number", message=str(exc))]) from None


@router.post("/lnp_requests", status_code=201, response_model=LnpRequestPublic, tags=REQUESTS,
             responses=responses(409))
async def create_lnp_request(
    body: LnpRequestCreate, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: AccountIdDep,
) -> LnpRequestPublic:
    """Create a porting order (a draft) from seed 002's lnp_requests fields."""
    order = await service.create_request(session, account_id=account_id,
                                         body=order_create(body), settings=settings,
                                         now=clock.now())
    await session.commit()
    return _request(order)


@router.get("/lnp_requests", response_model=Page[LnpRequestPublic], tags=REQUESTS)
async def read_lnp_requests(
    session: SessionDep, account_id: AccountIdDep, page: PageDep,
    request_status: Annotated[str | None, Query(description="A porting-order status")] = None,
) -> Page[LnpRequestPublic]:
    """List this account's porting orders as `lnp_requests` records, filtered by status."""
    orders, next_cursor = await service.list_requests(
        session, account_id=account_id, request_status=request_status,
        cursor=page.cursor, limit=page.limit)
    return Page(data=[_request(o) for o in orders], next_cursor=next_cursor)


@router.get("/lnp_requests/{record_id}", response_model=LnpRequestPublic, tags=REQUESTS,
            responses=responses(404))
async def read_lnp_request(
    record_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> LnpRequestPublic:
    """Read one porting order as an `lnp_requests` record."""
    return _request(await service.get_request(session, account_id=account_id,
                                              request_id=record_id))


@router.patch("/lnp_requests/{record_id}", response_model=LnpRequestPublic, tags=REQUESTS,
              responses=responses(404, 409))
async def update_lnp_request(
    record_id: uuid.UUID, body: LnpRequestUpdate,
    session: SessionDep, clock: ClockDep, settings: SettingsDep, account_id: AccountIdDep,
) -> LnpRequestPublic:
    """Change a porting order through its `lnp_requests` record: only the fields sent
    change, under the order's own rules (409 when it can no longer be edited)."""
    order = await service.update_request(session, account_id=account_id, request_id=record_id,
                                         body=order_update(body), settings=settings,
                                         now=clock.now())
    await session.commit()
    return _request(order)


@router.delete("/lnp_requests/{record_id}", status_code=204, response_class=Response,
               tags=REQUESTS, responses=responses(404, 409))
async def delete_lnp_request(
    record_id: uuid.UUID, session: SessionDep, clock: ClockDep, account_id: AccountIdDep
) -> Response:
    """Delete a draft porting order (other statuses answer 409: cancel them instead)."""
    await service.delete_request(session, account_id=account_id, request_id=record_id,
                                 now=clock.now())
    await session.commit()
    return Response(status_code=204)


@router.post("/lnp_numbers", status_code=201, response_model=LnpNumberPublic, tags=NUMBERS,
             responses=responses(404, 409))
async def create_lnp_number(
    body: LnpNumberCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep,
    account_id: AccountIdDep,
) -> LnpNumberPublic:
    """Add a number to an lnp_request (its porting order must be editable)."""
    number = await service.add_number(
        session, account_id=account_id, lnp_request_id=body.lnp_request_id,
        e164=body.number, settings=settings, now=clock.now())
    await session.commit()
    return _number(number)


@router.get("/lnp_numbers", response_model=Page[LnpNumberPublic], tags=NUMBERS)
async def read_lnp_numbers(
    session: SessionDep, account_id: AccountIdDep, page: PageDep,
    lnp_request_id: uuid.UUID | None = None,
    number: Annotated[str | None, Query(description="E.164 or 10-digit NANP",
                                        examples=["+13125550100"])] = None,
) -> Page[LnpNumberPublic]:
    """List the numbers of this account's porting orders as `lnp_numbers` records, filtered
    by request or number."""
    numbers, next_cursor = await service.list_numbers(
        session, account_id=account_id, lnp_request_id=lnp_request_id,
        phone_number=_e164_filter(number),
        cursor=page.cursor, limit=page.limit)
    return Page(data=[_number(n) for n in numbers], next_cursor=next_cursor)


@router.get("/lnp_numbers/{record_id}", response_model=LnpNumberPublic, tags=NUMBERS,
            responses=responses(404))
async def read_lnp_number(
    record_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> LnpNumberPublic:
    """Read one number of a porting order as an `lnp_numbers` record."""
    return _number(await service.get_number(session, account_id=account_id,
                                            number_id=record_id))


@router.patch("/lnp_numbers/{record_id}", response_model=LnpNumberPublic, tags=NUMBERS,
              responses=responses(404, 409))
async def update_lnp_number(
    record_id: uuid.UUID, body: LnpNumberUpdate, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: AccountIdDep,
) -> LnpNumberPublic:
    """Replace a number of an lnp_request (the replacement gets a new id)."""
    if body.number is None:
        return _number(await service.get_number(session, account_id=account_id,
                                                number_id=record_id))
    number = await service.replace_number(
        session, account_id=account_id, number_id=record_id, e164=body.number,
        settings=settings, now=clock.now())
    await session.commit()
    return _number(number)


@router.delete("/lnp_numbers/{record_id}", status_code=204, response_class=Response,
               tags=NUMBERS, responses=responses(404, 409))
async def delete_lnp_number(
    record_id: uuid.UUID, session: SessionDep, clock: ClockDep, settings: SettingsDep,
    account_id: AccountIdDep,
) -> Response:
    """Remove a number from its porting order (the order must be editable)."""
    await service.remove_number(session, account_id=account_id, number_id=record_id,
                                settings=settings, now=clock.now())
    await session.commit()
    return Response(status_code=204)
