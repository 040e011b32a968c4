"""Delivery engine benchmark: prints figures, asserts nothing.

A real HTTP sink (``bench/sink.py``) runs in its own process on 127.0.0.1;
one in-process dispatcher (one worker) drains the queue. Figures, per backend:

* raw aiohttp client rate against the same sink (the ceiling), with 64
  connections, measured again right before the drains compared with it;
* drain rate of N deliveries spread over 8 endpoints, 64 connections as the
  raw client has (targets: PG >= 2,000/s and >= 0.4 x raw; SQLite >= 1,000/s);
* drain rate of N deliveries to one endpoint, whose max_concurrency (8)
  bounds it by design, compared with the raw client on 8 connections;
* commit -> receipt latency p50/p99 at 200 events/s (target p99 <= 200 ms on PG),
  the changes committed by a separate process ("API apart": NOTIFY on PG, the
  poll interval on SQLite) and by the worker's own (``porthook serve``);
* drain rate with a large backlog pending vs a small one (target >= 0.8 x),
  and peak RSS (target <= 300 MB);
* healthy endpoint's rate when half the traffic goes to a never-answering
  endpoint (target >= 0.7 x).

Usage: ``python -m bench.delivery [--backend postgresql|sqlite|both] [--count N]
[--backlog N] [--pg-url URL]``. PostgreSQL defaults to a scratch database
``porthook_bench`` on 127.0.0.1 (dropped and recreated).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]  # no stubs
import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import AsyncSession

from bench import sink
from porthook import db
from porthook.accounts import service as accounts
from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Database, all_models
from porthook.delivery import formats, metrics, models, senders, service, signing
from porthook.delivery.dispatcher import Dispatcher
from porthook.delivery.models import Delivery
from porthook.delivery.schemas import EndpointCreate
from porthook.events import service as events
from porthook.events.models import Event
from porthook.worker import tune_collector

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+asyncpg://postgres@127.0.0.1:5432/porthook_bench"
SEED_CHUNK = 5_000  # rows per INSERT round trip while seeding
LATENCY_RATE = 200  # events per second
LATENCY_SECONDS = 10
BACKLOG_WARMUP = 1_000  # deliveries received before the backlog comparison's clock starts
RAW_COUNT = 20_000  # requests of each raw-client measurement
RAW_CONNECTIONS = 64  # the raw client's connections
RAW_TRIES = 3
# The drain's backlog spans this many endpoints: with 8 connections each
# (porthook's default max_concurrency) the worker has as many as the raw client.
DRAIN_ENDPOINTS = 8
PROCESS_START_S = 8.0  # SQLite: a worker command's start-up, on a busy machine
WAIT_LIMIT_S = 600.0  # every wait is bounded
# The endpoint's own max_concurrency (None: porthook's default); --endpoint-concurrency.
ENDPOINT_CONCURRENCY: int | None = None


# --- the sink, in its own process (bench/sink.py) -------------------------------

class SinkProcess:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._process = multiprocessing.Process(target=sink.main, args=(self.port,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._process.start()
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientError):
                    await http.post(self.url("/_reset"))
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError("sink did not start")

    def stop(self) -> None:
        self._process.kill()  # hanging handlers make a graceful stop noisy

    async def get(self, what: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=WAIT_LIMIT_S)
        async with (aiohttp.ClientSession(timeout=timeout) as http,
                    http.get(self.url(what)) as response):
            body: dict[str, Any] = await response.json()
            return body

    async def reset(self) -> None:
        async with aiohttp.ClientSession() as http:
            await http.post(self.url("/_reset"))

    async def wait_count(self, path: str, count: int) -> float:
        started = time.perf_counter()
        async with asyncio.timeout(WAIT_LIMIT_S):
            await self.get(f"/_wait?path={path}&count={count}")
        return time.perf_counter() - started


# --- helpers -------------------------------------------------------------------------

async def raw_rate(
    sink: SinkProcess, count: int, concurrency: int = RAW_CONNECTIONS
) -> tuple[float, float]:
    """Requests per second, and the client's CPU microseconds per request."""
    body = b'{"type":"bench"}'
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            queue.get_nowait()
            async with http.post(sink.url("/raw"), data=body) as response:
                await response.read()

    started, cpu = time.perf_counter(), time.process_time()
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6


