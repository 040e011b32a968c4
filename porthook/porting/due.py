"""Due work of porting orders: scheduled activations and draft expiry.

Called by the worker's due-work loop with a session and ``now``; the worker
commits after it. Safe with several processes at once: due orders are claimed
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers anyway),
their state is re-checked after locking, and each pass handles bounded batches.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings
from porthook.porting import moves, rules
from porthook.porting.models import PortingOrder

log = logging.getLogger(__name__)

DUE_BATCH = 100  # orders per kind of work per pass
SYSTEM_USER = "system"
Status = rules.OrderStatus


def _claim(query: sa.Select[PortingOrder]) -> sa.Select[PortingOrder]:
    return (query.order_by(PortingOrder.order_number).limit(DUE_BATCH)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True))


async def activate_due_orders(session: AsyncSession, *, now: datetime) -> int:
    """Activate the confirmed numbers of scheduled orders whose moment has come."""
    due = await session.scalars(_claim(sa.select(PortingOrder).where(
        PortingOrder.status == Status.FOC_DATE_CONFIRMED,
        PortingOrder.on_demand_activation.is_(False),
        PortingOrder.activation_due_at <= now,
    )))
    done = 0
    for order in list(due):
        if order.status != Status.FOC_DATE_CONFIRMED or order.on_demand_activation:
            continue
        if not any(n.status == rules.NumberStatus.CONFIRMED for n in order.numbers):
            # Nothing to activate (all rejected or excluded): stop re-selecting it.
            order.activation_due_at = None
            continue
        await moves.activate_numbers(session, order=order, phone_numbers=None,
                                      activate_user=SYSTEM_USER, now=now)
        done += 1
    return done


async def expire_drafts(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Seed 001: a draft not submitted within 30 days is deleted."""
    cutoff = rules.draft_expiry_cutoff(now, settings.draft_expiry_days)
    stale = await session.scalars(_claim(sa.select(PortingOrder).where(
        PortingOrder.status == Status.DRAFT, PortingOrder.updated_at <= cutoff,
    )))
    done = 0
    for order in list(stale):
        if not rules.draft_expired(status=Status(order.status), updated_at=order.updated_at,
                                   now=now, expiry_days=settings.draft_expiry_days):
            continue
        await moves.expire_draft(session, order=order, now=now)
        done += 1
    return done


async def run_due_work(session: AsyncSession, *, now: datetime, settings: Settings) -> None:
    activated = await activate_due_orders(session, now=now)
    expired = await expire_drafts(session, now=now, settings=settings)
    if activated or expired:
        log.info("due work: %d orders activated, %d drafts expired", activated, expired)
