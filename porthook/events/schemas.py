from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Subject(BaseModel):
    type: str = Field(description="porting_order, endpoint, or a records schema such as dids")
    id: str


class EventPublic(BaseModel):
    id: uuid.UUID = Field(description="Stable across retries: deduplicate on it")
    type: str
    account_id: uuid.UUID
    subject: Subject
    sequence: int = Field(description="1, 2, 3... per subject, in order of the changes")
    occurred_at: datetime
    data: dict[str, Any]
