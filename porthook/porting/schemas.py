"""API shapes of the porting domain.

``PortingOrderPublic`` is also the snapshot every porting-order event carries in
``data["porting_order"]``: the delivery formats are written against its keys.
PINs are accepted on input and never output (only ``pin_set`` flags).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from porthook import fielddocs
from porthook.urls import HttpUrl

TimeZone = Literal["US/Eastern", "US/Central", "US/Mountain", "US/Pacific"]
LocationType = Literal["business", "residential"]
DocumentType = Literal["loa", "invoice", "csr", "other"]
WebhookFormat = Literal["standard", "telnyx", "sinch", "records"]
MessagingPortStatus = Literal[
    "not_applicable", "pending", "activating", "exception", "canceled",
    "partial_port_complete", "ported",
]
OperatorTarget = Literal[
    "draft", "in-process", "submitted", "exception", "foc-date-confirmed", "ported",
    "cancel-pending", "cancelled", "deleted",
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("expected a time of day without an offset, HH:MM[:SS]: its time "
                         "zone is a field of its own")
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]
"""A wall-clock time; the zone is the order's or the defaults' ``*_time_zone``."""

_AWARE = TypeAdapter(AwareDatetime)
FOC_DATE_FORMS = (
    "a date YYYY-MM-DD (read as the order's desired port time on that day in the order's "
    "time zone, else the account's porting defaults, else 09:00 US/Eastern) or a date-time "
    "with a UTC offset, e.g. 2030-01-15T09:00:00-05:00"
)


def _date_or_instant(value: Any) -> date | datetime:
    # A porting desk gives FOC dates as plain dates; a date-time without an
    # offset names no instant, so it is refused rather than guessed at.
    if isinstance(value, str) and len(value) == len("2030-01-15"):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    try:
        return _AWARE.validate_python(value)
    except ValidationError:
        raise PydanticCustomError("foc_date", f"expected {FOC_DATE_FORMS}") from None


FocDate = Annotated[
    date | datetime, PlainValidator(_date_or_instant),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                              {"type": "string", "format": "date-time"}],
                    "examples": ["2030-01-15", "2030-01-15T09:00:00-05:00"]}),
    Field(description=f"The FOC date the losing carrier confirmed: {FOC_DATE_FORMS}"),
]


OrderStatus = Literal[
    "draft", "in-process", "submitted", "exception", "foc-date-confirmed", "ported",
    "cancel-pending", "cancelled",
]


class OrderFilters(BaseModel):
    """Query filters of the order lists (the customer's and the desk's). Not
    ``extra="forbid"``: the page's ``cursor`` and ``limit`` share the query."""

    status: OrderStatus | None = None
    customer_reference: str | None = Field(default=None, max_length=200)
    phone_number: str | None = Field(default=None, max_length=20, description="E.164")


# ---- inputs -----------------------------------------------------------------

class ServiceAddressIn(_Input):
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=50)
    zip: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=2)


class EndUserIn(_Input):
    business_name: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    business_contact: str | None = Field(default=None, max_length=200)
    location_type: LocationType | None = None
    authorized_person: str | None = Field(default=None, max_length=200)
    service_address: ServiceAddressIn | None = None
    caller_id: str | None = Field(default=None, max_length=15)


class PortOutIn(_Input):
    losing_carrier: str | None = Field(default=None, max_length=200)
    account_number: str | None = Field(default=None, max_length=64)
    pin: str | None = Field(default=None, max_length=64, description="Write-only")
    btn: str | None = Field(default=None, max_length=20, description="Billing telephone number")
    partial_port: bool | None = None
    partial_port_details: str | None = Field(default=None, max_length=1000)
    wireless_number: bool | None = Field(default=None, description="The numbers are wireless")
    wireless_pin: str | None = Field(default=None, max_length=64, description="Write-only")


class MessagingIn(_Input):
    enable_messaging: bool = False


class PortingOrderCreate(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000,
                                     description="E.164, North American (US, CA)")
    customer_reference: str | None = Field(default=None, max_length=200)
    desired_port_date: date | None = Field(
        default=None, description="YYYY-MM-DD, today or later in the order's time zone")
    desired_port_time: LocalTime | None = Field(
        default=None, description="HH:MM[:SS] in desired_port_time_zone, without an offset")
    desired_port_time_zone: TimeZone | None = None
    on_demand_activation: bool = False
    end_user: EndUserIn | None = None
    port_out: PortOutIn | None = None
    messaging: MessagingIn | None = None
    webhook_url: HttpUrl | None = Field(
        default=None, description="Where this order's events are sent (seed 001); null for none")
    reseller_name: str | None = Field(default=None, max_length=200)


class PortingOrderUpdate(_Input):
    """Only the fields sent change; nested objects merge field by field;
    ``phone_numbers`` replaces the order's list."""

    phone_numbers: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    customer_reference: str | None = Field(default=None, max_length=200)
    desired_port_date: date | None = Field(
        default=None, description="YYYY-MM-DD, today or later in the order's time zone")
    desired_port_time: LocalTime | None = Field(
        default=None, description="HH:MM[:SS] in desired_port_time_zone, without an offset")
    desired_port_time_zone: TimeZone | None = None
    on_demand_activation: bool | None = None
    end_user: EndUserIn | None = None
    port_out: PortOutIn | None = None
    messaging: MessagingIn | None = None
    webhook_url: HttpUrl | None = Field(
        default=None, description="Where this order's events are sent (seed 001); null for none")
    reseller_name: str | None = Field(default=None, max_length=200)


