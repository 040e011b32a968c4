"""An order as the API shows it, which is also the snapshot its events carry."""

from __future__ import annotations

from typing import Any

from porthook.porting.models import PortingComment, PortingDocument, PortingNumber, PortingOrder
from porthook.porting.schemas import (
    CommentPublic,
    DeskCommentPublic,
    DocumentPublic,
    EndUser,
    Messaging,
    PhoneNumberPublic,
    PortingOrderPublic,
    PortingOrderSummary,
    PortOut,
    StatusDetail,
)


def number_public(number: PortingNumber) -> PhoneNumberPublic:
    return PhoneNumberPublic(
        id=number.id, phone_number=number.phone_number, country_code=number.country_code,
        status=number.status, reject_reason=number.reject_reason,
        exclusion_reason=number.exclusion_reason, exclusion_time=number.exclusion_time,
        foc_date=number.foc_date, activate_time=number.activate_time,
        activate_user=number.activate_user,
    )


def comment_public(comment: PortingComment) -> CommentPublic:
    return CommentPublic(
        id=comment.id, body=comment.body, user_type=comment.user_type,
        user_id=comment.user_id, inserted_at=comment.inserted_at,
    )


def customer_comments(order: PortingOrder) -> list[PortingComment]:
    """The comments the customer may see: every one but the desk's internal notes.
    The only way comments leave towards the customer (API, snapshot, events)."""
    return [c for c in order.comments if not c.internal]


def desk_comment_public(comment: PortingComment) -> DeskCommentPublic:
    return DeskCommentPublic(**comment_public(comment).model_dump(), internal=comment.internal)


def document_public(document: PortingDocument) -> DocumentPublic:
    return DocumentPublic(
        id=document.id, document_type=document.document_type,
        filename=document.filename, content_type=document.content_type, size=document.size,
        sha256=document.sha256, created_at=document.created_at,
    )


def _port_out(order: PortingOrder) -> PortOut:
    # The PINs are reduced to flags here: this is the only way out of the table.
    return PortOut(**order.port_out, pin_set=order.port_out_pin is not None,
                   wireless_pin_set=order.wireless_pin is not None)


def _summary_fields(order: PortingOrder) -> dict[str, Any]:
    # The fields of PortingOrderSummary, which PortingOrderPublic extends.
    return {
        "id": order.id, "order_number": order.order_number, "account_id": order.account_id,
        "support_key": order.support_key, "customer_reference": order.customer_reference,
        "status": order.status,
        "status_details": [StatusDetail(**d) for d in order.status_details],
        "desired_port_date": order.desired_port_date,
        "desired_port_time": order.desired_port_time,
        "desired_port_time_zone": order.desired_port_time_zone,
        "on_demand_activation": order.on_demand_activation, "webhook_url": order.webhook_url,
        "reseller_name": order.reseller_name, "foc_date": order.foc_date,
        "parent_order_id": order.parent_order_id, "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def to_public(order: PortingOrder) -> PortingOrderPublic:
    return PortingOrderPublic(
        **_summary_fields(order),
        end_user=EndUser(**order.end_user), port_out=_port_out(order),
        phone_numbers=[number_public(n) for n in order.numbers],
        messaging=Messaging(
            enable_messaging=order.enable_messaging, messaging_capable=order.messaging_capable,
            messaging_port_status=order.messaging_port_status,
        ),
        comments=[comment_public(c) for c in customer_comments(order)],
        documents=[document_public(d) for d in order.documents],
    )


def summary(order: PortingOrder) -> dict[str, Any]:
    """The JSON form of the order without its collections (``PortingOrderSummary``):
    reads none of them, so it needs none loaded."""
    return PortingOrderSummary(**_summary_fields(order)).model_dump(mode="json")


def snapshot(order: PortingOrder) -> dict[str, Any]:
    """The JSON form of ``to_public``: what ``data["porting_order"]`` holds."""
    return to_public(order).model_dump(mode="json")
