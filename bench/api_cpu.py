"""CPU per API request, in process: the application called through ASGI
directly (no server, no socket, no client library), one request at a time.

    .venv/bin/python -m bench.api_cpu                        # both backends
    .venv/bin/python -m bench.api_cpu --backend postgresql --profile /tmp/api.prof
    .venv/bin/python -m bench.api_cpu --kind move --statements
    .venv/bin/python -m bench.api_cpu --backend postgresql --kind create_order --timers

A figure that bench/api.py's open loop cannot give on a shared or noisy
machine: process CPU time per request of the application itself, for a
comment, an order creation and a status move, each with a webhook endpoint
subscribed (so each write records its event and fans out a delivery). A
``move`` is one of the four moves of bench/api.py's walk (submit, desk
``submitted``, desk ``foc-date-confirmed``, activate), on orders created and
given their LOA before the timing starts; its figure is the mean of the four,
and its statements are those of one whole walk.

The machine's speed drifts on a shared host (the same loop took 74 ms and
137 ms minutes apart), so each figure is also given in ``loops``: the
request's CPU divided by that of a fixed pure-Python loop (2 million
additions) timed just before, a unit that compares across runs and machines.

What is NOT counted: uvicorn's HTTP parsing and the socket (about 0.1 ms per
request), the worker, and the database server's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvloop

from bench.api import LOA_PDF, _pg_admin, fictional_numbers, order_body
from bench.timers import Timers
from porthook import db
from porthook.accounts import service as accounts
from porthook.config import Settings
from porthook.db import Base, Database, all_models
from porthook.web import create_app

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
KINDS = ("comment", "create_order", "move")
WALK = 4  # requests in one walk of the move kind
CHUNKS = 6  # measured in chunks, each against the loop timed before it
Send = Callable[[str, str, dict[str, Any] | None], Awaitable[tuple[int, bytes]]]


def calibration_ms(runs: int = 3) -> float:
    """The best of ``runs`` runs of a fixed pure-Python loop: this machine's speed."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best * 1000


def asgi_sender(app: Any, token: str) -> Send:
    """One request through the ASGI app; returns (status, body)."""
    raw = asgi_raw_sender(app, token)

    async def send_request(method: str, path: str, body: dict[str, Any] | None
                           ) -> tuple[int, bytes]:
        if body is None:
            return await raw(method, path, b"", None)
        return await raw(method, path, json.dumps(body).encode(), "application/json")

    return send_request


RawSend = Callable[[str, str, bytes, str | None], Awaitable[tuple[int, bytes]]]


def asgi_raw_sender(app: Any, token: str) -> RawSend:
    """One request with a body already encoded, of the given content type."""
    headers = [(b"host", b"porthook.test"), (b"authorization", f"Bearer {token}".encode())]

    async def send_request(method: str, path: str, payload: bytes, content_type: str | None
                           ) -> tuple[int, bytes]:
        request_headers = list(headers)
        if content_type is not None:
            request_headers += [(b"content-type", content_type.encode()),
                                (b"content-length", str(len(payload)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": request_headers, "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 1234), "root_path": ""}
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(chunks)

    return send_request


async def fresh_database(backend: str, workdir: Path) -> tuple[str, Callable[[], Awaitable[None]]]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'cpu.db'}"

        async def nothing() -> None:
            return None

        return url, nothing
    name = f"porthook_bench_cpu_{os.getpid()}"
    dropping = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await _pg_admin(dropping, f'CREATE DATABASE "{name}"')

    async def drop() -> None:
        await _pg_admin(dropping)

    return PG_URL.format(name=name), drop


