from __future__ import annotations

from collections.abc import Callable

import pytest

from porthook.records import rules
from porthook.records.registry import OWN_SCHEMAS, SCHEMAS, in_seed_order, referrers


@pytest.mark.parametrize(("normalize", "given", "stored"), [
    (rules.normalize_phone, "+13125550100", "+13125550100"),  # E.164 kept
    (rules.normalize_phone, "(312) 555-0100", "+13125550100"),  # NANP punctuation dropped
    (rules.normalize_phone, "13125550100", "+13125550100"),  # 1 + 10 digits
    (rules.normalize_phone, "+442071838750", "+442071838750"),  # a UK contact number
    (rules.normalize_did_number, "+13125550100", "3125550100"),  # the provider's 10 digits
    (rules.normalize_did_number, "4165550123", "4165550123"),  # Canadian, already 10 digits
    (rules.normalize_did_number, "+44 20 7183 8750", "+442071838750"),  # non-NANP stays E.164
    (rules.normalize_nanp10, "+1 312 555 0100", "3125550100"),  # E911 number as 10 digits
    (rules.normalize_state, "il", "IL"),  # case folded
    (rules.normalize_state, "QC", "QC"),  # a Canadian province
    (rules.normalize_state, "PR", "PR"),  # a territory with NANP numbers
    (rules.normalize_zip, "60601", "60601"),  # US ZIP
    (rules.normalize_zip, "60601-1234", "60601-1234"),  # ZIP+4
    (rules.normalize_zip, "k1a0b1", "K1A 0B1"),  # Canadian postal code, spaced and upper
    (rules.normalize_ip, "192.0.2.10", "192.0.2.10"),  # IPv4
    (rules.normalize_ip, "2001:DB8:0:0::1", "2001:db8::1"),  # IPv6 compressed
    (rules.normalize_hostname, "SIP.Example.com.", "sip.example.com"),  # FQDN dot dropped
    (rules.normalize_url, "https://example.com/hook", "https://example.com/hook"),  # https
])
def test_normalisers_store_one_form(
    normalize: Callable[[str], str], given: str, stored: str
) -> None:
    assert normalize(given) == stored


