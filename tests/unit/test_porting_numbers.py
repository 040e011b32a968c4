"""Phone numbers on orders, and orders as seed 002's lnp records."""

from __future__ import annotations

import pytest

from porthook.porting import lnp, numbers
from porthook.problems import Unprocessable


@pytest.mark.parametrize(("raw", "e164", "country"), [
    ("+12125550101", "+12125550101", "US"),  # New York
    (" +1 (312) 555-0102 ", "+13125550102", "US"),  # formatting is tolerated
    ("+14165550103", "+14165550103", "CA"),  # Toronto: Canada is North American
    ("+16045550100", "+16045550100", "CA"),  # Vancouver
])
def test_valid_numbers(raw: str, e164: str, country: str) -> None:
    parsed = numbers.parse(raw)
    assert (parsed.e164, parsed.country_code, parsed.national) == (e164, country, e164[2:])


@pytest.mark.parametrize(("raw", "reason"), [
    ("2125550101", "invalid"),  # not E.164: no +
    ("+1212", "invalid"),  # too short
    ("+1hello", "invalid"),  # not a number at all
    ("+11235550100", "invalid"),  # area codes never start with 1
    ("+442079460000", "not North American"),  # London
    ("+18765550100", "not North American"),  # Jamaica: +1 but not US/CA
    ("+17875550100", "not North American"),  # Puerto Rico: its own region code
])
def test_refused_numbers(raw: str, reason: str) -> None:
    with pytest.raises(numbers.NumberError) as info:
        numbers.parse(raw)
    assert info.value.reason == reason


def test_parse_all_names_every_bad_number_at_once() -> None:
    with pytest.raises(Unprocessable) as info:
        numbers.parse_all(["+12125550101", "nope", "+442079460000", "+1 212 555 0101"])
    errors = info.value.errors or []
    assert [e.field for e in errors] == ["phone_numbers[1]", "phone_numbers[2]",
                                         "phone_numbers[3]"]
    assert "nope" in errors[0].message
    assert "North American" in errors[1].message
    assert "twice" in errors[2].message


@pytest.mark.parametrize(("e164", "state", "ratecenter"), [
    ("+12125550101", "NY", "NEW YORK"),  # "New York, NY": city and state
    ("+13125550102", "IL", "CHICAGO"),  # "Chicago, IL"
    ("+12015550100", "NJ", None),  # "New Jersey": a state name only
    ("+14165550103", "ON", None),  # "Ontario": a province name only
    ("+19025550100", None, None),  # "Nova Scotia/Prince Edward Island": ambiguous
])
def test_locate(e164: str, state: str | None, ratecenter: str | None) -> None:
    assert numbers.locate(e164) == (state, ratecenter)


ORDER = {
    "id": "0f0e1a2b-0000-0000-0000-000000000001",
    "account_id": "0f0e1a2b-0000-0000-0000-0000000000aa",
    "status": "submitted",
    "foc_date": None,
    "end_user": {"business_name": "Acme", "first_name": None, "last_name": None,
                 "business_contact": "Bob", "location_type": "business",
                 "authorized_person": "Ann", "caller_id": "ACME",
                 "service_address": {"line1": "1 Main St", "line2": "Suite 2",
                                     "city": "New York", "state": "NY", "zip": "10001",
                                     "country": "US"}},
    "port_out": {"losing_carrier": "Old", "account_number": "A1", "btn": "+12125550101",
                 "partial_port": False, "partial_port_details": None,
                 "wireless_number": False, "pin_set": True, "wireless_pin_set": True},
}


def test_lnp_request_record_has_seed_fields_in_seed_order_without_the_pin() -> None:
    record = lnp.lnp_request_record(ORDER)
    assert list(record) == [
        "id", "user_id", "btn", "location_type", "business_contact", "business_name",
        "first_name", "last_name", "account_number", "service_address", "service_state",
        "service_zip", "partial_port", "partial_port_details", "wireless_number", "caller_id",
        "request_status", "foc_date",
    ]
    assert "wireless_pin" not in record
    assert record["user_id"] == ORDER["account_id"]
    assert record["service_address"] == "1 Main St, Suite 2"
    assert (record["service_state"], record["service_zip"]) == ("NY", "10001")
    assert record["request_status"] == "submitted"


def test_lnp_number_record() -> None:
    record = lnp.lnp_number_record(ORDER["id"], {"id": "n1", "phone_number": "+13125550102"})
    assert record == {"id": "n1", "lnp_request_id": ORDER["id"], "number": "3125550102",
                      "state": "IL", "ratecenter": "CHICAGO"}
