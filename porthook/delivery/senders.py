"""Effects of the delivery engine behind small interfaces: HTTP posts and mail.

``HttpSender`` holds one ``http_client.HttpClient`` (keep-alive connections,
the SSRF-guarded resolver), opened at start and closed at stop. Mail goes
through SMTP when ``settings.smtp_url`` is set, else to ``.eml`` files in
``settings.mail_dir`` so that nothing is lost and a person can read it.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import aiosmtplib
from yarl import URL

from porthook import urls
from porthook.config import Settings, SmtpTarget, parse_smtp_url
from porthook.delivery import http_client, signing, ssrf

USER_AGENT = "porthook-webhooks/0.1"
SMTP_TIMEOUT_S = 15.0
URL_CACHE_SIZE = 10_000  # distinct endpoint URLs remembered parsed
MESSAGE_ID_DOMAIN = "porthook.invalid"  # when the sender names no domain (RFC 6761)


class SendResult(NamedTuple):
    duration_ms: int
    status_code: int | None = None
    response_excerpt: str | None = None
    error: str | None = None
    retry_after: str | None = None


def webhook_headers(
    *, event_id: uuid.UUID, body: bytes, timestamp: datetime, secrets: list[str],
    credentials: dict[str, Any] | None, telnyx_key: bytes | None,
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """Standard Webhooks headers (``webhook-id`` is the event id on every retry),
    seed 001's ed25519 pair for telnyx endpoints, seed 000's basic/bearer auth,
    and the endpoint's ``custom`` headers (whose names never clash with these:
    ``rules.header_problems`` refuses reserved ones)."""
    headers = signing.sign_headers(str(event_id), timestamp, body, secrets)
    if custom:
        headers = {**custom, **headers}
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    if telnyx_key is not None:
        headers.update(signing.telnyx_headers(telnyx_key, timestamp, body))
    if credentials and credentials.get("type") == "basic":
        pair = f"{credentials['username']}:{credentials['password']}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif credentials and credentials.get("type") == "bearer":
        headers["authorization"] = f"Bearer {credentials['token']}"
    return headers


class HttpSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: http_client.HttpClient | None = None
        self._urls: dict[str, tuple[URL, str | None]] = {}

    async def start(self) -> None:
        self._client = http_client.HttpClient(
            ssrf.GuardedResolver(self._settings),
            connect_timeout_s=self._settings.connect_timeout_s,
            request_timeout_s=self._settings.request_timeout_s,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        assert self._client is not None, "HttpSender.start() was not called"
        started = time.perf_counter()
        target, refused = self._parsed(url)
        if refused:
            return SendResult(duration_ms=0, error=f"refused target: {refused}")
        try:
            response = await self._client.post(target, body, headers)
        except TimeoutError:
            return SendResult(duration_ms=_ms_since(started), error="timed out")
        except http_client.RequestError as error:
            return SendResult(duration_ms=_ms_since(started), error=str(error))
        except (OSError, ValueError) as error:
            return SendResult(duration_ms=_ms_since(started),
                              error=f"{type(error).__name__}: {error}")
        return SendResult(
            duration_ms=_ms_since(started), status_code=response.status,
            response_excerpt=response.excerpt.decode("utf-8", errors="replace"),
            retry_after=response.retry_after,
        )

    def _parsed(self, url: str) -> tuple[URL, str | None]:
        """The URL parsed and its IP-literal check, once per URL, not per call."""
        known = self._urls.get(url)
        if known is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            try:
                parsed = urls.parse_http_url(url)
            except ValueError as exc:  # stored before porthook refused such URLs
                known = self._urls[url] = (URL(), f"not a URL that can be sent: {exc}")
                return known
            known = self._urls[url] = (parsed, ssrf.refused_literal(parsed.host or "",
                                                                     self._settings))
        return known


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailSender:
    def __init__(self, target: SmtpTarget, *, ca_file: Path | None = None) -> None:
        self._target = target
        self._ca_file = str(ca_file) if ca_file is not None else None

    async def send(self, message: EmailMessage) -> None:
        target = self._target
        await aiosmtplib.send(message, hostname=target.hostname, port=target.port,
                              username=target.username, password=target.password,
                              use_tls=target.use_tls, start_tls=target.start_tls,
                              cert_bundle=self._ca_file, timeout=SMTP_TIMEOUT_S)


class FileMailSender:
    """No SMTP configured: one ``.eml`` file per message, readable by a person."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self._directory / (name + ".tmp")
        temporary.write_bytes(message.as_bytes())
        # Rename last, so a reader never sees half a message.
        temporary.rename(self._directory / name)


def mail_sender(settings: Settings) -> MailSender:
    if settings.smtp_url:
        return SmtpMailSender(parse_smtp_url(settings.smtp_url), ca_file=settings.smtp_ca_file)
    return FileMailSender(settings.mail_dir)


def build_message(
    *, sender: str, to: str, subject: str, text: str, sent_at: datetime,
    html: str | None = None, message_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """An RFC 5322 message: ``Date`` and ``Message-ID`` included, which large
    receivers require (a message without them is often refused as spam).

    ``message_key`` makes the Message-ID stable (``<key@sender's domain>``): a
    retry of one notification then carries the same id, so a mail store that
    got the first try too keeps one copy. Without it the id is unique.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(sent_at.astimezone(UTC))
    message["Message-ID"] = message_id(sender, message_key)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def message_id(sender: str, key: str | None) -> str:
    """``<key@domain>``, the domain taken from the sender's address (RFC 5322 3.6.4)."""
    _, address = email.utils.parseaddr(sender)
    domain = address.rpartition("@")[2] or MESSAGE_ID_DOMAIN
    if key is None:
        return email.utils.make_msgid(domain=domain)
    return f"<{key}@{domain}>"
