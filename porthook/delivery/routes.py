"""Endpoints, deliveries, notification profiles and the signing key (customer routes)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import AwareDatetime

from porthook.delivery import actions, probe, search, service, signing, stats
from porthook.delivery.models import DeliveryAttempt
from porthook.delivery.schemas import (
    REQUEUED_IDS_SHOWN,
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointHealth,
    EndpointListed,
    EndpointPublic,
    EndpointRetryRequest,
    EndpointTestResult,
    EndpointUpdate,
    ProfileCreate,
    ProfilePublic,
    ProfileUpdate,
    RecoverRequest,
    RedeliverRequest,
    Requeued,
    SecretRotated,
    SigningKeyPublic,
)
from porthook.deps import AccountIdDep, ClockDep, SessionDep, SettingsDep
from porthook.pagination import Page, PageParams, page_params
from porthook.problems import responses

router = APIRouter(prefix="/v1", responses=responses(401, 403))

PageDep = Annotated[PageParams, Depends(page_params)]
ENDPOINTS: list[str | Enum] = ["endpoints"]
DELIVERIES: list[str | Enum] = ["deliveries"]
PROFILES: list[str | Enum] = ["notification profiles"]


@router.post("/endpoints", status_code=201, response_model=EndpointCreated, tags=ENDPOINTS,
             responses=responses(404, 422))
async def create_endpoint(
    body: EndpointCreate, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    settings: SettingsDep,
) -> EndpointCreated:
    """Create a webhook or e-mail endpoint that receives the events it subscribes to, in the
    chosen format. The answer carries the `whsec_` signing secret, shown now and at rotation
    only. Private and loopback URLs are refused (422)."""
    endpoint = await service.create_endpoint(session, account_id=account_id, body=body,
                                             settings=settings, now=clock.now())
    await session.commit()
    return EndpointCreated(**service.to_public(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/endpoints", response_model=Page[EndpointListed], tags=ENDPOINTS,
            responses=responses(422))
async def read_endpoints(
    session: SessionDep, account_id: AccountIdDep, page: PageDep, clock: ClockDep
) -> Page[EndpointListed]:
    """The account's endpoints, each with a one-line health summary (see
    ``GET /v1/endpoints/{id}/stats`` for the details)."""
    rows, next_cursor = await service.list_endpoints(session, account_id=account_id,
                                                     cursor=page.cursor, limit=page.limit)
    health = await stats.health_by_endpoint(session, rows, now=clock.now())
    return Page(data=[EndpointListed(**service.to_public(e).model_dump(),
                                     health=EndpointHealth(**vars(health[e.id])))
                      for e in rows], next_cursor=next_cursor)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointPublic, tags=ENDPOINTS,
            responses=responses(404))
async def read_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> EndpointPublic:
    """Read one endpoint: its target, format, subscriptions and health (`failing_since`,
    `disabled_reason`)."""
    return service.to_public(await service.get_endpoint(session, account_id=account_id,
                                                        endpoint_id=endpoint_id))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointPublic, tags=ENDPOINTS,
              responses=responses(404, 422))
async def update_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, session: SessionDep, account_id: AccountIdDep,
    clock: ClockDep, settings: SettingsDep,
) -> EndpointPublic:
    """Change an endpoint: only the fields sent change; `null` clears those that may be
    empty. Send `enabled: false` to disable it; enable it again with `actions/enable`."""
    endpoint = await service.update_endpoint(session, account_id=account_id,
                                             endpoint_id=endpoint_id, body=body,
                                             settings=settings, now=clock.now())
    await session.commit()
    return service.to_public(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=204, tags=ENDPOINTS,
               responses=responses(404))
async def delete_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> Response:
    """Delete an endpoint with its deliveries: nothing more is sent to it."""
    await service.delete_endpoint(session, account_id=account_id, endpoint_id=endpoint_id)
    await session.commit()
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/actions/rotate-secret", response_model=SecretRotated,
             tags=ENDPOINTS, responses=responses(404))
async def rotate_endpoint_secret(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    settings: SettingsDep,
) -> SecretRotated:
    """Issue a new signing secret. For a day both the old and the new signature are sent, so
    receivers can switch without losing calls."""
    endpoint = await service.rotate_secret(session, account_id=account_id,
                                           endpoint_id=endpoint_id, settings=settings,
                                           now=clock.now())
    await session.commit()
    assert endpoint.previous_secret_expires_at is not None
    return SecretRotated(secret=endpoint.secret,
                         previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post("/endpoints/{endpoint_id}/actions/enable", response_model=EndpointPublic,
             tags=ENDPOINTS, responses=responses(404))
async def enable_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> EndpointPublic:
    """Enable a disabled endpoint; the deliveries held while it was disabled are sent again."""
    endpoint = await service.enable(session, account_id=account_id, endpoint_id=endpoint_id,
                                    now=clock.now())
    await session.commit()
    return service.to_public(endpoint)


@router.post("/endpoints/{endpoint_id}/actions/test", response_model=EndpointTestResult,
             tags=ENDPOINTS, responses=responses(404))
async def test_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    settings: SettingsDep,
) -> EndpointTestResult:
    """Send a synthetic, signed event to the endpoint now and answer with the result
    (status, time, response excerpt), to check URL, credentials and signature verification.
    Nothing is stored."""
    result = await probe.test_endpoint(session, account_id=account_id, endpoint_id=endpoint_id,
                                       settings=settings, now=clock.now())
    await session.commit()  # the signing key, if this was its first use
    return result


@router.post("/endpoints/{endpoint_id}/actions/recover", status_code=202,
             response_model=Requeued, tags=ENDPOINTS, responses=responses(404, 409, 422))
async def recover_endpoint(
    endpoint_id: uuid.UUID, body: RecoverRequest, session: SessionDep, account_id: AccountIdDep,
    clock: ClockDep,
) -> Requeued:
    """Requeue what failed since ``since``: dead, held and retrying deliveries
    (``actions/retry`` with a required ``since``)."""
    endpoint = await service.get_endpoint(session, account_id=account_id,
                                          endpoint_id=endpoint_id)
    done = await actions.retry_endpoint(session, endpoint=endpoint, since=body.since,
                                        now=clock.now())
    await session.commit()
    return _requeued(done)


@router.post("/endpoints/{endpoint_id}/actions/retry", status_code=202,
             response_model=Requeued, tags=ENDPOINTS, responses=responses(404, 409, 422),
             summary="Send the endpoint's failed deliveries now")
async def retry_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    body: Annotated[EndpointRetryRequest | None, Body()] = None,
    since: Annotated[AwareDatetime | None, Query(
        description="As the body's since, for a call without a body")] = None,
) -> Requeued:
    """Send now, oldest first, everything of this endpoint that is retrying
    (pending after a failed attempt), dead or held, made since ``since`` if
    given. Nothing delivered and nothing of another endpoint is sent; a
    delivery a worker is sending right now is left to it (``in_flight``).
    A disabled endpoint is refused (409): enable it first."""
    endpoint = await service.get_endpoint(session, account_id=account_id,
                                          endpoint_id=endpoint_id)
    if body is not None and body.since is not None:
        since = body.since
    done = await actions.retry_endpoint(session, endpoint=endpoint, since=since, now=clock.now())
    await session.commit()
    return _requeued(done)


def _requeued(done: actions.Requeue) -> Requeued:
    return Requeued(requeued=len(done.requeued),
                    delivery_ids=done.requeued[:REQUEUED_IDS_SHOWN], created=len(done.created),
                    in_flight=done.in_flight[:REQUEUED_IDS_SHOWN])


_delivery = search.to_public


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, tags=DELIVERIES,
            responses=responses(404))
async def read_delivery(
    delivery_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> DeliveryDetail:
    """Read one delivery with every attempt: when, to where, the status code and an excerpt
    of the answer."""
    delivery, attempts = await search.get_delivery(session, account_id=account_id,
                                                   delivery_id=delivery_id)
    return DeliveryDetail(**_delivery(delivery).model_dump(),
                          attempt_log=[_attempt(a) for a in attempts])


def _attempt(attempt: DeliveryAttempt) -> AttemptPublic:
    return AttemptPublic.model_validate(attempt)


@router.get("/events/{event_id}/deliveries", response_model=Page[DeliveryPublic],
            tags=DELIVERIES, responses=responses(404, 422))
async def read_event_deliveries(
    event_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, page: PageDep
) -> Page[DeliveryPublic]:
    """List the deliveries of one event, one per endpoint that receives it."""
    rows, next_cursor = await search.list_event_deliveries(
        session, account_id=account_id, event_id=event_id, cursor=page.cursor, limit=page.limit)
    return Page(data=[_delivery(d) for d in rows], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/actions/retry", status_code=202,
             response_model=Requeued, tags=DELIVERIES, responses=responses(404, 409),
             summary="Send this delivery now")
async def retry_delivery(
    delivery_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> Requeued:
    """Send this delivery now, whatever its status and schedule (dead,
    delivered, held, pending for a later try). A delivery a worker is sending
    right now is left to it and listed in ``in_flight`` (``requeued`` 0): it is
    never sent twice at once. Its endpoint must be enabled (else 409)."""
    done = await actions.retry_delivery(session, account_id=account_id,
                                        delivery_id=delivery_id, now=clock.now())
    await session.commit()
    return _requeued(done)


@router.post("/events/{event_id}/actions/redeliver", status_code=202, response_model=Requeued,
             tags=DELIVERIES, responses=responses(404, 409, 422),
             summary="Send the event again where it was not received")
async def redeliver_event(
    event_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep, clock: ClockDep,
    body: Annotated[RedeliverRequest | None, Body()] = None,
) -> Requeued:
    """Without a body: to the endpoints that have not received the event
    (their dead, held or pending deliveries are due now; an endpoint that
    should have one but has none gets one). With ``endpoint_id``: to that
    endpoint only, whatever it received. With ``force``: to every endpoint
    again, those that received it included. Disabled endpoints are skipped."""
    request = body or RedeliverRequest()
    endpoint = None
    if request.endpoint_id is not None:
        endpoint = await service.get_endpoint(session, account_id=account_id,
                                              endpoint_id=request.endpoint_id)
    done = await actions.redeliver_event(session, account_id=account_id, event_id=event_id,
                                         endpoint=endpoint, force=request.force,
                                         now=clock.now())
    await session.commit()
    return _requeued(done)


@router.post("/notification-profiles", status_code=201, response_model=ProfilePublic,
             tags=PROFILES, responses=responses(422))
async def create_notification_profile(
    body: ProfileCreate, session: SessionDep, account_id: AccountIdDep, clock: ClockDep
) -> ProfilePublic:
    """Create a notification profile: a named set of event types that endpoints can join
    (`profile_id`). Disabling a profile pauses all its endpoints."""
    profile = await service.create_profile(session, account_id=account_id, body=body,
                                           now=clock.now())
    await session.commit()
    return ProfilePublic.model_validate(profile)


@router.get("/notification-profiles", response_model=Page[ProfilePublic], tags=PROFILES,
            responses=responses(422))
async def read_notification_profiles(
    session: SessionDep, account_id: AccountIdDep, page: PageDep
) -> Page[ProfilePublic]:
    """List this account's notification profiles."""
    rows, next_cursor = await service.list_profiles(session, account_id=account_id,
                                                    cursor=page.cursor, limit=page.limit)
    return Page(data=[ProfilePublic.model_validate(p) for p in rows], next_cursor=next_cursor)


