"""E-mail rendering: readable, one per event type, escaped in HTML, never a secret."""

from __future__ import annotations

from typing import Any

import pytest

from porthook.delivery.formats.email import EmailContent, render_email
from porthook.events.types import EventType
from tests.unit.format_events import make_event, make_number, make_order

EXCEPTION_DETAIL = {"code": "ACCOUNT_NUMBER_MISMATCH",
                    "description": "Account number does not match that on the CSR"}


def _mail(event_type: str, data: dict[str, Any], **event_fields: Any) -> EmailContent:
    return render_email(make_event(event_type, data, **event_fields), account_name="Acme Telecom")


@pytest.mark.parametrize("event_type", [*EventType, "record.dids.inserted"])
def test_every_event_type_renders(event_type: str) -> None:
    order = make_order()
    mail = _mail(event_type, {"porting_order": order, "phone_numbers": order["phone_numbers"]})
    assert mail.subject.startswith("[Acme Telecom] ")
    assert mail.text.strip() and mail.html.lstrip().startswith("<!DOCTYPE html>")
    assert event_type in mail.text
    if event_type.startswith("porting_order."):
        assert "sr_3f9a2c" in mail.subject
        assert "1-alpha-2-bravo-3-charlie" in mail.text


def test_status_change_tells_the_new_status_and_details() -> None:
    order = make_order(status="exception", status_details=[EXCEPTION_DETAIL])
    mail = _mail("porting_order.status_changed",
                 {"porting_order": order, "previous_status": "submitted"})
    assert mail.subject == "[Acme Telecom] Porting order sr_3f9a2c is now Exception"
    assert "Previous status: Submitted" in mail.text
    assert "ACCOUNT_NUMBER_MISMATCH: Account number does not match that on the CSR" in mail.text
    assert "<strong>ACCOUNT_NUMBER_MISMATCH</strong>" in mail.html


def test_numbers_concerned_only() -> None:
    rejected = make_number(phone_number="+12125550111", status="rejected",
                           reject_reason="Number not portable")
    order = make_order(phone_numbers=[rejected, make_number(phone_number="+12125550122")])
    mail = _mail("porting_order.numbers_rejected",
                 {"porting_order": order, "phone_numbers": [rejected]})
    assert mail.subject == "[Acme Telecom] 1 number rejected on porting order sr_3f9a2c"
    assert "+12125550111" in mail.text and "Number not portable" in mail.text
    assert "+12125550122" not in mail.text


def test_comment_text_is_shown_and_escaped_in_html() -> None:
    comment = {"id": "c1", "body": "Please upload the <b>signed</b> LOA", "user_type": "admin",
               "user_id": None, "inserted_at": "2024-05-02T10:00:00Z"}
    mail = _mail("porting_order.new_comment", {"porting_order": make_order(), "comment": comment})
    assert "Comment from the porting desk:\nPlease upload the <b>signed</b> LOA" in mail.text
    assert "Please upload the &lt;b&gt;signed&lt;/b&gt; LOA" in mail.html
    assert "<b>signed</b>" not in mail.html


def test_split_names_the_number_and_both_orders() -> None:
    data = {"porting_order": make_order(), "from": {"id": "order-a"}, "to": {"id": "order-b"},
            "phone_number": "+12125550100"}
    mail = _mail("porting_order.split", data)
    for fact in ("Number moved: +12125550100", "From order: order-a", "To order: order-b"):
        assert fact in mail.text


def test_subject_is_one_line_whatever_the_data() -> None:
    order = make_order(support_key="sr_1\r\nBcc: victim@example.com")
    mail = render_email(make_event("porting_order.created", {"porting_order": order}),
                        account_name="Acme\nX-Injected: 1")
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_endpoint_event_uses_the_generic_template() -> None:
    data = {"endpoint": {"id": "e1", "url": "https://hooks.example.com/x", "password": "hunter2"},
            "reason": "every attempt failed for 5 days"}
    mail = _mail("endpoint.disabled", data, subject_type="endpoint", subject_id="e1")
    assert "https://hooks.example.com/x" in mail.subject and "disabled" in mail.subject
    assert "Reason: every attempt failed for 5 days" in mail.text
    assert "hunter2" not in mail.text + mail.html


def test_sms_enablement_result() -> None:
    data = {"did_id": "41", "number": "+12125550100", "status": "error",
            "verbose": "already provisioned"}
    mail = _mail("sms_enablement.completed", data, subject_type="dids", subject_id="41")
    assert "+12125550100" in mail.subject and "error" in mail.subject
    assert "verbose: already provisioned" in mail.text
