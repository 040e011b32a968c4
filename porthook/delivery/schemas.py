from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from porthook import fielddocs
from porthook.delivery import catalog, rules
from porthook.urls import HttpUrl

Channel = Literal["webhook", "email"]
Format = Literal["standard", "telnyx", "sinch", "records"]


def _known_event_type(pattern: str) -> str:
    # A filter that selects nothing would be accepted and never fire.
    try:
        catalog.check_patterns([pattern])
    except ValueError as error:
        raise PydanticCustomError("unknown_event_type", str(error)) from None
    return pattern


EventTypePattern = Annotated[str, Field(min_length=1, max_length=100),
                             AfterValidator(_known_event_type)]
EventTypes = Annotated[
    list[EventTypePattern],
    Field(min_length=1, max_length=50,
          description="Event types, families such as porting_order.*, or * for all; "
                      "each must select at least one type of GET /v1/event-types"),
]


class BasicCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["basic"]
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)


class BearerCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["bearer"]
    token: str = Field(min_length=1, max_length=2000)


Credentials = Annotated[BasicCredentials | BearerCredentials, Field(discriminator="type")]


def _checked_headers(headers: dict[str, str]) -> dict[str, str]:
    problems = rules.header_problems(headers)
    if problems:
        raise ValueError("; ".join(problems))
    return headers


HEADERS_DESCRIPTION = (
    "Extra HTTP headers sent on each webhook call, name -> value (at most "
    f"{rules.MAX_CUSTOM_HEADERS}; RFC 7230 names; printable ASCII values). Names porthook "
    "sets itself (webhook-*, telnyx-*, content-type, authorization, user-agent, host, ...) "
    "are refused. Write-only: the endpoint shows header_names."
)
# Nullable fields carry the description on the field itself: OpenAPI puts a
# type's own description inside the anyOf branch, where readers miss it.
CustomHeaders = Annotated[dict[str, str], AfterValidator(_checked_headers)]
RateLimit = Annotated[float, Field(
    ge=0.01, le=10_000,
    description="Calls a second at most, per worker process, besides max_concurrency "
                "(for receivers behind gateways that fall over under bursts)",
)]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = "webhook"
    url: HttpUrl | None = Field(default=None, description="For channel webhook")
    email_address: EmailStr | None = Field(default=None, description="For channel email")
    format: Format = "standard"
    description: str | None = Field(default=None, max_length=500)
    event_types: EventTypes = ["*"]
    credentials: Credentials | None = Field(
        default=None, description="Sent on each call (seed 000: basic or bearer). Write-only."
    )
    strict_ordering: bool = Field(
        default=False, description="Event n+1 of a subject waits until event n is delivered or dead"
    )
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    headers: CustomHeaders | None = Field(default=None, description=HEADERS_DESCRIPTION)
    rate_limit_per_s: RateLimit | None = Field(default=None, description=(
        "Calls a second at most, per worker process, besides max_concurrency; null: no limit"))
    profile_id: uuid.UUID | None = None


