"""The portal's webhook and e-mail endpoints: list, create (format and event
types), the signing secret shown once at creation and at rotation, a test
call with the receiver's answer, enable and recover. On delivery's own
services, scoped to the signed-in account."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from porthook.delivery import actions, probe
from porthook.delivery import service as endpoints
from porthook.delivery.schemas import EndpointCreate, RecoverRequest
from porthook.deps import ClockDep, SessionDep, SettingsDep
from porthook.events.types import EventType
from porthook.pagination import DEFAULT_LIMIT
from porthook.problems import NotFound, Problem
from porthook.ui import forms
from porthook.ui.deps import CheckedFormDep, PortalAccountDep
from porthook.ui.pages import redirect, render

router = APIRouter(prefix="/portal/endpoints")

FORMATS = ("standard", "telnyx", "sinch", "records")
# The catalogue offered on the form: families first, then each event type.
EVENT_CHOICES = ("*", "porting_order.*", "record.*", "endpoint.*",
                 *(t.value for t in EventType))
NOTICES = {"enabled": "Endpoint enabled: held events are sent again.",
           "recovered": "Failed deliveries requeued."}


def _form_values(form: Any) -> dict[str, Any]:
    return {
        "channel": forms.text(form, "channel") or "webhook",
        "url": forms.text(form, "url"), "email_address": forms.text(form, "email_address"),
        "format": forms.text(form, "format") or "standard",
        "description": forms.text(form, "description"),
        "event_types": forms.many(form, "event_types") or ["*"],
    }


async def _list_page(request: Request, session: SessionDep, account_id: uuid.UUID, *,
                     status_code: int = 200, **context: Any) -> Response:
    rows, next_cursor = await endpoints.list_endpoints(session, account_id=account_id,
                                                       cursor=None, limit=DEFAULT_LIMIT)
    return render(request, "portal/endpoints.html", status_code=status_code,
                  title="Webhook endpoints", rows=rows, next_cursor=next_cursor,
                  formats=FORMATS, event_choices=EVENT_CHOICES,
                  values=context.pop("values", {"event_types": ["*"]}), **context)


@router.get("")
async def read_endpoints(
    request: Request, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _list_page(request, session, account_id)


@router.post("")
async def create_endpoint(
    request: Request, form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    values = _form_values(form)
    try:
        body = forms.validated(EndpointCreate, {k: v for k, v in values.items() if v})
        endpoint = await endpoints.create_endpoint(session, account_id=account_id, body=body,
                                                   settings=settings, now=clock.now())
    except Problem as problem:
        await session.rollback()
        return await _list_page(request, session, account_id, status_code=problem.status,
                                values=values, error=problem.detail,
                                field_errors=problem.errors)
    await session.commit()
    # Rendered, not redirected: the secret must not travel in a URL.
    return await _endpoint_page(request, session, account_id, endpoint.id, status_code=201,
                                secret=endpoint.secret,
                                notice="Endpoint created. Copy its signing secret now: it is "
                                       "shown this once.")


async def _endpoint_page(request: Request, session: SessionDep, account_id: uuid.UUID,
                         endpoint_id: uuid.UUID, *, status_code: int = 200,
                         **context: Any) -> Response:
    endpoint = await endpoints.get_endpoint(session, account_id=account_id,
                                            endpoint_id=endpoint_id)
    context.setdefault("notice", NOTICES.get(request.query_params.get("done", "")))
    return render(request, "portal/endpoint.html", status_code=status_code,
                  title=f"Endpoint {endpoint.url or endpoint.email_address}",
                  endpoint=endpoints.to_public(endpoint), **context)


@router.get("/{endpoint_id}")
async def read_endpoint(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, account_id: PortalAccountDep
) -> Response:
    return await _endpoint_page(request, session, account_id, endpoint_id)


async def _failed(request: Request, session: SessionDep, account_id: uuid.UUID,
                  endpoint_id: uuid.UUID, problem: Problem) -> Response:
    await session.rollback()
    if isinstance(problem, NotFound):
        raise problem
    return await _endpoint_page(request, session, account_id, endpoint_id,
                                status_code=problem.status, error=problem.detail,
                                field_errors=problem.errors)


@router.post("/{endpoint_id}/rotate-secret")
async def rotate_endpoint_secret(
    request: Request, endpoint_id: uuid.UUID, _form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    endpoint = await endpoints.rotate_secret(session, account_id=account_id,
                                             endpoint_id=endpoint_id, settings=settings,
                                             now=clock.now())
    await session.commit()
    return await _endpoint_page(
        request, session, account_id, endpoint_id, secret=endpoint.secret,
        notice=f"New signing secret: shown this once. The previous one stays valid until "
               f"{endpoint.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC.")


@router.post("/{endpoint_id}/test")
async def create_endpoint_test(
    request: Request, endpoint_id: uuid.UUID, _form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    result = await probe.test_endpoint(session, account_id=account_id, endpoint_id=endpoint_id,
                                       settings=settings, now=clock.now())
    await session.commit()  # the signing key, if this was its first use
    return await _endpoint_page(request, session, account_id, endpoint_id, test=result)


@router.post("/{endpoint_id}/enable")
async def enable_endpoint(
    endpoint_id: uuid.UUID, _form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    account_id: PortalAccountDep,
) -> Response:
    await endpoints.enable(session, account_id=account_id, endpoint_id=endpoint_id,
                           now=clock.now())
    await session.commit()
    return redirect(f"/ui/portal/endpoints/{endpoint_id}?done=enabled")


@router.post("/{endpoint_id}/recover")
async def recover_endpoint(
    request: Request, endpoint_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, account_id: PortalAccountDep,
) -> Response:
    try:
        since = forms.local_moment(form, date_field="since_date", time_field="since_time",
                                   zone_field="since_zone")
        body = forms.validated(RecoverRequest, {"since": since})
        endpoint = await endpoints.get_endpoint(session, account_id=account_id,
                                                endpoint_id=endpoint_id)
        done = await actions.retry_endpoint(session, endpoint=endpoint, since=body.since,
                                            now=clock.now())
    except Problem as problem:
        return await _failed(request, session, account_id, endpoint_id, problem)
    await session.commit()
    return await _endpoint_page(request, session, account_id, endpoint_id,
                                notice=f"{len(done.requeued)} failed or held deliveries requeued.")
