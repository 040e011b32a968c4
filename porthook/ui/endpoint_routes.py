"""The portal's webhook and e-mail endpoints: list, create (format and event
types), the signing secret shown once at creation and at rotation, a test
call with the receiver's answer, enable and retry everything failed, the
endpoint's health and recent deliveries. On delivery's own services (stats,
search, actions), scoped to the signed-in account."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from porthook.delivery import actions, catalog, probe, rules, search, stats
from porthook.delivery import service as endpoints
from porthook.delivery.models import Endpoint
from porthook.delivery.schemas import EndpointCreate, EndpointUpdate, RecoverRequest
from porthook.deps import ClockDep, SessionDep, SettingsDep
from porthook.pagination import DEFAULT_LIMIT
from porthook.ui import forms, queries
from porthook.ui.deps import CheckedFormDep, PortalAccountDep
from porthook.ui.pages import form_action, form_action_shown, redirect, render

router = APIRouter(prefix="/portal/endpoints")

FORMATS = ("standard", "telnyx", "sinch", "records")
# The picker: families first, then each type of the event catalog with its
# description (the records' many types folded under their own heading).
FAMILIES = (("*", "Every event, present and future."),
            ("porting_order.*", "Every porting order event."),
            ("record.*", "Every record event, of every schema."),
            ("endpoint.*", "Every endpoint health event."))
RECENT = 10  # deliveries on the endpoint page; the log has the rest


def event_choices() -> dict[str, list[tuple[str, str]]]:
    named = [(t, catalog.describe(t)) for t in catalog.type_names()]
    return {"Families": list(FAMILIES),
            "Porting orders, SMS enablement and endpoints":
                [c for c in named if not c[0].startswith("record.")],
            "Records": [c for c in named if c[0].startswith("record.")]}
NOTICES = {"enabled": "Endpoint enabled: held events are sent again.",
           "saved": "Changes saved.",
           "recovered": "Failed deliveries requeued."}


def _form_values(form: Any) -> dict[str, Any]:
    return {
        "channel": forms.text(form, "channel") or "webhook",
        "url": forms.text(form, "url"), "email_address": forms.text(form, "email_address"),
        "format": forms.text(form, "format") or "standard",
        "description": forms.text(form, "description"),
        "event_types": forms.many(form, "event_types") or ["*"],
        "headers": forms.text(form, "headers"),
        "rate_limit_per_s": forms.text(form, "rate_limit_per_s"),
        "profile_id": forms.text(form, "profile_id"),
    }


async def _list_page(request: Request, session: SessionDep, clock: ClockDep,
                     account_id: uuid.UUID, *, status_code: int = 200,
                     **context: Any) -> Response:
    rows, next_cursor = await endpoints.list_endpoints(session, account_id=account_id,
                                                       cursor=None, limit=DEFAULT_LIMIT)
    return render(request, "portal/endpoints.html", status_code=status_code,
                  title="Webhook endpoints", rows=rows, next_cursor=next_cursor,
                  health=await stats.health_by_endpoint(session, rows, now=clock.now()),
                  formats=FORMATS, event_choices=event_choices(),
                  profiles=await _profiles(session, account_id),
                  values=context.pop("values", {"event_types": ["*"]}), **context)


async def _profiles(session: SessionDep, account_id: uuid.UUID) -> list[Any]:
    """The account's notification profiles an endpoint may join."""
    rows, _ = await endpoints.list_profiles(session, account_id=account_id, cursor=None,
                                            limit=DEFAULT_LIMIT)
    return rows


@router.get("")
async def read_endpoints(
    request: Request, session: SessionDep, clock: ClockDep, account_id: PortalAccountDep
) -> Response:
    return await _list_page(request, session, clock, account_id)