async def sender_rate(
    sink: SinkProcess, count: int, concurrency: int = RAW_CONNECTIONS
) -> tuple[float, float]:
    """As ``raw_rate``, through porthook's own ``HttpSender`` with the
    worker's requests (a standard-format body of the bench's event, its
    signed headers), no queue: what the HTTP call alone costs the worker."""
    settings = Settings(allow_private_targets=True, worker_concurrency=concurrency)
    now = datetime.now(UTC)
    view = formats.EventView(uuid.uuid4(), "record.dids.inserted", uuid.uuid4(), "dids", "1", 1,
                             now, {"schema": "dids", "record": {"id": 1, "number": "12125550100"}})
    url = sink.url("/sender")
    body = formats.render("standard", view, formats.Attempt(1, url))
    headers = senders.webhook_headers(event_id=view.id, body=body, timestamp=now,
                                      secrets=[signing.generate_secret()], credentials=None,
                                      telnyx_key=None)
    left = count
    http = senders.HttpSender(settings)

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await http.post(url, body, headers)

    await http.start()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    finally:
        await http.close()
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6


async def raw_best(sink: SinkProcess, concurrency: int = RAW_CONNECTIONS) -> tuple[float, float]:
    """The best of ``RAW_TRIES`` raw-client runs: the ceiling the drains are
    held against, so a run slowed by the machine must not lower it."""
    return max([await raw_rate(sink, RAW_COUNT, concurrency) for _ in range(RAW_TRIES)])


async def fresh_database(backend: str, pg_url: str, workdir: Path) -> Database:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        (workdir / "bench.db").unlink(missing_ok=True)
    else:
        url = pg_url
        name = sa.engine.make_url(pg_url).database
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
    database = Database(Settings(database_url=url))
    async with database.engine.begin() as connection:
        await connection.run_sync(all_models().create_all)
    return database


@contextlib.asynccontextmanager
async def scratch_database(backend: str, pg_url: str, workdir: Path) -> AsyncIterator[Database]:
    """A fresh database for one scenario, disposed after it (seeds reuse
    subject ids, so scenarios never share one)."""
    database = await fresh_database(backend, pg_url, workdir)
    try:
        yield database
    finally:
        await database.dispose()