class CommentCreate(_Input):
    body: str = Field(min_length=1, max_length=10_000)


class DeskCommentCreate(CommentCreate):
    internal: bool = Field(default=False, description=(
        "A desk-only note: never shown to the customer, by the API, a webhook or an e-mail"))


class StatusDetailIn(_Input):
    code: str = Field(description="A code of GET /v1/porting-exception-types")
    description: str | None = Field(default=None, max_length=1000)


class StatusChange(_Input):
    status: OperatorTarget = Field(
        description="submitted, exception, foc-date-confirmed or cancelled"
    )
    details: list[StatusDetailIn] | None = Field(default=None, description="For exception")
    foc_date: FocDate | None = Field(
        default=None, description=f"For foc-date-confirmed: {FOC_DATE_FORMS}")


class NumberMoveIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)
    reason: str | None = Field(default=None, max_length=500,
                               description="Required to reject or exclude")
    foc_date: FocDate | None = Field(
        default=None, description=f"For confirm (else the order's): {FOC_DATE_FORMS}")


class SplitIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)


class MessagingChange(_Input):
    messaging_port_status: MessagingPortStatus


class PortabilityCheckIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)


class PortingDefaultsIn(_Input):
    default_port_time: LocalTime | None = None
    default_port_time_zone: TimeZone | None = None
    contact_email: EmailStr | None = None
    webhook_url: HttpUrl | None = Field(
        default=None, description="Where porting-order events are sent; null for none")
    webhook_format: WebhookFormat = "standard"


# ---- outputs ----------------------------------------------------------------

class StatusDetail(BaseModel):
    code: str
    description: str


