"""The porting state machine and its companions, as tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from porthook.porting import rules
from porthook.porting.rules import Action as A
from porthook.porting.rules import OrderStatus as S

# Every (status, action) pair, and where it leads (None: refused with 409).
TABLE = [
    (S.DRAFT, A.SUBMIT, S.IN_PROCESS),  # the customer submits a draft
    (S.DRAFT, A.CANCEL, S.CANCEL_PENDING),  # "any state before ported" may be cancelled
    (S.DRAFT, A.DELETE, S.DELETED),  # drafts are deleted (DELETE or 30 days)
    (S.DRAFT, A.MARK_SUBMITTED, None),  # the desk never sees a draft
    (S.DRAFT, A.RAISE_EXCEPTION, None),  # nor raises on it
    (S.DRAFT, A.CONFIRM_FOC, None),  # nor confirms it
    (S.DRAFT, A.CONFIRM_CANCEL, None),  # nothing to confirm: not cancel-pending
    (S.DRAFT, A.PORT, None),  # a draft cannot port
    (S.IN_PROCESS, A.SUBMIT, None),  # already submitted
    (S.IN_PROCESS, A.CANCEL, S.CANCEL_PENDING),  # still before ported
    (S.IN_PROCESS, A.DELETE, None),  # only drafts are deleted
    (S.IN_PROCESS, A.MARK_SUBMITTED, S.SUBMITTED),  # the desk takes it to the carrier
    (S.IN_PROCESS, A.RAISE_EXCEPTION, None),  # exceptions come from submitted
    (S.IN_PROCESS, A.CONFIRM_FOC, None),  # FOC comes after submitted
    (S.IN_PROCESS, A.CONFIRM_CANCEL, None),  # not cancel-pending
    (S.IN_PROCESS, A.PORT, None),  # not confirmed
    (S.SUBMITTED, A.SUBMIT, None),  # already submitted
    (S.SUBMITTED, A.CANCEL, S.CANCEL_PENDING),  # still before ported
    (S.SUBMITTED, A.DELETE, None),  # only drafts are deleted
    (S.SUBMITTED, A.MARK_SUBMITTED, None),  # already there
    (S.SUBMITTED, A.RAISE_EXCEPTION, S.EXCEPTION),  # the carrier found a problem
    (S.SUBMITTED, A.CONFIRM_FOC, S.FOC_DATE_CONFIRMED),  # the carrier gave a FOC date
    (S.SUBMITTED, A.CONFIRM_CANCEL, None),  # not cancel-pending
    (S.SUBMITTED, A.PORT, None),  # not confirmed
    (S.EXCEPTION, A.SUBMIT, None),  # the desk resubmits, not the customer
    (S.EXCEPTION, A.CANCEL, S.CANCEL_PENDING),  # still before ported
    (S.EXCEPTION, A.DELETE, None),  # only drafts are deleted
    (S.EXCEPTION, A.MARK_SUBMITTED, S.SUBMITTED),  # resolved: back to submitted
    (S.EXCEPTION, A.RAISE_EXCEPTION, None),  # already in exception
    (S.EXCEPTION, A.CONFIRM_FOC, None),  # resubmit first
    (S.EXCEPTION, A.CONFIRM_CANCEL, None),  # not cancel-pending
    (S.EXCEPTION, A.PORT, None),  # not confirmed
    (S.FOC_DATE_CONFIRMED, A.SUBMIT, None),  # long submitted
    (S.FOC_DATE_CONFIRMED, A.CANCEL, S.CANCEL_PENDING),  # still before ported
    (S.FOC_DATE_CONFIRMED, A.DELETE, None),  # only drafts are deleted
    (S.FOC_DATE_CONFIRMED, A.MARK_SUBMITTED, None),  # no way back
    (S.FOC_DATE_CONFIRMED, A.RAISE_EXCEPTION, None),  # exceptions only from submitted
    (S.FOC_DATE_CONFIRMED, A.CONFIRM_FOC, None),  # already confirmed
    (S.FOC_DATE_CONFIRMED, A.CONFIRM_CANCEL, None),  # not cancel-pending
    (S.FOC_DATE_CONFIRMED, A.PORT, S.PORTED),  # all remaining numbers activated
    (S.PORTED, A.SUBMIT, None),  # final
    (S.PORTED, A.CANCEL, None),  # too late: the numbers moved
    (S.PORTED, A.DELETE, None),  # final
    (S.PORTED, A.MARK_SUBMITTED, None),  # final
    (S.PORTED, A.RAISE_EXCEPTION, None),  # final
    (S.PORTED, A.CONFIRM_FOC, None),  # final
    (S.PORTED, A.CONFIRM_CANCEL, None),  # final
    (S.PORTED, A.PORT, None),  # already ported
    (S.CANCEL_PENDING, A.SUBMIT, None),  # being cancelled
    (S.CANCEL_PENDING, A.CANCEL, None),  # already cancelling
    (S.CANCEL_PENDING, A.DELETE, None),  # only drafts are deleted
    (S.CANCEL_PENDING, A.MARK_SUBMITTED, None),  # no way back
    (S.CANCEL_PENDING, A.RAISE_EXCEPTION, None),  # no way back
    (S.CANCEL_PENDING, A.CONFIRM_FOC, None),  # no way back
    (S.CANCEL_PENDING, A.CONFIRM_CANCEL, S.CANCELLED),  # the desk confirms the cancel
    (S.CANCEL_PENDING, A.PORT, None),  # cancelling, not porting
    (S.CANCELLED, A.SUBMIT, None),  # final
    (S.CANCELLED, A.CANCEL, None),  # already cancelled
    (S.CANCELLED, A.DELETE, None),  # final
    (S.CANCELLED, A.MARK_SUBMITTED, None),  # final
    (S.CANCELLED, A.RAISE_EXCEPTION, None),  # final
    (S.CANCELLED, A.CONFIRM_FOC, None),  # final
    (S.CANCELLED, A.CONFIRM_CANCEL, None),  # already cancelled
    (S.CANCELLED, A.PORT, None),  # final
    (S.DELETED, A.SUBMIT, None),  # gone
    (S.DELETED, A.CANCEL, None),  # gone
    (S.DELETED, A.DELETE, None),  # already deleted
    (S.DELETED, A.MARK_SUBMITTED, None),  # gone
    (S.DELETED, A.RAISE_EXCEPTION, None),  # gone
    (S.DELETED, A.CONFIRM_FOC, None),  # gone
    (S.DELETED, A.CONFIRM_CANCEL, None),  # gone
    (S.DELETED, A.PORT, None),  # gone
    (S.DRAFT, A.RESUBMIT, None),  # never submitted: submit it
    (S.IN_PROCESS, A.RESUBMIT, None),  # nothing to resolve
    (S.SUBMITTED, A.RESUBMIT, None),  # nothing to resolve
    (S.EXCEPTION, A.RESUBMIT, S.SUBMITTED),  # seed 001: resolved -> submitted
    (S.FOC_DATE_CONFIRMED, A.RESUBMIT, None),  # nothing to resolve
    (S.PORTED, A.RESUBMIT, None),  # final
    (S.CANCEL_PENDING, A.RESUBMIT, None),  # being cancelled
    (S.CANCELLED, A.RESUBMIT, None),  # final
    (S.DELETED, A.RESUBMIT, None),  # gone
]


def test_table_covers_every_pair() -> None:
    assert {(s, a) for s, a, _ in TABLE} == {(s, a) for s in S for a in A}
    assert len(TABLE) == len(S) * len(A)


@pytest.mark.parametrize(("status", "action", "target"), TABLE)
def test_decide(status: S, action: A, target: S | None) -> None:
    decision = rules.decide(status, action)
    assert decision.allowed is (target is not None)
    assert decision.target == target
    if target is None:
        # The refusal names the current status and every allowed move.
        assert f"status {status.value}" in decision.message
        for allowed in rules.allowed_actions(status):
            assert allowed.value in decision.message


@pytest.mark.parametrize(("status", "editable"), [
    (S.DRAFT, True),  # still being built
    (S.EXCEPTION, True),  # the customer fixes what the carrier refused
    (S.IN_PROCESS, False),  # with the desk
    (S.SUBMITTED, False),  # with the carrier
    (S.FOC_DATE_CONFIRMED, False),  # dates are fixed
    (S.PORTED, False),  # final
    (S.CANCEL_PENDING, False),  # being cancelled
    (S.CANCELLED, False),  # final
    (S.DELETED, False),  # gone
])
def test_editable(status: S, editable: bool) -> None:
    assert rules.is_editable(status) is editable


N = rules.NumberStatus


@pytest.mark.parametrize(("order_status", "number_status", "holds"), [
    (S.DRAFT, N.PENDING, True),  # a draft already holds its numbers
    (S.CANCEL_PENDING, N.CONFIRMED, True),  # seed 000: still held while cancelling
    (S.SUBMITTED, N.EXCLUDED, False),  # excluded: left the order
    (S.CANCELLED, N.CANCELED, False),  # closed order
    (S.PORTED, N.ACTIVATED, False),  # closed order
    (S.DELETED, N.PENDING, False),  # deleted draft
    (S.EXCEPTION, N.REJECTED, True),  # rejected may still be fixed on this order
])
def test_holds_number(order_status: S, number_status: N, holds: bool) -> None:
    assert rules.holds_number(order_status, number_status) is holds


@pytest.mark.parametrize(("statuses", "ported"), [
    ([N.ACTIVATED, N.ACTIVATED], True),  # everything activated
    ([N.ACTIVATED, N.EXCLUDED, N.REJECTED], True),  # the rest left the order
    ([N.ACTIVATED, N.CONFIRMED], False),  # one confirmed number still waits
    ([N.ACTIVATED, N.PENDING], False),  # one number not even confirmed
    ([N.REJECTED], False),  # nothing was activated
    ([], False),  # no numbers at all
])
def test_should_port(statuses: list[N], ported: bool) -> None:
    assert rules.should_port(statuses) is ported


def _complete() -> dict[str, Any]:
    return {
        "phone_numbers": [{"status": "pending", "country_code": "US"}],
        "desired_port_date": "2030-01-02",
        "end_user": {"business_name": "Acme", "location_type": "business",
                     "authorized_person": "Ann",
                     "service_address": {"line1": "1 Main", "city": "NYC", "state": "NY",
                                         "zip": "10001"}},
        "port_out": {"losing_carrier": "Old", "account_number": "1", "btn": "+12125550101"},
        "documents": [{"document_type": "loa"}],
    }


def test_complete_order_misses_nothing() -> None:
    assert rules.missing_for_submit(_complete()) == []


def test_empty_order_lists_every_missing_field_at_once() -> None:
    assert rules.missing_for_submit({"phone_numbers": []}) == [
        "phone_numbers", "desired_port_date", "end_user.location_type",
        "end_user.authorized_person", "end_user.business_name",
        "end_user.service_address.line1", "end_user.service_address.city",
        "end_user.service_address.state", "end_user.service_address.zip",
        "port_out.losing_carrier", "port_out.account_number", "port_out.btn",
        "documents.loa",
    ]


@pytest.mark.parametrize(("change", "missing"), [
    # residential end users need a person's name instead of a business name
    ({"end_user": {**_complete()["end_user"], "location_type": "residential",
                   "business_name": None}}, ["end_user.first_name", "end_user.last_name"]),
    # seed 000: reseller name required for Canadian numbers
    ({"phone_numbers": [{"status": "pending", "country_code": "CA"}]}, ["reseller_name"]),
    # a partial port says which numbers stay
    ({"port_out": {**_complete()["port_out"], "partial_port": True}},
     ["port_out.partial_port_details"]),
    # wireless numbers port with their PIN
    ({"port_out": {**_complete()["port_out"], "wireless_number": True}},
     ["port_out.wireless_pin"]),
    # excluded numbers do not count
    ({"phone_numbers": [{"status": "excluded", "country_code": "US"}]}, ["phone_numbers"]),
    # blank strings are missing too
    ({"desired_port_date": " "}, ["desired_port_date"]),
])
def test_missing_rows(change: dict[str, Any], missing: list[str]) -> None:
    assert rules.missing_for_submit({**_complete(), **change}) == missing


@pytest.mark.parametrize(("kwargs", "expected"), [
    # nothing set: seed 000's system default, 09:00 US/Eastern (EST in January, UTC-5)
    ({}, datetime(2030, 1, 15, 14, 0, tzinfo=UTC)),
    # summer: EDT, UTC-4
    ({"desired_date": date(2030, 7, 15)}, datetime(2030, 7, 15, 13, 0, tzinfo=UTC)),
    # the order's own time and zone win (Pacific, PST = UTC-8)
    ({"desired_time": time(8, 30), "time_zone": "US/Pacific"},
     datetime(2030, 1, 15, 16, 30, tzinfo=UTC)),
    # the account's defaults fill what the order leaves out (Central, CST = UTC-6)
    ({"default_time": time(10, 0), "default_time_zone": "US/Central"},
     datetime(2030, 1, 15, 16, 0, tzinfo=UTC)),
    # the order's zone with the default time (Mountain, MST = UTC-7)
    ({"time_zone": "US/Mountain", "default_time": time(7, 0)},
     datetime(2030, 1, 15, 14, 0, tzinfo=UTC)),
    # DST starts 2030-03-10 in the US: that morning is already EDT
    ({"desired_date": date(2030, 3, 10)}, datetime(2030, 3, 10, 13, 0, tzinfo=UTC)),
    # the day before DST starts is still EST
    ({"desired_date": date(2030, 3, 9)}, datetime(2030, 3, 9, 14, 0, tzinfo=UTC)),
    # DST ends 2030-11-03: back to EST
    ({"desired_date": date(2030, 11, 3)}, datetime(2030, 11, 3, 14, 0, tzinfo=UTC)),
    # 02:30 on the spring-forward day does not exist: read as EST, i.e. 03:30 EDT
    ({"desired_date": date(2030, 3, 10), "desired_time": time(2, 30)},
     datetime(2030, 3, 10, 7, 30, tzinfo=UTC)),
    # never before the confirmed FOC date
    ({"foc_date": datetime(2030, 1, 16, 12, 0, tzinfo=UTC)},
     datetime(2030, 1, 16, 12, 0, tzinfo=UTC)),
    # a FOC date before the desired moment changes nothing
    ({"foc_date": datetime(2030, 1, 1, tzinfo=UTC)}, datetime(2030, 1, 15, 14, 0, tzinfo=UTC)),
])
def test_activation_moment(kwargs: dict[str, Any], expected: datetime) -> None:
    args: dict[str, Any] = {"desired_date": date(2030, 1, 15), "desired_time": None,
                            "time_zone": None, "default_time": None,
                            "default_time_zone": None}
    assert rules.activation_moment(**{**args, **kwargs}) == expected


NOW = datetime(2030, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("status", "age", "expired"), [
    (S.DRAFT, timedelta(days=30), True),  # exactly 30 days untouched
    (S.DRAFT, timedelta(days=29, hours=23), False),  # not yet
    (S.DRAFT, timedelta(days=400), True),  # long forgotten
    (S.IN_PROCESS, timedelta(days=400), False),  # only drafts expire
    (S.EXCEPTION, timedelta(days=400), False),  # waiting on the customer is not a draft
])
def test_draft_expired(status: S, age: timedelta, expired: bool) -> None:
    assert rules.draft_expired(status=status, updated_at=NOW - age, now=NOW,
                               expiry_days=30) is expired
