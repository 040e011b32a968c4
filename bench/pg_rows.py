"""PostgreSQL's CPU per row of the worker's statements: claim, outcome, renewal.

Seeds N due deliveries (as ``bench.delivery`` does) on a scratch database,
then runs the worker's own ``store.PgStore`` statements over them, batch by
batch, with no HTTP in between, and reads the CPU of the server backend
that ran each kind of statement from ``/proc/<pid>/stat``. Prints
microseconds of PostgreSQL CPU per row: what the server spends per delivery,
apart from the HTTP calls. Asserts nothing.

Usage: ``python -m bench.pg_rows [--count N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import uvloop

from bench.delivery import (
    PgCpu,
    _proc_cpu_s,
    make_endpoints,
    scratch_database,
    seed,
)
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import queue, store

T = TypeVar("T")
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/porthook_bench_rows"


async def _backend_pid(held: store._HeldConnection) -> int:
    async with held.driver() as driver:
        pid: int = await driver.fetchval("SELECT pg_backend_pid()")
    return pid


class Meter:
    """PostgreSQL CPU and rows of each kind of statement (one backend each)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.spent = dict.fromkeys(pids, 0.0)
        self.rows = dict.fromkeys(pids, 0)

    async def run(self, kind: str, rows: int, statement: Awaitable[T]) -> T:
        before = _proc_cpu_s(self.pids[kind]) or 0.0
        result = await statement
        self.spent[kind] += (_proc_cpu_s(self.pids[kind]) or 0.0) - before
        self.rows[kind] += rows
        return result


async def _drive(pg: store.PgStore, meter: Meter, settings: Settings,
                 args: argparse.Namespace) -> None:
    """Claim batches until none is left, keeping ``in_flight`` batches
    unrecorded, renewing what is held every ``renew_every`` claims."""
    pending: deque[list[store.Claim]] = deque()
    claims_made = 0
    while True:
        claims, _ = await meter.run("claim", 0, pg.claim(
            now=datetime.now(UTC), limit=args.batch, lease_s=settings.worker_lease_s))
        meter.rows["claim"] += len(claims)
        claims_made += 1
        if claims:
            pending.append(claims)
        elif not pending:
            return
        held = [c for batch in pending for c, _ in batch]
        if held and claims_made % args.renew_every == 0:
            await meter.run("renew", len(held), pg.renew(
                ids=[c.id for c in held], tokens={c.lease_token for c in held},
                expires=datetime.now(UTC) + timedelta(seconds=settings.worker_lease_s)))
        while pending and (len(pending) > args.in_flight or not claims):
            done = pending.popleft()
            now = datetime.now(UTC)
            outcomes = [queue.Outcome(claimed=c, attempted_at=now, duration_ms=1,
                                      delivered_to="http://127.0.0.1:9/", status_code=200,
                                      response_excerpt="", event_type=view.type)
                        for c, view in done]
            await meter.run("outcome", len(outcomes), pg.record(
                outcomes, now=now, settings=settings, random=random.random))


async def _hot_updates(database: Database) -> tuple[int, int]:
    async with database.engine.connect() as connection:
        await asyncio.sleep(1)  # the statistics collector's delay
        updates, hot = (await connection.exec_driver_sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname = 'deliveries'")).one()
    return updates, hot


async def measure(database: Database, args: argparse.Namespace) -> list[str]:
    """Seed ``args.count`` due rows on ``database``, drive the worker's
    statements over them, and return the lines to print."""
    account_id, ids = await make_endpoints(
        database, [f"http://127.0.0.1:9/{i}" for i in range(8)])
    await seed(database, account_id, ids, args.count)
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for sql in args.sql:
            await autocommit.exec_driver_sql(sql)
    pg = store.PgStore(database)
    # The bench records one batch at a time: always on the connection the
    # store pops last.
    meter = Meter({"claim": await _backend_pid(pg._claims),
                   "outcome": await _backend_pid(pg._outcomes[-1]),
                   "renew": await _backend_pid(pg._renewals)})
    whole = PgCpu(database)
    await whole.start()
    started = time.perf_counter()
    await _drive(pg, meter, Settings(database_url=database.url), args)
    seconds = time.perf_counter() - started
    total = await whole.seconds()
    await pg.close()
    updates, hot = await _hot_updates(database)
    lines = [f"{args.count:,} rows in batches of {args.batch}, {args.in_flight} batches in "
             f"flight ({seconds:.1f} s, no HTTP)"]
    lines += [f"  {kind:<8} {meter.spent[kind] / max(meter.rows[kind], 1) * 1e6:6.1f} us of "
              f"PostgreSQL CPU per row ({meter.rows[kind]:,} rows)"
              for kind in ("claim", "outcome", "renew")]
    lines.append(f"  deliveries updated {updates:,} times, {hot:,} of them HOT")
    lines.append(f"  every backend of the database: {total / args.count * 1e6:.1f} us per delivery")
    return lines


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--in-flight", type=int, default=5,
                        help="batches claimed but not yet recorded at each claim (a worker "
                             "holds up to its concurrency and four batches waiting)")
    parser.add_argument("--renew-every", type=int, default=10,
                        help="claims between two renewals of every lease held")
    parser.add_argument("--sql", action="append", default=[],
                        help="a statement run after seeding (an experiment: drop an index...)")
    return parser


async def main() -> None:
    args = parser().parse_args()
    async with scratch_database("postgresql", args.pg_url, Path("/tmp")) as database:
        lines = await measure(database, args)
    print("\n".join(lines))


if __name__ == "__main__":
    uvloop.run(main())
