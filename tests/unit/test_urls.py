"""Webhook URLs are parsed once, by yarl (aiohttp's parser): accepted only when
the sender can send them."""

from __future__ import annotations

import pytest

from porthook.urls import parse_http_url


@pytest.mark.parametrize("url", [
    "https://example.com/hook",  # the common case
    "http://hooks.example.com:8443/a/b?c=d",  # a port, a query
    "https://user:pass@example.com/",  # userinfo (sent as Basic auth)
    "https://exämple.com/",  # an IDN, sent as punycode
    "https://xn--exmple-cua.com/",  # the same, already punycode
    "http://93.184.215.14/hook",  # an IPv4 literal
    "http://[2606:2800:220:1:248:1893:25c8:1946]/",  # a bracketed IPv6 literal
    "http://[fe80::1%25eth0]/",  # a zone id: parsed here, refused by the SSRF guard
])
def test_sendable_urls_are_accepted(url: str) -> None:
    assert parse_http_url(url).host


@pytest.mark.parametrize(("url", "why"), [
    ("http://a..b/", "not a valid domain name"),  # an empty label (the IDNA codec)
    ("http://" + "a" * 64 + ".com/", "not a valid domain name"),  # a label over 63
    ("http://x.com:99999/", "Port out of range"),  # no such port
    ("http://x.com:0/", "port 0"),  # a port nothing listens on
    ("http://xn--/", "not a valid domain name"),  # a bare ACE prefix
    ("http://xn--zz.com/", "not valid punycode"),  # an ACE label that decodes to nothing
    ("http://127.0.0.1:1\\@example.com/", "backslash"),  # read differently by other parsers
    ("http://exa mple.com/", "not a valid domain name"),  # a space in the host
    ("http://-a.com/", "not a valid domain name"),  # a label starting with a hyphen
    ("http://[::1/", "Invalid IPv6"),  # an unclosed bracket
    ("", "absolute http://"),  # empty is not a URL (send null for none)
    ("javascript:alert(1)", "absolute http://"),  # not HTTP
    ("ftp://example.com/", "absolute http://"),  # not HTTP
    ("//example.com/hook", "absolute http://"),  # no scheme
    ("https://example.com/" + "a" * 2048, "at most 2048"),  # too long to store
])
def test_urls_the_sender_cannot_send_are_refused(url: str, why: str) -> None:
    with pytest.raises(ValueError, match="expected an absolute http") as raised:
        parse_http_url(url)
    assert why in str(raised.value)
