"""``PORTHOOK_SMTP_URL``: how mail reaches the server, and the URLs refused at start-up."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from porthook.config import Settings, SmtpTarget, parse_smtp_url


@pytest.mark.parametrize(("url", "expected"), [
    # A plain relay: STARTTLS only if the server offers it.
    ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25, None, None, False, None)),
    # Submission port with credentials; STARTTLS insisted on.
    ("smtp://bot:pw@mail.example.com:587?starttls=require",
     SmtpTarget("mail.example.com", 587, "bot", "pw", False, True)),
    # A relay that advertises STARTTLS with a broken certificate: forced off.
    ("smtp://relay.internal:2525?starttls=off",
     SmtpTarget("relay.internal", 2525, None, None, False, False)),
    # The default mode written out.
    ("smtp://relay.internal?starttls=auto",
     SmtpTarget("relay.internal", 25, None, None, False, None)),
    # Implicit TLS on its default port; STARTTLS makes no sense inside TLS.
    ("smtps://mail.example.com", SmtpTarget("mail.example.com", 465, None, None, True, False)),
    # Implicit TLS on another port.
    ("smtps://mail.example.com:2465",
     SmtpTarget("mail.example.com", 2465, None, None, True, False)),
    # Percent-escaped "@", ":" and "/" in the user name and password are decoded.
    ("smtps://ops%40acme.test:p%40ss%3Aw%2Frd@mail.example.com",
     SmtpTarget("mail.example.com", 465, "ops@acme.test", "p@ss:w/rd", True, False)),
    # A user name alone (the server may not need a password).
    ("smtp://bot@127.0.0.1:1025", SmtpTarget("127.0.0.1", 1025, "bot", None, False, None)),
    # An IPv6 literal.
    ("smtp://[::1]:1025", SmtpTarget("::1", 1025, None, None, False, None)),
])
def test_parse_smtp_url(url: str, expected: SmtpTarget) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(("url", "message"), [
    # Not an SMTP URL at all.
    ("http://mail.example.com", "must start with smtp:// or smtps://, not http://"),
    # A bare host name, as people often write it.
    ("mail.example.com:25", "must start with smtp:// or smtps://"),
    # No host.
    ("smtp://:25", "names no host"),
    # A typo in the mode.
    ("smtp://mail.example.com?starttls=yes", "expected auto, require or off"),
    # An option porthook does not know.
    ("smtp://mail.example.com?tls=1", "unknown SMTP URL option(s) tls"),
    # A port that is no number.
    ("smtp://mail.example.com:smtp", "Port could not be cast"),
])
def test_bad_smtp_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_smtp_url(url)


def test_settings_refuse_a_bad_smtp_url_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_url="smtp://bot:hunter2@mail.example.com?starttls=maybe")
    assert "starttls=maybe in the SMTP URL: expected auto, require or off" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_settings_accept_no_smtp_url() -> None:
    assert Settings(smtp_url=None).smtp_url is None
    assert Settings(smtp_url="").smtp_url == ""