class ServiceAddress(BaseModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class EndUser(BaseModel):
    business_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    business_contact: str | None = None
    location_type: LocationType | None = None
    authorized_person: str | None = None
    service_address: ServiceAddress = Field(default_factory=ServiceAddress)
    caller_id: str | None = None


class PortOut(BaseModel):
    losing_carrier: str | None = None
    account_number: str | None = None
    btn: str | None = None
    partial_port: bool = False
    partial_port_details: str | None = None
    wireless_number: bool = False
    pin_set: bool = Field(default=False, description="A port-out PIN is stored (never shown)")
    wireless_pin_set: bool = False


class PhoneNumberPublic(BaseModel):
    id: uuid.UUID
    phone_number: str
    country_code: str
    status: str
    reject_reason: str | None
    exclusion_reason: str | None
    exclusion_time: datetime | None
    foc_date: datetime | None
    activate_time: datetime | None
    activate_user: str | None


class Messaging(BaseModel):
    enable_messaging: bool
    messaging_capable: bool
    messaging_port_status: MessagingPortStatus


class CommentPublic(BaseModel):
    id: uuid.UUID
    body: str
    user_type: Literal["user", "admin"]
    user_id: str | None
    inserted_at: datetime


class DeskCommentPublic(CommentPublic):
    internal: bool = Field(description="A desk-only note, never shown to the customer")


class DocumentPublic(BaseModel):
    id: uuid.UUID
    document_type: DocumentType
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class PortingOrderSummary(BaseModel):
    """The order without its numbers, comments and documents, keys as in
    ``PortingOrderPublic``: what a ``porting_order.new_comment`` event carries,
    so that neither its size nor its cost grows with the order's history."""

    id: uuid.UUID
    order_number: int = Field(description="Numeric id (seed 000's order id)")
    account_id: uuid.UUID
    support_key: str
    customer_reference: str | None
    status: str
    status_details: list[StatusDetail]
    desired_port_date: date | None
    desired_port_time: time | None
    desired_port_time_zone: TimeZone | None
    on_demand_activation: bool
    webhook_url: str | None
    reseller_name: str | None
    foc_date: datetime | None
    parent_order_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PortingOrderPublic(PortingOrderSummary):
    """The order as the API shows it and as its events carry it: the summary
    with its end user, port-out facts, numbers, messaging, comments and
    documents."""

    end_user: EndUser
    port_out: PortOut
    phone_numbers: list[PhoneNumberPublic]
    messaging: Messaging
    comments: list[CommentPublic]
    documents: list[DocumentPublic]


class ExceptionType(BaseModel):
    code: str
    description: str


class PortabilityResult(BaseModel):
    phone_number: str
    portable: bool
    country_code: str | None = None
    reason: str | None = Field(default=None, description="Why not, when not portable")


class PortabilityCheckPublic(BaseModel):
    data: list[PortabilityResult]


class PortingDefaultsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: uuid.UUID
    default_port_time: time | None = None
    default_port_time_zone: TimeZone | None = None
    contact_email: str | None = None
    webhook_url: str | None = None
    webhook_format: WebhookFormat = "standard"


# ---- field descriptions (OpenAPI) --------------------------------------------
# One meaning per field name, for the input and output models alike;
# "Model.field" entries say what a name means in that model only.
GLOSSARY = {
    "id": "This object's id",
    "account_id": "The account it belongs to",
    "status": "The order's status: draft, in-process, submitted, exception, "
              "foc-date-confirmed, ported, cancel-pending or cancelled",
    "PhoneNumberPublic.status": "pending, confirmed, rejected, activated, canceled or excluded",
    "OrderFilters.status": "Only orders in this status",
    "customer_reference": "Your own reference for the order, free text",
    "OrderFilters.customer_reference": "Only orders with exactly this reference",
    "phone_numbers": "The numbers, E.164 (e.g. +13035550143); other North American "
                     "spellings are normalised",
    "PortingOrderPublic.phone_numbers": "The order's numbers, each with its own status",
    "phone_number": "The number, E.164",
    "country_code": "ISO country of the number: US or CA",
    "desired_port_date": "The date the numbers should move to you",
    "desired_port_time": "Time of day of the move, in desired_port_time_zone (else the "
                         "account default, else 09:00)",
    "desired_port_time_zone": "Time zone of desired_port_time (else the account default, "
                              "else US/Eastern)",
    "on_demand_activation": "true: you activate the confirmed numbers yourself "
                            "(actions/activate); false: porthook does at the port date",
    "end_user": "Who the numbers belong to now, as on the losing carrier's account",
    "port_out": "The losing carrier's account the numbers leave",
    "messaging": "Whether SMS moves with the numbers",
    "webhook_url": "An extra URL that receives this order's events (standard signed "
                   "webhooks); null: none",
    "PortingDefaultsIn.webhook_url": "A URL that receives every order's events; null: none",
    "PortingDefaultsPublic.webhook_url": "A URL that receives every order's events",
    "webhook_format": "Payload format of the default webhook URL: standard, telnyx, sinch "
                      "or records",
    "reseller_name": "Your reseller's name; required for Canadian numbers",
    "line1": "Street address", "line2": "Suite, floor, ...", "city": "City",
    "state": "State or province, two letters", "zip": "ZIP or postal code",
    "country": "ISO country code, two letters (US, CA)",
    "business_name": "The business on the losing carrier's account",
    "first_name": "First name of the account holder",
    "last_name": "Last name of the account holder",
    "business_contact": "Who the porting desk may call about the order",
    "location_type": "business or residential",
    "authorized_person": "The person who signed the letter of authorisation",
    "service_address": "Service address on the losing carrier's account",
    "caller_id": "Caller ID name to show for the numbers",
    "losing_carrier": "The carrier the numbers leave",
    "account_number": "Account number at the losing carrier",
    "btn": "Billing telephone number of the losing carrier's account",
    "wireless_number": "The numbers are wireless",
    "partial_port": "Only some of the numbers of that account move",
    "partial_port_details": "What stays with the losing carrier in a partial port",
    "wireless_pin_set": "A wireless PIN is stored (never shown)",
    "enable_messaging": "Move SMS with the numbers",
    "messaging_capable": "The numbers can take SMS here",
    "messaging_port_status": "Where the SMS port stands: not_applicable, pending, activating, "
                             "exception, canceled, partial_port_complete or ported",
    "body": "The comment, plain text",
    "code": "Exception code (see GET /v1/porting-exception-types)",
    "description": "What the code means, or what is asked of you",
    "foc_date": "Firm order commitment: when the losing carrier releases the numbers",
    "reject_reason": "Why the desk rejected the number",
    "exclusion_reason": "Why the desk excluded the number from the order",
    "exclusion_time": "When it was excluded",
    "activate_time": "When the number was activated here",
    "activate_user": "Who activated it: customer (actions/activate), operator, or system "
                     "(at the port date)",
    "user_type": "user: written by the account; admin: by the porting desk",
    "user_id": "The writer's id; null for the porting desk",
    "inserted_at": "When it was written",
    "document_type": "loa (letter of authorisation), invoice, csr (customer service "
                     "record) or other",
    "filename": "The file name given at upload",
    "content_type": "application/pdf, image/png or image/jpeg",
    "size": "Size in bytes",
    "sha256": "SHA-256 of the content, hex (also the download's ETag)",
    "created_at": "When it was created",
    "updated_at": "When it last changed",
    "support_key": "Short reference to quote to the porting desk, e.g. sr_3f9a2c",
    "status_details": "Why the order is in its status (exception codes)",
    "parent_order_id": "The order this one was split from",
    "comments": "Comments on the order, oldest first",
    "documents": "Documents uploaded to the order",
    "portable": "The number can be put on a new order now",
    "data": "One result per number, in the order asked",
    "default_port_time": "Time of day orders move when they set none",
    "default_port_time_zone": "Time zone of default_port_time",
    "contact_email": "Where endpoint notices (failing, disabled) go when the account "
                     "has no contact e-mail of its own",
}

fielddocs.describe(fielddocs.models_of(globals(), __name__), GLOSSARY)
