from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from porthook import fielddocs

Channel = Literal["webhook", "email"]
Format = Literal["standard", "telnyx", "sinch", "records"]
EventTypes = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100)]],
    Field(min_length=1, max_length=50,
          description="Event types, families such as porting_order.*, or * for all"),
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


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = "webhook"
    url: str | None = Field(default=None, max_length=2048, description="For channel webhook")
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
    profile_id: uuid.UUID | None = None


# A field that cannot be empty defaults to ``MISSING``, not ``None``: it may be
# left out but not sent as null, so null is refused at validation (a 422 naming
# the field and the expected value, nothing changed) and OpenAPI does not offer
# it. Stored, null broke NOT NULL columns or every later read of the endpoint.
class EndpointUpdate(BaseModel):
    """Only the fields sent change; null clears those that may be empty."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048,
                            description="A webhook endpoint cannot clear it")
    email_address: EmailStr | None = Field(default=None,
                                           description="An email endpoint cannot clear it")
    format: Format | MISSING = MISSING
    description: str | None = Field(default=None, max_length=500, description="null clears it")
    event_types: EventTypes | MISSING = MISSING
    credentials: Credentials | None = Field(default=None, description="null removes them")
    strict_ordering: bool | MISSING = MISSING
    max_concurrency: int | None = Field(default=None, ge=1, le=64, description="null: no limit")
    profile_id: uuid.UUID | None = Field(default=None,
                                         description="null takes it out of its profile")
    enabled: Literal[False] | MISSING = Field(
        default=MISSING, description="false disables; use actions/enable to enable again"
    )


class EndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    origin: str = Field(description="user, porting_defaults (the account's default webhook "
                                    "URL) or porting_order (an order's own webhook_url)")
    channel: str
    url: str | None
    email_address: str | None
    format: str
    description: str | None
    event_types: list[str]
    credentials_type: str | None = Field(description="basic or bearer; the values are write-only")
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    strict_ordering: bool
    max_concurrency: int | None
    profile_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


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


class Requeued(BaseModel):
    requeued: int = Field(description="How many deliveries were queued again")


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

    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    status: str = Field(description="pending, delivered, dead, or held (endpoint disabled)")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


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
