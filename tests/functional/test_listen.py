"""``porthook listen``, ``trigger`` and ``verify`` in real processes on
loopback, on both backends: ``porthook serve``, a local receiver (the sink)
and listeners as subprocesses. Triggered events arrive signed as production
signs them in each format (checked with ``standardwebhooks`` and, for telnyx,
``cryptography``); a local 500 is retried; a listener killed and restarted
gets every event exactly once in the end, with the same secret; a redelivery
reaches it; it is an endpoint of the account while it runs; a captured call
verifies with ``porthook verify``, and a changed one says why not."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

from tests.functional.sinks import Received, Sink
from tests.functional.test_cli import STARTUP_TIMEOUT_S, _env, _free_port

WAIT_S = 60.0  # upper bound of every wait (never a speed assertion)
POLL_S = 0.2


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'listen.db'}"
    return str(request.getfixturevalue("scratch_pg_url"))


def _porthook(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "porthook", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _json(*args: str, env: dict[str, str]) -> Any:
    result = _porthook(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class Served:
    def __init__(self, base: str, env: dict[str, str], key: str, operator_key: str,
                 tmp_path: Path) -> None:
        self.base, self.env, self.key, self.operator_key = base, env, key, operator_key
        self.tmp_path = tmp_path
        self.listeners: list[subprocess.Popen[bytes]] = []

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"authorization": f"Bearer {self.key}"})

    def listen(self, name: str, forward_to: str, *extra: str) -> tuple[subprocess.Popen[bytes],
                                                                       Path]:
        out = self.tmp_path / f"listen-{name}-{len(self.listeners)}.out"
        with out.open("w") as stdout:
            process = subprocess.Popen(
                [sys.executable, "-m", "porthook", "listen", "--api", self.base, "--key",
                 self.key, "--name", name, "--forward-to", forward_to, *extra],
                env=self.env, stdout=stdout, stderr=subprocess.STDOUT)
        self.listeners.append(process)
        return process, out

    async def trigger(self, event_type: str, *extra: str) -> str:
        result = await asyncio.to_thread(
            _porthook, "trigger", event_type, "--api", self.base, "--key", self.key,
            "--operator-key", self.operator_key, *extra, env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.splitlines()[-1].rsplit(" ", 1)[-1]  # the order id


@pytest.fixture
def served(fresh_database_url: str, tmp_path: Path) -> Iterator[Served]:
    env = {**_env(fresh_database_url, tmp_path), "PORTHOOK_LOG_LEVEL": "WARNING"}
    assert _porthook("db", "upgrade", env=env).returncode == 0
    key = _json("accounts", "create", "Acme", "--contact-email", "noc@acme-telecom.com",
                env=env)["api_key"]
    operator_key = _json("operator-keys", "create", env=env)["api_key"]
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stdout:
        process = subprocess.Popen([sys.executable, "-m", "porthook", "serve", "--port",
                                    str(port)], env=env, stdout=stdout, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    served = Served(base, env, key, operator_key, tmp_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(POLL_S)
        else:
            pytest.fail(f"porthook serve did not become healthy: {log.read_text()}")
        yield served
    finally:
        for listener in served.listeners:
            if listener.poll() is None:
                listener.kill()
            listener.wait(timeout=30)
        process.terminate()
        process.wait(timeout=30)


async def _output_line(out: Path, prefix: str) -> str:
    for _ in range(int(WAIT_S / POLL_S)):
        for line in (await asyncio.to_thread(out.read_text)).splitlines():
            if line.startswith(prefix):
                return line.removeprefix(prefix)
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"no line {prefix!r} in {out}")


async def _until(check: Any, what: str) -> Any:
    for _ in range(int(WAIT_S / POLL_S)):
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(POLL_S)
    raise TimeoutError(what)


def _ids(calls: list[Received]) -> list[str]:
    return [call.headers["webhook-id"] for call in calls]


def _verified(secret: str, call: Received) -> Any:
    # Raises unless the call is signed with the secret, within the time window.
    return Webhook(secret).verify(call.body, call.headers)


def _raw(call: Received) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in call.headers.items())
    return f"POST /hook HTTP/1.1\r\n{head}\r\n".encode() + call.body


async def test_listen_trigger_retry_restart_redeliver(served: Served, sink: Sink) -> None:
    sink.script("/hook", 500)  # the first call fails locally: retried on the schedule
    _, out = served.listen("dev", sink.url("/hook"), "--events", "porting_order.*",
                           "--retry-schedule", "1")
    secret = await _output_line(out, "signing secret: ")
    await _output_line(out, "connected: ")

    created = await served.trigger("porting_order.created")
    first, retried = await sink.wait_for(2, "/hook", within_s=WAIT_S)
    assert first.headers["webhook-id"] == retried.headers["webhook-id"]
    for call in (first, retried):
        assert _verified(secret, call)["data"]["subject"]["id"] == created

    # The listener is an endpoint of the account, and the log has both attempts.
    with served.api() as api:
        [endpoint] = [e for e in api.get("/v1/endpoints").json()["data"]
                      if e["origin"] == "listener"]
        assert endpoint["url"] == sink.url("/hook")

        def two_attempts() -> Any:
            found = api.get("/v1/deliveries", params={"endpoint_id": endpoint["id"]}).json()
            rows = [d for d in found["data"] if d["status"] == "delivered"]
            return rows if rows and rows[0]["attempts"] == 2 else None
        [delivered] = await _until(two_attempts, "the delivery was never recorded as retried")

    # Killed, events come meanwhile, restarted: every event exactly once more.
    listener = served.listeners[-1]
    listener.send_signal(signal.SIGKILL)
    await asyncio.to_thread(listener.wait, 30)
    commented = await served.trigger("porting_order.new_comment")
    _, out = served.listen("dev", sink.url("/hook"), "--events", "porting_order.*")
    assert await _output_line(out, "signing secret: ") == secret
    calls = await sink.wait_for(4, "/hook", within_s=WAIT_S)  # created + new_comment
    await asyncio.sleep(2)  # anything sent twice would have come by now
    calls = sink.at("/hook")
    assert len(calls) == 4
    assert len(set(_ids(calls[2:]))) == 2
    assert {c.json()["data"]["subject"]["id"] for c in calls[2:]} == {commented}

    # A redelivery to the listener's endpoint reaches it.
    with served.api() as api:
        answer = api.post(f"/v1/events/{first.headers['webhook-id']}/actions/redeliver",
                          json={"endpoint_id": endpoint["id"]})
        assert answer.status_code == 202, answer.text
    [again] = (await sink.wait_for(5, "/hook", within_s=WAIT_S))[4:]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert _verified(secret, again)

    # porthook verify: the captured call checks out; a changed body or an old
    # timestamp is explained.
    good = await asyncio.to_thread(_verify, _raw(again), "--secret", secret, env=served.env)
    assert good.returncode == 0, good.stderr
    changed = Received(again.path, again.headers, again.body.replace(b"porting", b"PORTING"))
    bad = await asyncio.to_thread(_verify, _raw(changed), "--secret", secret, env=served.env)
    assert bad.returncode == 1 and "does not match" in bad.stderr
    old = Received(again.path, {**again.headers, "webhook-timestamp": "1000000000"}, again.body)
    stale = await asyncio.to_thread(_verify, _raw(old), "--secret", secret, env=served.env)
    assert stale.returncode == 1 and "timestamp skew" in stale.stderr
    assert delivered["last_status_code"] == 200


def _verify(raw: bytes, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "porthook", "verify", *args], env=env,
                          input=raw.decode(), capture_output=True, text=True, timeout=120,
                          check=False)


async def test_each_format_arrives_signed(served: Served, sink: Sink) -> None:
    secrets: dict[str, str] = {}
    for format, events in (("standard", "porting_order.*"), ("telnyx", "porting_order.*"),
                           ("sinch", "porting_order.*"), ("records", "record.*")):
        _, out = served.listen(format, sink.url(f"/{format}"), "--format", format,
                               "--events", events)
        secrets[format] = await _output_line(out, "signing secret: ")
        if format == "telnyx":
            assert "/v1/webhook-signing-key" in await _output_line(out, "telnyx public key: ")
    # Desk moves reach every format (sinch carries the order's updates, not its creation).
    await served.trigger("porting_order.numbers_confirmed")
    with served.api() as api:
        public = api.get("/v1/webhook-signing-key").json()["public_key"]
    for format, secret in secrets.items():
        [call, *_] = await sink.wait_for(1, f"/{format}", within_s=WAIT_S)
        assert _verified(secret, call)
        if format == "telnyx":
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
            stamp = call.headers["telnyx-timestamp"].encode()
            key.verify(base64.b64decode(call.headers["telnyx-signature-ed25519"]),
                       stamp + b"|" + call.body)
            assert call.json().get("meta", {"attempt": 1})["attempt"] == 1


async def test_listen_order_forwards_only_that_orders_events(served: Served,
                                                             sink: Sink) -> None:
    mine = await served.trigger("porting_order.created")
    _, out = served.listen("one", sink.url("/one"), "--events", "porting_order.*",
                           "--order", mine)
    assert await _output_line(out, "connected: ")
    await served.trigger("porting_order.new_comment")  # another, new order: not forwarded
    await served.trigger("porting_order.new_comment", "--order", mine)
    [call] = await sink.wait_for(1, "/one", within_s=WAIT_S)
    assert call.json()["data"]["subject"]["id"] == mine
    await asyncio.sleep(2)  # anything of the other order would have come by now
    assert {c.json()["data"]["subject"]["id"] for c in sink.at("/one")} == {mine}
    with served.api() as api:  # nor was it queued for the listener (fan-out filter)
        [endpoint] = [e for e in api.get("/v1/endpoints").json()["data"]
                      if e["origin"] == "listener"]
        found = api.get("/v1/deliveries", params={"endpoint_id": endpoint["id"]}).json()
        assert len(found["data"]) == 1


def test_forwarding_elsewhere_is_refused_without_allow_external(tmp_path: Path) -> None:
    result = _porthook("listen", "--api", "http://127.0.0.1:9", "--key", "ph_live_x",
                       "--forward-to", "http://example.com/hook", env=_env("sqlite://", tmp_path))
    assert result.returncode == 2
    assert "example.com is not a loopback address" in result.stderr
    assert "--allow-external" in result.stderr
