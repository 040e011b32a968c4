"""API models of the records domain, generated from ``registry.SCHEMAS``.

Per schema: ``<Title>Create`` (unknown fields refused), ``<Title>Update`` (every
field optional; a required field may be left out but not set to null),
``<Title>Public`` (the seed's fields in the seed's order, secrets left out) and
``<Title>Filters`` (the list route's query: equality on the schema's fields,
plus ``cursor`` and ``limit``). Telecom values are normalised on the way in
(``rules``), so what is stored, filtered on and sent in events is one form.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    create_model,
)
from pydantic_core import PydanticCustomError

from porthook.inputs import RecordRef
from porthook.pagination import DEFAULT_LIMIT, MAX_LIMIT
from porthook.records import rules
from porthook.records.registry import SCHEMAS, FieldSpec, Kind, SchemaSpec

MAX_LONG_TEXT = 10_000


def _normalized(error_type: str, normalize: Callable[[str], str], example: str) -> Any:
    def check(value: str) -> str:
        try:
            return normalize(value)
        except ValueError as exc:
            # A custom error keeps the message as written: "expected ...".
            raise PydanticCustomError(error_type, str(exc)) from None

    return Annotated[str, AfterValidator(check), Field(examples=[example])]


_INPUT_TYPES: dict[Kind, Any] = {
    Kind.LONG_TEXT: Annotated[str, StringConstraints(max_length=MAX_LONG_TEXT)],
    Kind.BOOL: bool,
    Kind.MONEY: Annotated[Decimal, Field(max_digits=14, decimal_places=4, examples=["12.50"])],
    Kind.DATETIME: AwareDatetime,
    Kind.DATE: date,
    Kind.PHONE: _normalized("phone_number", rules.normalize_phone, "+13125550100"),
    Kind.DID_NUMBER: _normalized("did_number", rules.normalize_did_number, "3125550100"),
    Kind.NANP10: _normalized("nanp_number", rules.normalize_nanp10, "3125550100"),
    Kind.EMAIL: EmailStr,
    Kind.IP: _normalized("ip_address", rules.normalize_ip, "192.0.2.10"),
    Kind.STATE: _normalized("state", rules.normalize_state, "IL"),
    Kind.ZIP: _normalized("zip", rules.normalize_zip, "60601"),
    Kind.URL: _normalized("url", rules.normalize_url, "https://example.com/hook"),
    Kind.HOSTNAME: _normalized("hostname", rules.normalize_hostname, "sip.example.com"),
    Kind.JSON: dict[str, Any],
    Kind.REF: RecordRef,
}


# Kind.INT is stored as INTEGER (models.py), 32 bits on PostgreSQL: a field
# without bounds of its own still has the column's, checked before the
# database refuses the value with a server error.
INT_COLUMN_RANGE = (-(2**31), 2**31 - 1)


def input_type(spec: FieldSpec) -> Any:
    """The Pydantic type that validates and normalises one field."""
    if spec.kind is Kind.TEXT:
        return Annotated[str, StringConstraints(min_length=spec.min_value or 0,
                                                max_length=spec.max_value or 255)]
    if spec.kind is Kind.INT:
        low, high = INT_COLUMN_RANGE
        return Annotated[int, Field(ge=low if spec.min_value is None else spec.min_value,
                                    le=high if spec.max_value is None else spec.max_value)]
    if spec.kind is Kind.ENUM:
        return Literal[spec.choices]
    if spec.kind is Kind.DIGITS:
        low, high = spec.min_value or 1, spec.max_value or 16

        def digits(value: str) -> str:
            return rules.normalize_digits(value, min_length=low, max_length=high)

        return _normalized("digits", digits, "1234")
    return _INPUT_TYPES[spec.kind]


_OUTPUT_TYPES: dict[Kind, Any] = {
    Kind.INT: int, Kind.REF: int, Kind.BOOL: bool, Kind.MONEY: Decimal,
    Kind.DATETIME: datetime, Kind.DATE: date, Kind.JSON: dict[str, Any],
}


def _output_type(spec: FieldSpec) -> Any:
    if spec.kind is Kind.ENUM:
        return Literal[spec.choices]
    return _OUTPUT_TYPES.get(spec.kind, str)


# What a client must know of a kind's form, said on every field of the kind.
_FORM_NOTES: dict[Kind, str] = {
    Kind.DATETIME: "A date-time with a UTC offset (2030-01-15T14:00:00Z, "
                   "2030-01-15T09:00:00-05:00); one without an offset is refused.",
    Kind.DATE: "A date YYYY-MM-DD.",
}


def _described(spec: FieldSpec, default: Any) -> Any:
    parts = [part for part in (spec.description, _FORM_NOTES.get(spec.kind)) if part]
    return Field(default, description=" ".join(parts) or None)


def _create_fields(spec: SchemaSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for f in spec.fields:
        if f.read_only:
            continue
        if f.required:
            fields[f.name] = (input_type(f), _described(f, ...))
        else:
            fields[f.name] = (input_type(f) | None, _described(f, f.default))
    return fields


def _update_fields(spec: SchemaSpec) -> dict[str, Any]:
    # Required fields keep a non-null type: leaving one out is fine, nulling it is not.
    return {
        f.name: (input_type(f) if f.required else input_type(f) | None, _described(f, None))
        for f in spec.fields
        if not f.read_only
    }


def _public_fields(spec: SchemaSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": (int, ...)}
    for f in spec.fields:
        if not f.secret:
            kind = _output_type(f)
            fields[f.name] = (kind if f.required else kind | None, _described(f, None))
    return fields


def _filter_fields(spec: SchemaSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {
        f.name: (input_type(f) | None, Field(None, description=f"Only records whose {f.name}"
                                                               " equals this"))
        for f in spec.fields
        if not f.secret and f.kind is not Kind.JSON
    }
    fields["cursor"] = (str | None, Field(None, description="Opaque cursor from next_cursor"))
    fields["limit"] = (int, Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT))
    return fields


_FORBID = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class RecordModels:
    schema: SchemaSpec
    create: type[BaseModel]
    update: type[BaseModel]
    public: type[BaseModel]
    filters: type[BaseModel]


def build_models(spec: SchemaSpec) -> RecordModels:
    title = spec.title
    return RecordModels(
        schema=spec,
        create=create_model(f"{title}Create", __config__=_FORBID, **_create_fields(spec)),
        update=create_model(f"{title}Update", __config__=_FORBID, **_update_fields(spec)),
        public=create_model(f"{title}Public", **_public_fields(spec)),
        filters=create_model(f"{title}Filters", __config__=_FORBID, **_filter_fields(spec)),
    )


MODELS: dict[str, RecordModels] = {
    name: build_models(spec) for name, spec in SCHEMAS.items() if spec.backed_by is None
}


def snapshot(schema: str, row: dict[str, Any]) -> dict[str, Any]:
    """A record as the API and events show it: seed fields, seed order, no secrets."""
    return MODELS[schema].public.model_validate(row).model_dump(mode="json")


class SmsEnablementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The request id; the result event's subject id")
    did_id: int
    status: Literal["pending", "completed"]
    result: Literal["success", "error"] | None = Field(
        description="Set once completed; the same as the sms_enablement.completed event's status"
    )
    verbose: str | None = Field(description="Seed 002's text: 'already provisioned', "
                                            "'not 10 digits', or '' on success")
    requested_at: datetime
    completed_at: datetime | None
