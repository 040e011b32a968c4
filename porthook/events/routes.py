from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from porthook.deps import AccountIdDep, EventTypeNamesDep, OperatorDep, SessionDep
from porthook.events import service
from porthook.events.schemas import EventPublic
from porthook.events.types import check_patterns
from porthook.pagination import Page, PageParams, page_params
from porthook.problems import FieldError, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["events"], responses=responses(401, 403, 422))

PageDep = Annotated[PageParams, Depends(page_params)]
TypeFilter = Annotated[
    list[str], Query(description="Event type, or a family such as porting_order.*; repeatable")
]


DeliveryState = Literal["pending", "retrying", "delivered", "dead", "held"]


@router.get("/events", response_model=Page[EventPublic])
async def read_events(
    session: SessionDep,
    account_id: AccountIdDep,
    page: PageDep,
    known: EventTypeNamesDep,
    type: TypeFilter = [],  # noqa: B006  (FastAPI copies query defaults)
    subject_type: str | None = None,
    subject_id: str | None = None,
    occurred_after: Annotated[AwareDatetime | None, Query(
        description="Only events after this instant; a date-time with a UTC offset")] = None,
    occurred_before: Annotated[AwareDatetime | None, Query(
        description="Only events before this instant; a date-time with a UTC offset")] = None,
    delivery_status: Annotated[list[DeliveryState], Query(
        description="Only events with a delivery in this state (as GET /v1/deliveries?status= "
                    "names them), e.g. dead; repeatable")] = [],  # noqa: B006
    order: Annotated[Literal["asc", "desc"], Query(
        description="asc: oldest first (the default, for following the feed); desc: newest "
                    "first")] = "asc",
) -> Page[EventPublic]:
    """List this account's events: filter by type (`porting_order.*` for a family,
    repeatable), subject, time or the state of their deliveries; oldest first, or
    newest first with `order=desc`. Each event is what the webhooks carry."""
    _check_type_filter(type, known)
    rows, next_cursor = await service.list_events(
        session, account_id=account_id, types=type, subject_type=subject_type,
        subject_id=subject_id, occurred_after=occurred_after, occurred_before=occurred_before,
        delivery_states=delivery_status, newest_first=order == "desc",
        cursor=page.cursor, limit=page.limit,
    )
    return Page(data=[service.to_public(e) for e in rows], next_cursor=next_cursor)


@router.get("/events/{event_id}", response_model=EventPublic, responses=responses(404))
async def read_event(
    event_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> EventPublic:
    """Read one event with its full data."""
    return service.to_public(await service.get(session, account_id=account_id, event_id=event_id))


@router.get("/operator/events", response_model=Page[EventPublic], tags=["operator"])
async def read_all_events(
    session: SessionDep,
    _: OperatorDep,
    page: PageDep,
    known: EventTypeNamesDep,
    type: TypeFilter = [],  # noqa: B006
    account_id: uuid.UUID | None = None,
    subject_id: str | None = None,
) -> Page[EventPublic]:
    """List events of every account (operator key), filtered by type, account or subject."""
    _check_type_filter(type, known)
    rows, next_cursor = await service.list_events(
        session, account_id=account_id, types=type, subject_id=subject_id,
        cursor=page.cursor, limit=page.limit,
    )
    return Page(data=[service.to_public(e) for e in rows], next_cursor=next_cursor)


def _check_type_filter(patterns: list[str], known: tuple[str, ...]) -> None:
    # A filter that selects no type answers nothing forever: say so instead.
    try:
        check_patterns(patterns, known)
    except ValueError as error:
        raise Unprocessable(f"query.type: {error}",
                            errors=[FieldError(field="query.type", message=str(error))]) from None
