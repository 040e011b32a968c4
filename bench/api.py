"""API load benchmark: porting orders created and moved per second against a
real ``porthook api`` server, on SQLite and PostgreSQL.

    .venv/bin/python bench/api.py                      # both backends
    .venv/bin/python bench/api.py --backend postgresql --orders 500 --processes 1,2

For each backend and API process count: a fresh database (a SQLite file in a
temporary folder; on PostgreSQL the database ``porthook_bench_api_<pid>``,
dropped at the end), ``porthook db upgrade``, an account and an operator key
made with the CLI, then ``porthook api`` on a free loopback port, driven by one
keep-alive aiohttp client (``--client httpx``: httpx's) with a bounded number
of requests in flight:

1. create: ``POST /v1/porting-orders`` with a complete body (orders/s);
2. upload: the LOA each order needs before it can be submitted (uploads/s);
3. moves: submit, desk ``submitted``, desk ``foc-date-confirmed``, on-demand
   activation (order ``ported``); each successful request is one move (moves/s).

The client runs on the same machine as the server: on a small machine it takes
a share of the CPU, so the figures are a floor. Prints a table, then the
figures as one JSON object on the last line of stdout (and in ``--json PATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx

HOST = "127.0.0.1"  # all traffic stays on loopback
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
CLI_TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.2
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 60.0
OPEN_LOOP_CONNECTIONS = 256  # connections of the open loop's client
PHASE_TIMEOUT_S = 900.0
# 555-0100..555-0199 is the NANP's fictional range; with these area codes
# phonenumbers accepts every one of them as a valid US number.
AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "212", "213", "214",
    "215", "216", "217", "218", "219", "224", "225", "228", "229", "231", "234", "239",
    "240", "248", "251", "252", "253", "254", "256", "260", "262", "267", "269", "270",
    "276", "281", "301", "302", "303", "304", "305", "307", "308", "309", "310", "312",
    "313", "314", "315", "316", "317", "318", "319", "320", "321", "323", "325", "330",
)
FICTIONAL_LINES = range(100, 200)
LOA_PDF = b"%PDF-1.4\n% porthook bench LOA\n"
# Request kinds, in the order the table shows them; the moves are the last four.
MOVE_KINDS = ("submit", "desk_submitted", "desk_foc_confirmed", "activate")
KINDS = ("create", "upload_loa", *MOVE_KINDS)

T = TypeVar("T")


# ---- pure helpers (tests/unit/test_bench_api_helpers.py) --------------------

def fictional_numbers(count: int) -> list[str]:
    """``count`` distinct E.164 numbers of the fictional 555-01XX range."""
    capacity = len(AREA_CODES) * len(FICTIONAL_LINES)
    if not 0 <= count <= capacity:
        raise ValueError(f"between 0 and {capacity} numbers can be generated, not {count}")
    per_code = len(FICTIONAL_LINES)
    return [f"+1{AREA_CODES[i // per_code]}555{FICTIONAL_LINES[i % per_code]:04d}"
            for i in range(count)]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in (0, 1]); NaN without samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def order_body(phone_numbers: Sequence[str], reference: str) -> dict[str, Any]:
    """A complete order: once its LOA is attached, it can be submitted."""
    return {
        "phone_numbers": list(phone_numbers),
        "customer_reference": reference,
        "desired_port_date": (datetime.now(UTC) + timedelta(days=5)).date().isoformat(),
        "on_demand_activation": True,
        "end_user": {
            "business_name": "Bench Inc", "location_type": "business",
            "authorized_person": "Ann Smith", "business_contact": "Bob",
            "service_address": {"line1": "1 Main St", "city": "New York", "state": "NY",
                                "zip": "10001", "country": "US"},
        },
        "port_out": {"losing_carrier": "OldTel", "account_number": "ACC-9",
                     "btn": phone_numbers[0], "pin": "1234"},
    }


# ---- measuring ---------------------------------------------------------------

@dataclass
class Kind:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        ms = [s * 1000 for s in self.latencies_s]
        return {"ok": len(ms), "errors": self.errors,
                "p50_ms": round(percentile(ms, 0.50), 1), "p99_ms": round(percentile(ms, 0.99), 1),
                "mean_ms": round(sum(ms) / len(ms), 1) if ms else math.nan}


@dataclass
class Recorder:
    kinds: dict[str, Kind] = field(default_factory=lambda: {k: Kind() for k in KINDS})
    error_samples: list[str] = field(default_factory=list)

    async def call(self, kind: str, send: Awaitable[tuple[int, bytes]], expect: int) -> Any:
        """Time one request; its JSON body on the expected status, else None."""
        start = time.perf_counter()
        try:
            status, body = await send
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
            return self._fail(kind, f"{kind}: {exc!r}")
        elapsed = time.perf_counter() - start
        if status != expect:
            return self._fail(kind, f"{kind}: {status} {body[:300].decode(errors='replace')}")
        self.kinds[kind].latencies_s.append(elapsed)
        return json.loads(body)

    def _fail(self, kind: str, message: str) -> None:
        self.kinds[kind].errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(message)


async def run_pool(
    items: Iterable[T], concurrency: int, job: Callable[[T], Awaitable[Any]]
) -> tuple[list[Any], float]:
    """Run ``job`` on every item, at most ``concurrency`` at a time: the results
    that are not None, and the wall seconds."""
    iterator = iter(items)  # shared: each item is taken by exactly one worker
    results: list[Any] = []

    async def worker() -> None:
        for item in iterator:
            result = await job(item)
            if result is not None:
                results.append(result)

    start = time.perf_counter()
    async with asyncio.timeout(PHASE_TIMEOUT_S):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - start


# ---- the workload -------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    customer: dict[str, str]
    operator: dict[str, str]


# A POST of the benchmark's client: (url, headers, JSON body, send the LOA
# form instead) -> (status, body).
Post = Callable[[str, dict[str, str], dict[str, Any] | None, bool], Awaitable[tuple[int, bytes]]]
CLIENTS = ("aiohttp", "httpx")


@dataclass
class Driver:
    """One keep-alive client, the two keys, and the record of every request."""

    post: Post
    keys: Keys
    rec: Recorder = field(default_factory=Recorder)

    async def create(self, batch: Sequence[str]) -> Any:
        body = order_body(batch, f"bench-{batch[0]}")
        send = self.post("/v1/porting-orders", self.keys.customer, body, False)
        return await self.rec.call("create", send, 201)

    async def upload_loa(self, order: dict[str, Any]) -> Any:
        send = self.post(f"/v1/porting-orders/{order['id']}/documents", self.keys.customer,
                         None, True)
        return order if await self.rec.call("upload_loa", send, 201) is not None else None

    async def walk(self, order: dict[str, Any]) -> None:
        """Submit, desk submitted, desk foc-date-confirmed, activate (ported);
        stops at the first refused move."""
        customer, operator = f"/v1/porting-orders/{order['id']}", self.keys.operator
        desk = f"/v1/operator/porting-orders/{order['id']}/status"
        foc = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        steps: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
            ("submit", f"{customer}/actions/submit", None, self.keys.customer),
            ("desk_submitted", desk, {"status": "submitted"}, operator),
            ("desk_foc_confirmed", desk, {"status": "foc-date-confirmed", "foc_date": foc},
             operator),
            ("activate", f"{customer}/actions/activate", None, self.keys.customer),
        ]
        for kind, url, body, headers in steps:
            if await self.rec.call(kind, self.post(url, headers, body, False), 200) is None:
                return


@contextlib.asynccontextmanager
async def client_post(kind: str, base_url: str, concurrency: int) -> AsyncIterator[Post]:
    """The benchmark's client. aiohttp by default: on a small machine the
    client shares the CPU with the server and PostgreSQL, and httpx (the
    client before 2026-11-26's sixth pass, ``--client httpx``) spent about
    2.8 ms of CPU per request, more than half of what the API spent."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, limits=limits,
                                     timeout=REQUEST_TIMEOUT_S) as client:

            async def post_httpx(url: str, headers: dict[str, str], body: dict[str, Any] | None,
                                 loa: bool) -> tuple[int, bytes]:
                if loa:
                    files = {"file": ("loa.pdf", LOA_PDF, "application/pdf")}
                    response = await client.post(url, headers=headers, files=files,
                                                 data={"document_type": "loa"})
                else:
                    response = await client.post(url, json=body, headers=headers)
                return response.status_code, response.content

            yield post_httpx
        return
    async with aiohttp.ClientSession(
            base_url=base_url, connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as session:

        async def post_aiohttp(url: str, headers: dict[str, str], body: dict[str, Any] | None,
                               loa: bool) -> tuple[int, bytes]:
            form = None
            if loa:
                form = aiohttp.FormData({"document_type": "loa"})
                form.add_field("file", LOA_PDF, filename="loa.pdf", content_type="application/pdf")
            async with session.post(url, headers=headers, data=form,
                                    json=None if loa else body) as response:
                return response.status, await response.read()

        yield post_aiohttp


async def drive(
    base_url: str, keys: Keys, numbers: Sequence[Sequence[str]], concurrency: int,
    client: str = CLIENTS[0],
) -> tuple[Recorder, dict[str, float]]:
    """The three phases; returns the recorder and each phase's wall seconds
    (and, under ``client_cpu``, the benchmark process's CPU seconds)."""
    async with client_post(client, base_url, concurrency) as post:
        driver = Driver(post, keys)
        cpu = time.process_time()
        orders, create_s = await run_pool(numbers, concurrency, driver.create)
        ready, upload_s = await run_pool(orders, concurrency, driver.upload_loa)
        _, moves_s = await run_pool(ready, concurrency, driver.walk)
        cpu = time.process_time() - cpu
    return driver.rec, {"create": create_s, "upload_loa": upload_s, "moves": moves_s,
                        "client_cpu": cpu}


# ---- the server and its database ---------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTHOOK_")}
    # WARNING silences uvicorn's access log: a line per request would be measured too.
    # Private targets: the writes mode's endpoint is the sink on loopback.
    env.update(PORTHOOK_DATABASE_URL=database_url, PORTHOOK_LOG_LEVEL="WARNING",
               PORTHOOK_MAIL_DIR=str(workdir / "mail"), PORTHOOK_ALLOW_PRIVATE_TARGETS="true")
    return env


async def porthook_cli(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "porthook", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"porthook {' '.join(args)} failed: {err.decode()[-2000:]}")
    return out.decode()


async def make_keys(env: dict[str, str]) -> Keys:
    await porthook_cli(env, "db", "upgrade")
    account = json.loads(await porthook_cli(env, "accounts", "create", "bench", "--json"))
    operator = json.loads(await porthook_cli(env, "operator-keys", "create", "--json"))
    return Keys(customer={"Authorization": f"Bearer {account['api_key']}"},
                operator={"Authorization": f"Bearer {operator['api_key']}"})


@contextlib.asynccontextmanager
async def fresh_database(backend: str, workdir: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"porthook_bench_api_{os.getpid()}"
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg_admin(*statements: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def api_server(env: dict[str, str], processes: int, log: Path,
                     profile: Path | None = None) -> AsyncIterator[tuple[str, int]]:
    """``porthook api``: its base URL and process group id."""
    async with server_process(env, log, "api", "--workers", str(processes),
                              profile=profile) as (base_url, pgid):
        yield base_url, pgid


@contextlib.asynccontextmanager
async def server_process(
    env: dict[str, str], log: Path, command: str, *args: str, profile: Path | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """``porthook api|serve`` on a free port: its base URL and process group id.
    With ``profile``, run under ``py-spy record`` writing raw stacks there."""
    port = free_port()
    argv = [sys.executable, "-m", "porthook", command, "--host", HOST, "--port", str(port),
            *args]
    if profile is not None:
        py_spy = Path(sys.executable).with_name("py-spy")
        argv = [str(py_spy), "record", "--format", "raw", "--rate", "250", "--nonblocking",
                "-o", str(profile), "--", *argv]
    with log.open("wb") as out:
        # Own session: the process group id is the server's pid, so that a
        # stuck uvicorn master and its workers can be killed together.
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=out, start_new_session=True,
        )
    try:
        await wait_healthy(f"http://{HOST}:{port}", proc, log)
        yield f"http://{HOST}:{port}", proc.pid
    finally:
        if profile is not None and proc.returncode is None:
            # py-spy writes its file when its child ends: stop the server, not py-spy.
            os.killpg(proc.pid, signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        await stop(proc)


@contextlib.asynccontextmanager
async def background_process(log: Path, *argv: str,
                             env: dict[str, str] | None = None) -> AsyncIterator[int]:
    """A helper process (the worker, the sink) for the block's duration; its pid."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield proc.pid
    finally:
        await stop(proc)


async def wait_healthy(base_url: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"server exited: {tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(HEALTH_POLL_S)
    raise TimeoutError(f"no /healthz within {HEALTH_TIMEOUT_S} s: {tail(log)}")


def tail(log: Path, size: int = 2000) -> str:
    return log.read_text(errors="replace")[-size:]


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


# ---- one run, many runs ------------------------------------------------------

@dataclass(frozen=True)
class RunSpec:
    backend: str
    processes: int
    concurrency: int
    orders: int
    numbers_per_order: int
    warmup: int
    profile: Path | None = None
    client: str = CLIENTS[0]


async def run_one(spec: RunSpec, workdir: Path) -> dict[str, Any]:
    per = spec.numbers_per_order
    flat = fictional_numbers((spec.orders + spec.warmup) * per)
    numbers = [flat[i:i + per] for i in range(0, len(flat), per)]
    async with fresh_database(spec.backend, workdir) as url:
        env = server_env(url, workdir)
        keys = await make_keys(env)
        log = workdir / f"server-{spec.backend}-{spec.processes}.log"
        profile = spec.profile and spec.profile / f"api-{spec.backend}-{spec.processes}.txt"
        async with api_server(env, spec.processes, log, profile) as (base_url, pgid):
            # Warm-up (not counted): imports, connection pools, statement caches.
            await drive(base_url, keys, numbers[:spec.warmup], spec.concurrency, spec.client)
            cpu_before = group_cpu_s(pgid)
            rec, seconds = await drive(base_url, keys, numbers[spec.warmup:], spec.concurrency,
                                       spec.client)
            cpu_s = group_cpu_s(pgid) - cpu_before
    client_cpu_s = seconds.pop("client_cpu")
    result = figures(spec, rec, seconds)
    requests = sum(k["ok"] + k["errors"] for k in result["requests"].values())
    # The API processes' CPU over every measured request (create, upload, moves),
    # and the benchmark's own (its client), which shares the machine.
    result["client"] = spec.client
    result["api_cpu_us_per_request"] = round(cpu_s * 1e6 / requests) if requests else None
    result["client_cpu_us_per_request"] = (round(client_cpu_s * 1e6 / requests)
                                           if requests else None)
    return result


def figures(spec: RunSpec, rec: Recorder, seconds: dict[str, float]) -> dict[str, Any]:
    kinds = {name: kind.summary() for name, kind in rec.kinds.items()}
    moves = sum(kinds[k]["ok"] for k in MOVE_KINDS)
    moves_ms = [s * 1000 for k in MOVE_KINDS for s in rec.kinds[k].latencies_s]
    return {
        "backend": spec.backend, "processes": spec.processes, "concurrency": spec.concurrency,
        "orders": spec.orders, "numbers_per_order": spec.numbers_per_order,
        "orders_per_s": round(kinds["create"]["ok"] / seconds["create"], 1),
        "uploads_per_s": round(kinds["upload_loa"]["ok"] / seconds["upload_loa"], 1),
        "moves_per_s": round(moves / seconds["moves"], 1),
        "moves": moves, "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "create_p50_ms": kinds["create"]["p50_ms"], "create_p99_ms": kinds["create"]["p99_ms"],
        "moves_p50_ms": round(percentile(moves_ms, 0.5), 1),
        "moves_p99_ms": round(percentile(moves_ms, 0.99), 1),
        "requests": kinds, "errors": sum(k["errors"] for k in kinds.values()),
        "error_samples": rec.error_samples,
    }


SUMMARY_COLUMNS = (  # (title, width, key in a run's figures)
    ("backend", 11, "backend"), ("procs", 6, "processes"), ("conc", 5, "concurrency"),
    ("orders", 7, "orders"), ("orders/s", 9, "orders_per_s"), ("uploads/s", 10, "uploads_per_s"),
    ("moves/s", 8, "moves_per_s"), ("create p50", 11, "create_p50_ms"),
    ("create p99", 11, "create_p99_ms"), ("move p50", 9, "moves_p50_ms"),
    ("move p99", 9, "moves_p99_ms"), ("errors", 7, "errors"),
)
REQUEST_COLUMNS = (("ok", 6), ("errors", 7), ("p50_ms", 9), ("p99_ms", 9), ("mean_ms", 9))


def print_tables(runs: Sequence[dict[str, Any]]) -> None:
    """The summary (latencies in ms), then every request kind's latencies."""
    print("".join(f"{title:>{width}}" for title, width, _ in SUMMARY_COLUMNS))
    for r in runs:
        print("".join(f"{r[key]:>{width}}" for _, width, key in SUMMARY_COLUMNS))
    print(f"\n{'backend':>11}{'procs':>6}{'request':>20}"
          + "".join(f"{title:>{width}}" for title, width in REQUEST_COLUMNS))
    for r in runs:
        for name, kind in r["requests"].items():
            print(f"{r['backend']:>11}{r['processes']:>6}{name:>20}"
                  + "".join(f"{kind[key]:>{width}}" for key, width in REQUEST_COLUMNS))
        for sample in r["error_samples"]:
            print(f"! {r['backend']}/{r['processes']}: {sample}")


# ---- writes mode: comments and status moves, open loop, worker beside --------

WRITE_KINDS = ("comment", "move")
FLAT_COMMENTS = 1000  # comments on one order for the flat-cost figure
WARMUP_S = 5.0  # writes: seconds of load before the measured window (1 s before 2026-11-27)
FLAT_WINDOW = 50  # the first and the last this many comments are compared: the p50 of
# 10 samples of a few milliseconds moved by 0.6 to 1.3 between runs of one code
DRAIN_TIMEOUT_S = 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _pid_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@contextlib.asynccontextmanager
async def pg_connection(database_url: str) -> AsyncIterator[Any]:
    """A plain asyncpg connection to a porthook database URL, for the
    benchmark's own reads and maintenance beside the servers."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        yield connection
    finally:
        await connection.close()


async def pg_backends_cpu_s(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the database
    (the API's and the worker's connections, its autovacuum), by pid: the
    server shares the cores with the API, so its work per write counts too."""
    async with pg_connection(database_url) as connection:
        pids = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return {row["pid"]: cpu for row in pids if (cpu := _pid_cpu_s(row["pid"])) is not None}


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of every live process of a process group
    (the server and its children), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state ppid pgrp ... utime (11) stime (12), 0-based.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def open_loop_schedule(rate: float, duration_s: float) -> list[float]:
    """Send times (seconds from the start) of ``rate`` requests a second."""
    return [i / rate for i in range(math.floor(rate * duration_s))]


def flat_ratio(latencies_s: Sequence[float], window: int) -> float:
    """p50 of the last ``window`` samples over p50 of the first ``window``."""
    first, last = percentile(latencies_s[:window], 0.5), percentile(latencies_s[-window:], 0.5)
    return round(last / first, 2) if first else math.nan


@dataclass(frozen=True)
class WriteSpec:
    backend: str
    rate: float
    move_rate: float
    duration_s: float
    comment_orders: int
    flat_comments: int
    profile: Path | None = None
    worker_processes: int | None = None  # None: porthook worker's default (the cores)
    worker_notify_gap_s: float | None = None  # None: porthook's default
    # Comments at the full rate before the measured window: a new API process
    # opens its pool's connections as the load needs them (a server fork,
    # type introspection, every statement prepared). At 330 writes/s the
    # database's sessions went from 16 to 40 in the first seconds of the
    # window after a 1 s warm-up; the window is meant for the steady state.
    warmup_s: float = WARMUP_S


@dataclass
class WriteStats:
    latencies_s: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in WRITE_KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WRITE_KINDS, 0))
    error_samples: list[str] = field(default_factory=list)
    last_done: float = 0.0
    # Move ticks that found no order ready for its next step (the previous
    # step of every order still in flight): the server is behind.
    moves_skipped: int = 0


async def timed_post(client: aiohttp.ClientSession, stats: WriteStats, kind: str, due: float,
                     url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> bool:
    """One open-loop request, its latency counted from when it was due (a
    late start is the server's backlog, not the client's excuse); True if it
    succeeded."""
    try:
        async with client.post(url, json=body, headers=headers) as response:
            text = await response.text()
        ok = response.status in (200, 201)
        detail = f"{response.status} {text[:200]}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        ok, detail = False, repr(exc)
    done = time.perf_counter()
    stats.last_done = max(stats.last_done, done)
    if ok:
        stats.latencies_s[kind].append(done - due)
        return True
    stats.errors[kind] += 1
    if len(stats.error_samples) < 5:
        stats.error_samples.append(f"{kind}: {detail}")
    return False


def move_request(order_id: str, step: int, keys: Keys) -> tuple[str, dict[str, Any] | None,
                                                                 dict[str, str]]:
    desk = f"/v1/operator/porting-orders/{order_id}/status"
    customer = f"/v1/porting-orders/{order_id}"
    foc = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return [
        (f"{customer}/actions/submit", None, keys.customer),
        (desk, {"status": "submitted"}, keys.operator),
        (desk, {"status": "foc-date-confirmed", "foc_date": foc}, keys.operator),
        (f"{customer}/actions/activate", None, keys.customer),
    ][step]


def open_loop_client(base_url: str) -> aiohttp.ClientSession:
    """The open loop's client. aiohttp, not httpx: with thousands of requests
    waiting for a connection (a server behind an open loop) httpcore's pool
    spends CPU on every waiting request at each step, and the load generator,
    not the server, set the rate (seen: the client at 98 % of a core, the
    server at 2 %). aiohttp's connector queues waiters in O(1)."""
    return aiohttp.ClientSession(
        base_url=base_url, connector=aiohttp.TCPConnector(limit=OPEN_LOOP_CONNECTIONS),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))


async def open_loop(client: aiohttp.ClientSession, keys: Keys, spec: WriteSpec,
                    comment_orders: Sequence[str], move_orders: Sequence[str]) -> WriteStats:
    """Comments at ``spec.rate``/s and moves at ``spec.move_rate``/s, each sent
    when due whatever the earlier ones became. A move tick takes the next step
    of an order whose previous step is done (an order's steps cannot overlap)."""
    stats = WriteStats()
    ready: collections.deque[tuple[str, int]] = collections.deque(
        (order_id, 0) for order_id in move_orders)

    async def move(due: float) -> None:
        if not ready:
            stats.moves_skipped += 1
            return
        order_id, step = ready.popleft()
        url, body, headers = move_request(order_id, step, keys)
        if await timed_post(client, stats, "move", due, url, body, headers) and step < 3:
            ready.append((order_id, step + 1))

    sends: list[tuple[float, str, int]] = [
        (at, "comment", i) for i, at in enumerate(open_loop_schedule(spec.rate, spec.duration_s))]
    sends += [(at, "move", 0) for at in open_loop_schedule(spec.move_rate, spec.duration_s)]
    sends.sort(key=lambda s: s[0])
    tasks: list[asyncio.Task[Any]] = []
    start = time.perf_counter()
    for at, kind, i in sends:
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "move":
            tasks.append(asyncio.create_task(move(start + at)))
            continue
        order_id = comment_orders[i % len(comment_orders)]
        tasks.append(asyncio.create_task(timed_post(
            client, stats, kind, start + at, f"/v1/porting-orders/{order_id}/comments",
            {"body": f"bench comment {i}"}, keys.customer)))
    async with asyncio.timeout(PHASE_TIMEOUT_S):
        await asyncio.gather(*tasks)
    stats.last_done -= start
    return stats


PREPARE_CONCURRENCY = 8  # requests in flight while the writes mode makes its orders


async def prepare_orders(driver: Driver, count: int, first_number: int,
                         with_loa: bool) -> list[str]:
    flat = fictional_numbers(first_number + count)[first_number:]
    created, _ = await run_pool([[n] for n in flat], PREPARE_CONCURRENCY, driver.create)
    if with_loa:
        created, _ = await run_pool(created, PREPARE_CONCURRENCY, driver.upload_loa)
    if len(created) != count:
        raise RuntimeError(f"{count - len(created)} orders failed: {driver.rec.error_samples}")
    return [str(order["id"]) for order in created]


async def subscribe_sink(client: httpx.AsyncClient, keys: Keys, sink_url: str) -> None:
    response = await client.post("/v1/endpoints", headers=keys.customer, json={
        "url": sink_url, "format": "standard", "event_types": ["*"],
        "description": "bench sink"})
    if response.status_code != 201:
        raise RuntimeError(f"endpoint: {response.status_code} {response.text[:300]}")


async def flat_cost(client: httpx.AsyncClient, keys: Keys, order_id: str,
                    count: int) -> list[float]:
    """Latencies of ``count`` comments on one order, one at a time."""
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        response = await client.post(f"/v1/porting-orders/{order_id}/comments",
                                     json={"body": f"flat {i}"}, headers=keys.customer)
        if response.status_code != 201:
            raise RuntimeError(f"flat comment {i}: {response.status_code} {response.text[:300]}")
        latencies.append(time.perf_counter() - start)
    return latencies


async def comment_event_sizes(database_url: str, order_id: str) -> list[int]:
    """Bytes of ``data`` of the order's new_comment events, oldest first."""
    where = "type = 'porting_order.new_comment' AND subject_id = "
    if database_url.startswith("sqlite"):
        import sqlite3  # only the SQLite runs need it

        path = database_url.split("///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as connection:
            rows = connection.execute(
                f"SELECT length(CAST(data AS BLOB)) FROM events WHERE {where}? "
                "ORDER BY sequence", (order_id,)).fetchall()
        return [int(r[0]) for r in rows]
    async with pg_connection(database_url) as connection:
        rows = await connection.fetch(
            f"SELECT octet_length(data::text) FROM events WHERE {where}$1 ORDER BY sequence",
            order_id)
    return [int(r[0]) for r in rows]


async def analyze(database_url: str) -> None:
    """What autovacuum does to a database older than this benchmark's minute:
    statistics of the prepared orders, after which each connection plans
    its statements again. Until then the API's statements ran with plans
    made on empty tables: the comment's touch read the account's orders
    through its index instead of taking the order by its key."""
    async with pg_connection(database_url) as connection:
        await connection.execute("ANALYZE")


async def sink_count(sink_url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        counts: dict[str, int] = (await client.get(f"{sink_url}/_count")).json()
    return sum(counts.values())


async def wait_drained(sink_url: str, expected: int) -> float:
    """Seconds until the sink has ``expected`` deliveries (NaN: not within the limit)."""
    start = time.perf_counter()
    while time.perf_counter() - start < DRAIN_TIMEOUT_S:
        if await sink_count(sink_url) >= expected:
            return time.perf_counter() - start
        await asyncio.sleep(0.5)
    return math.nan


@contextlib.asynccontextmanager
async def write_servers(spec: WriteSpec, env: dict[str, str],
                        workdir: Path) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """SQLite: ``porthook serve`` (API and worker in one process); PostgreSQL:
    ``porthook api`` (one process) and ``porthook worker`` beside it."""
    log = workdir / f"writes-{spec.backend}"
    if spec.backend == "sqlite":
        async with server_process(env, Path(f"{log}-serve.log"), "serve",
                                  profile=spec.profile and spec.profile / "serve.txt"
                                  ) as (url, pid):
            yield url, {"serve": pid}
        return
    async with (server_process(env, Path(f"{log}-api.log"), "api", "--workers", "1",
                               profile=spec.profile and spec.profile / "api.txt")
                as (url, api_pid),
                background_process(Path(f"{log}-worker.log"), sys.executable, "-m",
                                   "porthook", "worker", *_processes(spec),
                                   env=_worker_env(spec, env)) as worker_pid):
        await until_listening(env["PORTHOOK_DATABASE_URL"], _expected_workers(spec))
        yield url, {"api": api_pid, "worker": worker_pid}


WORKER_START_LIMIT_S = 120.0


async def until_listening(database_url: str, processes: int) -> None:
    """Until each worker process holds its LISTEN connection: on a loaded
    machine a spawned child spends ten seconds and more (about 1.8 s of CPU)
    importing, and that start-up, counted in the measured window, inflated
    the worker's CPU per write with two processes."""
    async with pg_connection(database_url) as connection, \
            asyncio.timeout(WORKER_START_LIMIT_S):
        while await connection.fetchval(  # noqa: ASYNC110  (polling the server, bounded)
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%'") < processes:
            await asyncio.sleep(0.1)


def _worker_env(spec: WriteSpec, env: dict[str, str]) -> dict[str, str]:
    if spec.worker_notify_gap_s is None:
        return env
    return {**env, "PORTHOOK_WORKER_NOTIFY_GAP_S": str(spec.worker_notify_gap_s)}


def _expected_workers(spec: WriteSpec) -> int:
    """Worker processes ``porthook worker`` starts. A porthook older than
    ``--processes`` (issue 17's baseline, run with this script for a side by
    side) runs one whatever the machine's cores."""
    if spec.worker_processes is not None:
        return spec.worker_processes
    usage = subprocess.run([sys.executable, "-m", "porthook", "worker", "--help"],
                           capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=True)
    return (os.cpu_count() or 1) if "--processes" in usage.stdout else 1


def _processes(spec: WriteSpec) -> list[str]:
    return [] if spec.worker_processes is None else ["--processes", str(spec.worker_processes)]


async def run_writes(spec: WriteSpec, workdir: Path) -> dict[str, Any]:
    sink_port = free_port()
    sink_url = f"http://{HOST}:{sink_port}"
    sink_code = ("import sys; sys.path.insert(0, sys.argv[1]); import sink; "
                 "sink.main(int(sys.argv[2]))")
    move_orders = max(1, math.ceil(spec.move_rate * spec.duration_s / len(MOVE_KINDS)))
    async with (fresh_database(spec.backend, workdir) as url,
                background_process(workdir / "sink.log", sys.executable, "-c", sink_code,
                                   str(Path(__file__).parent), str(sink_port))):
        env = server_env(url, workdir)
        keys = await make_keys(env)
        async with write_servers(spec, env, workdir) as (base_url, pids):
            limits = httpx.Limits(max_connections=1024, max_keepalive_connections=1024)
            async with httpx.AsyncClient(base_url=base_url, limits=limits,
                                         timeout=REQUEST_TIMEOUT_S) as client:
                await subscribe_sink(client, keys, f"{sink_url}/writes")
                async with client_post(CLIENTS[0], base_url, PREPARE_CONCURRENCY) as post:
                    driver = Driver(post, keys)
                    comment_orders = await prepare_orders(driver, spec.comment_orders, 0, False)
                    moves = await prepare_orders(driver, move_orders, spec.comment_orders, True)
                    flat_order = (await prepare_orders(
                        driver, 1, spec.comment_orders + move_orders, False))[0]
                if spec.backend != "sqlite":
                    await analyze(url)
                async with open_loop_client(base_url) as loop_client:
                    # Warm-up (not counted): the same comments, no moves
                    # (each prepared order is walked once).
                    await open_loop(loop_client, keys,
                                    WriteSpec(**{**spec.__dict__, "duration_s": spec.warmup_s,
                                                 "move_rate": 0.0}),
                                    comment_orders, moves)
                    delivered_before = await sink_count(sink_url)
                    cpu_before = {name: group_cpu_s(pid) for name, pid in pids.items()}
                    pg_before = await pg_backends_cpu_s(url) if spec.backend != "sqlite" else {}
                    stats = await open_loop(loop_client, keys, spec, comment_orders, moves)
                    cpu_after = {name: group_cpu_s(pid) for name, pid in pids.items()}
                    if pg_before:
                        pg_after = await pg_backends_cpu_s(url)
                        # Backends alive at the end, from their start in the window if new.
                        cpu_after["postgresql"] = sum(pg_after.values())
                        cpu_before["postgresql"] = sum(pg_before.get(pid, 0.0)
                                                       for pid in pg_after)
                ok = sum(len(v) for v in stats.latencies_s.values())
                drain_s = await wait_drained(sink_url, delivered_before + ok)
                flat = await flat_cost(client, keys, flat_order, spec.flat_comments)
            sizes = await comment_event_sizes(url, flat_order)
    return writes_figures(spec, stats, ok, drain_s, flat, sizes,
                          {k: cpu_after[k] - cpu_before[k] for k in cpu_after})


def writes_figures(spec: WriteSpec, stats: WriteStats, ok: int, drain_s: float,
                   flat: Sequence[float], sizes: Sequence[int],
                   cpu_s: dict[str, float]) -> dict[str, Any]:
    requests = {}
    for kind in WRITE_KINDS:
        ms = [s * 1000 for s in stats.latencies_s[kind]]
        requests[kind] = {"ok": len(ms), "errors": stats.errors[kind],
                          "p50_ms": round(percentile(ms, 0.5), 1),
                          "p99_ms": round(percentile(ms, 0.99), 1)}
    every = [s * 1000 for v in stats.latencies_s.values() for s in v]
    return {
        "backend": spec.backend, "offered_per_s": spec.rate + spec.move_rate,
        "duration_s": spec.duration_s,
        "comments_per_s": round(requests["comment"]["ok"] / stats.last_done, 1),
        "writes_per_s": round(ok / stats.last_done, 1),
        "p50_ms": round(percentile(every, 0.5), 1), "p99_ms": round(percentile(every, 0.99), 1),
        "cpu_us_per_write": {k: round(v * 1e6 / ok) if ok else None for k, v in cpu_s.items()},
        "drain_after_s": round(drain_s, 2),
        "flat_first_p50_ms": round(percentile(flat[:FLAT_WINDOW], 0.5) * 1000, 2),
        "flat_last_p50_ms": round(percentile(flat[-FLAT_WINDOW:], 0.5) * 1000, 2),
        "flat_ratio": flat_ratio(flat, FLAT_WINDOW),
        "event_bytes_first": sizes[0] if sizes else None,
        "event_bytes_last": sizes[-1] if sizes else None,
        "requests": requests, "errors": sum(stats.errors.values()),
        "moves_skipped": stats.moves_skipped,
        "error_samples": stats.error_samples,
    }


def print_writes(runs: Sequence[dict[str, Any]]) -> None:
    columns = (("backend", 11), ("offered_per_s", 14), ("comments_per_s", 15),
               ("writes_per_s", 13), ("p50_ms", 8), ("p99_ms", 8), ("drain_after_s", 14),
               ("flat_ratio", 11), ("event_bytes_first", 18), ("event_bytes_last", 17),
               ("errors", 7), ("moves_skipped", 14))
    print("".join(f"{name:>{width}}" for name, width in columns))
    for r in runs:
        print("".join(f"{r[name]!s:>{width}}" for name, width in columns))
    for r in runs:
        print(f"{r['backend']}: {r['requests']}; CPU µs per write {r['cpu_us_per_write']}; "
              f"flat p50 first/last {r['flat_first_p50_ms']}/{r['flat_last_p50_ms']} ms")
        for sample in r["error_samples"]:
            print(f"! {r['backend']}: {sample}")


def specs(args: argparse.Namespace) -> list[RunSpec]:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    out = []
    for backend in backends:
        # One SQLite file has one writer at a time: more processes only queue on its lock.
        for processes in ([1] if backend == "sqlite" else args.processes):
            out.append(RunSpec(backend, processes, args.concurrency, args.orders,
                               args.numbers_per_order, args.warmup, args.profile, args.client))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("orders", "writes"), default="orders",
                        help="orders: create, upload, moves (closed loop); writes: comments "
                        "and status moves, open loop, with the worker running")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rate", type=float, default=300.0,
                        help="writes: comments a second offered")
    parser.add_argument("--move-rate", type=float, default=30.0,
                        help="writes: status moves a second offered")
    parser.add_argument("--duration", type=float, default=20.0, help="writes: seconds")
    parser.add_argument("--warmup-s", type=float, default=WARMUP_S,
                        help="writes: seconds of comments at the full rate first, uncounted")
    parser.add_argument("--comment-orders", type=int, default=20,
                        help="writes: orders the comments are spread over")
    parser.add_argument("--flat-comments", type=int, default=FLAT_COMMENTS,
                        help="writes: comments on one order for the flat-cost figure")
    parser.add_argument("--worker-processes", type=int,
                        help="writes on PostgreSQL: porthook worker --processes N "
                        "(default: its own, the machine's cores)")
    parser.add_argument("--worker-notify-gap", type=float,
                        help="writes on PostgreSQL: the worker's worker_notify_gap_s, seconds "
                        "(default: porthook's)")
    parser.add_argument("--profile", type=Path, help="run the API (writes on SQLite: serve) "
                        "under py-spy record, raw stacks into this folder (CPU figures then "
                        "include py-spy's)")
    parser.add_argument("--orders", type=int, default=500, help="orders measured per run")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--processes", type=lambda s: [int(p) for p in s.split(",")],
                        default=[1, 2], help="API processes on PostgreSQL, e.g. 1,2 "
                        "(SQLite always runs 1)")
    parser.add_argument("--numbers-per-order", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=50, help="orders walked first, uncounted")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--client", choices=CLIENTS, default=CLIENTS[0],
                        help="orders: the benchmark's HTTP client (httpx: as before 2026-11-26)")
    args = parser.parse_args(argv)
    try:
        fictional_numbers((args.orders + args.warmup) * args.numbers_per_order)
    except ValueError as exc:
        parser.error(f"--orders, --warmup, --numbers-per-order: {exc}")
    return args


def write_specs(args: argparse.Namespace) -> list[WriteSpec]:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends if args.profile else ():
        (args.profile / backend).mkdir(parents=True, exist_ok=True)
    return [WriteSpec(b, args.rate, args.move_rate, args.duration, args.comment_orders,
                      args.flat_comments, args.profile and args.profile / b,
                      args.worker_processes, args.worker_notify_gap, args.warmup_s)
            for b in backends]


async def main_writes(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="porthook-bench-writes-") as tmp:
        for spec in write_specs(args):
            print(f"# writes on {spec.backend}: {spec.rate:g} comments/s + "
                  f"{spec.move_rate:g} moves/s for {spec.duration_s:g} s ...", flush=True)
            runs.append(await run_writes(spec, Path(tmp)))
    return {"bench": "api-writes", "cpus": os.cpu_count(), "runs": runs}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.mode == "writes":
        return await main_writes(args)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="porthook-bench-api-") as tmp:
        for spec in specs(args):
            print(f"# {spec.backend}, {spec.processes} API process(es), "
                  f"concurrency {spec.concurrency}, {spec.orders} orders ...", flush=True)
            runs.append(await run_one(spec, Path(tmp)))
    return {"bench": "api", "cpus": os.cpu_count(), "runs": runs}


def main() -> None:
    args = parse_args()
    load = os.getloadavg()
    result = asyncio.run(main_async(args))
    result["load_average_at_start"] = [round(x, 2) for x in load]
    print()
    (print_writes if args.mode == "writes" else print_tables)(result["runs"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
