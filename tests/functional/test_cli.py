"""The CLI as an operator uses it: migrate, create an account and an operator key,
serve, and call the API with the printed keys."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.functional.sinks import Sink

STARTUP_TIMEOUT_S = 90.0  # a bound, not a speed: the test machine is shared
REVOCATION_SLACK_S = 5.0  # beyond the key cache's 1 s: a bound on a loaded machine


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return str(request.getfixturevalue("scratch_pg_url"))


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    # Private targets allowed: the webhook receiver below listens on 127.0.0.1.
    return {**os.environ, "PORTHOOK_DATABASE_URL": database_url,
            "PORTHOOK_MAIL_DIR": str(tmp_path / "mail"), "PORTHOOK_LOG_LEVEL": "WARNING",
            "PORTHOOK_ALLOW_PRIVATE_TARGETS": "true", "PORTHOOK_WORKER_POLL_INTERVAL_S": "0.2"}


def _porthook(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "porthook", *args], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = _env(fresh_database_url, tmp_path)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "porthook", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("porthook serve did not become healthy")
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def test_serve_then_cli_keys_work_over_http(served: tuple[str, dict[str, str]]) -> None:
    base, env = served
    account = json.loads(_porthook("accounts", "create", "Acme", "--json", env=env))
    assert set(account) == {"account_id", "api_key"}
    operator = json.loads(_porthook("operator-keys", "create", "--json", env=env))
    customer = {"Authorization": f"Bearer {account['api_key']}"}
    desk = {"Authorization": f"Bearer {operator['api_key']}"}
    assert httpx.get(f"{base}/v1/events", headers=customer).status_code == 200
    read = httpx.get(f"{base}/v1/accounts/{account['account_id']}", headers=desk)
    assert read.json()["name"] == "Acme"
    _porthook("api-keys", "revoke", operator["key_id"], env=env)
    # Revoked by another process: the server, which checked the key a moment
    # ago, refuses it within PORTHOOK_API_KEY_CACHE_S (1 s by default).
    refused_by = time.monotonic() + 1.0 + REVOCATION_SLACK_S
    while (status := httpx.get(f"{base}/v1/accounts/{account['account_id']}",
                               headers=desk).status_code) == 200 and time.monotonic() < refused_by:
        time.sleep(0.1)
    assert status == 401
    # The document is built on its first request (a few seconds of CPU for 150 operations).
    document = httpx.get(f"{base}/openapi.json", timeout=60).json()
    assert document["info"]["title"] == "porthook"



async def test_serve_delivers_webhooks_in_process(
    served: tuple[str, dict[str, str]], sink: Sink
) -> None:
    base, env = served
    created = await asyncio.to_thread(_porthook, "accounts", "create", "Acme", "--json", env=env)
    customer = {"Authorization": f"Bearer {json.loads(created)['api_key']}"}
    async with httpx.AsyncClient(base_url=base, headers=customer) as api:
        endpoint = await api.post("/v1/endpoints", json={"url": sink.url("/hook"),
                                                         "event_types": ["record.*"]})
        assert endpoint.status_code == 201, endpoint.text
        did = await api.post("/v1/records/dids",
                             json={"number": "3125550100", "number_type": "local"})
        assert did.status_code == 201, did.text
    # No `porthook worker` runs: serve's own delivery loop sends it.
    [call] = await sink.wait_for(1, "/hook")
    Webhook(endpoint.json()["secret"]).verify(call.body, call.headers)
    payload = call.json()
    assert payload["type"] == "record.dids.inserted"
    assert payload["data"]["record"]["id"] == did.json()["id"]
