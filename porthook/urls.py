"""HTTP URLs given to porthook (webhook targets, links in records), parsed once
with yarl: the parser the worker later sends them with, so a URL accepted here is
one the sender can send, and the host checked by the SSRF guard is the host
connected to.

``parse_http_url`` refuses what yarl or the socket layer cannot use: hosts the
IDNA codec rejects (``a..b``, labels over 63 characters, a bare ``xn--``),
ports outside 1-65535, backslashes in the authority (read as a path by some
parsers and as userinfo by others: ``http://127.0.0.1:1\\@example.com/``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from yarl import URL

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
EXPECTED = "expected an absolute http:// or https:// URL such as https://example.com/hook"
# RFC 1123 labels (underscores kept: some DNS names carry them), after IDNA.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_literal(url: URL) -> Address | None:
    """The address of an IP-literal host (an IPv6 zone id kept), else ``None``."""
    try:
        return ipaddress.ip_address(url.host or "")
    except ValueError:
        return None


def _check_dns_name(host: str) -> None:
    try:
        # What socket.getaddrinfo does with the name when the worker resolves it.
        host.encode("idna")
    except UnicodeError:
        raise ValueError(f"{EXPECTED}: the host {host} is not a valid domain name "
                         "(an empty label or one over 63 characters)") from None
    labels = host.rstrip(".").split(".")
    if len(host) > MAX_HOST_LENGTH or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{EXPECTED}: the host {host} is not a valid domain name "
                         "(letters, digits and hyphens, dot-separated)")
    for label in labels:
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                raise ValueError(f"{EXPECTED}: {label} in the host is not valid "
                                 "punycode") from None


def parse_http_url(text: str) -> URL:
    """``text`` as yarl reads it, or ``ValueError`` saying why it cannot be sent."""
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"{EXPECTED}, at most {MAX_URL_LENGTH} characters")
    try:
        url = URL(text)
        host = url.raw_host
        port = url.port
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"{EXPECTED}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.is_absolute() or not host:
        raise ValueError(EXPECTED)
    if not port:
        raise ValueError(f"{EXPECTED}: port 0 cannot be connected to")
    if ip_literal(url) is None:
        _check_dns_name(host)
    return url


def _checked(text: str) -> str:
    try:
        parse_http_url(text)
    except ValueError as exc:
        # A custom error keeps the message as written: "expected ...".
        raise PydanticCustomError("url", str(exc)) from None
    return text


HttpUrl = Annotated[
    str, Field(max_length=MAX_URL_LENGTH, examples=["https://example.com/hook"]),
    AfterValidator(_checked),
]
"""An http(s) URL that porthook can send to (checked by ``parse_http_url``);
stored as given. Empty is not a URL: send null for none."""
