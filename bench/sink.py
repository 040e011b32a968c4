"""The delivery benchmark's HTTP receiver: counts what arrives, answers 200.

It stands in for a customer's server, which in real life runs on another
machine. Here it shares the two cores with the worker and PostgreSQL, so it
must cost as little as it can: an aiohttp web application took 50-100 us of
CPU per request, about as much as the client it was measuring, and the
benchmark measured the sink as much as the engine. This one is an asyncio
protocol with httptools' parser (llhttp, as uvicorn uses it) on uvloop,
about 15 us a request. Both the raw client and the worker post to it.

HTTP/1.1 with keep-alive, one request at a time per connection (no
pipelining: neither aiohttp client sends that way). Paths:

* ``POST /hang``: never answered (a dead endpoint);
* ``POST /<anything else>``: counted by path, the arrival time kept by
  ``webhook-id``, answered ``200 ok``;
* ``GET /_count``: the counts by path (JSON);
* ``GET /_wait?path=P&count=N``: answered once ``N`` requests reached ``P``
  (the benchmark waits on one request instead of polling);
* ``GET /_arrivals``: arrival times by webhook-id (JSON);
* ``POST /_reset``: forget everything.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, cast
from urllib.parse import parse_qs

import httptools
import uvloop


class _Counts:
    def __init__(self) -> None:
        self.by_path: dict[str, int] = {}
        self.arrivals: dict[str, float] = {}
        self.waiters: list[tuple[str, int, _Connection]] = []

    def arrived(self, path: str, webhook_id: str) -> None:
        self.by_path[path] = self.by_path.get(path, 0) + 1
        self.arrivals[webhook_id] = time.time()
        if self.waiters:
            self.answer_waiters()

    def answer_waiters(self) -> None:
        for waiter in [w for w in self.waiters if self.by_path.get(w[0], 0) >= w[1]]:
            self.waiters.remove(waiter)
            waiter[2].reply_json(self.by_path)

    def reset(self) -> None:
        self.by_path.clear()
        self.arrivals.clear()


_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class _Connection(asyncio.Protocol):
    def __init__(self, counts: _Counts) -> None:
        self._counts = counts
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._webhook_id = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._reply(b"400 Bad Request", b"text/plain", b"bad request")
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._counts.waiters = [w for w in self._counts.waiters if w[2] is not self]

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._webhook_id = b""

    def on_url(self, url: bytes) -> None:
        self._url += url  # may come in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self._webhook_id = value

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        path = parsed.path.decode()
        method = self._parser.get_method()
        if method == b"POST" and path == "/hang":
            return
        if method == b"POST" and path == "/_reset":
            self._counts.reset()
            self.reply_json({})
        elif method == b"POST":
            self._counts.arrived(path, self._webhook_id.decode())
            self._send(_OK)
        elif path == "/_count":
            self.reply_json(self._counts.by_path)
        elif path == "/_arrivals":
            self.reply_json(self._counts.arrivals)
        elif path == "/_wait":
            query = parse_qs((parsed.query or b"").decode())
            self._counts.waiters.append((query["path"][0], int(query["count"][0]), self))
            self._counts.answer_waiters()
        else:
            self._reply(b"404 Not Found", b"text/plain", b"not found")

    def reply_json(self, value: Any) -> None:
        self._reply(b"200 OK", b"application/json", json.dumps(value).encode())

    def _reply(self, status: bytes, content_type: bytes, body: bytes) -> None:
        self._send(b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                   % (status, content_type, len(body), body))

    def _send(self, response: bytes) -> None:
        if self._transport is None:
            return
        self._transport.write(response)
        if not self._parser.should_keep_alive():
            self._close()

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(port: int) -> None:
    counts = _Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(counts), "127.0.0.1", port,
                                      backlog=1024)
    async with server:
        await server.serve_forever()


def main(port: int) -> None:
    """A process's entry point (``multiprocessing.Process(target=main, ...)``)."""
    uvloop.run(serve(port))
