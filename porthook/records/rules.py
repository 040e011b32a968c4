"""Pure decisions of the records domain: normalising telecom values, cross-field
checks, SMS enablement outcomes. No I/O.

Each normaliser returns the stored form or raises ``ValueError`` whose message
says what was expected (it becomes the ``message`` of a 422 field error).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import phonenumbers

from porthook import urls

US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI",  # territories with NANP numbers and US ZIP codes
))
CA_PROVINCES = frozenset((
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
))
CA_PROVINCE_NAMES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Northwest Territories": "NT",
    "Nunavut": "NU", "Ontario": "ON", "Prince Edward Island": "PE", "Quebec": "QC",
    "Saskatchewan": "SK", "Yukon": "YT",
}

_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
# Canada Post never uses D, F, I, O, Q, U, nor W/Z as the first letter.
_CA_POSTAL = re.compile(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TEN_DIGIT_NANP = re.compile(r"^[2-9]\d{2}[2-9]\d{6}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")

STATE_EXPECTED = "expected a two-letter US state or Canadian province code, such as IL or ON"
ZIP_EXPECTED = "expected a US ZIP code (12345 or 12345-6789) or a Canadian postal code (K1A 0B1)"


def _parse_number(value: str) -> phonenumbers.PhoneNumber:
    raw = _PHONE_PUNCTUATION.sub("", value)
    # Bare 10 digits (or 1 + 10 digits) are North American, as the seed's provider writes them.
    if raw.isdigit() and len(raw) in (10, 11):
        raw = "+1" + raw[-10:] if len(raw) == 10 or raw.startswith("1") else raw
    if not raw.startswith("+"):
        raise ValueError("not a phone number")
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return number


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: str) -> str:
    """A contact number, stored E.164."""
    try:
        return _e164(_parse_number(value))
    except ValueError:
        raise ValueError(
            "expected a valid phone number in E.164 (+13125550100) or 10-digit NANP form"
        ) from None


def normalize_did_number(value: str) -> str:
    """A DID as the seed's provider stores it: 10 digits for +1, E.164 elsewhere."""
    try:
        number = _parse_number(value)
    except ValueError:
        raise ValueError(
            "expected a valid telephone number: 10-digit NANP (3125550100) or E.164 (+442071838750)"
        ) from None
    return str(number.national_number) if number.country_code == 1 else _e164(number)


def normalize_nanp10(value: str) -> str:
    """A North American number as 10 digits (E911 exists in the US and Canada only)."""
    try:
        number = _parse_number(value)
    except ValueError:
        number = None
    if number is None or number.country_code != 1:
        raise ValueError("expected a valid 10-digit North American number, such as 3125550100")
    return str(number.national_number)


def normalize_state(value: str) -> str:
    code = value.strip().upper()
    if code not in US_STATES and code not in CA_PROVINCES:
        raise ValueError(STATE_EXPECTED)
    return code


def normalize_zip(value: str) -> str:
    text = value.strip().upper()
    if _US_ZIP.match(text):
        return text
    match = _CA_POSTAL.match(text)
    if match is None:
        raise ValueError(ZIP_EXPECTED)
    return f"{match.group(1)} {match.group(2)}"


def normalize_ip(value: str) -> str:
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError:
        raise ValueError("expected an IPv4 address (192.0.2.10) or IPv6 address (2001:db8::1)")\
            from None


def normalize_hostname(value: str) -> str:
    host = value.strip().rstrip(".").lower()
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(p) for p in labels):
        raise ValueError("expected a domain name such as sip.example.com")
    return host


def normalize_url(value: str) -> str:
    text = value.strip()
    urls.parse_http_url(text)  # the one URL parser: the sender's (yarl)
    return text


def normalize_digits(value: str, *, min_length: int, max_length: int) -> str:
    if not (value.isdigit() and value.isascii() and min_length <= len(value) <= max_length):
        raise ValueError(f"expected {min_length} to {max_length} digits")
    return value


def zip_state_errors(state: str | None, zip_code: str | None) -> str | None:
    """A ZIP and a state of two different countries cannot be one address."""
    if not state or not zip_code:
        return None
    canadian_zip = _CA_POSTAL.match(zip_code) is not None
    if canadian_zip != (state in CA_PROVINCES):
        country = "a Canadian postal code" if canadian_zip else "a US ZIP code"
        return f"{country} does not match state {state}"
    return None


def is_ten_digit_nanp(number: str) -> bool:
    return _TEN_DIGIT_NANP.match(number) is not None


@dataclass(frozen=True)
class SmsOutcome:
    status: str  # "success" | "error", as in seed 002's sms_enablement messages
    verbose: str  # seed 002's error texts; "" on success


def sms_enablement_outcome(*, number: str, sms_enabled: bool) -> SmsOutcome:
    """Seed 002's sms_enablement results, checked in the seed's order."""
    if sms_enabled:
        return SmsOutcome("error", "already provisioned")
    if not is_ten_digit_nanp(number):
        return SmsOutcome("error", "not 10 digits")
    return SmsOutcome("success", "")


@dataclass(frozen=True)
class NumberFacts:
    number: str  # as dids.number stores it
    number_type: str
    state: str | None
    ratecenter: str | None


def stored_number(number_e164: str) -> str:
    """The number as ``dids.number`` stores it: the 10 digits of a North
    American number, else E.164. Without the geocoder of ``ported_number_facts``:
    a lookup needs only this."""
    return _stored(_parse_number(number_e164))


def _stored(number: phonenumbers.PhoneNumber) -> str:
    return str(number.national_number) if number.country_code == 1 else _e164(number)


def ported_number_facts(number_e164: str) -> NumberFacts:
    """What a DID record says of a number that arrived by port-in."""
    number = _parse_number(number_e164)
    kind = phonenumbers.number_type(number)
    if number.country_code != 1:
        number_type = "international"
    elif kind == phonenumbers.PhoneNumberType.TOLL_FREE:
        number_type = "tollfree"
    else:
        number_type = "local"
    from phonenumbers import geocoder  # ~100 MB of data: loaded on first use, not by workers

    state, ratecenter = _geography(geocoder.description_for_number(number, "en"))
    return NumberFacts(_stored(number), number_type, state, ratecenter)


def _geography(description: str) -> tuple[str | None, str | None]:
    # libphonenumber describes US numbers as "Chicago, IL" and Canadian ones
    # often by province only ("Ontario"); the city is the nearest thing to a
    # rate center it knows.
    city, _, code = description.rpartition(", ")
    if city and (code in US_STATES or code in CA_PROVINCES):
        return code, city.upper()[:64]
    return CA_PROVINCE_NAMES.get(description), None