# A field that cannot be empty defaults to ``MISSING``, not ``None``: it may be
# left out but not sent as null, so null is refused at validation (a 422 naming
# the field and the expected value, nothing changed) and OpenAPI does not offer
# it. Stored, null broke NOT NULL columns or every later read of the endpoint.
class EndpointUpdate(BaseModel):
    """Only the fields sent change; null clears those that may be empty."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = Field(default=None, description="A webhook endpoint cannot clear it")
    email_address: EmailStr | None = Field(default=None,
                                           description="An email endpoint cannot clear it")
    format: Format | MISSING = MISSING
    description: str | None = Field(default=None, max_length=500, description="null clears it")
    event_types: EventTypes | MISSING = MISSING
    credentials: Credentials | None = Field(default=None, description="null removes them")
    strict_ordering: bool | MISSING = MISSING
    max_concurrency: int | None = Field(default=None, ge=1, le=64, description="null: no limit")
    headers: CustomHeaders | None = Field(
        default=None, description=f"{HEADERS_DESCRIPTION} Replaces the whole set; null removes "
                                  "them")
    rate_limit_per_s: RateLimit | None = Field(default=None, description="null: no limit")
    profile_id: uuid.UUID | None = Field(default=None,
                                         description="null takes it out of its profile")
    enabled: Literal[False] | MISSING = Field(
        default=MISSING, description="false disables; use actions/enable to enable again"
    )


class EndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    origin: str = Field(description="user, porting_defaults (the account's default webhook "
                                    "URL), porting_order (an order's own webhook_url) or "
                                    "listener (a `porthook listen` session)")
    channel: str
    url: str | None
    email_address: str | None
    format: str
    description: str | None
    event_types: list[str]
    credentials_type: str | None = Field(description="basic or bearer; the values are write-only")
    header_names: list[str] = Field(
        description="Names of the custom headers sent on each call; the values are write-only")
    rate_limit_per_s: float | None = Field(description="Calls a second at most; null: no limit")
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    strict_ordering: bool
    max_concurrency: int | None
    profile_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class EndpointHealth(BaseModel):
    state: Literal["healthy", "failing", "disabled"] = Field(
        description="disabled; failing (every attempt failed since failing_since); else healthy")
    success_rate_24h: float | None = Field(
        description="Share of the last 24 h's attempts that succeeded (0 to 1); null if none")
    attempts_24h: int = Field(description="Attempts made in the last 24 h")
    backlog: int = Field(description="Deliveries waiting: pending, retrying and held")
    last_error: str | None = Field(
        description="Why it was disabled, else the last failure of the last 24 h")


class EndpointListed(EndpointPublic):
    health: EndpointHealth = Field(description="A one-line health summary")


class OutcomeCounts(BaseModel):
    ok_2xx: int = Field(alias="2xx", description="Attempts answered 2xx (or e-mails accepted)")
    redirect_3xx: int = Field(alias="3xx", description="Answered 3xx (not followed: a failure)")
    client_4xx: int = Field(alias="4xx", description="Answered 4xx")
    server_5xx: int = Field(alias="5xx", description="Answered 5xx")
    network: int = Field(description="No HTTP answer: refused, reset, timed out, TLS, mail")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Latency(BaseModel):
    p50: float | None = Field(description="Median duration of successful attempts, ms")
    p95: float | None = Field(description="95th percentile duration of successful attempts, ms")


class WindowStats(BaseModel):
    attempts: int = Field(description="Attempts made in the window")
    outcomes: OutcomeCounts = Field(description="Attempts by outcome")
    success_rate: float | None = Field(description="2xx / attempts (0 to 1); null if none")
    latency_ms: Latency = Field(description="Latency of successful attempts")


class AttemptSummary(BaseModel):
    attempted_at: datetime = Field(description="When it was made")
    status_code: int | None = Field(description="HTTP status; null if none came back")
    error: str | None = Field(description="Why it failed (network errors); null otherwise")
    response_excerpt: str | None = Field(description="Start of the response body")


class BacklogStats(BaseModel):
    pending: int = Field(description="Waiting, never failed")
    retrying: int = Field(description="Waiting after a failed attempt")
    held: int = Field(description="Kept while the endpoint is disabled")
    oldest_pending_at: datetime | None = Field(
        description="Creation time of the oldest waiting delivery (pending or retrying)")
    oldest_pending_age_s: float | None = Field(description="Its age now, seconds")


class EndpointStatsPublic(BaseModel):
    endpoint_id: uuid.UUID = Field(description="The endpoint")
    health: Literal["healthy", "failing", "disabled"] = Field(
        description="disabled; failing (every attempt failed since failing_since); else healthy")
    windows: dict[str, WindowStats] = Field(
        description="Over the last hour, day and week: keys 1h, 24h, 7d")
    last_success: AttemptSummary | None = Field(description="The last successful attempt")
    last_failure: AttemptSummary | None = Field(description="The last failed attempt")
    backlog: BacklogStats = Field(description="What waits now")


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="The whsec_ signing secret. Shown now and at rotation only.")


class SecretRotated(BaseModel):
    secret: str
    previous_secret_expires_at: datetime = Field(
        description="Until then both signatures are sent"
    )


class RecoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Aware only: a naive time names no instant, and the deliveries' times are UTC.
    since: AwareDatetime = Field(
        description="Requeue what died or was held from this time on; with a timezone "
                    "offset, e.g. 2026-01-01T00:00:00Z"
    )


class EndpointRetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(
        default=None,
        description="Only deliveries made from this time on (with a timezone offset, e.g. "
                    "2026-01-01T00:00:00Z); left out: all of them",
    )


class RedeliverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: uuid.UUID | None = Field(
        default=None,
        description="Send to this endpoint only, whatever its delivery's status (one is made "
                    "if it has none). Left out: to every endpoint that has not received it",
    )
    force: bool = Field(
        default=False,
        description="Send again to every endpoint, those that received it included",
    )

    @model_validator(mode="after")
    def _one_target(self) -> RedeliverRequest:
        if self.force and self.endpoint_id is not None:
            raise ValueError("force and endpoint_id exclude each other: endpoint_id already "
                             "sends to that endpoint whatever it received")
        return self


REQUEUED_IDS_SHOWN = 100  # ids listed in an action's answer, at most


class Requeued(BaseModel):
    requeued: int = Field(description="How many deliveries are due now (new ones included)")
    delivery_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description=f"Their ids, oldest first: the first {REQUEUED_IDS_SHOWN} when there are more",
    )
    created: int = Field(default=0, description="How many of them are new deliveries")
    in_flight: list[uuid.UUID] = Field(
        default_factory=list,
        description="Deliveries a worker is sending right now: left alone, so none is sent "
                    f"twice (the first {REQUEUED_IDS_SHOWN})",
    )


class EndpointTestResult(BaseModel):
    event_type: str
    success: bool
    status_code: int | None
    duration_ms: int
    response_excerpt: str | None
    error: str | None


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    attempted_at: datetime
    duration_ms: int
    delivered_to: str
    status_code: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The delivery: one event for one endpoint")
    event_id: uuid.UUID = Field(description="The event delivered")
    event_type: str | None = Field(default=None, description="The event's type")
    account_id: uuid.UUID = Field(description="The account whose event it is")
    endpoint_id: uuid.UUID = Field(description="Where it goes")
    status: str = Field(description="pending, delivered, dead, or held (endpoint disabled)")
    state: str = Field(
        default="pending",
        description="status as searches name it: pending (waiting, never failed), retrying "
                    "(waiting after a failed attempt), delivered, dead, held (its endpoint is "
                    "disabled: sent after enable + recover)")
    attempts: int = Field(description="Attempts made so far, every retry round counted")
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due; null unless pending")
    last_attempt_at: datetime | None = Field(
        default=None, description="When the last attempt was made; null if none yet")
    last_status_code: int | None = Field(
        description="HTTP status of the last attempt; null if none came back")
    last_error: str | None = Field(
        description="Why the last attempt failed (a network error, or HTTP <status>); "
                    "null after a success")
    last_response_excerpt: str | None = Field(
        default=None, description="The start of the last response's body (1024 characters)")
    created_at: datetime = Field(description="When the event was fanned out to the endpoint")
    updated_at: datetime = Field(description="Last change of this row")
    delivered_at: datetime | None = Field(description="When a 2xx came back")


class DeliveryDetail(DeliveryPublic):
    attempt_log: list[AttemptPublic]


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    event_types: EventTypes = ["porting_order.*"]
    enabled: bool = True


class ProfileUpdate(BaseModel):
    """Only the fields sent change; none may be null."""

    model_config = ConfigDict(extra="forbid")

    name: str | MISSING = Field(default=MISSING, min_length=1, max_length=200)
    event_types: EventTypes | MISSING = MISSING
    enabled: bool | MISSING = MISSING


class ProfilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    event_types: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SigningKeyPublic(BaseModel):
    algorithm: Literal["ed25519"] = "ed25519"
    public_key: str = Field(description="Base64 of the raw 32-byte public key")


class FormatPayload(BaseModel):
    format: Format = Field(description="The endpoint format that carries this event type")
    name: str = Field(description="What the format calls the event: seed 000's "
                                  "NUMBERS_CONFIRMED, seed 002's insert/update/delete, "
                                  "porthook's own type for standard and telnyx")
    json_schema: dict[str, Any] = Field(
        description="JSON Schema (2020-12) of the request body sent to endpoints of this "
                    "format; every delivery validates against it")
    example: dict[str, Any] = Field(
        description="An example body, rendered from an example event by the code that "
                    "renders real deliveries (first attempt, to hooks.example.com)")


class EventTypePublic(BaseModel):
    type: str = Field(description="The event type, as in event-type filters and "
                                  "GET /v1/events?type=")
    description: str = Field(description="When porthook emits it and what its data holds")
    subject_type: str = Field(description="What its events are about: porting_order, "
                                          "endpoint, sms_enablement or a records schema")
    formats: list[FormatPayload] = Field(
        description="The formats that carry it, each with its name, schema and example; "
                    "e-mail endpoints get every type as a readable message")


class EventTypeList(BaseModel):
    data: list[EventTypePublic] = Field(description="In catalog order: porthook's own "
                                                    "types, then the records types")


# ---- field descriptions (OpenAPI) --------------------------------------------
# One meaning per field name (see fielddocs); "Model.field" entries say what a
# name means in that model only.
GLOSSARY = {
    "id": "This object's id",
    "type": "basic or bearer",
    "username": "User name for HTTP Basic authentication",
    "password": "Password for HTTP Basic authentication (write-only)",
    "token": "Token sent as Authorization: Bearer (write-only)",
    "channel": "webhook: HTTP POST to url; email: a message to email_address",
    "url": "The webhook URL (http or https; private and loopback addresses are refused)",
    "email_address": "Where an email endpoint's messages go",
    "format": "Payload format: standard (porthook's own events), telnyx (seed 001), "
              "sinch (seed 000) or records (seed 002)",
    "description": "Your note about this endpoint",
    "event_types": "Event types it receives; a family such as porting_order.*, or * for all",
    "ProfileCreate.event_types": "Event types the profile's endpoints receive; a family "
                                 "such as porting_order.*, or * for all",
    "max_concurrency": "Calls in flight to it at once, per worker; null: the server's default",
    "profile_id": "The notification profile it belongs to; null: none",
    "enabled": "false: nothing is sent to it (events are held until it is enabled again)",
    "ProfileCreate.enabled": "false pauses every endpoint of the profile",
    "ProfileUpdate.enabled": "false pauses every endpoint of the profile",
    "ProfilePublic.enabled": "false: every endpoint of the profile is paused",
    "strict_ordering": "Event n+1 of a subject waits until event n is delivered or dead",
    "disabled_reason": "Why it was disabled (410 Gone, failing too long, or by you)",
    "disabled_at": "When it was disabled",
    "failing_since": "Since when its calls fail; null while they succeed",
    "created_at": "When it was created",
    "updated_at": "When it last changed",
    "secret": "The new whsec_ signing secret, shown only now",
    "event_type": "The type of the synthetic event sent",
    "success": "The endpoint answered 2xx",
    "status_code": "The HTTP status it answered; null when no answer came",
    "last_status_code": "The HTTP status of the last attempt; null when no answer came",
    "duration_ms": "How long the call took, in milliseconds",
    "response_excerpt": "The beginning of its answer",
    "error": "Why the call failed without an answer (timeout, refused, ...)",
    "last_error": "Why the last attempt failed",
    "number": "Attempt number, from 1",
    "attempted_at": "When the attempt was made",
    "delivered_to": "The URL or address the attempt went to",
    "event_id": "The event delivered",
    "endpoint_id": "The endpoint it goes to",
    "attempts": "Attempts made so far",
    "next_attempt_at": "When the next attempt is due; null unless pending",
    "delivered_at": "When it was delivered",
    "attempt_log": "Every attempt, oldest first",
    "name": "The profile's name",
    "algorithm": "Always ed25519",
}

fielddocs.describe(fielddocs.models_of(globals(), __name__), GLOSSARY)
