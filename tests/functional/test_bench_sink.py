"""The delivery benchmark's receiver (``bench/sink.py``): its figures are only
as good as its counting, so it is tested like any HTTP server, over loopback
with a real client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bench import sink

BOUND_S = 10.0  # every wait is bounded; never a speed assertion


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = asyncio.create_task(sink.serve(port))
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/_count"):
                    break
            await asyncio.sleep(0.05)
    yield url
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server


async def test_counts_by_path_and_keeps_each_arrival(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for i in range(3):
            async with http.post(f"{base_url}/drain?endpoint={i}", data=b'{"x":1}' * 100,
                                 headers={"webhook-id": f"msg_{i}"}) as response:
                assert response.status == 200 and await response.text() == "ok"
        async with http.post(f"{base_url}/other", data=b"{}") as response:
            assert response.status == 200
        async with http.get(f"{base_url}/_count") as response:
            assert await response.json() == {"/drain": 3, "/other": 1}
        async with http.get(f"{base_url}/_arrivals") as response:
            assert {"msg_0", "msg_1", "msg_2"} <= set(await response.json())
        async with http.post(f"{base_url}/_reset") as response:
            assert response.status == 200
        async with http.get(f"{base_url}/_count") as response:
            assert await response.json() == {}


async def test_a_wait_is_answered_once_the_count_is_reached(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async def wait() -> dict[str, int]:
            async with http.get(f"{base_url}/_wait?path=/w&count=2") as response:
                counts: dict[str, int] = await response.json()
                return counts

        waiting = asyncio.create_task(wait())
        async with http.post(f"{base_url}/w", data=b"{}"):
            pass
        await asyncio.sleep(0.2)
        assert not waiting.done()  # one of two
        async with http.post(f"{base_url}/w", data=b"{}"):
            pass
        assert await asyncio.wait_for(waiting, BOUND_S) == {"/w": 2}


async def test_hang_is_never_answered_and_holds_up_nothing_else(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        hanging = asyncio.create_task(http.post(f"{base_url}/hang", data=b"{}"))
        async with http.post(f"{base_url}/fine", data=b"{}") as response:
            assert response.status == 200
        await asyncio.sleep(0.2)
        assert not hanging.done()
        hanging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hanging
        async with http.get(f"{base_url}/_count") as response:
            assert await response.json() == {"/fine": 1}


async def test_an_unknown_page_is_404_and_garbage_is_400(base_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/nope") as response:
        assert response.status == 404
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), BOUND_S)
    assert status.startswith(b"HTTP/1.1 400")
    writer.close()
