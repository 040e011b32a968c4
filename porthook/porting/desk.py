"""Use cases of the porting desk (operator): status moves, per-number moves,
splits and messaging status, on any account's order. Given a session; never commits.

Moving an order to foc-date-confirmed confirms its still-pending numbers with
that FOC date (one ``numbers_confirmed`` event): the carrier's FOC covers the
whole order, and a scheduled activation then has something to activate.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.events.types import EventType
from porthook.porting import defaults, moves, outbox, rules
from porthook.porting import service as orders
from porthook.porting.exception_types import EXCEPTION_TYPES
from porthook.porting.models import PortingDefaults, PortingNumber, PortingOrder
from porthook.porting.schemas import NumberMoveIn, StatusChange
from porthook.problems import Conflict, FieldError, Unprocessable

Status = rules.OrderStatus
NumberStatus = rules.NumberStatus
OPERATOR = "operator"
NUMBER_EVENTS = {
    rules.NumberMove.CONFIRM: EventType.PORTING_ORDER_NUMBERS_CONFIRMED,
    rules.NumberMove.REJECT: EventType.PORTING_ORDER_NUMBERS_REJECTED,
}


def _operator_action(order: PortingOrder, target: Status) -> rules.Action:
    action = rules.OPERATOR_TARGETS.get(target)
    if action is None:
        current = Status(order.status)
        allowed = [a.value for a in rules.allowed_actions(current)]
        raise Conflict(
            f"the desk moves orders to {', '.join(s.value for s in rules.OPERATOR_TARGETS)}, "
            f"not to {target.value}; porting order {order.id} is {current.value} "
            f"(allowed moves: {', '.join(allowed) or 'none'})",
            extra={"current_status": current.value, "allowed_actions": allowed},
        )
    moves.ensure_allowed(order, action)
    return action


def _exception_details(body: StatusChange) -> list[dict[str, str]]:
    if not body.details:
        raise Unprocessable("an exception needs details: at least one {code, description}",
                            errors=[FieldError(field="details", message="required")])
    unknown = [FieldError(field=f"details[{i}].code",
                          message=f"{d.code}: not in GET /v1/porting-exception-types")
               for i, d in enumerate(body.details) if d.code not in EXCEPTION_TYPES]
    if unknown:
        raise Unprocessable("unknown exception codes", errors=unknown)
    return [{"code": d.code, "description": d.description or EXCEPTION_TYPES[d.code]}
            for d in body.details]


async def change_status(
    session: AsyncSession, *, order_id: uuid.UUID, body: StatusChange, now: datetime
) -> PortingOrder:
    order = await orders.get_order(session, order_id=order_id, account_id=None, for_update=True)
    target = Status(body.status)
    action = _operator_action(order, target)
    details = _exception_details(body) if target == Status.EXCEPTION else []
    if target == Status.FOC_DATE_CONFIRMED and body.foc_date is None:
        raise Unprocessable("foc-date-confirmed needs the foc_date",
                            errors=[FieldError(field="foc_date", message="required")])
    # The defaults are read once, before the order changes: a query after a
    # change would autoflush it, one UPDATE more than the publish's.
    account_defaults = (await defaults.get_defaults(session, account_id=order.account_id)
                        if target == Status.FOC_DATE_CONFIRMED else None)
    before = outbox.baseline(order)
    changes = [moves.status_changed(order, moves.move(order, action))]
    order.status_details = details
    if target == Status.FOC_DATE_CONFIRMED and body.foc_date is not None:
        changes += _confirm_foc(order, _foc_moment(order, body.foc_date, account_defaults),
                                account_defaults)
    if target == Status.CANCELLED:
        for number in order.numbers:
            if number.status in (NumberStatus.PENDING, NumberStatus.CONFIRMED,
                                 NumberStatus.REJECTED):
                number.status = NumberStatus.CANCELED
    await outbox.publish(session, before=before, changes=changes, now=now)
    return order


def _confirm_foc(
    order: PortingOrder, foc_date: datetime, account_defaults: PortingDefaults | None
) -> list[outbox.Change]:
    order.foc_date = foc_date
    pending = [n for n in order.numbers if n.status == NumberStatus.PENDING]
    for number in pending:
        number.status = NumberStatus.CONFIRMED
        number.foc_date = foc_date
    order.activation_due_at = _activation_due_at(order, account_defaults)
    if not pending:
        return []
    return [outbox.Change(order, EventType.PORTING_ORDER_NUMBERS_CONFIRMED,
                          moves.numbers_data(pending))]


def _foc_moment(
    order: PortingOrder, foc_date: date | datetime, row: PortingDefaults | None
) -> datetime:
    return rules.foc_moment(
        foc_date, desired_time=order.desired_port_time, time_zone=order.desired_port_time_zone,
        default_time=row.default_port_time if row else None,
        default_time_zone=row.default_port_time_zone if row else None,
    )


def _activation_due_at(order: PortingOrder, row: PortingDefaults | None) -> datetime | None:
    if order.on_demand_activation:
        return None
    desired = order.desired_port_date or (order.foc_date.date() if order.foc_date else None)
    if desired is None:
        return None
    return rules.activation_moment(
        desired_date=desired, desired_time=order.desired_port_time,
        time_zone=order.desired_port_time_zone,
        default_time=row.default_port_time if row else None,
        default_time_zone=row.default_port_time_zone if row else None,
        foc_date=order.foc_date,
    )


async def move_numbers(
    session: AsyncSession, *, order_id: uuid.UUID, move: rules.NumberMove, body: NumberMoveIn,
    now: datetime,
) -> PortingOrder:
    order = await orders.get_order(session, order_id=order_id, account_id=None, for_update=True)
    if Status(order.status) not in rules.NUMBER_MOVE_ORDER_STATUSES[move]:
        allowed = ", ".join(sorted(rules.NUMBER_MOVE_ORDER_STATUSES[move]))
        raise Conflict(f"cannot {move.value} numbers of porting order {order.id}: it is "
                       f"{order.status} (numbers can be {move.value}ed in: {allowed})")
    if move == rules.NumberMove.ACTIVATE:
        await moves.activate_numbers(session, order=order, phone_numbers=body.phone_numbers,
                                      activate_user=OPERATOR, now=now)
        return order
    if move != rules.NumberMove.CONFIRM and not body.reason:
        raise Unprocessable(f"a reason is required to {move.value} numbers",
                            errors=[FieldError(field="reason", message="required")])
    chosen = moves.select_numbers(order, body.phone_numbers, move)
    foc_date = (_foc_moment(order, body.foc_date,
                            await defaults.get_defaults(session, account_id=order.account_id))
                if body.foc_date is not None else order.foc_date)
    before = outbox.baseline(order)
    for number in chosen:
        _apply_number_move(number, move, body.reason, foc_date, now)
    event = NUMBER_EVENTS.get(move)
    changes = [outbox.Change(order, event, moves.numbers_data(chosen)) if event else
               outbox.Change(order, EventType.PORTING_ORDER_UPDATED,
                             {"changed_fields": ["phone_numbers"]})]
    if order.status == Status.FOC_DATE_CONFIRMED and rules.should_port(
        NumberStatus(n.status) for n in order.numbers
    ):
        changes.append(moves.status_changed(order, moves.move(order, rules.Action.PORT)))
    await outbox.publish(session, before=before, changes=changes, now=now)
    return order


def _apply_number_move(
    number: PortingNumber, move: rules.NumberMove, reason: str | None,
    foc_date: datetime | None, now: datetime,
) -> None:
    number.status = rules.NUMBER_MOVES[move][1]
    if move == rules.NumberMove.CONFIRM:
        number.foc_date = foc_date
        number.reject_reason = None
        number.exclusion_time = None  # back on the order after a rejection
    elif move == rules.NumberMove.REJECT:
        number.reject_reason = reason
        # When it left the order: seed 000 dates a rejected number as an excluded one.
        number.exclusion_time = now
    else:
        number.exclusion_reason = reason
        number.exclusion_time = now


async def split_order(
    session: AsyncSession, *, order_id: uuid.UUID, phone_numbers: list[str], now: datetime
) -> PortingOrder:
    """Move some numbers into a new order (same fields, ``parent_order_id`` set);
    one ``porting_order.split`` event per number moved (seed 001)."""
    order = await orders.get_order(session, order_id=order_id, account_id=None, for_update=True)
    if Status(order.status) not in rules.SPLITTABLE_STATUSES:
        allowed = ", ".join(sorted(rules.SPLITTABLE_STATUSES))
        raise Conflict(f"porting order {order.id} is {order.status}; orders can be split "
                       f"while {allowed}")
    chosen = moves.select_numbers(order, phone_numbers, rules.NumberMove.EXCLUDE)
    if len(chosen) == len(order.numbers):
        raise Unprocessable("a split must leave at least one number on the original order",
                            errors=[FieldError(field="phone_numbers", message="all numbers")])
    before = outbox.baseline(order)
    child = _copy_order(order, support_key=await orders.new_support_key(session), now=now)
    session.add(child)
    for position, number in enumerate(chosen):
        # Explicit on both sides: the backref cannot remove from a collection
        # it has not loaded through ``number.order``.
        order.numbers.remove(number)
        child.numbers.append(number)
        number.position = position
    changes = [outbox.Change(child, EventType.PORTING_ORDER_CREATED)] + [
        outbox.Change(order, EventType.PORTING_ORDER_SPLIT, {
            "from": {"id": str(order.id)}, "to": {"id": str(child.id)},
            "phone_number": number.phone_number,
        }) for number in chosen
    ]
    await outbox.publish(session, before=before, changes=changes, now=now)
    return child


_COPIED = (
    "account_id", "customer_reference", "status", "status_details", "desired_port_date",
    "desired_port_time", "desired_port_time_zone", "on_demand_activation", "end_user",
    "port_out", "port_out_pin", "wireless_pin", "enable_messaging", "messaging_capable",
    "messaging_port_status", "webhook_url", "reseller_name", "foc_date", "activation_due_at",
    "status_changed_at",
)


def _copy_order(order: PortingOrder, *, support_key: str, now: datetime) -> PortingOrder:
    fields = {name: getattr(order, name) for name in _COPIED}
    return PortingOrder(id=db.new_id(), support_key=support_key, parent_order_id=order.id,
                        created_at=now, updated_at=now, numbers=[], comments=[], documents=[],
                        **fields)


async def set_messaging(
    session: AsyncSession, *, order_id: uuid.UUID, messaging_port_status: str, now: datetime
) -> PortingOrder:
    order = await orders.get_order(session, order_id=order_id, account_id=None, for_update=True)
    if not order.enable_messaging and messaging_port_status != "not_applicable":
        raise Conflict(f"messaging is not enabled on porting order {order.id}")
    if order.messaging_port_status == messaging_port_status:
        return order
    before = outbox.baseline(order)
    previous = order.messaging_port_status
    order.messaging_port_status = messaging_port_status
    change = outbox.Change(order, EventType.PORTING_ORDER_MESSAGING_CHANGED,
                           {"previous_messaging_port_status": previous})
    await outbox.publish(session, before=before, changes=[change], now=now)
    return order
