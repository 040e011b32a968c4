"""Status moves of porting orders: the customer's (submit, resubmit,
cancel, delete, on-demand activation), the rules every move goes through
(``ensure_allowed``, ``move``), and the one activation path.

Given a session; never commits. Every move goes out through
``outbox.publish``. The desk's moves are in ``desk.py``; reading and editing
an order in ``service.py``, which this module builds on (never the reverse).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.events.models import Event
from porthook.events.types import EventType
from porthook.porting import numbers, outbox, rules, service
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.porting.snapshot import number_public, snapshot
from porthook.problems import Conflict, FieldError, Unprocessable
from porthook.records import service as records

Status = rules.OrderStatus


def ensure_allowed(order: PortingOrder, action: rules.Action) -> rules.OrderStatus:
    """The status ``action`` leads to, or 409 naming the current status and the
    allowed moves."""
    current = Status(order.status)
    decision = rules.decide(current, action)
    if not decision.allowed or decision.target is None:
        raise Conflict(decision.message, extra={
            "current_status": current.value,
            "allowed_actions": [a.value for a in rules.allowed_actions(current)],
        })
    return decision.target


def move(order: PortingOrder, action: rules.Action) -> str:
    """Apply a status move (or raise 409); returns the previous status."""
    previous = order.status
    order.status = ensure_allowed(order, action)
    return previous


def status_changed(order: PortingOrder, previous: str) -> outbox.Change:
    return outbox.Change(order, EventType.PORTING_ORDER_STATUS_CHANGED,
                         {"previous_status": previous})


async def delete_order(
    session: AsyncSession, *, account_id: uuid.UUID | None, order_id: uuid.UUID, now: datetime
) -> PortingOrder:
    order = await service.get_order(session, order_id=order_id, account_id=account_id,
                                    for_update=True)
    await expire_draft(session, order=order, now=now)
    return order


async def expire_draft(session: AsyncSession, *, order: PortingOrder, now: datetime) -> None:
    """Soft-delete a draft (customer DELETE, or seed 001's 30 days untouched)."""
    before = outbox.baseline(order)
    move(order, rules.Action.DELETE)
    order.deleted_at = now
    change = outbox.Change(order, EventType.PORTING_ORDER_DELETED,
                           {"deleted_at": now.isoformat().replace("+00:00", "Z")})
    await outbox.publish(session, before=before, changes=[change], now=now)


async def submit_order(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> PortingOrder:
    order = await service.get_order(session, order_id=order_id, account_id=account_id,
                                    for_update=True)
    before = outbox.baseline(order)
    ensure_allowed(order, rules.Action.SUBMIT)
    missing = rules.missing_for_submit(snapshot(order))
    if missing:
        raise Unprocessable(
            f"the order is incomplete; missing: {', '.join(missing)}",
            errors=[FieldError(field=f, message="required to submit") for f in missing],
        )
    service.ensure_port_date(order.desired_port_date, time_zone=order.desired_port_time_zone,
                             now=now)
    previous = move(order, rules.Action.SUBMIT)
    await outbox.publish(session, before=before, changes=[status_changed(order, previous)],
                         now=now)
    return order


async def cancel_order(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> PortingOrder:
    order = await service.get_order(session, order_id=order_id, account_id=account_id,
                                    for_update=True)
    before = outbox.baseline(order)
    previous = move(order, rules.Action.CANCEL)
    await outbox.publish(session, before=before, changes=[status_changed(order, previous)],
                         now=now)
    return order


async def snapshot_at_exception(session: AsyncSession, order: PortingOrder) -> dict[str, Any]:
    """The order as it was when the desk raised its exception: the snapshot
    carried by its latest ``status_changed`` event (recorded in the outbox).
    Empty if that event is past the event retention: then every field set
    counts as changed, and the resubmit is not held back by what is gone."""
    data = await session.scalar(
        sa.select(Event.data)
        .where(Event.subject_id == str(order.id),
               Event.type == EventType.PORTING_ORDER_STATUS_CHANGED)
        .order_by(Event.position.desc()).limit(1)
    )
    return dict(data["porting_order"]) if data else {}


async def resubmit_order(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> PortingOrder:
    """The customer's way out of ``exception`` (seed 001: "when resolved, the
    order will transition back to a submitted status"): the order must be
    complete, and each exception code's fields changed since the desk raised
    it (422 naming them); its status details are then cleared."""
    order = await service.get_order(session, order_id=order_id, account_id=account_id,
                                    for_update=True)
    ensure_allowed(order, rules.Action.RESUBMIT)
    current = snapshot(order)
    changed = rules.changed_paths(await snapshot_at_exception(session, order), current)
    codes = [d["code"] for d in order.status_details]
    errors = [FieldError(field=f, message="required to resubmit")
              for f in rules.missing_for_submit(current)]
    errors += [FieldError(field=field, message=message)
               for field, message in rules.unfixed_exceptions(codes, changed)]
    if errors:
        raise Unprocessable("the order cannot be resubmitted yet: "
                            + "; ".join(f"{e.field}: {e.message}" for e in errors),
                            errors=errors)
    service.ensure_port_date(order.desired_port_date, time_zone=order.desired_port_time_zone,
                             now=now)
    before = outbox.baseline(order)
    previous = move(order, rules.Action.RESUBMIT)
    order.status_details = []
    await outbox.publish(session, before=before, changes=[status_changed(order, previous)],
                         now=now)
    return order


def select_numbers(
    order: PortingOrder, raws: Sequence[str] | None, move_: rules.NumberMove
) -> list[PortingNumber]:
    """The order's numbers named in ``raws`` (every number the move applies to
    when ``None``); 422 for numbers not on the order, 409 for wrong statuses."""
    if raws is None:
        return [n for n in order.numbers
                if rules.number_move_allowed(rules.NumberStatus(n.status), move_)]
    by_number = {n.phone_number: n for n in order.numbers}
    parsed = numbers.parse_all(raws)
    unknown = [FieldError(field="phone_numbers", message=f"{p.e164}: not on this order")
               for p in parsed if p.e164 not in by_number]
    if unknown:
        raise Unprocessable("; ".join(e.message for e in unknown), errors=unknown)
    chosen = [by_number[p.e164] for p in parsed]
    wrong = [f"{n.phone_number} is {n.status}" for n in chosen
             if not rules.number_move_allowed(rules.NumberStatus(n.status), move_)]
    if wrong:
        allowed = ", ".join(sorted(rules.NUMBER_MOVES[move_][0]))
        raise Conflict(f"cannot {move_.value} {'; '.join(wrong)} (only {allowed} numbers can be)")
    return chosen


def numbers_data(chosen: Sequence[PortingNumber]) -> dict[str, Any]:
    return {"phone_numbers": [number_public(n).model_dump(mode="json") for n in chosen]}


async def activate_numbers(
    session: AsyncSession, *, order: PortingOrder, phone_numbers: Sequence[str] | None,
    activate_user: str, now: datetime,
) -> list[PortingNumber]:
    """The one path of every activation (customer on demand, operator, scheduled).

    Activates the named confirmed numbers (all confirmed ones when ``None``),
    emits ``numbers_activated``, and ports the order once no confirmed number
    is left unactivated.
    """
    if order.status != Status.FOC_DATE_CONFIRMED:
        raise Conflict(f"numbers are activated once the order is foc-date-confirmed; "
                       f"porting order {order.id} is {order.status}")
    chosen = select_numbers(order, phone_numbers, rules.NumberMove.ACTIVATE)
    if not chosen:
        raise Conflict(f"porting order {order.id} has no confirmed number waiting for activation")
    before = outbox.baseline(order)
    for number in chosen:
        number.status = rules.NumberStatus.ACTIVATED
        number.activate_time = now
        number.activate_user = activate_user
    changes = [outbox.Change(order, EventType.PORTING_ORDER_NUMBERS_ACTIVATED,
                             numbers_data(chosen))]
    if rules.should_port(rules.NumberStatus(n.status) for n in order.numbers):
        changes.append(status_changed(order, move(order, rules.Action.PORT)))
        order.activation_due_at = None
    # PRODUCT.md "Records": activated port-ins become DIDs of the account
    # (record.dids.inserted, after the order's events), in this same
    # transaction and the same batch of events. No autoflush: the numbers'
    # changes go out in publish's flush, complete (holds included), once.
    with session.no_autoflush:
        dids = await records.new_ported_dids(
            session, account_id=order.account_id,
            numbers_e164=[n.phone_number for n in chosen], now=now)
    await outbox.publish(session, before=before, changes=changes, now=now, also=dids)
    return chosen


async def activate_on_demand(
    session: AsyncSession, *, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> PortingOrder:
    order = await service.get_order(session, order_id=order_id, account_id=account_id,
                                    for_update=True)
    if not order.on_demand_activation:
        raise Conflict("this order is activated at its desired port date and time; "
                       "actions/activate is for orders with on_demand_activation")
    await activate_numbers(session, order=order, phone_numbers=None,
                           activate_user="customer", now=now)
    return order
