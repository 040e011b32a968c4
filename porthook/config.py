"""All settings in one class, read from ``PORTHOOK_*`` environment variables.

Nothing reads the environment at import time: ``Settings()`` is built by the CLI
(or by a test) and passed down explicitly.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Seed 001: the provider's retry habit is unknown; PRODUCT.md fixes ours at
# once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.6 h in all).
DEFAULT_RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTHOOK_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///porthook.db"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"

    # Effects: with no SMTP URL, mail is written as .eml files to mail_dir.
    smtp_url: str | None = None
    mail_dir: Path = Path("mail")
    mail_from: str = "porthook <porthook@localhost>"
    public_url: str = "http://127.0.0.1:8080"

    # SSRF guard: private targets are refused unless allowed here.
    allow_private_targets: bool = False
    allowed_networks: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = (
        Field(default_factory=list)
    )

    retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_RETRY_SCHEDULE_S
    retry_jitter: float = 0.2
    retry_after_max_s: float = 3600.0
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 15.0
    endpoint_concurrency: int = 8
    endpoint_failing_after_s: float = 15 * 60.0  # failing this long: endpoint.failing
    disable_after_failing_s: float = 5 * 24 * 3600.0
    secret_rotation_overlap_s: float = 24 * 3600.0

    worker_batch_size: int = 200
    worker_concurrency: int = 256
    worker_lease_s: float = 60.0
    worker_poll_interval_s: float = 1.0
    due_work_interval_s: float = 5.0

    event_retention_days: int = 30
    draft_expiry_days: int = 30
    idempotency_ttl_s: float = 24 * 3600.0
    document_max_bytes: int = 10 * 1024 * 1024

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("expected comma-separated non-negative seconds, e.g. 0,5,300")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
