"""The daily-work CLI as an operator runs it, in real processes on both
backends: it names its database, refuses to invent one, lists accounts, keys,
endpoints, events and deliveries (``--json`` and tables), retries a dead
delivery that a running ``porthook serve`` then sends exactly once more, and
under JSON logs every line ``serve`` writes is a JSON object."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.sinks import Sink
from tests.functional.test_cli import STARTUP_TIMEOUT_S, _env, _free_port

CLI_TIMEOUT_S = 120
POLL_S = 0.2


def _run(*args: str, env: dict[str, str], cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "porthook", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


def _ok(*args: str, env: dict[str, str]) -> Any:
    result = _run(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
    return str(request.getfixturevalue("scratch_pg_url"))


def test_a_command_run_elsewhere_makes_no_sqlite_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PORTHOOK_DATABASE_URL"}
    result = _run("accounts", "list", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"no database file at {tmp_path / 'porthook.db'}" in result.stderr
    assert "porthook db upgrade" in result.stderr
    assert not (tmp_path / "porthook.db").exists()
    status = _run("db", "status", "--json", env=env, cwd=tmp_path)
    assert status.returncode == 1
    assert json.loads(status.stdout)["exists"] is False
    assert not (tmp_path / "porthook.db").exists()


def test_a_database_never_migrated_is_refused(scratch_pg_url: str, tmp_path: Path) -> None:
    result = _run("events", "list", env=_env(scratch_pg_url, tmp_path))
    assert result.returncode == 2
    assert "has no porthook schema" in result.stderr and "db upgrade" in result.stderr


def test_accounts_keys_endpoints_and_events(fresh_database_url: str, tmp_path: Path) -> None:
    env = _env(fresh_database_url, tmp_path)
    upgrade = _run("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    # One line naming the database; no migration chatter.
    assert upgrade.stderr.splitlines() == [upgrade.stderr.splitlines()[0]]
    assert upgrade.stderr.startswith("porthook: database ")
    assert _ok("db", "status", env=env)["current"] is True
    account = _ok("accounts", "create", "Acme", "--contact-email", "noc@acme-telecom.com",
                  env=env)
    [listed] = _ok("accounts", "list", env=env)["data"]
    assert (listed["id"], listed["name"]) == (account["account_id"], "Acme")
    key = _ok("api-keys", "create", account["account_id"], "--name", "ci", env=env)
    keys = _ok("api-keys", "list", "--account", account["account_id"], env=env)["data"]
    assert sorted(k["name"] for k in keys) == ["ci", "default"]
    assert all("api_key" not in k for k in keys)
    revoked = _ok("api-keys", "revoke", key["key_id"], env=env)
    assert revoked["revoked_at"] is not None
    table = _run("api-keys", "list", env=env)
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "KIND", "ACCOUNT_ID"]
    assert _ok("endpoints", "list", env=env) == {"data": []}
    assert _ok("events", "list", "--account", account["account_id"], env=env) == {
        "data": [], "next_cursor": None}
    missing = _run("api-keys", "revoke", "00000000-0000-0000-0000-000000000000", env=env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


@pytest.fixture
def served_json(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str],
                                                                          Path, Path]]:
    """``porthook serve`` with JSON logs and one attempt per delivery (then dead)."""
    env = {**_env(fresh_database_url, tmp_path), "PORTHOOK_LOG_FORMAT": "json",
           "PORTHOOK_LOG_LEVEL": "INFO", "PORTHOOK_RETRY_SCHEDULE": "0"}
    port = _free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "porthook", "serve", "--port",
                                    str(port)], env=env, stdout=stdout, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(POLL_S)
        else:
            pytest.fail(f"porthook serve did not become healthy: {err.read_text()}")
        yield base, env, out, err
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _eventually_one(*args: str, env: dict[str, str]) -> dict[str, Any]:
    for _ in range(int(30 / POLL_S)):
        rows = (await asyncio.to_thread(_ok, *args, env=env))["data"]
        if len(rows) == 1:
            return dict(rows[0])
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"porthook {' '.join(args)} never listed one row")


async def test_a_dead_delivery_found_and_retried_from_the_cli_arrives_once_more(
    served_json: tuple[str, dict[str, str], Path, Path], sink: Sink,
) -> None:
    base, env, out, err = served_json
    sink.script("/hook", 500, then=204)
    account = await asyncio.to_thread(_ok, "accounts", "create", "Acme", env=env)
    headers = {"Authorization": f"Bearer {account['api_key']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        created = await api.post("/v1/endpoints", json={"url": sink.url("/hook"),
                                                        "event_types": ["record.*"]})
        assert created.status_code == 201, created.text
        endpoint = created.json()["id"]
        did = await api.post("/v1/records/dids",
                             json={"number": "3125550100", "number_type": "local"})
        assert did.status_code == 201, did.text
    await sink.wait_for(1, "/hook")
    dead = await _eventually_one("deliveries", "list", "--status", "dead", "--endpoint",
                                 endpoint, env=env)
    assert (dead["last_status_code"], dead["last_error"]) == (500, "HTTP 500")
    retried = await asyncio.to_thread(_ok, "deliveries", "retry", dead["id"], env=env)
    assert retried == {"requeued": 1, "delivery_ids": [dead["id"]], "in_flight": []}
    calls = await sink.wait_for(2, "/hook")
    delivered = await _eventually_one("deliveries", "list", "--status", "delivered",
                                      "--endpoint", endpoint, env=env)
    assert (delivered["id"], delivered["attempts"]) == (dead["id"], 2)
    assert len(sink.at("/hook")) == len(calls) == 2
    assert calls[0].headers["webhook-id"] == calls[1].headers["webhook-id"]
    _assert_every_line_json(out, err, endpoint=endpoint, delivery=dead["id"])


def _assert_every_line_json(out: Path, err: Path, *, endpoint: str, delivery: str) -> None:
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    for line in err.read_text().splitlines():
        json.loads(line)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert {"method": "POST", "path": "/v1/endpoints", "status_code": 201}.items() <= next(
        line for line in access if line["path"] == "/v1/endpoints").items()
    [failed] = [line for line in lines if line["logger"] == "porthook.delivery.failures"]
    assert (failed["outcome"], failed["status_code"], failed["endpoint_id"],
            failed["delivery_id"], failed["attempt"], failed["event_type"]) == (
        "dead", 500, endpoint, delivery, 1, "record.dids.inserted")
