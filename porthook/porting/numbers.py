"""Phone numbers on porting orders: E.164, North American (US and CA) only.

Parsed and validated with ``phonenumbers``; seed 000 says "At the moment only
north american numbers are supported" and gives ``countryCode`` as US, CA....
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from porthook.problems import FieldError, Unprocessable

SUPPORTED_REGIONS = ("US", "CA")
LOCATE_CACHE_SIZE = 20_000  # numbers


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    country_code: str  # "US" | "CA"
    national: str  # the 10 digits (seed 002's lnp_numbers.number)


class NumberError(ValueError):
    """Why a number cannot be on an order: ``reason`` is short, ``message`` explains."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse(raw: str) -> ParsedNumber:
    text = raw.strip()
    if not text.startswith("+"):
        raise NumberError("invalid", "expected E.164, e.g. +12125550123")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise NumberError("invalid", f"not a phone number: {exc}") from exc
    if number.country_code != 1:
        raise NumberError("not North American",
                          "only North American (+1, US and CA) numbers can be ported")
    region = phonenumbers.region_code_for_number(number)
    if not phonenumbers.is_valid_number(number):
        raise NumberError("invalid", "not a valid North American number")
    if region not in SUPPORTED_REGIONS:
        raise NumberError("not North American",
                          f"numbers of {region or 'this area code'} are not supported "
                          "(US and CA only)")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ParsedNumber(e164=e164, country_code=region, national=str(number.national_number))


def check_all(
    raws: Sequence[str], *, field: str = "phone_numbers"
) -> tuple[list[ParsedNumber], list[FieldError]]:
    """Parse every number; collect a FieldError per bad or repeated one."""
    parsed: list[ParsedNumber] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        where = f"{field}[{index}]"
        try:
            number = parse(raw)
        except NumberError as exc:
            errors.append(FieldError(field=where, message=f"{raw}: {exc.message}"))
            continue
        if number.e164 in seen:
            errors.append(FieldError(field=where, message=f"{raw}: listed twice in the request"))
            continue
        seen.add(number.e164)
        parsed.append(number)
    return parsed, errors


def parse_all(raws: Sequence[str], *, field: str = "phone_numbers") -> list[ParsedNumber]:
    """Parse every number or raise 422 naming each bad one (all at once)."""
    parsed, errors = check_all(raws, field=field)
    if errors:
        names = "; ".join(e.message for e in errors)
        raise Unprocessable(f"some phone numbers cannot be ported: {names}", errors=errors)
    return parsed


_REGION_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "Washington D.C.": "DC", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK",
    "Northwest Territories": "NT", "Nunavut": "NU", "Yukon": "YT",
}


# Every change of an order builds its numbers' lnp records twice (before and
# after), each asking the geocoder (about 0.1 ms a number): an order of 1,000
# numbers spent 0.2 s per move on the same answers. Bounded: about 0.2 KB an entry.
@functools.lru_cache(maxsize=LOCATE_CACHE_SIZE)
def locate(e164: str) -> tuple[str | None, str | None]:
    """(state, rate centre) from the geocoder, when it knows them.

    The geocoder answers "New York, NY" for most US area codes but only a
    state or province name ("Ontario", "New Jersey") for others; a name shared
    by several regions ("Nova Scotia/Prince Edward Island") gives no state.
    """
    # Imported here: its data costs about 100 MB of memory, which processes
    # that never locate a number (`porthook worker`) should not carry.
    from phonenumbers import geocoder

    description = geocoder.description_for_number(phonenumbers.parse(e164, None), "en")
    if not description:
        return None, None
    city, _, state = description.rpartition(", ")
    if city and len(state) == 2 and state.isupper():
        return state, city.upper()
    return _REGION_CODES.get(description), None