async def measure(backend: str, count: int, profile: Path | None,
                  kinds: tuple[str, ...] = KINDS, timers: Timers | None = None
                  ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = await fresh_database(backend, Path(tmp))
        settings = Settings(database_url=url, mail_dir=Path(tmp) / "mail",
                            allow_private_targets=True)
        database = Database(settings)
        try:
            async with database.engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            all_models()
            return await _measure_app(create_app(settings, database=database), database,
                                      count, profile, backend, kinds, timers)
        finally:
            await database.dispose()
            await drop()


@dataclass
class Kind:
    """How to measure one kind: ``step(i)`` sends ``requests`` requests;
    ``prepare(n)`` readies n steps, untimed, before each timed chunk."""

    step: Callable[[int], Awaitable[None]]
    requests: int = 1
    prepare: Callable[[int], Awaitable[None]] | None = None


async def _measure_app(app: Any, database: Database, count: int, profile: Path | None,
                       backend: str, kinds: tuple[str, ...], timers: Timers | None = None
                       ) -> dict[str, Any]:
    async with database.sessions() as session:
        _, _, token = await accounts.create_account(session, name="cpu", contact_email=None,
                                                    now=_now())
        _, operator_token = await accounts.create_key(session, account_id=None, name="cpu",
                                                      now=_now())
        await session.commit()
    send = asgi_sender(app, token)
    status, body = await send("POST", "/v1/endpoints", {
        "url": "http://127.0.0.1:9/sink", "format": "standard", "event_types": ["*"]})
    assert status == 201, body
    numbers = iter(fictional_numbers(3 * count + 10))
    order_ids = [await _create(send, next(numbers)) for _ in range(5)]
    figures: dict[str, Any] = {"backend": backend}
    profiler = cProfile.Profile() if profile else None

    async def comment(i: int) -> None:
        path = f"/v1/porting-orders/{order_ids[i % len(order_ids)]}/comments"
        status, body = await send("POST", path, {"body": f"comment {i}"})
        assert status == 201, body

    async def create(_i: int) -> None:
        await _create(send, next(numbers))

    walker = Walker(send, asgi_sender(app, operator_token), asgi_raw_sender(app, token), numbers)
    steps = {"comment": Kind(comment), "create_order": Kind(create),
             "move": Kind(walker.walk, WALK, walker.prepare)}
    for kind in kinds:
        figures.update(await _measure_kind(kind, steps[kind], database, count, profiler,
                                           timers))
    if profiler and profile:
        profiler.dump_stats(str(profile.with_suffix(f".{backend}.prof")))
    return figures


async def _measure_kind(kind: str, how: Kind, database: Database, count: int,
                        profiler: cProfile.Profile | None, timers: Timers | None = None
                        ) -> dict[str, Any]:
    warm_up = max(1, 20 // how.requests)  # caches, prepared statements
    if how.prepare:
        await how.prepare(warm_up + 1)
    for i in range(warm_up):
        await how.step(i)
    statements = await _statements_of(database, how.step)
    per_request, loops = [], []
    chunk = max(1, count // CHUNKS // how.requests)
    for c in range(CHUNKS):
        if how.prepare:
            await how.prepare(chunk)
        loops.append(calibration_ms(runs=1))
        if profiler:
            profiler.enable()
        start = time.process_time()
        with timers.counting() if timers else contextlib.nullcontext():
            for i in range(c * chunk, (c + 1) * chunk):
                await how.step(i)
        per_request.append((time.process_time() - start) / (chunk * how.requests) * 1e6)
        if profiler:
            profiler.disable()
    # The machine's speed drifts (a shared host): each chunk is read
    # against the loop timed just before it.
    timed = {f"{kind}_timers": timers.take(CHUNKS * chunk * how.requests)} if timers else {}
    return {**timed, f"{kind}_statements": statements,
            f"{kind}_cpu_us": round(statistics.median(per_request)),
            f"{kind}_loops": round(statistics.median(
                us / 1000 / ms for us, ms in zip(per_request, loops, strict=True)), 3)}


class Walker:
    """bench/api.py's walk of an order: submit, desk ``submitted``, desk
    ``foc-date-confirmed``, activate. The orders are created, with their LOA,
    by ``prepare``, outside the timing."""

    def __init__(self, customer: Send, desk: Send, raw: RawSend,
                 numbers: Iterator[str]) -> None:
        self.customer, self.desk, self.raw, self.numbers = customer, desk, raw, numbers
        self.ready: deque[str] = deque()

    async def prepare(self, count: int) -> None:
        boundary = "porthookbenchboundary"
        payload = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
            f'loa\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="loa.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode() + LOA_PDF + f"\r\n--{boundary}--\r\n".encode()
        for _ in range(count):
            order_id = await _create(self.customer, next(self.numbers))
            status, body = await self.raw("POST", f"/v1/porting-orders/{order_id}/documents",
                                          payload, f"multipart/form-data; boundary={boundary}")
            assert status == 201, body
            self.ready.append(order_id)

    async def walk(self, _i: int) -> None:
        order_id = self.ready.popleft()
        customer = f"/v1/porting-orders/{order_id}"
        desk = f"/v1/operator/porting-orders/{order_id}/status"
        foc = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        moves: list[tuple[Send, str, dict[str, Any] | None]] = [
            (self.customer, f"{customer}/actions/submit", None),
            (self.desk, desk, {"status": "submitted"}),
            (self.desk, desk, {"status": "foc-date-confirmed", "foc_date": foc}),
            (self.customer, f"{customer}/actions/activate", None),
        ]
        for send, path, body in moves:
            status, answer = await send("POST", path, body)
            assert status == 200, answer


async def _statements_of(database: Database, step: Callable[[int], Awaitable[None]]
                         ) -> list[str]:
    """The SQL statements one request runs (BEGIN and COMMIT included), first line each."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:110])

    def begin(_conn: Any) -> None:
        seen.append("BEGIN")

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    engine = database.engine.sync_engine
    hooks = (("before_cursor_execute", record), ("begin", begin), ("commit", commit))
    for name, hook in hooks:
        sa.event.listen(engine, name, hook)
    # The statements run on asyncpg itself (PostgreSQL), which SQLAlchemy never sees.
    stop = db.on_driver_statement(lambda statement: record(None, None, statement))
    try:
        await step(10_000)
    finally:
        stop()
        for name, hook in hooks:
            sa.event.remove(engine, name, hook)
    return seen


async def _create(send: Send, number: str) -> str:
    status, body = await send("POST", "/v1/porting-orders",
                              order_body([number], f"cpu-{uuid.uuid4().hex[:8]}"))
    assert status == 201, body
    return str(json.loads(body)["id"])


def _now() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=300, help="requests measured per kind")
    parser.add_argument("--kind", action="append", choices=KINDS,
                        help="measure only this kind (repeatable); default: all")
    parser.add_argument("--statements", action="store_true",
                        help="print the SQL statements of one request of each kind")
    parser.add_argument("--profile", type=Path, help="write cProfile stats to PATH.<backend>.prof")
    parser.add_argument("--timers", action="store_true",
                        help="print inclusive CPU per request of the functions bench/timers.py "
                             "names (their timers cost CPU too)")
    args = parser.parse_args()
    timers = Timers() if args.timers else None
    if timers:
        timers.install()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    calibration = calibration_ms()
    # uvloop, as uvicorn runs the API.
    runs = [uvloop.run(measure(b, args.count, args.profile, tuple(args.kind or KINDS), timers))
            for b in backends]
    for run in runs:
        print(f"{run['backend']:>10}: " + ", ".join(
            f"{kind} {run[kind + '_cpu_us']} µs CPU ({run[kind + '_loops']} loops)"
            for kind in KINDS if kind + "_cpu_us" in run))
        for kind in (k for k in KINDS if k + "_timers" in run):
            print(f"  {kind}: inclusive CPU per request")
            for label, figure in run[f"{kind}_timers"].items():
                print(f"    {figure['us']:>7} µs  {figure['calls']:>5} calls  {label}")
        if args.statements:
            for kind in (k for k in KINDS if k + "_statements" in run):
                statements = run[f"{kind}_statements"]
                requests = f" ({WALK} requests)" if kind == "move" else ""
                print(f"  {kind}: {len(statements)} statements{requests}")
                for statement in statements:
                    print(f"    {statement}")
    print(json.dumps({"bench": "api-cpu", "calibration_ms": round(calibration, 1),
                      "runs": runs}))


if __name__ == "__main__":
    main()
