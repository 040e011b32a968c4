"""``kill -9`` of ``porthook api`` in the middle of writes sent with an
``Idempotency-Key``, on SQLite and PostgreSQL: after a restart every retry
either replays the committed answer or runs anew, within a lease, and each
key's write happens exactly once.

All waits are bounded; nothing here measures speed (the figures printed are
for the reader).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from porthook.db import make_engine

pytestmark = pytest.mark.slow

REQUESTS = 40  # writes in flight when the process is killed
LEASE_S = 2.0  # the claims' lease in these processes (short: the retries wait it out)
STARTUP_TIMEOUT_S = 30.0
RECOVERY_TIMEOUT_S = 60.0
KILL_ROUNDS = 5  # kills tried until one leaves a claim in progress


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    return str(request.getfixturevalue("scratch_pg_url"))


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {**os.environ, "PORTHOOK_DATABASE_URL": fresh_database_url,
            "PORTHOOK_LOG_LEVEL": "WARNING", "PORTHOOK_IDEMPOTENCY_LEASE_S": str(LEASE_S)}


@pytest.fixture
def operator_key(env: dict[str, str]) -> str:
    # The command line only works on a migrated database (it never makes one).
    subprocess.run([sys.executable, "-m", "porthook", "db", "upgrade"], env=env,
                   capture_output=True, timeout=120, check=True)
    out = subprocess.run([sys.executable, "-m", "porthook", "operator-keys", "create", "--json"],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    return str(json.loads(out.stdout)["api_key"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api(env: dict[str, str], tmp_path: Path) -> Iterator[_Api]:
    server = _Api(env, tmp_path / "api.log")
    try:
        yield server
    finally:
        server.kill()


class _Api:
    """``porthook api`` on a loopback port, started and killed at will."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "porthook", "api", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"porthook api did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()  # SIGKILL: no clean-up at all
            self.process.wait(timeout=30)
            self.process = None


async def _create(client: httpx.AsyncClient, key: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/accounts", json={"name": f"account {key}"},
                             headers={**headers, "Idempotency-Key": key}, timeout=30.0)


async def _fire_and_kill(api: _Api, keys: list[str], headers: dict[str, str]) -> int:
    """Send every write at once; kill -9 once some have been answered (the
    rest are in flight). Returns how many were answered before the kill."""
    async with httpx.AsyncClient(base_url=api.base, limits=httpx.Limits(
            max_connections=REQUESTS)) as client:
        tasks = [asyncio.create_task(_create(client, key, headers)) for key in keys]
        async with asyncio.timeout(RECOVERY_TIMEOUT_S):
            while sum(t.done() for t in tasks) < len(tasks) // 8:  # noqa: ASYNC110  (bounded)
                await asyncio.sleep(0.005)
        api.kill()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sum(1 for t in tasks if t.exception() is None)


async def _claims_left(database_url: str) -> Counter[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT state FROM idempotent_requests"))
            return Counter(state for (state,) in rows.all())
    finally:
        await engine.dispose()


async def _accounts_by_name(database_url: str) -> Counter[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT name FROM accounts"))
            return Counter(name for (name,) in rows.all())
    finally:
        await engine.dispose()


async def _retry_until_answered(api: _Api, keys: list[str], headers: dict[str, str]
                                ) -> dict[str, httpx.Response]:
    answers: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(base_url=api.base) as client:
        async with asyncio.timeout(RECOVERY_TIMEOUT_S):
            while len(answers) < len(keys):
                for key in keys:
                    if key not in answers:
                        response = await _create(client, key, headers)
                        if response.status_code != 409:
                            answers[key] = response
                await asyncio.sleep(0.1)
    return answers


async def test_kill_9_mid_request_then_every_retry_replays_or_runs_anew(
    api: _Api, operator_key: str, fresh_database_url: str,
) -> None:
    headers = {"Authorization": f"Bearer {operator_key}"}
    keys: list[str] = []
    left: Counter[str] = Counter()
    for round_ in range(KILL_ROUNDS):
        api.start()
        batch = [f"r{round_}-k{i}" for i in range(REQUESTS)]
        keys += batch
        answered = await _fire_and_kill(api, batch, headers)
        left = await _claims_left(fresh_database_url)
        print(f"\nround {round_}: {answered} of {REQUESTS} answered before kill -9; "
              f"claims left: {dict(left)}")
        if left["in_progress"]:
            break
    assert left["in_progress"], "no kill landed mid-request"

    api.start()
    started = time.monotonic()
    answers = await _retry_until_answered(api, keys, headers)
    print(f"every retry answered {time.monotonic() - started:.1f} s after the restart "
          f"(claims' lease {LEASE_S} s)")
    assert {r.status_code for r in answers.values()} == {201}, \
        [r.text for r in answers.values() if r.status_code != 201][:3]
    # Each key's write happened exactly once, and its answer names that write.
    names = await _accounts_by_name(fresh_database_url)
    assert names == Counter({f"account {key}": 1 for key in keys})
    ids = {r.json()["id"] for r in answers.values()}
    assert len(ids) == len(keys)
