"""Mail through a real SMTP server: the ways of ``PORTHOOK_SMTP_URL`` (plain,
STARTTLS, implicit TLS, escaped credentials) seen through ``actions/test``,
and SMTP refusals reported by it as a failed attempt."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.web import create_app
from tests.conftest import AccountFactory
from tests.functional.delivery_support import create_endpoint
from tests.functional.smtp_support import Inbox, accept_any_login, self_signed, smtp_server

REFUSAL_DELAY_S = 0.05


@contextlib.asynccontextmanager
async def api(settings: Settings, database: Database, clock: ShiftableClock,
              ) -> AsyncIterator[httpx.AsyncClient]:
    """The API with these settings (the ``client`` fixture's has no SMTP URL)."""
    app = create_app(settings, clock=clock, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porthook.test") as client:
        yield client


async def run_test_action(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
    smtp_url: str, ca_file: Path | None = None,
) -> dict[str, Any]:
    """Create an e-mail endpoint and run ``actions/test`` on it, mailing through ``smtp_url``."""
    with_smtp = settings.model_copy(update={"smtp_url": smtp_url, "smtp_ca_file": ca_file})
    _, headers = await make_account()
    async with api(with_smtp, database, clock) as client:
        endpoint = await create_endpoint(client, headers, channel="email",
                                         email_address="noc@acme.example.com")
        response = await client.post(f"/v1/endpoints/{endpoint['id']}/actions/test",
                                     headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_plain_server_with_escaped_credentials(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
) -> None:
    inbox = Inbox()
    # No STARTTLS offered, so the default mode sends in the clear (and AUTH is
    # then only advertised if the server allows it without TLS).
    with smtp_server(inbox, authenticator=accept_any_login, auth_require_tls=False) as port:
        result = await run_test_action(settings, database, clock, make_account,
                                       f"smtp://ops%40acme.test:p%40ss%3Aw%2Frd@127.0.0.1:{port}")
    assert (result["success"], result["error"]) == (True, None)
    [arrived] = inbox.arrived
    assert arrived.recipients == ["noc@acme.example.com"]
    assert arrived.login == ("ops@acme.test", "p@ss:w/rd")
    assert arrived.over_tls is False


async def test_refused_recipient_is_a_failed_attempt(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
) -> None:
    inbox = Inbox(refuse_recipients=True, refuse_after_s=REFUSAL_DELAY_S)
    with smtp_server(inbox) as port:
        result = await run_test_action(settings, database, clock, make_account,
                                       f"smtp://127.0.0.1:{port}")
    assert result["success"] is False
    assert result["error"].startswith("SMTPRecipientsRefused")
    assert "no such mailbox here" in result["error"]
    # The exchange was timed, not reported as 0: the refusal alone took this long.
    assert result["duration_ms"] >= REFUSAL_DELAY_S * 1000
    assert inbox.arrived == []


async def test_required_starttls_not_offered_is_a_failed_attempt(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        result = await run_test_action(settings, database, clock, make_account,
                                       f"smtp://127.0.0.1:{port}?starttls=require")
    assert result["success"] is False
    assert "STARTTLS" in result["error"]
    assert inbox.arrived == []


@pytest.mark.parametrize(("scheme", "query", "server_tls", "over_tls"), [
    # The server offers STARTTLS: the default mode takes it.
    ("smtp", "", "starttls", True),
    # Offered but forced off (a relay with a certificate nobody can check).
    ("smtp", "?starttls=off", "starttls", False),
    # Offered and required.
    ("smtp", "?starttls=require", "starttls", True),
    # TLS from the first byte.
    ("smtps", "", "implicit", True),
])
async def test_tls_modes(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
    tmp_path: Path, scheme: str, query: str, server_tls: str, over_tls: bool,
) -> None:
    certificate = self_signed(tmp_path)
    option = "tls_context" if server_tls == "starttls" else "ssl_context"
    inbox = Inbox()
    with smtp_server(inbox, **{option: certificate.server_context}) as port:
        # The server's certificate is verified, against the CA file setting.
        result = await run_test_action(settings, database, clock, make_account,
                                       f"{scheme}://127.0.0.1:{port}{query}",
                                       ca_file=certificate.path)
    assert (result["success"], result["error"]) == (True, None)
    [arrived] = inbox.arrived
    assert arrived.over_tls is over_tls


async def test_untrusted_certificate_is_a_failed_attempt(
    settings: Settings, database: Database, clock: ShiftableClock, make_account: AccountFactory,
    tmp_path: Path,
) -> None:
    certificate = self_signed(tmp_path)
    inbox = Inbox()
    with smtp_server(inbox, ssl_context=certificate.server_context) as port:
        result = await run_test_action(settings, database, clock, make_account,
                                       f"smtps://127.0.0.1:{port}")
    assert result["success"] is False
    assert "CERTIFICATE_VERIFY_FAILED" in result["error"]
    assert inbox.arrived == []
