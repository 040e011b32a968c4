"""Turning a freshly recorded event into deliveries, in the event's transaction.

(Filled in by the delivery engine; until then events are only recorded.)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from porthook.events.models import Event


async def enqueue(session: AsyncSession, event: Event) -> None:
    del session, event
