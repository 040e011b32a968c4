"""The worker's HTTP client against scripted servers on 127.0.0.1: framing
(length, chunked, to the end of the connection), kept-alive connections and
their loss, timeouts, TLS, and answers that are not HTTP at all."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from porthook.config import Settings
from porthook.delivery import http_client, senders, ssrf
from tests.functional.smtp_support import self_signed

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OPEN = Settings(allow_private_targets=True)
LIVENESS_S = 10.0  # bounds a call that should be answered at once (never reached when it works)

# (request head, request body) -> what to write back, or None to write nothing
Reply = Callable[[bytes, bytes], Awaitable[bytes | None]]


class Server:
    """Reads requests one after another on each connection and answers each
    with ``reply``; closes a connection after an answer when ``close_after``."""

    def __init__(self, reply: Reply, *, close_after: bool = False) -> None:
        self.reply = reply
        self.close_after = close_after
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.hang_up: set[int] = set()  # requests (counted from 0) read, then the connection closed
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                if len(self.requests) - 1 in self.hang_up:
                    break
                answer = await self.reply(head, body)
                if answer is not None:
                    writer.write(answer)
                    await writer.drain()
                if self.close_after:
                    break
        writer.close()


@contextlib.asynccontextmanager
async def serving(reply: Reply, *, close_after: bool = False,
                  tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(reply, close_after=close_after)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for writer in server.writers:
            writer.close()


def answer(data: bytes) -> Reply:
    async def reply(head: bytes, body: bytes) -> bytes | None:
        return data
    return reply


@contextlib.asynccontextmanager
async def client(*, timeout_s: float = 60.0, tls: ssl.SSLContext | None = None,
                 settings: Settings = OPEN) -> AsyncIterator[http_client.HttpClient]:
    http = http_client.HttpClient(ssrf.GuardedResolver(settings), connect_timeout_s=timeout_s,
                                  request_timeout_s=timeout_s, tls=tls)
    try:
        yield http
    finally:
        await http.close()


async def post(http: http_client.HttpClient, target: URL, headers: dict[str, str] | None = None,
               ) -> http_client.Response:
    """A call that must be answered by the server itself: long before the
    client's own timeout, whose partial answer could look the same."""
    return await asyncio.wait_for(http.post(target, b"{}", headers or {}), LIVENESS_S)


def url(server: Server, path: str = "/hook", scheme: str = "http") -> URL:
    return URL(f"{scheme}://127.0.0.1:{server.port}{path}")


async def test_a_request_is_one_post_with_the_host_length_and_headers() -> None:
    async with serving(answer(OK)) as server, client() as http:
        response = await http.post(url(server, "/a/b?x=1&y=%20"), b'{"a":1}',
                                   {"content-type": "application/json", "webhook-id": "msg_1"})
    assert response == http_client.Response(200, b"ok", None)
    [(head, body)] = server.requests
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /a/b?x=1&y=%20 HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}" in lines
    assert "content-length: 7" in lines
    assert "webhook-id: msg_1" in lines
    assert not any(line.lower().startswith("accept-encoding") for line in lines)
    assert body == b'{"a":1}'


async def test_connections_are_kept_and_reused() -> None:
    async with serving(answer(OK)) as server, client() as http:
        for _ in range(5):
            assert (await post(http, url(server))).status == 200
        await asyncio.gather(*(http.post(url(server), b"{}", {}) for _ in range(3)))
        await post(http, url(server))
    assert len(server.requests) == 9
    assert server.connections == 3  # one, then three at once, then one of those again


async def test_an_answer_that_says_close_is_not_reused() -> None:
    closing = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    async with serving(answer(closing), close_after=True) as server, client() as http:
        for _ in range(3):
            assert (await post(http, url(server))).status == 204
    assert server.connections == 3


@pytest.mark.parametrize("framing", ["length", "chunked", "to-the-end"])
async def test_the_excerpt_is_the_first_kilobyte_however_the_body_is_framed(
    framing: str,
) -> None:
    body = bytes(range(32, 127)) * 30  # 2,850 bytes
    if framing == "length":
        data = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    elif framing == "chunked":
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 700]), body[i:i + 700])
                          for i in range(0, len(body), 700))
        data = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    else:
        data = b"HTTP/1.0 500 Oops\r\n\r\n" + body
    async with serving(answer(data), close_after=framing == "to-the-end") as server, \
            client() as http:
        response = await post(http, url(server))
        again = await post(http, url(server))
    assert response == again == http_client.Response(500, body[:1024], None)
    assert server.connections == (2 if framing == "to-the-end" else 1)


