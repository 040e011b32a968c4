from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from porthook.config import Settings
from porthook.delivery import ssrf
from porthook.problems import Unprocessable

STRICT = Settings(allow_private_targets=False)


@pytest.mark.parametrize(
    ("address", "refused_as"),
    [
        ("93.184.216.34", None),  # a public IPv4 address
        ("2606:2800:220:1:248:1893:25c8:1946", None),  # a public IPv6 address
        ("127.0.0.1", "loopback"),  # loopback
        ("127.255.0.9", "loopback"),  # all of 127/8
        ("::1", "loopback"),  # IPv6 loopback
        ("10.1.2.3", "private"),  # RFC 1918
        ("172.16.5.4", "private"),  # RFC 1918
        ("192.168.1.1", "private"),  # RFC 1918
        ("169.254.169.254", "link-local (cloud metadata)"),  # cloud metadata
        ("100.64.0.1", "carrier-grade NAT"),  # CGNAT
        ("fd00::1", "unique-local"),  # unique-local IPv6
        ("fe80::1", "link-local"),  # IPv6 link-local
        ("::ffff:127.0.0.1", "IPv4-mapped"),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", "IPv4-mapped"),  # IPv4-mapped anything
        ("64:ff9b::a00:1", "NAT64"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "6to4"),  # 6to4 of 127.0.0.1
        ("224.0.0.1", "multicast"),  # IPv4 multicast
        ("ff02::1", "multicast"),  # IPv6 multicast
        ("0.0.0.0", "unspecified"),  # unspecified IPv4
        ("::", "unspecified"),  # unspecified IPv6
        ("240.0.0.1", "reserved"),  # class E
        ("255.255.255.255", "reserved"),  # broadcast
    ],
)
def test_classify(address: str, refused_as: str | None) -> None:
    assert ssrf.classify(ipaddress.ip_address(address)) == refused_as


@pytest.mark.parametrize(
    ("settings", "address", "refused"),
    [
        (STRICT, "127.0.0.1", True),  # refused by default
        (Settings(allow_private_targets=True), "127.0.0.1", False),  # guard lifted
        (Settings(allowed_networks="127.0.0.0/8"), "127.0.0.1", False),  # network allowed
        (Settings(allowed_networks="127.0.0.0/8"), "10.0.0.1", True),  # only that network
    ],
)
def test_refusal_honours_settings(settings: Settings, address: str, refused: bool) -> None:
    assert (ssrf.refusal(ipaddress.ip_address(address), settings) is not None) is refused


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://93.184.216.34/hook", True),  # public literal
        ("http://127.0.0.1:8080/hook", False),  # loopback literal
        ("http://[::1]/hook", False),  # IPv6 loopback literal
        ("http://169.254.169.254/latest/meta-data", False),  # cloud metadata
        ("http://localhost/hook", False),  # loopback name
        ("http://api.localhost/hook", False),  # *.localhost
        ("ftp://93.184.216.34/hook", False),  # not http(s)
        ("/relative", False),  # not absolute
        ("https://does-not-resolve.invalid/hook", True),  # checked again at connect time
    ],
)
async def test_check_url(url: str, accepted: bool) -> None:
    if accepted:
        await ssrf.check_url(url, STRICT, field="url")
    else:
        with pytest.raises(Unprocessable) as raised:
            await ssrf.check_url(url, STRICT, field="url")
        assert raised.value.errors is not None
        assert raised.value.errors[0].field == "url"


# The bracketed forms published against other webhook senders: each names an
# inside address in a spelling a naive check reads as a name, or not at all.
@pytest.mark.parametrize(("url", "why"), [
    ("http://[fe80::1%25eth0]/", "link-local"),  # a zone id (%25 is "%")
    ("http://[fe80::1%25lo]:8080/hook", "link-local"),  # another zone, a port
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),  # IPv4-mapped loopback, dotted
    ("http://[::ffff:7f00:1]/", "IPv4-mapped"),  # the same in hex
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped"),  # mapped cloud metadata
    ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible (deprecated) loopback
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),  # ::1 spelt out
    ("http://[::]/", "unspecified"),  # the unspecified address
    ("http://[fd00::1]/", "unique-local"),  # a private IPv6 network
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64"),  # NAT64 of 169.254.169.254
])
async def test_bracketed_ipv6_literals_are_refused(url: str, why: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        await ssrf.check_url(url, STRICT, field="url")
    assert why in raised.value.detail


@pytest.mark.parametrize(("host", "why"), [
    ("fe80::1%eth0", "link-local"),  # yarl's URL.host keeps the zone id
    ("::ffff:7f00:1", "IPv4-mapped"),  # and spells mapped addresses in hex
    ("::7f00:1", "reserved"),  # IPv4-compatible
])
def test_sender_refuses_the_literals_yarl_gives_it(host: str, why: str) -> None:
    assert why in (ssrf.refused_literal(host, STRICT) or "")


class _FixedResolver(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [_result(host, address, port) for address in self.addresses]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> Any:
    return {"hostname": host, "host": address, "port": port, "family": socket.AF_INET,
            "proto": 0, "flags": 0}


async def test_resolver_returns_only_allowed_addresses() -> None:
    # DNS rebinding: the name answers a public and a private address; only the
    # public one is handed to the connector, so it is the one connected to.
    resolver = ssrf.GuardedResolver(STRICT, _FixedResolver("10.0.0.5", "93.184.216.34"))
    results = await resolver.resolve("rebind.test", 443)
    assert [r["host"] for r in results] == ["93.184.216.34"]


async def test_resolver_refuses_a_name_with_only_private_addresses() -> None:
    resolver = ssrf.GuardedResolver(STRICT, _FixedResolver("169.254.169.254"))
    with pytest.raises(OSError, match="refused"):
        await resolver.resolve("metadata.test", 80)
