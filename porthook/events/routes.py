from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from porthook.deps import AccountIdDep, OperatorDep, SessionDep
from porthook.events import service
from porthook.events.schemas import EventPublic
from porthook.pagination import Page, PageParams, page_params
from porthook.problems import responses

router = APIRouter(prefix="/v1", tags=["events"], responses=responses(401, 403, 422))

PageDep = Annotated[PageParams, Depends(page_params)]
TypeFilter = Annotated[
    list[str], Query(description="Event type, or a family such as porting_order.*; repeatable")
]


@router.get("/events", response_model=Page[EventPublic])
async def read_events(
    session: SessionDep,
    account_id: AccountIdDep,
    page: PageDep,
    type: TypeFilter = [],  # noqa: B006  (FastAPI copies query defaults)
    subject_type: str | None = None,
    subject_id: str | None = None,
    occurred_after: datetime | None = None,
) -> Page[EventPublic]:
    """List this account's events, newest first: filter by type (`porting_order.*` for a
    family, repeatable), subject or time. Each event is what the webhooks carry."""
    rows, next_cursor = await service.list_events(
        session, account_id=account_id, types=type, subject_type=subject_type,
        subject_id=subject_id, occurred_after=occurred_after,
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
    type: TypeFilter = [],  # noqa: B006
    account_id: uuid.UUID | None = None,
    subject_id: str | None = None,
) -> Page[EventPublic]:
    """List events of every account (operator key), filtered by type, account or subject."""
    rows, next_cursor = await service.list_events(
        session, account_id=account_id, types=type, subject_id=subject_id,
        cursor=page.cursor, limit=page.limit,
    )
    return Page(data=[service.to_public(e) for e in rows], next_cursor=next_cursor)