async def test_a_huge_body_is_not_read_to_its_end() -> None:
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 200_000

    async with serving(answer(huge)) as server, client() as http:
        response = await post(http, url(server))
        assert response == http_client.Response(200, b"x" * 1024, None)
        assert (await post(http, url(server))).status == 200
    assert server.connections == 2  # the first was closed, not drained


async def test_retry_after_and_interim_answers() -> None:
    data = (b"HTTP/1.1 100 Continue\r\nRetry-After: 1\r\n\r\n"
            b"HTTP/1.1 429 Too Many\r\nretry-after: 120\r\nContent-Length: 4\r\n\r\nslow")
    async with serving(answer(data)) as server, client() as http:
        assert await post(http, url(server)) == http_client.Response(
            429, b"slow", "120")


async def test_a_connection_closed_while_idle_is_replaced_and_the_call_made_once() -> None:
    async with serving(answer(OK), close_after=True) as server, client() as http:
        assert (await post(http, url(server))).status == 200
        await asyncio.sleep(0.05)  # the server's close reaches the client
        assert (await post(http, url(server))).status == 200
    assert len(server.requests) == 2


async def test_a_request_read_but_never_answered_is_not_sent_twice() -> None:
    async def hang_up(head: bytes, body: bytes) -> bytes | None:
        return None

    async with serving(hang_up, close_after=True) as server, client() as http:
        with pytest.raises(http_client.RequestError, match="closed before an answer"):
            await post(http, url(server))
    assert len(server.requests) == 1


async def test_a_kept_connection_that_closes_on_the_next_call_is_replaced_once() -> None:
    # The receiver closed its end as the second call went out on it (its
    # keep-alive ran out): the call is made again on a new connection.
    async with serving(answer(OK)) as server, client() as http:
        server.hang_up = {1}
        assert (await post(http, url(server))).status == 200
        assert (await post(http, url(server))).status == 200
        assert (len(server.requests), server.connections) == (3, 2)
        # Once only: when the new connection closes too, the call fails.
        await asyncio.gather(*(post(http, url(server)) for _ in range(2)))  # two kept now
        server.hang_up = {5, 6}
        with pytest.raises(http_client.RequestError, match="closed before an answer"):
            await post(http, url(server))
        assert len(server.requests) == 7


async def test_no_answer_times_out_and_a_slow_body_still_reports_its_status() -> None:
    async def never(head: bytes, body: bytes) -> bytes | None:
        return None

    async with serving(never) as server, client(timeout_s=0.3) as http:
        with pytest.raises(TimeoutError):
            await post(http, url(server))
    partial = b"HTTP/1.1 503 Busy\r\nRetry-After: 9\r\nContent-Length: 100\r\n\r\nhalf"
    async with serving(answer(partial)) as server, client(timeout_s=0.3) as http:
        assert await post(http, url(server)) == http_client.Response(
            503, b"half", "9")


async def test_an_answer_that_is_not_http_is_an_error() -> None:
    async with serving(answer(b"SSH-2.0-OpenSSH_9.2\r\n")) as server, client() as http:
        with pytest.raises(http_client.RequestError, match="not HTTP"):
            await post(http, url(server))


async def test_a_line_break_in_a_header_is_refused_before_connecting() -> None:
    async with serving(answer(OK)) as server, client() as http:
        for value in ("a\r\nx-injected: 1", "a\nb", "a\rb"):
            with pytest.raises(http_client.RequestError, match="line break"):
                await http.post(url(server), b"{}", {"authorization": f"Bearer {value}"})
    assert server.connections == 0


async def test_credentials_in_the_url_are_sent_as_basic_auth() -> None:
    async with serving(answer(OK)) as server, client() as http:
        target = URL(f"http://hook%40user:s%3Acret@127.0.0.1:{server.port}/x")
        await post(http, target)
        with pytest.raises(http_client.RequestError, match="keep one of them"):
            await http.post(target, b"{}", {"Authorization": "Bearer t"})
    [(head, _)] = server.requests
    expected = base64.b64encode(b"hook@user:s:cret").decode()
    assert f"authorization: Basic {expected}" in head.decode()