async def make_endpoints(database: Database, urls: list[str]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = datetime.now(UTC)
    settings = Settings(database_url=database.url, allow_private_targets=True)
    async with database.sessions() as session:
        account, _, _ = await accounts.create_account(session, name="Bench", contact_email=None,
                                                      now=now)
        ids = []
        for url in urls:
            # A real type the bench never emits (filters must name one): the
            # deliveries are seeded directly, not fanned out.
            body = EndpointCreate(url=url, event_types=["endpoint.recovered"],
                                  max_concurrency=ENDPOINT_CONCURRENCY)
            endpoint = await service.create_endpoint(
                session, account_id=account.id, body=body, settings=settings, now=now)
            ids.append(endpoint.id)
        await session.commit()
    return account.id, ids


async def seed(
    database: Database, account_id: uuid.UUID, endpoint_ids: list[uuid.UUID], count: int,
    *, due: datetime | None = None,
) -> None:
    """``count`` deliveries spread round-robin over the endpoints (bulk
    inserts), due now or at ``due``."""
    now = datetime.now(UTC)
    done = 0
    while done < count:
        size = min(SEED_CHUNK, count - done)
        rows = [event_row(account_id, done + i, now) for i in range(size)]
        async with database.sessions() as session:
            await insert_events(session, rows)
            deliveries = [delivery_row(account_id, endpoint_ids[(done + i) % len(endpoint_ids)],
                                        row, now) for i, row in enumerate(rows)]
            if due is not None:
                for row in deliveries:
                    row["next_attempt_at"] = due
            await session.execute(sa.insert(Delivery), deliveries)
            await session.commit()
        done += size
    if database.is_postgres:
        # A backlog this size builds up over hours in real life, and autovacuum
        # analyzes the table meanwhile; a bulk load must do it by hand or the
        # planner, blind, scans the whole table for each claim.
        # VACUUM too: right after a bulk load autovacuum would otherwise start
        # its first pass over the new rows in the middle of the measurement.
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM (ANALYZE) deliveries")
            await autocommit.exec_driver_sql("VACUUM (ANALYZE) events")


def event_row(account_id: uuid.UUID, i: int, now: datetime) -> dict[str, Any]:
    """A bulk-insertable event row (the bench and the reliability tests seed with it)."""
    return {"id": db.new_id(), "account_id": account_id, "type": "record.dids.inserted",
            "subject_type": "dids", "subject_id": str(i), "sequence": 1, "occurred_at": now,
            "data": {"schema": "dids", "record": {"id": i, "number": "12125550100"}}}


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert ``event_row``s, each given the ``position`` the database
    numbered it with (``delivery_row`` copies it, as fan-out does)."""
    inserted = await session.execute(sa.insert(Event).returning(Event.id, Event.position), rows)
    positions = {event_id: position for event_id, position in inserted}
    for row in rows:
        row["position"] = positions[row["id"]]


def delivery_row(
    account_id: uuid.UUID, endpoint_id: uuid.UUID, event: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A bulk-insertable delivery of an ``event_row`` inserted by
    ``insert_events``, with the columns fan-out fills (fanout.delivery_row)."""
    return {"id": db.new_id(), "account_id": account_id, "event_id": event["id"],
            "event_type": event["type"], "event_position": event["position"],
            "endpoint_id": endpoint_id, "status": models.PENDING, "ordered": False,
            "ordering_key": f"dids:{event['subject_id']}", "sequence": 1, "attempts": 0,
            "round_start": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}


def worker_settings(database: Database) -> Settings:
    return Settings(database_url=database.url, allow_private_targets=True,
                    worker_poll_interval_s=0.2, log_level="WARNING")


@contextlib.asynccontextmanager
async def dispatcher(database: Database) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(Dispatcher(worker_settings(database), database=database,
                                          clock=SystemClock()).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


class PgCpu:
    """CPU time of the PostgreSQL processes serving one database: its
    backends (the worker's claim, outcome, renewal and LISTEN connections,
    its pool) and autovacuum workers, read from ``/proc/<pid>/stat``. The
    server's shared processes (WAL writer, checkpointer) are left out, and so
    is every other database's load (other work shares this server)."""

    def __init__(self, database: Database) -> None:
        self._name = sa.engine.make_url(database.url).database
        self._start: dict[int, float] = {}
        self.roles: dict[str, float] = {}

    async def _pids(self) -> dict[int, str]:
        """The backends serving the database, and what each serves (its
        backend type, or the statement it ran last)."""
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            rows = await admin.fetch(
                "SELECT pid, backend_type, query FROM pg_stat_activity WHERE datname = $1",
                self._name)
        finally:
            await admin.close()
        return {row["pid"]: _role(row["backend_type"], row["query"] or "") for row in rows}

    async def snapshot(self) -> dict[int, tuple[str, float]]:
        return {pid: (role, cpu) for pid, role in (await self._pids()).items()
                if (cpu := _proc_cpu_s(pid)) is not None}

    async def start(self) -> None:
        self._start = {pid: cpu for pid, (_, cpu) in (await self.snapshot()).items()}

    async def seconds(self) -> float:
        """CPU seconds spent since ``start`` by the backends alive now (read
        it before the worker closes its connections); ``self.roles`` splits
        them by what each backend serves."""
        self.roles = {}
        for pid, (role, cpu) in (await self.snapshot()).items():
            self.roles[role] = self.roles.get(role, 0.0) + cpu - self._start.get(pid, 0.0)
        return sum(self.roles.values())


def _role(backend_type: str, query: str) -> str:
    if backend_type != "client backend":
        return backend_type  # autovacuum worker...
    text = " ".join(query.split()).upper()
    for prefix, role in (("WITH CLAIMED", "claims"), ("SELECT ENDPOINTS", "claims"),
                         ("WITH SENT", "outcomes"),
                         ("UPDATE DELIVERIES SET LEASE_EXPIRES_AT=", "renewals"),
                         # Before the lease had a column of its own.
                         ("UPDATE DELIVERIES SET NEXT_ATTEMPT_AT=$1::TIMESTAMP WITH TIME ZONE "
                          "WHERE DELIVERIES.ID IN", "renewals"),
                         ("LISTEN", "listen")):
        if text.startswith(prefix):
            return role
    return "other sessions"


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- scenarios -----------------------------------------------------------------------

async def drain(
    database: Database, sink: SinkProcess, count: int, path: str, endpoints: int = 1
) -> tuple[float, float, float | None]:
    """Deliveries per second, the worker's CPU microseconds per delivery and
    PostgreSQL's (None on SQLite), of ``count`` deliveries spread over
    ``endpoints`` endpoints (one URL each; the sink counts them under one path)."""
    await sink.reset()
    account_id, ids = await make_endpoints(
        database, [sink.url(f"{path}?endpoint={i}") for i in range(endpoints)])
    await seed(database, account_id, ids, count)
    pg_cpu = PgCpu(database) if database.is_postgres else None
    if pg_cpu is not None:
        await pg_cpu.start()
    claims = _claims_so_far()
    cpu = time.process_time()
    async with dispatcher(database):
        seconds = await sink.wait_count(path, count)
        worker_s = time.process_time() - cpu
        # The last outcomes are written within a flush delay of the last receipt.
        await wait_recorded(database, count)
        pg_s = await pg_cpu.seconds() if pg_cpu is not None else None
    made, rows = (now - before for now, before in zip(_claims_so_far(), claims, strict=True))
    print(f"            {made:,.0f} claims, {rows / max(made, 1):.0f} rows each on average",
          flush=True)
    if pg_cpu is not None:
        print("            PostgreSQL CPU by backend, us/delivery: " + ", ".join(
            f"{role} {cpu / count * 1e6:.0f}" for role, cpu in sorted(
                pg_cpu.roles.items(), key=lambda item: -item[1])), flush=True)
    return (count / seconds, worker_s / count * 1e6,
            pg_s / count * 1e6 if pg_s is not None else None)


def _claims_so_far() -> tuple[float, float]:
    """Claims this process's dispatchers made, and the rows they took (the
    worker's own histogram)."""
    found = {sample.name: sample.value for metric in metrics.CLAIM_BATCH_SIZE.collect()
             for sample in metric.samples}
    return (found["porthook_delivery_claim_batch_size_count"],
            found["porthook_delivery_claim_batch_size_sum"])


async def wait_recorded(database: Database, count: int) -> None:
    """Until ``count`` attempts are recorded (bounded)."""
    async with asyncio.timeout(WAIT_LIMIT_S):
        while True:
            async with database.sessions() as session:
                done = await session.scalar(sa.select(sa.func.count()).select_from(
                    models.DeliveryAttempt))
            if (done or 0) >= count:
                return
            await asyncio.sleep(0.05)


async def latency(database: Database, sink: SinkProcess, *, same_process: bool
                  ) -> tuple[float, float]:
    """Commit -> receipt, p50 and p99 in ms. ``same_process``: the changes
    commit in the worker's own process (``porthook serve``), which wakes it
    directly; otherwise through a Database of their own, as a separate API
    process would (NOTIFY on PostgreSQL, the poll interval on SQLite)."""
    await sink.reset()
    account_id, _ = await make_endpoints(database, [sink.url("/latency")])
    async with database.sessions() as session:
        await session.execute(sa.update(models.Endpoint).values(event_types=["*"]))
        await session.commit()
    writer = database if same_process else Database(Settings(database_url=database.url))
    committed: dict[str, float] = {}
    try:
        async with dispatcher(database):
            for _ in range(LATENCY_RATE * LATENCY_SECONDS):
                started = time.perf_counter()
                async with writer.sessions() as session:
                    event = await events.record(
                        session, account_id=account_id, type="record.dids.updated",
                        subject_type="dids", subject_id=str(uuid.uuid4()),
                        data={"schema": "dids", "record": {}},
                        occurred_at=datetime.now(UTC))
                    await session.commit()
                committed[str(event.id)] = time.time()
                await asyncio.sleep(max(0.0, 1 / LATENCY_RATE - (time.perf_counter() - started)))
            await sink.wait_count("/latency", len(committed))
    finally:
        if writer is not database:
            await writer.dispose()
    arrivals = await sink.get("/_arrivals")
    delays = sorted((arrivals[i] - t) * 1000 for i, t in committed.items() if i in arrivals)
    return statistics.median(delays), delays[int(len(delays) * 0.99) - 1]


async def with_backlog(
    database: Database, sink: SinkProcess, backlog: int, measured: int,
) -> tuple[float, float | None]:
    """Rate of the first ``measured`` deliveries while ``backlog`` are pending,
    counted from the ``BACKLOG_WARMUP``-th on: both runs of the comparison
    last about two seconds, and the worker's start (connections, first
    claims) would otherwise weigh on them by chance, not by backlog. And
    PostgreSQL's CPU per delivery over about the same stretch (None on
    SQLite)."""
    await sink.reset()
    account_id, endpoints = await make_endpoints(database, [sink.url("/backlog")])
    await seed(database, account_id, endpoints, backlog)
    pg_cpu = PgCpu(database) if database.is_postgres else None
    async with dispatcher(database):
        await sink.wait_count("/backlog", BACKLOG_WARMUP)
        if pg_cpu is not None:
            await pg_cpu.start()
        seconds = await sink.wait_count("/backlog", measured)
        pg_s = await pg_cpu.seconds() if pg_cpu is not None else None
    counted = measured - BACKLOG_WARMUP
    return counted / seconds, pg_s / counted * 1e6 if pg_s is not None else None


async def with_dead_endpoint(database: Database, sink: SinkProcess, count: int) -> float:
    await sink.reset()
    account_id, endpoints = await make_endpoints(database, [sink.url("/healthy"),
                                                            sink.url("/hang")])
    await seed(database, account_id, endpoints, count)
    async with dispatcher(database):
        seconds = await sink.wait_count("/healthy", count // 2)
    return (count // 2) / seconds


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _workers_cpu_s(command: subprocess.Popen[bytes]) -> float:
    """CPU seconds of ``porthook worker``'s process and its children so far."""
    pids = [command.pid, *_children(command.pid)]
    return sum(cpu for pid in pids if (cpu := _proc_cpu_s(pid)) is not None)


async def _until_listening(database: Database, processes: int) -> None:
    """Until every worker process is up: on PostgreSQL, each holds a LISTEN
    connection; SQLite gives no sign, so it waits a start-up's worth."""
    if not database.is_postgres:
        await asyncio.sleep(PROCESS_START_S)
        return
    name = sa.engine.make_url(database.url).database
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        async with asyncio.timeout(WAIT_LIMIT_S):
            while await admin.fetchval(  # noqa: ASYNC110  (polling the server, bounded)
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                    "AND query LIKE 'LISTEN%'", name) < processes:
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
    await asyncio.sleep(0.5)  # its first claim, on an empty queue


async def drain_processes(
    database: Database, sink: SinkProcess, count: int, path: str, endpoints: int,
    processes: int,
) -> tuple[float, float, float | None]:
    """``drain`` through ``porthook worker --processes N``, as deployed:
    the rows are seeded not yet due, the command started, and the clock starts
    when they are made due (so the processes' start-up is not counted).
    CPU: the command's processes, from /proc."""
    await sink.reset()
    account_id, ids = await make_endpoints(
        database, [sink.url(f"{path}?endpoint={i}") for i in range(endpoints)])
    later = datetime.now(UTC) + timedelta(days=1)
    await seed(database, account_id, ids, count, due=later)
    env = {**os.environ, "PORTHOOK_DATABASE_URL": database.url,
           "PORTHOOK_ALLOW_PRIVATE_TARGETS": "true", "PORTHOOK_WORKER_POLL_INTERVAL_S": "0.2",
           "PORTHOOK_LOG_LEVEL": "WARNING"}
    if ENDPOINT_CONCURRENCY:
        env["PORTHOOK_ENDPOINT_CONCURRENCY"] = str(ENDPOINT_CONCURRENCY)
    command = subprocess.Popen(  # noqa: ASYNC220  (started once; waited for in a thread)
        [sys.executable, "-m", "porthook", "worker", "--processes", str(processes)], env=env)
    try:
        await _until_listening(database, processes)
        pg_cpu = PgCpu(database) if database.is_postgres else None
        cpu = _workers_cpu_s(command)
        async with database.sessions() as session:
            await session.execute(sa.update(Delivery).values(next_attempt_at=datetime.now(UTC)))
            await session.commit()  # wakes the workers (NOTIFY on PostgreSQL, else polling)
        # After the bench's own UPDATE of every row, which is no worker's
        # cost (the workers' first claim may slip in before: a few ms).
        if pg_cpu is not None:
            await pg_cpu.start()
        seconds = await sink.wait_count(path, count)
        worker_s = _workers_cpu_s(command) - cpu
        await wait_recorded(database, count)
        pg_s = await pg_cpu.seconds() if pg_cpu is not None else None
    finally:
        command.send_signal(signal.SIGTERM)
        await asyncio.to_thread(command.wait, 60)
    return (count / seconds, worker_s / count * 1e6,
            pg_s / count * 1e6 if pg_s is not None else None)


SMALL_BACKLOG = 10_000


async def backlog_ratio(
    line: Callable[[str, str], None],
    scratch: Callable[[], contextlib.AbstractAsyncContextManager[Database]],
    sink: SinkProcess, backlog: int,
) -> float:
    """The drain rate with ``backlog`` rows pending against 10,000; prints
    both and returns the small backlog's rate."""
    async with scratch() as database:
        base, base_pg = await with_backlog(database, sink, SMALL_BACKLOG, SMALL_BACKLOG)
    async with scratch() as database:
        big, big_pg = await with_backlog(database, sink, backlog, SMALL_BACKLOG)
    pg = (f"; PostgreSQL CPU {big_pg:.0f} vs {base_pg:.0f} us/delivery"
          if big_pg is not None and base_pg is not None else "")
    line(f"rate, {backlog:,} pending vs {SMALL_BACKLOG:,}",
         f"{big:,.0f}/s vs {base:,.0f}/s ({big / base:.2f} x{pg})")
    return base


def pg_note(pg_us: float | None) -> str:
    return f"; PostgreSQL CPU {pg_us:.0f} us/delivery" if pg_us is not None else ""


async def run_backend(backend: str, args: argparse.Namespace, sink: SinkProcess,
                      workdir: Path) -> None:
    def line(name: str, value: str) -> None:
        print(f"{backend:<11} {name:<48} {value}", flush=True)

    async def raw_at(connections: int) -> float:
        # Right before the drains it is compared with: this machine's speed
        # drifts by 20 % and more within a run (best of three).
        rate, cpu_us = await raw_best(sink, connections)
        line(f"raw aiohttp client -> sink, {connections} connections",
             f"{rate:,.0f}/s (client CPU {cpu_us:.0f} us/request)")
        return rate

    def scratch() -> contextlib.AbstractAsyncContextManager[Database]:
        return scratch_database(backend, args.pg_url, workdir)

    if args.backlog_only:
        await backlog_ratio(line, scratch, sink, args.backlog)
        return
    cap = ENDPOINT_CONCURRENCY or Settings().endpoint_concurrency
    raw = await raw_at(RAW_CONNECTIONS)
    rate, cpu_us = max([await sender_rate(sink, RAW_COUNT) for _ in range(RAW_TRIES)])
    line(f"porthook's HttpSender alone, {RAW_CONNECTIONS} connections",
         f"{rate:,.0f}/s ({rate / raw:.2f} x raw; CPU {cpu_us:.0f} us/request: the worker's "
         f"requests, no queue)")
    async with scratch() as database:
        rate, cpu_us, pg_us = await drain(database, sink, args.count, "/drain", DRAIN_ENDPOINTS)
    line(f"drain {args.count:,} over {DRAIN_ENDPOINTS} endpoints "
         f"({DRAIN_ENDPOINTS * cap} connections)",
         f"{rate:,.0f}/s ({rate / raw:.2f} x raw; worker CPU {cpu_us:.0f} us/delivery"
         f"{pg_note(pg_us)})")
    for processes in sorted({1, args.processes}):
        async with scratch() as database:
            rate, cpu_us, pg_us = await drain_processes(
                database, sink, args.count, "/drain-processes", DRAIN_ENDPOINTS, processes)
        line(f"the same, `porthook worker --processes {processes}`",
             f"{rate:,.0f}/s ({rate / raw:.2f} x raw; workers' CPU {cpu_us:.0f} us/delivery"
             f"{pg_note(pg_us)})")
    if args.drain_only:
        return
    # One endpoint's backlog is bounded by its max_concurrency by design:
    # compared with the raw client on as many connections.
    capped = await raw_at(cap)
    async with scratch() as database:
        rate, cpu_us, pg_us = await drain(database, sink, args.count, "/drain-one")
        line(f"drain {args.count:,} to one endpoint ({cap} connections)",
             f"{rate:,.0f}/s ({rate / capped:.2f} x raw at {cap}; {rate / raw:.2f} x raw at "
             f"{RAW_CONNECTIONS}; worker CPU {cpu_us:.0f} us/delivery{pg_note(pg_us)})")
        for same_process, how in ((False, "API apart"), (True, "serve")):
            p50, p99 = await latency(database, sink, same_process=same_process)
            line(f"commit->receipt at {LATENCY_RATE}/s ({how})",
                 f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if args.skip_backlog:
        async with scratch() as database:
            base, _ = await with_backlog(database, sink, SMALL_BACKLOG, SMALL_BACKLOG)
    else:
        base = await backlog_ratio(line, scratch, sink, args.backlog)
    async with scratch() as database:
        healthy = await with_dead_endpoint(database, sink, 2 * SMALL_BACKLOG)
    line("healthy rate, half to a dead endpoint", f"{healthy:,.0f}/s ({healthy / base:.2f} x)")
    line("peak RSS so far", f"{peak_rss_mb():.0f} MB")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=PG_BENCH)
    parser.add_argument("--endpoint-concurrency", type=int, default=None,
                        help="the endpoints' max_concurrency (default: porthook's setting)")
    parser.add_argument("--skip-backlog", action="store_true",
                        help="leave out the large-backlog scenario (it seeds a million rows)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="worker processes of the multi-process drain (default: the cores)")
    parser.add_argument("--drain-only", action="store_true",
                        help="only the raw client and the drains over 8 endpoints")
    parser.add_argument("--backlog-only", action="store_true",
                        help="only the drain with --backlog rows pending against 10,000")
    args = parser.parse_args()
    tune_collector()  # as `porthook worker` does; the raw client runs under it too
    global ENDPOINT_CONCURRENCY  # noqa: PLW0603  (a script-wide knob, set once here)
    ENDPOINT_CONCURRENCY = args.endpoint_concurrency
    print(f"endpoint max_concurrency: {ENDPOINT_CONCURRENCY or Settings().endpoint_concurrency}")
    sink = SinkProcess()
    await sink.start()
    try:
        backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
        with tempfile.TemporaryDirectory() as workdir:
            for backend in backends:
                await run_backend(backend, args, sink, Path(workdir))
    finally:
        sink.stop()


if __name__ == "__main__":
    uvloop.run(main())  # the event loop `porthook worker` runs on
