"""Delivery operations, read side: search deliveries (an account's, and every
account's for the operator), endpoint stats (thin routes)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.delivery import rules, search, service, stats
from porthook.delivery.schemas import (
    AttemptSummary,
    BacklogStats,
    DeliveryPublic,
    EndpointStatsPublic,
    Latency,
    OutcomeCounts,
    WindowStats,
)
from porthook.deps import AccountIdDep, ClockDep, OperatorDep, SessionDep
from porthook.pagination import Page, PageParams, page_params
from porthook.problems import responses

router = APIRouter(prefix="/v1", responses=responses(401, 403))

PageDep = Annotated[PageParams, Depends(page_params)]
DELIVERIES: list[str | Enum] = ["deliveries"]
ENDPOINTS: list[str | Enum] = ["endpoints"]
OPERATOR: list[str | Enum] = ["operator"]
State = Literal["pending", "retrying", "delivered", "dead", "held"]
StatusClass = Literal["2xx", "3xx", "4xx", "5xx", "network"]


async def delivery_filter(
    status: Annotated[list[State], Query(
        description="pending (waiting, never failed), retrying (waiting after a failure), "
                    "delivered, dead, held (endpoint disabled); repeatable")] = [],  # noqa: B006
    endpoint_id: Annotated[uuid.UUID | None, Query(description="One endpoint's")] = None,
    event_type: Annotated[list[str], Query(
        description="Event type, or a family such as porting_order.*; repeatable")] = [],  # noqa: B006
    subject_id: Annotated[str | None, Query(
        description="The subject of the event, e.g. a porting order's id")] = None,
    status_class: Annotated[list[StatusClass], Query(
        description="Outcome of the last attempt: 2xx, 3xx, 4xx, 5xx or network (no HTTP "
                    "answer); repeatable")] = [],  # noqa: B006
    created_after: Annotated[AwareDatetime | None, Query(
        description="Created after this time (with a timezone offset)")] = None,
    created_before: Annotated[AwareDatetime | None, Query(
        description="Created before this time (with a timezone offset)")] = None,
) -> search.DeliveryFilter:
    """The search's query parameters, one list for the account's route and the operator's."""
    return search.DeliveryFilter(
        states=status, endpoint_id=endpoint_id, event_types=event_type, subject_id=subject_id,
        status_classes=status_class, created_after=created_after, created_before=created_before)


FilterDep = Annotated[search.DeliveryFilter, Depends(delivery_filter)]


@router.get("/deliveries", response_model=Page[DeliveryPublic], tags=DELIVERIES,
            responses=responses(422), summary="Search deliveries")
async def read_deliveries(
    session: SessionDep, account_id: AccountIdDep, page: PageDep, where: FilterDep,
) -> Page[DeliveryPublic]:
    """The account's deliveries, newest first, each with what happened last
    (status code, error, response excerpt, when) and when the next attempt
    is due. Filters combine; values of one repeated filter are alternatives."""
    return await _page(session, account_id=account_id, where=where, page=page)


@router.get("/operator/deliveries", response_model=Page[DeliveryPublic], tags=OPERATOR,
            responses=responses(422), summary="Search deliveries of every account")
async def read_all_deliveries(
    session: SessionDep, _: OperatorDep, page: PageDep, where: FilterDep,
    account_id: Annotated[uuid.UUID | None, Query(
        description="One account's deliveries only")] = None,
) -> Page[DeliveryPublic]:
    """Deliveries of every account (operator key), newest first, with the
    filters of `GET /v1/deliveries` and an `account_id` to keep one account's;
    each row names its account."""
    return await _page(session, account_id=account_id, where=where, page=page)


async def _page(session: AsyncSession, *, account_id: uuid.UUID | None,
                where: search.DeliveryFilter, page: PageParams) -> Page[DeliveryPublic]:
    rows, next_cursor = await search.search(session, account_id=account_id, where=where,
                                            cursor=page.cursor, limit=page.limit)
    return Page(data=[search.to_public(d) for d in rows], next_cursor=next_cursor)


@router.get("/endpoints/{endpoint_id}/stats", response_model=EndpointStatsPublic,
            tags=ENDPOINTS, responses=responses(404), summary="Endpoint health and stats")
async def read_endpoint_stats(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> EndpointStatsPublic:
    """Attempts by outcome over the last hour, day and week, their success
    rate and the latency (p50, p95) of the successful ones; the last success
    and the last failure with its reason; what waits now (pending, retrying,
    held) and since when."""
    endpoint = await service.get_endpoint(session, account_id=account_id,
                                          endpoint_id=endpoint_id)
    now = clock.now()
    found = await stats.endpoint_stats(session, endpoint=endpoint, now=now)
    backlog = found.backlog
    oldest = backlog.oldest_pending_at
    return EndpointStatsPublic(
        endpoint_id=endpoint.id,
        health=rules.health_state(enabled=endpoint.enabled,
                                  failing_since=endpoint.failing_since),
        windows={name: WindowStats(
            attempts=w.total, outcomes=OutcomeCounts.model_validate(w.counts),
            success_rate=w.success_rate, latency_ms=Latency.model_validate(w.latency_ms))
            for name, w in found.windows.items()},
        last_success=_summary(found.last_success), last_failure=_summary(found.last_failure),
        backlog=BacklogStats(
            pending=backlog.pending, retrying=backlog.retrying, held=backlog.held,
            oldest_pending_at=oldest,
            oldest_pending_age_s=None if oldest is None
            else round((now - oldest).total_seconds(), 3)),
    )


def _summary(last: stats.LastAttempt | None) -> AttemptSummary | None:
    if last is None:
        return None
    return AttemptSummary(attempted_at=last.attempted_at, status_code=last.status_code,
                          error=last.error, response_excerpt=last.response_excerpt)
