"""HTML form fields to the API's own input models (so every rule of the API's
validation applies unchanged), and back for re-display."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from porthook.problems import FieldError, Unprocessable, validation_errors

Model = TypeVar("Model", bound=BaseModel)
NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


def text(form: Mapping[str, Any], name: str) -> str | None:
    """A trimmed text field; empty means absent."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def required_text(form: FormData, name: str) -> str:
    """A text field that must not be left empty (422 naming it)."""
    value = text(form, name)
    if value is None:
        raise Unprocessable(f"{name}: write something first",
                            errors=[FieldError(field=name, message="required")])
    return value


def many(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def checked(form: Mapping[str, Any], name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def number_list(raw: str | None) -> list[str]:
    """Numbers pasted one per line, or separated by commas, semicolons or spaces."""
    return [part for part in NUMBER_SEPARATORS.split(raw or "") if part]


def header_lines(raw: str | None, field: str) -> dict[str, str]:
    """Custom headers typed one per line as ``Name: value`` (the API's
    model then checks the names and values)."""
    found: dict[str, str] = {}
    for line in (raw or "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise Unprocessable(f"{field}: expected one 'Name: value' per line",
                                errors=[FieldError(field=field,
                                                   message="one 'Name: value' per line")])
        found[name.strip()] = value.strip()
    return found


KEEP, REMOVE = "keep", "remove"
CREDENTIAL_FIELDS = {"basic": ("username", "password"), "bearer": ("token",)}


def credential_changes(form: FormData) -> dict[str, Any]:
    """The write-only credentials part of an endpoint form, as the API's body:
    nothing when kept (or "none" on creation), ``credentials: null`` when
    removed, else the new ones (the API's model checks them). The fields are
    named ``credentials.username`` etc.; the choice is ``credentials_type``."""
    choice = text(form, "credentials_type") or KEEP
    if choice == REMOVE:
        return {"credentials": None}
    if choice not in CREDENTIAL_FIELDS:
        return {}
    given = {name: text(form, f"credentials.{name}") for name in CREDENTIAL_FIELDS[choice]}
    return {"credentials": {"type": choice, **{k: v for k, v in given.items() if v}}}


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """The API's model, or 422 naming each field as the API would."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(RequestValidationError(exc.errors()))
        raise Unprocessable("Some fields need attention.", errors=errors) from exc


def optional_uuid(raw: str | None, field: str) -> uuid.UUID | None:
    """An id from a GET form, where "Any" sends an empty value."""
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise Unprocessable(f"{field}: not an id",
                            errors=[FieldError(field=field, message="expected a UUID")]) from exc


def optional_date(raw: str | None, field: str) -> date | None:
    """A date from a GET form (empty: none)."""
    parsed: date | None = _parsed(date, field, raw or None)
    return parsed


def _parsed(kind: type[date] | type[time], field: str, raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return kind.fromisoformat(raw)
    except ValueError as exc:
        raise Unprocessable(f"{field}: not a valid {kind.__name__}",
                            errors=[FieldError(field=field, message="invalid")]) from exc


def local_moment(form: FormData, *, date_field: str, time_field: str,
                 zone_field: str) -> datetime | None:
    """Date, time and zone fields as one UTC instant (None when no date)."""
    day = _parsed(date, date_field, text(form, date_field))
    if day is None:
        return None
    at = _parsed(time, time_field, text(form, time_field)) or time(0)
    zone = ZoneInfo(text(form, zone_field) or "UTC")
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Drops absent (None) values, and nested objects left empty."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        kept = _clean(value) if isinstance(value, dict) else value
        if kept is not None and kept != {}:
            out[key] = kept
    return out


ADDRESS_FIELDS = ("line1", "line2", "city", "state", "zip", "country")
END_USER_FIELDS = ("business_name", "first_name", "last_name", "business_contact",
                   "authorized_person", "location_type", "caller_id")
PORT_OUT_FIELDS = ("losing_carrier", "account_number", "pin", "btn", "partial_port_details",
                   "wireless_pin")
# Check boxes: the form always shows them, so an unchecked one means "no"
# (a fix for PORT_TYPE_INCORRECT may be to uncheck the partial port).
PORT_OUT_FLAGS = ("partial_port", "wireless_number")


# A CSV of numbers (UI.md: the references take one beside pasting, Sinch up
# to 500): far more than 1,000 numbers' worth of text is not a number list.
CSV_MAX_BYTES = 256 * 1024
CSV_FIELD = "numbers_csv"
_NUMBER_CELL = re.compile(r"\+?[\d\s().-]+")
_NOT_DIGITS = re.compile(r"\D")
_CELL_SEPARATORS = re.compile(r"[;\t]")


def csv_numbers(content: bytes) -> list[str]:
    """The phone numbers in an uploaded CSV file, in order, as E.164: every
    cell that reads as one (with its +, or 10 digits, or 11 starting with 1,
    in any punctuation), whatever its column; headers and other cells are
    skipped. 422 naming the field when the file is not such a list."""
    if len(content) > CSV_MAX_BYTES:
        raise _csv_problem(f"the file is over {CSV_MAX_BYTES // 1024} kB; "
                           "expected a list of at most 1,000 numbers")
    try:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        raise _csv_problem("expected a CSV text file (UTF-8), one number per row or cell"
                           ) from None
    # Exports in some locales separate columns with ; or tabs, not commas.
    cells = (part for row in rows for cell in row for part in _CELL_SEPARATORS.split(cell))
    found = [number for cell in cells if (number := _number_cell(cell.strip()))]
    if not found:
        raise _csv_problem("no phone numbers found in the file; expected numbers such as "
                           "+13035550143 or 3035550143, one per row or cell")
    return found


def _number_cell(cell: str) -> str | None:
    if not _NUMBER_CELL.fullmatch(cell):
        return None
    digits = _NOT_DIGITS.sub("", cell)
    if cell.startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    # Spreadsheets drop a leading +: a North American number (the only kind
    # porthook ports) comes out as 10 digits, or 11 starting with its 1.
    if len(digits) == 10:
        return f"+1{digits}"
    return f"+{digits}" if len(digits) == 11 and digits[0] == "1" else None


def _csv_problem(message: str) -> Unprocessable:
    return Unprocessable(f"{CSV_FIELD}: {message}",
                         errors=[FieldError(field=CSV_FIELD, message=message)])


def with_numbers(form: FormData, more: list[str]) -> dict[str, Any]:
    """The form's fields, the numbers of a CSV added to the pasted ones (those
    not pasted already): what the order form shows again after a problem,
    so that the file need not be chosen again."""
    pasted = number_list(text(form, "phone_numbers"))
    already = set(pasted)
    # A number the file itself repeats stays repeated: the API names it.
    merged = pasted + [n for n in more if n not in already]
    return {**dict(form), "phone_numbers": "\n".join(merged)}


def order_fields(form: Mapping[str, Any]) -> dict[str, Any]:
    """The create/update order form as the API's JSON body (fields left blank
    are not sent: on an update they stay as they are)."""
    data: dict[str, Any] = {
        "customer_reference": text(form, "customer_reference"),
        "desired_port_date": text(form, "desired_port_date"),
        "desired_port_time": text(form, "desired_port_time"),
        "desired_port_time_zone": text(form, "desired_port_time_zone"),
        "end_user": {**{f: text(form, f"end_user.{f}") for f in END_USER_FIELDS},
                     "service_address": {f: text(form, f"address.{f}")
                                         for f in ADDRESS_FIELDS}},
        "port_out": {f: text(form, f"port_out.{f}") for f in PORT_OUT_FIELDS},
        "reseller_name": text(form, "reseller_name"),
    }
    numbers = number_list(text(form, "phone_numbers"))
    if numbers:
        data["phone_numbers"] = numbers
    cleaned = _clean(data)
    cleaned.setdefault("port_out", {}).update(
        {flag: checked(form, f"port_out.{flag}") for flag in PORT_OUT_FLAGS})
    cleaned["on_demand_activation"] = checked(form, "on_demand_activation")
    cleaned["messaging"] = {"enable_messaging": checked(form, "messaging.enable_messaging")}
    return cleaned
