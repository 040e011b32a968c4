"""All settings in one class, read from ``PORTHOOK_*`` environment variables.

Nothing reads the environment at import time: ``Settings()`` is built by the CLI
(or by a test) and passed down explicitly.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Seed 001: the provider's retry habit is unknown; PRODUCT.md fixes ours at
# once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.6 h in all).
DEFAULT_RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)

SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# ``?starttls=`` of an smtp:// URL, as aiosmtplib's ``start_tls``: None upgrades
# only when the server offers STARTTLS, so a plain relay keeps working.
STARTTLS_MODES: dict[str, bool | None] = {"auto": None, "require": True, "off": False}


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SmtpTarget(NamedTuple):
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # smtps://: TLS from the first byte
    start_tls: bool | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=auto|require|off]``."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_DEFAULT_PORTS:
        raise ValueError(f"the SMTP URL must start with smtp:// or smtps://, "
                         f"not {parts.scheme + '://' if parts.scheme else 'no scheme'}")
    if not parts.hostname:
        raise ValueError("the SMTP URL names no host")
    implicit_tls = parts.scheme == "smtps"
    return SmtpTarget(
        hostname=parts.hostname, port=parts.port or SMTP_DEFAULT_PORTS[parts.scheme],
        # urlsplit leaves percent-escapes in: a password may hold "@", ":" or "/".
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=implicit_tls, start_tls=False if implicit_tls else _starttls(parts.query),
    )


def _starttls(query: str) -> bool | None:
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"starttls"})
    if unknown:
        raise ValueError(f"unknown SMTP URL option(s) {', '.join(unknown)}; only starttls")
    mode = options.get("starttls", ["auto"])[-1]
    if mode not in STARTTLS_MODES:
        raise ValueError(f"starttls={mode} in the SMTP URL: expected auto, require or off")
    return STARTTLS_MODES[mode]


class Settings(BaseSettings):
    # Inputs stay out of error messages: URLs carry passwords.
    model_config = SettingsConfigDict(env_prefix="PORTHOOK_", extra="ignore",
                                      hide_input_in_errors=True)

    database_url: str = "sqlite:///porthook.db"  # any SQLite URL runs on sqlite_driver
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: every line one JSON object

    # Effects: with no SMTP URL, mail is written as .eml files to mail_dir.
    smtp_url: str | None = None  # see parse_smtp_url
    smtp_ca_file: Path | None = None  # PEM CAs trusted for the SMTP server; unset: the system's
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
    # A claim's lease: the worker renews it (every third of it) while it holds
    # or sends the rows, so a worker killed mid-send has its rows taken over
    # by another within about this long. A send may outlast it.
    worker_lease_s: float = 10.0
    worker_poll_interval_s: float = 1.0
    # A claim woken by a NOTIFY waits until this long after the previous
    # claim began (delivery.rules.claim_delay_s): API writes trickling in
    # then share claims instead of paying one each. It adds at most this much
    # to the commit -> delivery latency, and only while wake-ups come faster
    # than one per gap. 0: claim at every NOTIFY.
    worker_notify_gap_s: float = Field(default=0.02, ge=0)
    due_work_interval_s: float = 5.0

    # A `porthook listen` listener not seen for this long is deleted with its
    # queued deliveries (delivery.listeners.drop_gone).
    listener_ttl_s: float = 3600.0
    event_retention_days: int = 30
    draft_expiry_days: int = 30
    idempotency_ttl_s: float = 24 * 3600.0
    # An API process trusts a key it found valid for this long without asking
    # the database again (accounts.keycache): a key revoked elsewhere (the
    # CLI, another API process) is refused within this many seconds; the
    # process that revokes it refuses it at once. 0: check every request.
    api_key_cache_s: float = Field(default=1.0, ge=0)
    # An Idempotency-Key's "in progress" claim lasts this long unless the
    # request holding it renews it (every third of it): a crashed process's
    # claim lapses within seconds and the client's retry runs.
    idempotency_lease_s: float = 10.0
    document_max_bytes: int = 10 * 1024 * 1024
    # Request bodies (porthook.bodies): a JSON body over max_body_bytes is a 413
    # before it is read; free-form JSON (flow_data, ...) nests max_json_depth deep.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4, le=500)

    # While the database cannot be reached the API answers 503 with this
    # Retry-After (PostgreSQL restarts in a few seconds).
    unavailable_retry_after_s: int = Field(default=5, ge=1)
    health_timeout_s: float = 3.0  # /healthz: a database slower than this is not ready

    # The dashboard (/ui). Its session cookie is marked Secure when public_url
    # is https (porthook behind a TLS-terminating proxy).
    ui_session_idle_s: float = 30 * 60.0  # signed out after this long without a request
    ui_session_max_s: float = 12 * 3600.0  # ... and this long after signing in, whatever
    portal_link_ttl_s: float = 15 * 60.0  # a one-time portal sign-in link is valid this long
    # CSP frame-ancestors of the customer portal: sites that may frame it
    # (e.g. "https://reseller.example"); the desk is never framed.
    ui_frame_ancestors: str = "'none'"

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value:
            parse_smtp_url(value)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("expected comma-separated non-negative seconds, e.g. 0,5,300")
        return value

    @property
    def ui_secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
