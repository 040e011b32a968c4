"""API load benchmark: porting orders created and moved per second against a
real ``porthook api`` server, on SQLite and PostgreSQL.

    .venv/bin/python bench/api.py                      # both backends
    .venv/bin/python bench/api.py --backend postgresql --orders 500 --processes 1,2

For each backend and API process count: a fresh database (a SQLite file in a
temporary folder; on PostgreSQL the database ``porthook_bench_api_<pid>``,
dropped at the end), ``porthook db upgrade``, an account and an operator key
made with the CLI, then ``porthook api`` on a free loopback port, driven by one
keep-alive ``httpx.AsyncClient`` with a bounded number of requests in flight:

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
import contextlib
import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

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

    async def call(self, kind: str, send: Awaitable[httpx.Response], expect: int) -> Any:
        """Time one request; its JSON body on the expected status, else None."""
        start = time.perf_counter()
        try:
            response = await send
        except httpx.HTTPError as exc:
            return self._fail(kind, f"{kind}: {exc!r}")
        elapsed = time.perf_counter() - start
        if response.status_code != expect:
            return self._fail(kind, f"{kind}: {response.status_code} {response.text[:300]}")
        self.kinds[kind].latencies_s.append(elapsed)
        return response.json()

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


@dataclass
class Driver:
    """One keep-alive client, the two keys, and the record of every request."""

    client: httpx.AsyncClient
    keys: Keys
    rec: Recorder = field(default_factory=Recorder)

    async def create(self, batch: Sequence[str]) -> Any:
        body = order_body(batch, f"bench-{batch[0]}")
        send = self.client.post("/v1/porting-orders", json=body, headers=self.keys.customer)
        return await self.rec.call("create", send, 201)

    async def upload_loa(self, order: dict[str, Any]) -> Any:
        send = self.client.post(
            f"/v1/porting-orders/{order['id']}/documents", headers=self.keys.customer,
            files={"file": ("loa.pdf", LOA_PDF, "application/pdf")}, data={"document_type": "loa"},
        )
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
            if await self.rec.call(kind, self.client.post(url, json=body, headers=headers),
                                   200) is None:
                return


async def drive(
    base_url: str, keys: Keys, numbers: Sequence[Sequence[str]], concurrency: int
) -> tuple[Recorder, dict[str, float]]:
    """The three phases; returns the recorder and each phase's wall seconds."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits,
                                 timeout=REQUEST_TIMEOUT_S) as client:
        driver = Driver(client, keys)
        orders, create_s = await run_pool(numbers, concurrency, driver.create)
        ready, upload_s = await run_pool(orders, concurrency, driver.upload_loa)
        _, moves_s = await run_pool(ready, concurrency, driver.walk)
    return driver.rec, {"create": create_s, "upload_loa": upload_s, "moves": moves_s}


# ---- the server and its database ---------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTHOOK_")}
    # WARNING silences uvicorn's access log: a line per request would be measured too.
    env.update(PORTHOOK_DATABASE_URL=database_url, PORTHOOK_LOG_LEVEL="WARNING",
               PORTHOOK_MAIL_DIR=str(workdir / "mail"))
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
async def api_server(env: dict[str, str], processes: int, log: Path) -> AsyncIterator[str]:
    port = free_port()
    with log.open("wb") as out:
        # Own session: the process group id is the server's pid, so that a
        # stuck uvicorn master and its workers can be killed together.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "porthook", "api", "--host", HOST, "--port", str(port),
            "--workers", str(processes), env=env, stdout=out, stderr=out,
            start_new_session=True,
        )
    try:
        await wait_healthy(f"http://{HOST}:{port}", proc, log)
        yield f"http://{HOST}:{port}"
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


async def run_one(spec: RunSpec, workdir: Path) -> dict[str, Any]:
    per = spec.numbers_per_order
    flat = fictional_numbers((spec.orders + spec.warmup) * per)
    numbers = [flat[i:i + per] for i in range(0, len(flat), per)]
    async with fresh_database(spec.backend, workdir) as url:
        env = server_env(url, workdir)
        keys = await make_keys(env)
        log = workdir / f"server-{spec.backend}-{spec.processes}.log"
        async with api_server(env, spec.processes, log) as base_url:
            # Warm-up (not counted): imports, connection pools, statement caches.
            await drive(base_url, keys, numbers[:spec.warmup], spec.concurrency)
            rec, seconds = await drive(base_url, keys, numbers[spec.warmup:], spec.concurrency)
    return figures(spec, rec, seconds)


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


def specs(args: argparse.Namespace) -> list[RunSpec]:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    out = []
    for backend in backends:
        # One SQLite file has one writer at a time: more processes only queue on its lock.
        for processes in ([1] if backend == "sqlite" else args.processes):
            out.append(RunSpec(backend, processes, args.concurrency, args.orders,
                               args.numbers_per_order, args.warmup))
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=int, default=500, help="orders measured per run")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--processes", type=lambda s: [int(p) for p in s.split(",")],
                        default=[1, 2], help="API processes on PostgreSQL, e.g. 1,2 "
                        "(SQLite always runs 1)")
    parser.add_argument("--numbers-per-order", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=50, help="orders walked first, uncounted")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        fictional_numbers((args.orders + args.warmup) * args.numbers_per_order)
    except ValueError as exc:
        parser.error(f"--orders, --warmup, --numbers-per-order: {exc}")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
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
    print_tables(result["runs"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