@pytest.mark.parametrize(("normalize", "given", "expected"), [
    (rules.normalize_phone, "12345", "E.164"),  # too short
    (rules.normalize_phone, "+1 555 555 5555", "E.164"),  # 555 is not a valid area code
    (rules.normalize_phone, "phone", "E.164"),  # not digits at all
    (rules.normalize_did_number, "3125550", "10-digit NANP"),  # 7 digits
    (rules.normalize_nanp10, "+442071838750", "10-digit North American"),  # UK: no E911 here
    (rules.normalize_state, "ZZ", "two-letter US state"),  # no such state
    (rules.normalize_state, "Illinois", "two-letter US state"),  # names are not codes
    (rules.normalize_zip, "6060", "US ZIP"),  # four digits
    (rules.normalize_zip, "D1A 0B1", "Canadian postal code"),  # D never starts a postal code
    (rules.normalize_ip, "256.1.1.1", "IPv4"),  # octet out of range
    (rules.normalize_ip, "10.0.0.0/8", "IPv4"),  # a network, not an address
    (rules.normalize_hostname, "localhost", "domain name"),  # no dot
    (rules.normalize_hostname, "-bad-.example.com", "domain name"),  # label starts with '-'
    (rules.normalize_url, "ftp://example.com/x", "https://"),  # not HTTP
    (rules.normalize_url, "https://", "https://"),  # no host
])
def test_normalisers_say_what_was_expected(
    normalize: Callable[[str], str], given: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        normalize(given)


@pytest.mark.parametrize(("value", "low", "high", "ok"), [
    ("1234", 4, 10, True),  # shortest PIN
    ("123", 4, 10, False),  # too short
    ("12345678901", 4, 10, False),  # too long
    ("12a4", 4, 10, False),  # not only digits
    ("١٢٣٤", 4, 10, False),  # Arabic-Indic digits are not ASCII digits
])
def test_digits(value: str, low: int, high: int, ok: bool) -> None:
    if ok:
        assert rules.normalize_digits(value, min_length=low, max_length=high) == value
    else:
        with pytest.raises(ValueError, match=f"expected {low} to {high} digits"):
            rules.normalize_digits(value, min_length=low, max_length=high)


@pytest.mark.parametrize(("state", "zip_code", "error"), [
    ("IL", "60601", None),  # US with US
    ("ON", "K1A 0B1", None),  # Canada with Canada
    ("ON", "60601", "a US ZIP code does not match state ON"),  # mixed
    ("IL", "K1A 0B1", "a Canadian postal code does not match state IL"),  # mixed
    (None, "60601", None),  # nothing to compare
])
def test_zip_must_match_the_country_of_the_state(
    state: str | None, zip_code: str, error: str | None
) -> None:
    assert rules.zip_state_errors(state, zip_code) == error


@pytest.mark.parametrize(("number", "sms_enabled", "status", "verbose"), [
    ("3125550100", False, "success", ""),  # a 10-digit NANP DID
    ("3125550100", True, "error", "already provisioned"),  # seed 002's first error
    ("+442071838750", False, "error", "not 10 digits"),  # seed 002's second error
    ("+442071838750", True, "error", "already provisioned"),  # provisioned is checked first
    ("1125550100", False, "error", "not 10 digits"),  # area code cannot start with 1
])
def test_sms_enablement_outcome(number: str, sms_enabled: bool, status: str, verbose: str) -> None:
    outcome = rules.sms_enablement_outcome(number=number, sms_enabled=sms_enabled)
    assert (outcome.status, outcome.verbose) == (status, verbose)


@pytest.mark.parametrize(("e164", "number", "number_type", "state", "ratecenter"), [
    ("+13125550100", "3125550100", "local", "IL", "CHICAGO"),  # a Chicago number
    ("+14165550123", "4165550123", "local", "ON", None),  # Ontario: province only
    ("+18005550100", "8005550100", "tollfree", None, None),  # toll-free: no geography
])
def test_ported_number_facts(
    e164: str, number: str, number_type: str, state: str | None, ratecenter: str | None
) -> None:
    facts = rules.ported_number_facts(e164)
    assert (facts.number, facts.number_type, facts.state, facts.ratecenter) == (
        number, number_type, state, ratecenter)


def test_registry_names_every_schema_of_seed_002_in_order() -> None:
    assert list(SCHEMAS) == [
        "lnp_numbers", "lnp_requests", "sip_accounts", "subscriptions", "sub_users",
        "transaction_items", "transactions", "users", "call_flows", "channel_groups",
        "did_notes", "dids", "directory_listings", "e911_records", "fax_emails", "faxes",
        "ip_addresses", "voicemail_emails", "voicemail_inboxes",
    ]
    assert SCHEMAS["faxes"].seed_fields == (
        "id", "did_id", "fax_status", "direction", "source_did", "destination_did",
        "recipient", "pages")
    assert [f.name for s in SCHEMAS.values() for f in s.fields if f.secret] == [
        "wireless_pin", "inbox_pin"]


def test_every_reference_points_at_a_stored_schema() -> None:
    for spec in OWN_SCHEMAS.values():
        for ref in spec.refs:
            assert ref.ref in OWN_SCHEMAS, (spec.name, ref.name)
    assert {s.name for s, _ in referrers("dids")} == {
        "did_notes", "directory_listings", "e911_records", "fax_emails", "faxes"}


def test_in_seed_order_restores_the_seed_order() -> None:
    scrambled = {"pages": 2, "id": 7, "direction": "inbound", "extra": 1}
    assert list(in_seed_order("faxes", scrambled)) == ["id", "direction", "pages", "extra"]
