"""``lnp_requests`` / ``lnp_numbers`` as records: API models and their mapping onto
porting orders (pure).

Porting orders ARE the account's lnp_requests and their numbers its lnp_numbers
(PRODUCT.md "Records"); ``porthook.porting.lnp`` renders them, and a change made
here is a porting-order change made through ``porthook.porting.service``, with
the very same events. Ids are the orders' and numbers' UUIDs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from porthook.porting.schemas import (
    EndUserIn,
    PortingOrderCreate,
    PortingOrderUpdate,
    PortOutIn,
    ServiceAddressIn,
)
from porthook.records import rules
from porthook.records.registry import FieldSpec, Kind
from porthook.records.schemas import input_type

_STATE = input_type(FieldSpec("service_state", Kind.STATE))
_ZIP = input_type(FieldSpec("service_zip", Kind.ZIP))
_PHONE = input_type(FieldSpec("btn", Kind.PHONE))

# Where the porting order's input models keep each nested object.
_ORDER_INPUTS: dict[str, type[BaseModel]] = {
    "end_user": EndUserIn, "port_out": PortOutIn, "service_address": ServiceAddressIn,
}


def _order_text(path: tuple[str, ...]) -> Any:
    """The porting order's own constraints (max_length, ...) on the text field at
    ``path``: a record passes validation exactly when the order it becomes does."""
    *_, parent, leaf = path
    field = _ORDER_INPUTS[parent].model_fields[leaf]
    return Annotated[str, *field.metadata, Field(description=field.description)]


# The writable seed fields of lnp_requests: where the porting order keeps each.
_REQUEST_PATHS: dict[str, tuple[str, ...]] = {
    "btn": ("port_out", "btn"),
    "location_type": ("end_user", "location_type"),
    "business_contact": ("end_user", "business_contact"),
    "business_name": ("end_user", "business_name"),
    "first_name": ("end_user", "first_name"),
    "last_name": ("end_user", "last_name"),
    "account_number": ("port_out", "account_number"),
    "service_address": ("end_user", "service_address", "line1"),
    "service_state": ("end_user", "service_address", "state"),
    "service_zip": ("end_user", "service_address", "zip"),
    "partial_port": ("port_out", "partial_port"),
    "partial_port_details": ("port_out", "partial_port_details"),
    "wireless_number": ("port_out", "wireless_number"),
    "wireless_pin": ("port_out", "wireless_pin"),
    "caller_id": ("end_user", "caller_id"),
}
# Seed 002's normalised forms; every other field is the order's text field.
_NON_TEXT: dict[str, Any] = {
    "btn": _PHONE, "location_type": Literal["business", "residential"],
    "service_state": _STATE, "service_zip": _ZIP, "partial_port": bool, "wireless_number": bool,
}
_REQUEST_FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    name: (_NON_TEXT.get(name) or _order_text(path), path)
    for name, path in _REQUEST_PATHS.items()
}
_FORBID = ConfigDict(extra="forbid")

_UPDATE_FIELDS: dict[str, Any] = {
    name: (kind | None, None) for name, (kind, _) in _REQUEST_FIELDS.items()
}
LnpRequestUpdate: type[BaseModel] = create_model(
    "LnpRequestUpdate", __config__=_FORBID, **_UPDATE_FIELDS,
)
LnpRequestUpdate.__doc__ = "An lnp_request's writable seed fields; wireless_pin is write-only."
LnpRequestCreate: type[BaseModel] = create_model(
    "LnpRequestCreate", __base__=LnpRequestUpdate,
    numbers=(list[str], Field(min_length=1, max_length=1000, description=(
        "The numbers to port, E.164 or 10-digit NANP: they become the request's"
        " lnp_numbers (a porting order needs at least one)"))),
)


class LnpRequestPublic(BaseModel):
    """Seed 002's lnp_requests fields, in its order (``wireless_pin`` is write-only)."""

    id: str
    user_id: str = Field(description="The account")
    btn: str | None
    location_type: str | None
    business_contact: str | None
    business_name: str | None
    first_name: str | None
    last_name: str | None
    account_number: str | None
    service_address: str | None
    service_state: str | None
    service_zip: str | None
    partial_port: bool | None
    partial_port_details: str | None
    wireless_number: bool | None
    caller_id: str | None
    request_status: str = Field(description="The porting order's status")
    foc_date: str | None


def _e164(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return rules.normalize_phone(value)
    except ValueError as exc:
        raise PydanticCustomError("phone_number", str(exc)) from None


class LnpNumberCreate(BaseModel):
    model_config = _FORBID

    lnp_request_id: uuid.UUID
    number: str = Field(description="E.164 or 10-digit NANP; stored E.164",
                        examples=["+13125550100"])

    _normalized = field_validator("number")(_e164)


class LnpNumberUpdate(BaseModel):
    model_config = _FORBID

    number: str | None = Field(default=None, description="E.164 or 10-digit NANP",
                               examples=["+13125550100"])

    _normalized = field_validator("number")(_e164)


class LnpNumberPublic(BaseModel):
    """Seed 002's lnp_numbers fields, in its order."""

    id: str
    lnp_request_id: str
    number: str
    state: str | None
    ratecenter: str | None


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = _REQUEST_FIELDS[name][1]
        target = nested
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    address = nested.get("end_user", {}).get("service_address")
    if address is not None and address.get("state"):
        address["country"] = "CA" if address["state"] in rules.CA_PROVINCES else "US"
    if address is not None and "line1" in address:
        address["line2"] = None  # seed 002 keeps the address as one line
    return nested


def order_create(body: BaseModel) -> PortingOrderCreate:
    values = body.model_dump(exclude_none=True, exclude={"numbers"})
    return PortingOrderCreate(phone_numbers=list(getattr(body, "numbers", [])), **_nest(values))


def order_update(body: BaseModel) -> PortingOrderUpdate:
    return PortingOrderUpdate(**_nest(body.model_dump(exclude_unset=True)))

