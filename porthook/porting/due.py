"""Due work of porting orders: scheduled activations and draft expiry.

(Filled in with the porting domain.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from porthook.config import Settings


async def run_due_work(session: AsyncSession, *, now: datetime, settings: Settings) -> None:
    del session, now, settings
