"""``porthook listen``'s client: read a listener's stream, forward each call
to a local URL, report the local answer back.

Synchronous httpx on purpose: one developer's listener forwards one call at a
time, in order, and a plain loop is the easiest to follow when it goes wrong.
The pure parts (where it may forward, the back-off, what a line shows) are
functions tested by tables.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0  # the cap of the reconnection back-off
# Three missed heartbeats (sent every 15 s) and the stream is taken for dead.
STREAM_READ_TIMEOUT_S = 45.0
LOCAL_TIMEOUT_S = 10.0  # the local server's answer; inside the server's lease
EXCERPT_CHARS = 200  # of the local answer, on the event's line
REPORTED_EXCERPT_CHARS = 1024  # kept in the delivery log


def loopback_refusal(url: str) -> str | None:
    """Why ``url`` is not a loopback HTTP URL (None when it is): a listener
    forwards the account's events, so by default only to this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"{host} is not a loopback address (localhost, 127.0.0.1, ::1)"


def backoff_s(failures: int) -> float:
    """Seconds before reconnection number ``failures`` (1 = first): doubling, capped."""
    if failures <= 0:
        return 0.0
    return float(min(BACKOFF_BASE_S * 2 ** (failures - 1), BACKOFF_MAX_S))


def parse_header(text: str) -> tuple[str, str]:
    """``'X-Env: dev'`` as a pair; ValueError names what is wrong."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ValueError(f"{text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def event_line(delivery: Mapping[str, Any], result: LocalResult, *, at: datetime) -> str:
    """One line per forwarded call: time, type, subject, answer, latency, excerpt."""
    answer = f"error ({result.error})" if result.error is not None else str(result.status_code)
    excerpt = (result.body or "").replace("\n", " ")[:EXCERPT_CHARS]
    return (f"{at.strftime('%H:%M:%S')}  {delivery['event_type']}  {delivery['subject']}  "
            f"attempt {delivery['attempt']}  -> {answer}  {result.duration_ms} ms  {excerpt}")


@dataclass(frozen=True)
class LocalResult:
    duration_ms: int
    status_code: int | None = None
    body: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and \
            200 <= self.status_code < 300


@dataclass
class Listener:
    """One ``porthook listen`` session. ``out`` gets the lines a person reads."""

    api: str
    key: str
    name: str
    forward_to: str
    format: str = "standard"
    events: list[str] = field(default_factory=list)
    order: str | None = None  # --order: the server's fan-out filters, not this client
    headers: dict[str, str] = field(default_factory=dict)
    retry_schedule: list[float] | None = None
    print_json: bool = False
    out: Callable[[str], None] = print
    # Deliveries the local server took (2xx) this session, by id: one the
    # stream sends again (its report was lost) is reported, not forwarded twice.
    acked: dict[str, LocalResult] = field(default_factory=dict)
    _announced: bool = False  # the ready lines were printed
    _lost: bool = False  # the last connection failed

    def run(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        failures = 0
        with httpx.Client(base_url=self.api, headers={"authorization": f"Bearer {self.key}"},
                          timeout=httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT_S)) as api, \
                httpx.Client(timeout=LOCAL_TIMEOUT_S) as local:
            while not stop():
                try:
                    for line in self._stream(api):
                        failures = 0
                        if line["type"] == "end":  # the server's turn-over: connect again
                            break
                        self._handle(api, local, line)
                        if stop():
                            return
                    else:
                        raise httpx.RemoteProtocolError("the server closed the stream")
                    continue
                except httpx.HTTPStatusError as error:
                    if 400 <= error.response.status_code < 500:
                        raise  # a wrong key or a refused option: retrying will not help
                    reason = f"HTTP {error.response.status_code}"
                except (httpx.TransportError, httpx.StreamError) as error:
                    reason = f"{type(error).__name__}: {error}"
                failures += 1
                self._lost = True
                wait_s = backoff_s(failures)
                self.out(f"disconnected ({reason}); reconnecting in {wait_s:.0f} s")
                time.sleep(wait_s)

    def _stream(self, api: httpx.Client) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"forward_to": self.forward_to, "format": self.format}
        if self.events:
            params["events"] = self.events
        if self.order:
            params["order"] = self.order
        with api.stream("GET", f"/v1/listeners/{self.name}/stream", params=params) as response:
            if response.status_code >= 400:
                response.read()
                response.raise_for_status()
            for text in response.iter_lines():
                if text.strip():
                    yield json.loads(text)

    def _handle(self, api: httpx.Client, local: httpx.Client, line: dict[str, Any]) -> None:
        if line["type"] == "ready" and self._announced:
            # After a lost connection, say it is back; after the server's
            # turn-over (an ``end`` line) nothing new happened.
            if self._lost:
                self.out(f"reconnected: listener {line['name']}")
            self._lost = False
            return
        if line["type"] == "ready":
            self._announced, self._lost = True, False
            self.out(f"connected: listener {line['name']} ({line['endpoint_id']}), "
                     f"format {line['format']}, events {', '.join(line['events'])}"
                     + (f", order {line['order']}" if line.get("order") else ""))
            self.out(f"signing secret: {line['secret']}")
            if line["format"] == "telnyx":
                self.out(f"telnyx public key: GET {self.api}{line['signing_key_url']}")
            self.out(f"forwarding to {self.forward_to}")
        elif line["type"] == "delivery":
            self._deliver(api, local, line)

    def _deliver(self, api: httpx.Client, local: httpx.Client, delivery: dict[str, Any]) -> None:
        result = self.acked.get(delivery["delivery_id"])
        if result is None:
            result = self._forward(local, delivery)
            self.out(event_line(delivery, result, at=datetime.now(UTC)))
            if self.print_json:
                self.out(json.dumps(json.loads(delivery["body"]), indent=2))
        if self._report(api, delivery, result) and result.ok:
            self.acked[delivery["delivery_id"]] = result

    def _forward(self, local: httpx.Client, delivery: Mapping[str, Any]) -> LocalResult:
        headers = {**self.headers, **delivery["headers"]}
        started = time.perf_counter()
        try:
            response = local.post(self.forward_to, content=delivery["body"].encode(),
                                  headers=headers)
        except httpx.HTTPError as error:
            return LocalResult(duration_ms=_ms_since(started),
                               error=f"{type(error).__name__}: {error}")
        return LocalResult(duration_ms=_ms_since(started), status_code=response.status_code,
                           body=response.text)

    def _report(self, api: httpx.Client, delivery: Mapping[str, Any], result: LocalResult) -> bool:
        """Tell porthook the local answer; whether it was recorded (a 409: the
        lease moved on, the stream sends the delivery again)."""
        body: dict[str, Any] = {
            "lease": delivery["lease"], "duration_ms": result.duration_ms,
            "status_code": result.status_code, "error": result.error,
            "response_excerpt": (result.body or "")[:REPORTED_EXCERPT_CHARS] or None}
        if self.retry_schedule:
            body["retry_schedule"] = self.retry_schedule
        response = api.post(f"/v1/listeners/{self.name}/deliveries/"
                            f"{delivery['delivery_id']}/result", json=body)
        if response.status_code == 409:
            return False
        response.raise_for_status()
        return True


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
