"""A database that cannot be reached gives 503 problem+json with Retry-After,
and the API recovers by itself when it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from porthook import db
from porthook.accounts import service as accounts
from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Base, Database
from porthook.web import create_app
from tests.conftest import PG_HOST

RETRY_AFTER_S = 7
PG_PORT = 5432


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    database = Database(settings)
    app = create_app(settings, database=database)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://porthook.test") as client:
            yield client
    finally:
        await database.dispose()


async def _create_account(settings: Settings, *, create_tables: bool = False) -> dict[str, str]:
    database = Database(settings, pool_size=1)
    try:
        if create_tables:
            async with database.engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        async with database.sessions() as session:
            _, _, token = await accounts.create_account(
                session, name="Acme", contact_email=None, now=SystemClock().now())
            await session.commit()
    finally:
        await database.dispose()
    return {"Authorization": f"Bearer {token}"}


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    body = response.json()
    assert body["status"] == 503
    assert "database cannot be reached" in body["detail"]


async def _assert_every_kind_of_request_unavailable(client: httpx.AsyncClient) -> None:
    key = {"Authorization": "Bearer ph_whatever"}
    _assert_unavailable(await client.get("/v1/events", headers=key))
    # Idempotency keys are claimed in a middleware, before any route runs.
    _assert_unavailable(await client.post(
        "/v1/endpoints", headers={**key, "Idempotency-Key": "k1"},
        json={"url": "https://example.com/hook"}))
    health = await client.get("/healthz")
    _assert_unavailable(health)
    assert health.json()["database"] == "unreachable"
    assert (await client.get("/livez")).json() == {"status": "ok"}


async def test_postgresql_refusing_connections_gives_503(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/porthook"
    settings = Settings(database_url=url, mail_dir=tmp_path,
                        unavailable_retry_after_s=RETRY_AFTER_S)
    async with _client(settings) as client:
        await _assert_every_kind_of_request_unavailable(client)


async def test_sqlite_file_that_cannot_be_opened_gives_503_until_it_can(tmp_path: Path) -> None:
    directory = tmp_path / "not-yet"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{directory / 'porthook.db'}",
                        mail_dir=tmp_path, unavailable_retry_after_s=RETRY_AFTER_S)
    async with _client(settings) as client:
        await _assert_every_kind_of_request_unavailable(client)
        directory.mkdir()
        headers = await _create_account(settings, create_tables=True)
        assert (await client.get("/healthz")).json() == {"status": "ok", "database": "ok"}
        assert (await client.get("/v1/events", headers=headers)).status_code == 200


async def test_sqlite_file_locked_by_another_process_too_long_gives_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "porthook.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", mail_dir=tmp_path,
                        unavailable_retry_after_s=RETRY_AFTER_S)
    headers = await _create_account(settings, create_tables=True)
    endpoint = {"url": "https://example.com/hook"}
    other = sqlite3.connect(path, isolation_level=None, timeout=0)  # another process
    try:
        async with _client(settings) as client:
            other.execute("BEGIN IMMEDIATE")  # ... holding the write lock past the timeout
            _assert_unavailable(await client.post("/v1/endpoints", headers=headers,
                                                  json=endpoint))
            other.execute("ROLLBACK")
            assert (await client.post("/v1/endpoints", headers=headers,
                                      json=endpoint)).status_code == 201
    finally:
        other.close()


class _Proxy:
    """A TCP relay on loopback in front of PostgreSQL, stopped and started
    again on the same port: the database going away and coming back."""

    def __init__(self) -> None:
        self.port = _closed_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._pipes):
            writer.transport.abort()  # as a restart does: connections just end
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(PG_HOST, PG_PORT)
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(writer)
            writer.transport.abort()


@pytest.fixture
async def proxy() -> AsyncIterator[_Proxy]:
    relay = _Proxy()
    await relay.start()
    yield relay
    with contextlib.suppress(Exception):
        await relay.stop()


async def test_api_recovers_by_itself_when_postgresql_comes_back(
    pg_database_url: str, proxy: _Proxy, tmp_path: Path
) -> None:
    direct = Settings(database_url=pg_database_url)
    headers = await _create_account(direct)
    proxied = pg_database_url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{proxy.port}")
    settings = Settings(database_url=proxied, mail_dir=tmp_path,
                        unavailable_retry_after_s=RETRY_AFTER_S)
    async with _client(settings) as client:
        assert (await client.get("/v1/events", headers=headers)).status_code == 200
        await proxy.stop()
        # Pooled connections are now dead and new ones refused.
        _assert_unavailable(await client.get("/v1/events", headers=headers))
        _assert_unavailable(await client.get("/healthz"))
        await proxy.start()
        assert (await client.get("/healthz")).status_code == 200
        response: Any = await client.get("/v1/events", headers=headers)
        assert response.status_code == 200, response.text
