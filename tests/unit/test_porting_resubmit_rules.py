"""The pure decisions of a customer's resubmit out of ``exception``."""

from __future__ import annotations

from typing import Any

from porthook.porting import rules


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "customer_reference": "r", "desired_port_date": "2030-01-02",
        "end_user": {"business_name": "Acme", "service_address": {"zip": "10001"}},
        "port_out": {"account_number": "A1", "pin_set": True},
        "phone_numbers": [{"phone_number": "+12125550101", "status": "pending"}],
        "documents": [{"id": "d1", "document_type": "loa"}],
        "status": "exception", "updated_at": "x",
    }
    order.update(changes)
    return order


def test_resubmit_goes_back_to_submitted_from_exception_only() -> None:
    assert rules.decide(rules.OrderStatus.EXCEPTION, rules.Action.RESUBMIT).target == (
        rules.OrderStatus.SUBMITTED)
    refused = rules.decide(rules.OrderStatus.SUBMITTED, rules.Action.RESUBMIT)
    assert not refused.allowed and "submitted" in refused.message


def test_changed_paths_name_nested_fields_and_their_parents() -> None:
    after = _order(end_user={"business_name": "Acme",
                             "service_address": {"zip": "10002"}})
    assert rules.changed_paths(_order(), after) == {
        "end_user", "end_user.service_address", "end_user.service_address.zip"}


def test_desk_moves_on_numbers_and_status_are_not_customer_changes() -> None:
    after = _order(status="submitted", updated_at="y",
                   phone_numbers=[{"phone_number": "+12125550101", "status": "confirmed"}])
    assert rules.changed_paths(_order(), after) == set()


def test_new_documents_count_by_type() -> None:
    after = _order(documents=[{"id": "d1", "document_type": "loa"},
                              {"id": "d2", "document_type": "loa"}])
    assert rules.changed_paths(_order(), after) == {"documents.loa"}


def test_unfixed_exceptions_name_the_first_field_of_each_code() -> None:
    codes = ["ACCOUNT_NUMBER_MISMATCH", "LOCATION_MISMATCH", "OSP_IRRESPONSIVE",
             "PASSCODE_PIN_INVALID"]
    unfixed = rules.unfixed_exceptions(codes, {"end_user", "end_user.service_address",
                                               "end_user.service_address.zip"})
    assert [field for field, _ in unfixed] == ["port_out.account_number"]
    assert "ACCOUNT_NUMBER_MISMATCH" in unfixed[0][1]
    assert rules.unfixed_exceptions(codes, {"port_out", "port_out.account_number",
                                            "end_user.service_address.line1"}) == []


def test_fields_to_fix_lists_each_once_with_the_shown_only_pin() -> None:
    assert rules.fields_to_fix(["POSTAL_CODE_MISMATCH", "LOCATION_MISMATCH",
                                "PASSCODE_PIN_INVALID", "OTHER"]) == [
        "end_user.service_address.zip", "end_user.service_address", "port_out.pin"]


def test_every_status_a_customer_sees_has_its_own_label() -> None:
    from porthook.ui import rules as ui_rules

    shown = [s for s in rules.OrderStatus if s != rules.OrderStatus.DELETED]
    labels = [ui_rules.customer_status(s) for s in shown]
    assert len(set(labels)) == len(shown)
    assert ui_rules.customer_status("exception").startswith("Action required")