async def test_tls_is_verified(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    trusting = ssl.create_default_context(cafile=str(certificate.path))
    async with serving(answer(OK), tls=certificate.server_context) as server:
        async with client(tls=trusting) as http:
            assert (await http.post(url(server, scheme="https"), b"{}", {})).status == 200
        async with client() as http:  # the system's trust store does not know it
            with pytest.raises(http_client.RequestError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.post(url(server, scheme="https"), b"{}", {})


async def test_refused_addresses_are_never_connected_to() -> None:
    strict = Settings(allow_private_targets=False)
    async with serving(answer(OK)) as server, client(settings=strict) as http:
        with pytest.raises(http_client.RequestError, match="refused addresses"):
            await post(http, URL(f"http://localhost:{server.port}/"))
    assert server.connections == 0


async def test_idle_connections_are_closed_after_the_keepalive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_client, "KEEPALIVE_S", 0.1)
    async with serving(answer(OK)) as server, client() as http:
        await post(http, url(server))
        await asyncio.sleep(0.3)
        await post(http, url(server))
    assert server.connections == 2


async def test_the_sender_turns_answers_and_failures_into_results() -> None:
    sender = senders.HttpSender(OPEN.model_copy(update={"request_timeout_s": 0.3}))
    await sender.start()
    try:
        async with serving(answer(b"HTTP/1.1 410 Gone\r\nContent-Length: 3\r\n\r\n\xffno")) \
                as server:
            result = await sender.post(str(url(server)), b"{}", {})
            assert (result.status_code, result.response_excerpt) == (410, "\ufffdno")
        async with serving(answer(b"")) as server:  # reads, never answers
            assert (await sender.post(str(url(server)), b"{}", {})).error == "timed out"
        port = server.port  # closed now: nothing listens there
        result = await sender.post(f"http://127.0.0.1:{port}/", b"{}", {})
        assert result.error is not None and "cannot connect to 127.0.0.1" in result.error
    finally:
        await sender.close()


# --- generated answers ----------------------------------------------------------------

_status = st.integers(min_value=200, max_value=599)
_body = st.binary(max_size=3000)
_splits = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8)


@st.composite
def _answers(draw: st.DrawFn) -> tuple[int, bytes, bytes, bool]:
    """A well-formed answer in one of three framings: (status, body, bytes, closes)."""
    status, body = draw(_status), draw(_body)
    framing = draw(st.sampled_from(["length", "chunked", "to-the-end"]))
    if status in (204, 304):
        body = b""
    head = b"HTTP/1.1 %d Whatever\r\nX-Noise: %s\r\n" % (status, b"n" * draw(
        st.integers(min_value=0, max_value=300)))
    if framing == "length" or status in (204, 304):
        return status, body, head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body), False
    if framing == "chunked":
        size = draw(st.integers(min_value=1, max_value=500))
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                          for i in range(0, len(body), size))
        return status, body, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n", \
            False
    return status, body, head + b"Connection: close\r\n\r\n" + body, True


def _in_pieces(data: bytes, splits: list[int]) -> list[bytes]:
    pieces: list[bytes] = []
    at = 0
    while at < len(data):
        size = splits[len(pieces) % len(splits)]
        pieces.append(data[at:at + size * 37])
        at += size * 37
    return pieces


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(_answers(), min_size=1, max_size=3), splits=_splits)
def test_generated_answers_in_pieces_give_their_status_and_excerpt(
    answers: list[tuple[int, bytes, bytes, bool]], splits: list[int],
) -> None:
    async def run() -> None:
        for status, body, data, closes in answers:
            pieces = _in_pieces(data, splits)

            async def reply(head: bytes, request: bytes, pieces: list[bytes] = pieces) -> None:
                for piece in pieces:  # written apart, so they arrive apart
                    server.writers[-1].write(piece)
                    await server.writers[-1].drain()
                    await asyncio.sleep(0)

            async with serving(reply, close_after=closes) as server, client() as http:
                for _ in range(2):
                    response = await post(http, url(server))
                    assert response == http_client.Response(status, body[:1024], None)

    asyncio.run(run())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.binary(max_size=400), close=st.booleans())
def test_any_bytes_back_are_an_answer_or_a_request_error(garbage: bytes, close: bool) -> None:
    async def run() -> None:
        async with serving(answer(garbage), close_after=close) as server, \
                client(timeout_s=0.2) as http:
            try:
                response = await post(http, url(server))
            except (http_client.RequestError, TimeoutError):
                return
            assert 200 <= response.status <= 999 and len(response.excerpt) <= 1024

    asyncio.run(run())
