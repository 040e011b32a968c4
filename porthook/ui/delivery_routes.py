"""The delivery log: the portal's (one account's) with its filters, a
delivery with every attempt and "Retry now", and the desk's view of any
account's delivery. On delivery's own search and actions: the same
filters, scoping and retry rules as ``GET /v1/deliveries``."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from porthook.delivery import actions, rules, search
from porthook.delivery import service as endpoints
from porthook.deps import ClockDep, SessionDep
from porthook.pagination import DEFAULT_LIMIT
from porthook.problems import FieldError, Unprocessable
from porthook.ui import forms, queries
from porthook.ui.deps import CheckedFormDep, DeskViewerDep, PortalAccountDep
from porthook.ui.endpoint_routes import FAMILIES
from porthook.ui.pages import form_action_shown, render

portal = APIRouter(prefix="/portal/deliveries")
desk = APIRouter(prefix="/desk/deliveries")

# The type filter suggests the endpoint form's families ("*" is no filter).
EVENT_FAMILIES = tuple(family for family, _ in FAMILIES if family != "*")


def _among(values: list[str], allowed: tuple[str, ...], field: str) -> list[str]:
    chosen = [v for v in values if v]
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        raise Unprocessable(f"{field}: {wrong[0]!r} is not one of {', '.join(allowed)}",
                            errors=[FieldError(field=field,
                                               message=f"one of {', '.join(allowed)}")])
    return chosen


def _day_start(day: date | None, *, days_after: int = 0) -> datetime | None:
    """A date of the form as a UTC instant (the log shows UTC times)."""
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(days=days_after)


def delivery_filter(*, state: list[str], endpoint_id: uuid.UUID | None, event_type: str | None,
                    status_class: list[str], created_from: date | None,
                    created_to: date | None) -> search.DeliveryFilter:
    """The log's GET form as the API's filter; the time range takes whole
    UTC days, ``created_to`` included."""
    return search.DeliveryFilter(
        states=_among(state, rules.STATES, "state"), endpoint_id=endpoint_id,
        event_types=[event_type] if event_type else [],
        status_classes=_among(status_class, rules.STATUS_CLASSES, "status_class"),
        created_after=_day_start(created_from),
        created_before=_day_start(created_to, days_after=1))


@portal.get("")
async def read_deliveries(
    request: Request, session: SessionDep, account_id: PortalAccountDep,
    state: Annotated[list[str], Query()] = [],  # noqa: B006
    endpoint_id: str | None = None, event_type: str | None = None,
    status_class: Annotated[list[str], Query()] = [],  # noqa: B006
    created_from: str | None = None, created_to: str | None = None,
    cursor: str | None = None,
) -> Response:
    # Strings, not typed parameters: the form's "Any" sends empty values.
    start = forms.optional_date(created_from, "created_from")
    end = forms.optional_date(created_to, "created_to")
    where = delivery_filter(state=state,
                            endpoint_id=forms.optional_uuid(endpoint_id, "endpoint_id"),
                            event_type=event_type, status_class=status_class,
                            created_from=start, created_to=end)
    found, next_cursor = await search.search(session, account_id=account_id, where=where,
                                             cursor=cursor, limit=DEFAULT_LIMIT)
    choices, _ = await endpoints.list_endpoints(session, account_id=account_id, cursor=None,
                                                limit=DEFAULT_LIMIT)
    return render(request, "portal/deliveries.html", title="Delivery log",
                  rows=await queries.delivery_rows(session, found), next_cursor=next_cursor,
                  where=where, endpoints=choices, states=rules.STATES,
                  status_classes=rules.STATUS_CLASSES, families=EVENT_FAMILIES,
                  event_type=event_type or "", created_from=start, created_to=end,
                  query=request.query_params.multi_items())


async def _delivery_page(request: Request, session: SessionDep, *,
                         account_id: uuid.UUID | None, delivery_id: uuid.UUID,
                         status_code: int = 200, **context: Any) -> Response:
    delivery, attempts = await search.get_delivery(session, account_id=account_id,
                                                   delivery_id=delivery_id)
    row = (await queries.delivery_rows(session, [delivery]))[0]
    return render(request, "delivery.html", status_code=status_code,
                  title=f"Delivery {delivery.id}", row=row, attempts=attempts,
                  desk=account_id is None, owner=delivery.account_id, **context)


@portal.get("/{delivery_id}")
async def read_delivery(
    request: Request, delivery_id: uuid.UUID, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _delivery_page(request, session, account_id=account_id,
                                delivery_id=delivery_id)


def retried_notice(done: actions.Requeue) -> str:
    if done.requeued:
        return "Requeued: it is sent again now. Reload to see the new attempt."
    return "It is being sent right now (a worker holds it): its outcome shows here shortly."


@portal.post("/{delivery_id}/retry")
async def retry_delivery(
    request: Request, delivery_id: uuid.UUID, _form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, account_id: PortalAccountDep,
) -> Response:
    page = functools.partial(_delivery_page, request, session, account_id=account_id,
                             delivery_id=delivery_id)

    async def work() -> actions.Requeue:
        return await actions.retry_delivery(session, account_id=account_id,
                                            delivery_id=delivery_id, now=clock.now())

    async def shown(done: actions.Requeue) -> Response:
        return await page(notice=retried_notice(done))
    return await form_action_shown(session, work, shown=shown, again=page)


@desk.get("/{delivery_id}")
async def read_desk_delivery(
    request: Request, delivery_id: uuid.UUID, session: SessionDep, _: DeskViewerDep
) -> Response:
    return await _delivery_page(request, session, account_id=None, delivery_id=delivery_id)