@router.post("")
async def create_endpoint(
    request: Request, form: CheckedFormDep, session: SessionDep, clock: ClockDep,
    settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    values = _form_values(form)

    async def work() -> Endpoint:
        fields = {**values, "headers": forms.header_lines(values["headers"], "headers")}
        body = forms.validated(EndpointCreate, {**{k: v for k, v in fields.items() if v},
                                                **forms.credential_changes(form)})
        return await endpoints.create_endpoint(session, account_id=account_id, body=body,
                                               settings=settings, now=clock.now())

    async def shown(endpoint: Endpoint) -> Response:
        # Rendered, not redirected: the secret must not travel in a URL.
        return await _endpoint_page(
            request, session, clock, account_id, endpoint.id, status_code=201,
            secret=endpoint.secret,
            notice="Endpoint created. Copy its signing secret now: it is shown this once.")
    return await form_action_shown(session, work, shown=shown, again=functools.partial(
        _list_page, request, session, clock, account_id, values=values))


async def _endpoint_page(request: Request, session: SessionDep, clock: ClockDep,
                         account_id: uuid.UUID, endpoint_id: uuid.UUID, *,
                         status_code: int = 200, **context: Any) -> Response:
    endpoint = await endpoints.get_endpoint(session, account_id=account_id,
                                            endpoint_id=endpoint_id)
    context.setdefault("notice", NOTICES.get(request.query_params.get("done", "")))
    now = clock.now()
    recent, more = await search.search(session, account_id=account_id,
                                       where=search.DeliveryFilter(endpoint_id=endpoint.id),
                                       cursor=None, limit=RECENT)
    return render(request, "portal/endpoint.html", status_code=status_code,
                  title=f"Endpoint {endpoint.url or endpoint.email_address}",
                  endpoint=endpoints.to_public(endpoint), now=now,
                  health=rules.health_state(enabled=endpoint.enabled,
                                            failing_since=endpoint.failing_since),
                  stats=await stats.endpoint_stats(session, endpoint=endpoint, now=now),
                  recent=await queries.delivery_rows(session, recent), more=more is not None,
                  formats=FORMATS, event_choices=event_choices(),
                  profiles=await _profiles(session, account_id), **context)


@router.get("/{endpoint_id}")
async def read_endpoint(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, clock: ClockDep,
    account_id: PortalAccountDep,
) -> Response:
    return await _endpoint_page(request, session, clock, account_id, endpoint_id)


def _again(request: Request, session: SessionDep, clock: ClockDep, account_id: uuid.UUID,
           endpoint_id: uuid.UUID) -> Callable[..., Awaitable[Response]]:
    return functools.partial(_endpoint_page, request, session, clock, account_id, endpoint_id)


def _changes(form: Any, channel: str) -> dict[str, Any]:
    """The edit form as the API's update: headers typed replace the set (or
    the box removes them); the rate limit and description left empty clear;
    credentials are kept unless replaced or removed (never shown back)."""
    target = "url" if channel == "webhook" else "email_address"
    changes: dict[str, Any] = {
        target: forms.text(form, target), "description": forms.text(form, "description"),
        "event_types": forms.many(form, "event_types") or ["*"],
        "rate_limit_per_s": forms.text(form, "rate_limit_per_s"),
        "profile_id": forms.text(form, "profile_id")}  # "None" leaves a profile
    if channel == "webhook":  # e-mail has one format, and no HTTP credentials
        changes["format"] = forms.text(form, "format") or "standard"
        changes.update(forms.credential_changes(form))
    if forms.checked(form, "clear_headers"):
        changes["headers"] = None
    elif headers := forms.header_lines(forms.text(form, "headers"), "headers"):
        changes["headers"] = headers
    return changes


@router.post("/{endpoint_id}/edit")
async def update_endpoint(
    request: Request, endpoint_id: uuid.UUID, form: CheckedFormDep, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, account_id: PortalAccountDep,
) -> Response:
    async def work() -> object:
        endpoint = await endpoints.get_endpoint(session, account_id=account_id,
                                                endpoint_id=endpoint_id)
        body = forms.validated(EndpointUpdate, _changes(form, endpoint.channel))
        return await endpoints.update_endpoint(session, account_id=account_id,
                                               endpoint_id=endpoint_id, body=body,
                                               settings=settings, now=clock.now())
    return await form_action(session, work, done=f"/ui/portal/endpoints/{endpoint_id}?done=saved",
                             again=_again(request, session, clock, account_id, endpoint_id))


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
        request, session, clock, account_id, endpoint_id, secret=endpoint.secret,
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
    return await _endpoint_page(request, session, clock, account_id, endpoint_id, test=result)


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
    async def work() -> actions.Requeue:
        since = forms.local_moment(form, date_field="since_date", time_field="since_time",
                                   zone_field="since_zone")
        # No date: everything failed, as actions.retry_endpoint takes it.
        if since is not None:
            since = forms.validated(RecoverRequest, {"since": since}).since
        endpoint = await endpoints.get_endpoint(session, account_id=account_id,
                                                endpoint_id=endpoint_id)
        return await actions.retry_endpoint(session, endpoint=endpoint, since=since,
                                            now=clock.now())

    async def shown(done: actions.Requeue) -> Response:
        busy = f" {len(done.in_flight)} being sent right now were left as they are." \
            if done.in_flight else ""
        return await _endpoint_page(
            request, session, clock, account_id, endpoint_id,
            notice=f"{len(done.requeued)} failed or held deliveries requeued.{busy}")
    return await form_action_shown(session, work, shown=shown, again=_again(
        request, session, clock, account_id, endpoint_id))
