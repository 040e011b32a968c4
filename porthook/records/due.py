"""Due work of the records domain: carrying out queued SMS enablements.

Called by the worker's due-work loop, which commits after it. Pending requests
are claimed ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers
share them without doing one twice; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.events import service as events
from porthook.events.types import EventType
from porthook.records import rules, service
from porthook.records.models import SmsEnablement

SMS_BATCH_SIZE = 100  # requests per pass; the rest wait for the next pass


async def run_sms_enablements(session: AsyncSession, *, now: datetime) -> int:
    """Complete pending SMS enablements; returns how many were completed."""
    claim = (
        sa.select(SmsEnablement)
        .where(SmsEnablement.status == "pending")
        .order_by(SmsEnablement.requested_at, SmsEnablement.id)
        .limit(SMS_BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    requests = list((await session.scalars(claim)).all())
    for request in requests:
        await _complete(session, request, now=now)
    return len(requests)


async def _complete(session: AsyncSession, request: SmsEnablement, *, now: datetime) -> None:
    did = await service.get_record(session, account_id=request.account_id, schema="dids",
                                   record_id=request.did_id, for_update=True)
    outcome = rules.sms_enablement_outcome(number=did["number"], sms_enabled=did["sms_enabled"])
    if outcome.status == "success":
        # Through the generic update, so the change emits record.dids.updated like any other.
        await service.update_record(session, account_id=request.account_id, schema="dids",
                                    record_id=request.did_id, changes={"sms_enabled": True},
                                    now=now)
    request.status, request.result, request.verbose = "completed", outcome.status, outcome.verbose
    request.completed_at = now
    await events.record(
        session, account_id=request.account_id, type=EventType.SMS_ENABLEMENT_COMPLETED,
        subject_type="sms_enablement", subject_id=request.id,
        data={"did_id": request.did_id, "number": did["number"], "status": outcome.status,
              "verbose": outcome.verbose},
        occurred_at=now,
    )
