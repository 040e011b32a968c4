"""The worker's HTTP/1.1 client: one POST per call over kept-alive connections.

Why not aiohttp's ``ClientSession`` here: a webhook call is the worker's
whole job, and the session's generality (cookies, redirects, tracing, proxy
and auth hooks, multidict headers, a ``StreamReader`` per response) cost 66
to 88 us of CPU per request on the reference machine, against 16 to 19 us for
this client on the same sink (issue 17: the HTTP call alone was half a
delivery's cost and the floor under the worker's rate). What a webhook call
needs is small: write one request, read a status, one header and at most
``EXCERPT_BYTES`` of the body. The parsing is httptools' (llhttp, the parser
uvicorn serves with), the connection and TLS are asyncio's; this module only
writes the request head and keeps the connections.

Behaviour, as the old session's:

* the SSRF guard chooses the addresses: ``ssrf.GuardedResolver`` resolves a
  name once and returns only allowed addresses, which are the ones connected
  to (IP literals are checked by the sender before they get here);
* TLS with the system's trust store and the URL's host name checked;
* redirects are not followed (a 3xx is the receiver's answer);
* ``request_timeout_s`` bounds the whole call, ``connect_timeout_s`` the
  connect; a call that timed out after the status arrived reports the status;
* no ``Accept-Encoding`` is sent, so the excerpt is what the receiver wrote;
* a kept-alive connection the receiver closed while idle is found on reuse:
  the call is made once more on a new connection, but only when nothing of
  an answer had arrived (the receiver never answered the first write);
* idle connections are closed after ``KEEPALIVE_S``, as aiohttp's were.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from typing import NamedTuple, cast

import httptools
from yarl import URL

from porthook.delivery import ssrf

EXCERPT_BYTES = 1024  # only this much of a response is kept
DRAIN_BYTES = 64 * 1024  # a body past this is not read: the connection is closed instead
RETRY_AFTER_CHARS = 100  # longer is not a Retry-After value
KEEPALIVE_S = 15.0  # an idle connection is closed after this (aiohttp's default)
DNS_TTL_S = 10.0  # a name's allowed addresses are reused this long
DNS_CACHE_SIZE = 10_000
# Calls' deadlines are checked this many times per request timeout (a call
# times out up to a tenth of its timeout late, at most a second): one timer
# for all calls, where ``asyncio.timeout`` per call cost a tenth of the call.
WATCH_SHARE = 10

_Key = tuple[str, str, int]  # scheme, host, port


class Response(NamedTuple):
    status: int
    excerpt: bytes
    retry_after: str | None


class RequestError(Exception):
    """The call got no answer: what went wrong, as the attempt log shows it."""


class _Lost(RequestError):
    """The connection closed before any byte of an answer."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: one request at a time, its answer parsed
    by httptools as it arrives."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._excerpt = bytearray()
        self._body_bytes = 0
        self._retry_after: str | None = None
        self._status = 0  # once the status line and headers are in
        self._answered = False  # a byte of the answer arrived
        self.reusable = False
        self.idle_since = 0.0
        self.deadline = 0.0

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.close()  # bytes nobody asked for: the next answer could not be told apart
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            self._fail(RequestError(f"the answer is not HTTP/1.x: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.reusable = False
        if self._status:
            # No Content-Length and not chunked: the body ends with the connection.
            self._finish()
        elif self._answered:
            self._fail(RequestError("the connection closed in the middle of the answer"))
        else:
            self._fail(_Lost("the connection closed before an answer"
                             + (f": {exc}" if exc else "")))

    # --- httptools callbacks ---------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 11 and name.lower() == b"retry-after":
            self._retry_after = value[:RETRY_AFTER_CHARS].decode("latin-1")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200:
            self._status = status
        else:
            self._retry_after = None  # a 1xx interim answer: the real one follows

    def on_body(self, body: bytes) -> None:
        if len(self._excerpt) < EXCERPT_BYTES:
            self._excerpt += body[:EXCERPT_BYTES - len(self._excerpt)]
        self._body_bytes += len(body)
        if self._body_bytes > DRAIN_BYTES:
            self._finish(close=True)

    def on_message_complete(self) -> None:
        if self._status:
            self._finish(close=not self._parser.should_keep_alive())

    # --- the client's side -----------------------------------------------------------

    def send(self, data: bytes, deadline: float) -> asyncio.Future[Response]:
        assert self._transport is not None and self._waiter is None
        self.deadline = deadline
        self._waiter = asyncio.get_running_loop().create_future()
        self._excerpt = bytearray()
        self._body_bytes, self._status, self._answered = 0, 0, False
        self._retry_after = None
        self.reusable = False
        self._transport.write(data)
        return self._waiter

    def expire(self) -> None:
        """The call's time is up: the answer so far if its status arrived,
        else ``TimeoutError``; the connection is closed either way."""
        waiter = self._waiter
        self.close()
        if waiter is None or waiter.done():
            return
        if self._status:
            waiter.set_result(Response(self._status, bytes(self._excerpt), self._retry_after))
        else:
            waiter.set_exception(TimeoutError())

    def fresh(self, now: float) -> bool:
        """Still open, and idle for less than ``KEEPALIVE_S``."""
        return (self._transport is not None and not self._transport.is_closing()
                and now - self.idle_since < KEEPALIVE_S)

    def close(self) -> None:
        self._waiter = None
        self.reusable = False
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _finish(self, *, close: bool = False) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        self.reusable = not close and self._transport is not None
        if close:
            self.close()
        waiter.set_result(Response(self._status, bytes(self._excerpt), self._retry_after))

    def _fail(self, error: RequestError) -> None:
        waiter = self._waiter
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class HttpClient:
    """POSTs over connections kept per scheme, host and port."""

    def __init__(self, resolver: ssrf.GuardedResolver, *, connect_timeout_s: float,
                 request_timeout_s: float, tls: ssl.SSLContext | None = None) -> None:
        self._resolver = resolver
        self._connect_timeout_s = connect_timeout_s
        self._request_timeout_s = request_timeout_s
        self._idle: dict[_Key, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._addresses: dict[tuple[str, int], tuple[float, list[tuple[str, int]]]] = {}
        self._tls = tls  # None: the system's trust store, loaded at the first https call
        self._sweeper: asyncio.TimerHandle | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_s = min(1.0, request_timeout_s / WATCH_SHARE)

    async def post(self, url: URL, body: bytes, headers: dict[str, str]) -> Response:
        """The receiver's answer; ``RequestError`` or ``TimeoutError`` without one."""
        request = _request(url, body, headers)
        key = (url.scheme, url.raw_host or "", url.port or 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._request_timeout_s
        connection = self._take_idle(key, loop.time())
        if connection is not None:
            try:
                return await self._exchange(connection, key, request, deadline)
            except _Lost:
                pass  # closed by the receiver while idle: once more, on a new connection
        connection = await self._connect(key, deadline)
        return await self._exchange(connection, key, request, deadline)

    async def close(self) -> None:
        for timer in (self._sweeper, self._watchdog):
            if timer is not None:
                timer.cancel()
        self._sweeper = self._watchdog = None
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        for connection in self._busy:
            connection.close()
        self._busy.clear()

    async def _exchange(self, connection: _Connection, key: _Key, request: bytes,
                        deadline: float) -> Response:
        self._busy.add(connection)
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self._watch_s, self._watch)
        try:
            response = await connection.send(request, deadline)
        except BaseException:
            connection.close()  # timed out, cancelled or failed: its state is unknown
            raise
        finally:
            self._busy.discard(connection)
        if connection.reusable:
            self._keep(key, connection)
        return response

    def _watch(self) -> None:
        """Time out the calls past their deadline (see ``WATCH_SHARE``)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self._busy if c.deadline <= now]:
            connection.expire()
        self._watchdog = loop.call_later(self._watch_s, self._watch) if self._busy else None

    def _take_idle(self, key: _Key, now: float) -> _Connection | None:
        connections = self._idle.get(key)
        while connections:
            connection = connections.pop()
            if connection.fresh(now):
                return connection
            connection.close()
        return None

    def _keep(self, key: _Key, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        connection.idle_since = loop.time()
        self._idle.setdefault(key, []).append(connection)
        if self._sweeper is None:
            self._sweeper = loop.call_later(KEEPALIVE_S, self._sweep)

    def _sweep(self) -> None:
        """Close what sat idle past ``KEEPALIVE_S``: receivers posted to once
        must not hold a socket each for the worker's lifetime."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for key, connections in list(self._idle.items()):
            kept = [c for c in connections if c.fresh(now)]
            for connection in set(connections) - set(kept):
                connection.close()
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]
        if self._idle:
            self._sweeper = loop.call_later(KEEPALIVE_S, self._sweep)

    async def _connect(self, key: _Key, deadline: float) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        errors: list[str] = []
        async with asyncio.timeout_at(min(deadline, loop.time() + self._connect_timeout_s)):
            for address, family in await self._allowed(host, port):
                try:
                    _, connection = await loop.create_connection(
                        _Connection, address, port, family=family, ssl=tls,
                        server_hostname=host if tls else None)
                except OSError as error:  # ssl.SSLError is one too
                    errors.append(f"{address}: {error}")
                    continue
                return connection
        raise RequestError(f"cannot connect to {host}:{port}: " + "; ".join(errors))

    async def _allowed(self, host: str, port: int) -> list[tuple[str, int]]:
        """The addresses the SSRF guard allows for ``host``, kept ``DNS_TTL_S``."""
        now = time.monotonic()
        known = self._addresses.get((host, port))
        if known is not None and known[0] > now:
            return known[1]
        try:
            results = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        except OSError as error:
            raise RequestError(f"cannot connect to {host}:{port}: {error}") from None
        addresses = [(result["host"], result["family"]) for result in results]
        if len(self._addresses) >= DNS_CACHE_SIZE:
            self._addresses.clear()
        self._addresses[(host, port)] = (now + DNS_TTL_S, addresses)
        return addresses

    def _tls_context(self) -> ssl.SSLContext:
        # Made at first use: loading the trust store costs milliseconds.
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _request(url: URL, body: bytes, headers: dict[str, str]) -> bytes:
    if url.raw_user is not None:
        headers = _with_url_credentials(url, headers)
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    # A CR or LF inside a name or value would end the header early and let the
    # rest be read as headers of its own (header injection).
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise RequestError("a header name or value holds a line break")
    head = (f"POST {url.raw_path_qs} HTTP/1.1\r\nhost: {url.host_port_subcomponent}\r\n"
            f"content-length: {len(body)}\r\n{lines}\r\n")
    return head.encode("utf-8") + body


def _with_url_credentials(url: URL, headers: dict[str, str]) -> dict[str, str]:
    """``https://user:pass@host/``: sent as basic auth, as browsers and
    aiohttp do, unless the endpoint's own credentials already say who calls."""
    if any(name.lower() == "authorization" for name in headers):
        raise RequestError("the URL holds credentials and the endpoint has its own: "
                           "keep one of them")
    pair = f"{url.user or ''}:{url.password or ''}".encode()
    return {**headers, "authorization": "Basic " + base64.b64encode(pair).decode()}