@router.get("/notification-profiles/{profile_id}", response_model=ProfilePublic,
            tags=PROFILES, responses=responses(404))
async def read_notification_profile(
    profile_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> ProfilePublic:
    """Read one notification profile."""
    return ProfilePublic.model_validate(
        await service.get_profile(session, account_id=account_id, profile_id=profile_id))


@router.patch("/notification-profiles/{profile_id}", response_model=ProfilePublic,
              tags=PROFILES, responses=responses(404, 422))
async def update_notification_profile(
    profile_id: uuid.UUID, body: ProfileUpdate, session: SessionDep, account_id: AccountIdDep,
    clock: ClockDep,
) -> ProfilePublic:
    """Change a notification profile: only the fields sent change."""
    profile = await service.update_profile(session, account_id=account_id,
                                           profile_id=profile_id, body=body, now=clock.now())
    await session.commit()
    return ProfilePublic.model_validate(profile)


@router.delete("/notification-profiles/{profile_id}", status_code=204, tags=PROFILES,
               responses=responses(404, 409))
async def delete_notification_profile(
    profile_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> Response:
    """Delete a notification profile. One that still groups endpoints answers 409: move
    them out (`PATCH` their `profile_id` to null) or delete them first."""
    await service.delete_profile(session, account_id=account_id, profile_id=profile_id)
    await session.commit()
    return Response(status_code=204)


@router.get("/webhook-signing-key", response_model=SigningKeyPublic, tags=ENDPOINTS)
async def read_webhook_signing_key(
    session: SessionDep, _: AccountIdDep, clock: ClockDep
) -> SigningKeyPublic:
    """The ed25519 public key that verifies ``telnyx-signature-ed25519`` headers."""
    key = await service.signing_key(session, now=clock.now())
    await session.commit()
    return SigningKeyPublic(public_key=signing.public_key_b64(key))
