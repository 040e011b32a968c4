"""API shapes of the porting domain.

``PortingOrderPublic`` is also the snapshot every porting-order event carries in
``data["porting_order"]``: the delivery formats are written against its keys.
PINs are accepted on input and never output (only ``pin_set`` flags).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

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
    desired_port_date: date | None = None
    desired_port_time: time | None = None
    desired_port_time_zone: TimeZone | None = None
    on_demand_activation: bool = False
    end_user: EndUserIn | None = None
    port_out: PortOutIn | None = None
    messaging: MessagingIn | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    reseller_name: str | None = Field(default=None, max_length=200)


class PortingOrderUpdate(_Input):
    """Only the fields sent change; nested objects merge field by field;
    ``phone_numbers`` replaces the order's list."""

    phone_numbers: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    customer_reference: str | None = Field(default=None, max_length=200)
    desired_port_date: date | None = None
    desired_port_time: time | None = None
    desired_port_time_zone: TimeZone | None = None
    on_demand_activation: bool | None = None
    end_user: EndUserIn | None = None
    port_out: PortOutIn | None = None
    messaging: MessagingIn | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
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
    foc_date: datetime | None = Field(default=None, description="For foc-date-confirmed")


class NumberMoveIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)
    reason: str | None = Field(default=None, max_length=500,
                               description="Required to reject or exclude")
    foc_date: datetime | None = Field(default=None, description="For confirm")


class SplitIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)


class MessagingChange(_Input):
    messaging_port_status: MessagingPortStatus


class PortabilityCheckIn(_Input):
    phone_numbers: list[str] = Field(min_length=1, max_length=1000)


class PortingDefaultsIn(_Input):
    default_port_time: time | None = None
    default_port_time_zone: TimeZone | None = None
    contact_email: EmailStr | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
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
    internal: bool


class DocumentPublic(BaseModel):
    id: uuid.UUID
    document_type: DocumentType
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class PortingOrderPublic(BaseModel):
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
    end_user: EndUser
    port_out: PortOut
    phone_numbers: list[PhoneNumberPublic]
    messaging: Messaging
    webhook_url: str | None
    reseller_name: str | None
    foc_date: datetime | None
    parent_order_id: uuid.UUID | None
    comments: list[CommentPublic]
    documents: list[DocumentPublic]
    created_at: datetime
    updated_at: datetime


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
