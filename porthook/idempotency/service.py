from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.idempotency.models import IdempotentRequest


async def purge_older_than(session: AsyncSession, *, before: datetime) -> None:
    """Forget answers past the TTL (a replay after it runs the request again)."""
    await session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.created_at < before))
