"""SSRF guard for webhook targets.

Two gates, one classification:

* ``check_url`` when a URL is accepted (endpoint, per-order ``webhook_url``,
  porting defaults): raises ``Unprocessable`` naming the field.
* ``GuardedResolver`` at connect time: the worker's HTTP client
  (``http_client``) asks it for the addresses of a
  host, it resolves once, drops refused addresses and returns only the allowed
  ones, so the address checked is the address connected to (a DNS answer that
  changes between check and connect — DNS rebinding — gains nothing). IP
  literals are refused by the sender with ``refused_literal`` before any
  connection, with a message that names the rule.

``settings.allow_private_targets`` lifts the guard; ``settings.allowed_networks``
allows chosen networks (tests, on-premise receivers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from porthook import urls
from porthook.config import Settings
from porthook.problems import FieldError, Unprocessable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

CREATION_DNS_TIMEOUT_S = 2.0  # a name that does not resolve in time is checked at connect

# Named so the refusal tells the user which rule applied.
REFUSED_NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "NAT64"),
    ("100::/64", "reserved"),
    ("2001:db8::/32", "reserved"),
    ("2002::/16", "6to4"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
_NETWORKS = tuple((ipaddress.ip_network(net), why) for net, why in REFUSED_NETWORKS)


def classify(address: Address) -> str | None:
    """Why an address is refused as a webhook target, or ``None`` if it is public."""
    for network, why in _NETWORKS:
        if address.version == network.version and address in network:
            return why
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_reserved or address.is_loopback or address.is_link_local or address.is_private:
        return "reserved"
    return None


def refusal(address: Address, settings: Settings) -> str | None:
    if settings.allow_private_targets:
        return None
    if any(address in network for network in settings.allowed_networks
           if address.version == network.version):
        return None
    return classify(address)


def _literal(host: str) -> Address | None:
    # yarl's host: IPv6 without brackets, a zone id (fe80::1%eth0) kept; a
    # scoped address still belongs to its network (fe80::/10 is link-local).
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refused_literal(host: str, settings: Settings) -> str | None:
    """For IP-literal hosts (which skip the resolver): why they are refused.
    ``host`` is yarl's ``URL.host``, as the HTTP client connects to it."""
    address = _literal(host)
    if address is None:
        return None
    why = refusal(address, settings)
    return f"{address} is a {why} address" if why else None


def _problem(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


async def _resolve(host: str) -> list[Address]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), CREATION_DNS_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_url(url: str, settings: Settings, *, field: str = "url") -> None:
    try:
        parsed = urls.parse_http_url(url)
    except ValueError as exc:
        raise _problem(field, str(exc)) from None
    if settings.allow_private_targets:
        return
    host = parsed.host or ""
    literal = urls.ip_literal(parsed)
    if literal is not None:
        addresses = [literal]
    elif host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise _problem(field, f"{host} is a loopback name; webhooks must reach a public host")
    else:
        # A name that does not resolve now is accepted: the connect-time guard
        # checks whatever it resolves to when the webhook is actually sent.
        addresses = await _resolve(parsed.raw_host or host)
    for address in addresses:
        why = refusal(address, settings)
        if why:
            raise _problem(field, f"{host} resolves to {address}, a {why} address; "
                                  "webhooks must reach a public host")


class GuardedResolver(AbstractResolver):
    """Resolves once and hands the HTTP client only the allowed addresses
    (an aiohttp resolver: its ``ThreadedResolver`` does the lookup)."""

    def __init__(self, settings: Settings, inner: AbstractResolver | None = None) -> None:
        self._settings = settings
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [
            result for result in results
            if refusal(ipaddress.ip_address(result["host"].split("%")[0]), self._settings) is None
        ]
        if not allowed:
            refused = ", ".join(result["host"] for result in results)
            raise OSError(f"{host} resolves only to refused addresses ({refused})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
