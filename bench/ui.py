"""Dashboard page benchmark: server time of the desk's and the portal's pages
with many orders, on SQLite and PostgreSQL.

    .venv/bin/python bench/ui.py                              # both backends, 10,000 orders
    .venv/bin/python bench/ui.py --backend sqlite --orders 2000
    .venv/bin/python bench/ui.py --only foc --drop-index ix_porting_orders_status_foc

For each backend: a fresh database with the schema, ``--orders`` orders (two
numbers each, spread over 20 accounts and every status) and their creation
events, inserted in bulk; then each page is requested ``--runs`` times through
the app in-process (``httpx.ASGITransport``: no network, no other process), so
the time measured is the server's: routing, session check, queries, template.
Prints per page the p50 and p99 wall time in milliseconds and the process CPU
time per request in microseconds (server and in-process client together: the
one figure that a loaded machine does not inflate much), then each list
page's query plans: every statement a page runs is captured once and
EXPLAINed on its backend, and a full scan of a table the data makes large
(orders, numbers, events) is flagged. Then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porthook.accounts.models import Account
from porthook.config import Settings
from porthook.db import Database, all_models, new_id
from porthook.events.models import Event
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.ui import service as ui
from porthook.ui.rules import QUEUE_VIEWS
from porthook.web import create_app

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCOUNTS = 20
STATUSES = ("draft", "in-process", "submitted", "exception", "foc-date-confirmed", "ported",
            "cancelled")
BATCH = 2000


def _order(index: int, accounts: list[uuid.UUID], now: datetime) -> dict[str, Any]:
    status = STATUSES[index % len(STATUSES)]
    changed = now - timedelta(minutes=index % 5000)
    return {
        "id": new_id(), "account_id": accounts[index % ACCOUNTS],
        "support_key": f"sr_{index:06x}", "customer_reference": f"ref-{index}",
        "status": status, "status_details": [],
        "desired_port_date": (now + timedelta(days=5)).date(),
        "on_demand_activation": False, "end_user": {"business_name": f"Biz {index}"},
        "port_out": {"losing_carrier": "OldTel"}, "enable_messaging": False,
        "messaging_capable": True, "messaging_port_status": "not_applicable",
        "foc_date": now + timedelta(hours=index % 96) if status == "foc-date-confirmed" else None,
        "activation_due_at": now + timedelta(hours=index % 30)
        if status == "foc-date-confirmed" else None,
        "created_at": changed, "updated_at": changed, "status_changed_at": changed,
    }


async def seed(database: Database, orders: int) -> tuple[uuid.UUID, uuid.UUID]:
    """Returns one account id and one of its orders' ids."""
    now = datetime.now(UTC)
    accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
    async with database.sessions() as session:
        await session.execute(sa.insert(Account), [
            {"id": a, "name": f"Account {i}", "contact_email": None, "created_at": now}
            for i, a in enumerate(accounts)])
        for start in range(0, orders, BATCH):
            rows = [_order(i, accounts, now) for i in range(start, min(start + BATCH, orders))]
            await session.execute(sa.insert(PortingOrder), rows)
            await session.execute(sa.insert(PortingNumber), [
                {"id": new_id(), "order_id": r["id"], "position": p,
                 "phone_number": f"+1212{i + start:06d}"[:12] + str(p), "country_code": "US",
                 "status": "pending", "held_number": None}
                for i, r in enumerate(rows) for p in range(2)])
            await session.execute(sa.insert(Event), [
                {"id": new_id(), "account_id": r["account_id"],
                 "type": "porting_order.created", "subject_type": "porting_order",
                 "subject_id": str(r["id"]), "sequence": 1, "occurred_at": now,
                 "data": {"porting_order": {"id": str(r["id"]), "status": r["status"]}}}
                for r in rows])
        await session.commit()
    if database.is_postgres:  # fresh statistics, as autovacuum would have by now
        async with database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")
    return accounts[0], rows[-1]["id"] if orders <= BATCH else rows[0]["id"]


async def _cookie(database: Database, account_id: uuid.UUID | None) -> str:
    async with database.sessions() as session:
        _, token = await ui.open_session(session, key_id=None, account_id=account_id,
                                         now=datetime.now(UTC))
        await session.commit()
    return token


def percentile(sorted_times: list[float], fraction: float) -> float:
    """Nearest rank: the smallest time at least ``fraction`` of the runs took."""
    rank = max(math.ceil(fraction * len(sorted_times)), 1)
    return sorted_times[rank - 1]


async def measure(client: httpx.AsyncClient, path: str, runs: int) -> dict[str, float]:
    assert (await client.get(path)).status_code == 200, path  # warms caches
    times: list[float] = []
    cpu_started = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    cpu_us = (time.process_time() - cpu_started) / runs * 1e6
    times.sort()
    return {"p50_ms": round(percentile(times, 0.50), 1),
            "p99_ms": round(percentile(times, 0.99), 1), "cpu_us": round(cpu_us)}


# Tables the benchmark fills: a full scan of one of these on a page is a bug.
BIG_TABLES = ("porting_orders", "porting_numbers", "events")


class StatementLog:
    """Every SELECT the engine runs while ``capturing``, with its parameters
    (as the driver got them), for EXPLAIN."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.capturing = False
        self.statements: list[tuple[str, Any]] = []
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
              _context: Any, _many: bool) -> None:
        if self.capturing and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


# PostgreSQL (EXPLAIN ANALYZE) says how many rows a node read and threw away:
# more than a page's worth is a scan, whatever the node is called.
DISCARDED = re.compile(r"Rows Removed by Filter: (\d+)")
PAGE_ROWS = 1000


def full_scans(plan: list[str], postgres: bool, statement: str = "") -> list[str]:
    """The plan lines that read a big table whole. SQLite: ``SCAN t`` without
    an index (also printed for a walk in primary-key order to a LIMIT, which
    is cheap only when most rows match: the desk's unfiltered "all" view);
    PostgreSQL: ``Seq Scan on t``, or any node that discarded more than
    PAGE_ROWS rows."""
    found = []
    for number, line in enumerate(plan):
        if postgres and (removed := DISCARDED.search(line)) and int(removed[1]) > PAGE_ROWS:
            found.append(f"{plan[number - 1].strip()} / {line.strip()}")
        for table in BIG_TABLES:
            pattern = (rf"Seq Scan on {table}\b" if postgres
                       else rf"\bSCAN {table}(_\d+)?\b(?! USING)")
            if re.search(pattern, line):
                # A walk in key order, no sort: it stops at the page's LIMIT
                # only once that many rows matched (all of the table if few do).
                walk = (not postgres and " LIMIT " in statement
                        and not any("TEMP B-TREE" in p for p in plan))
                found.append(f"{line.strip()}{' (key-order walk to the LIMIT)' if walk else ''}")
    return found


async def explain(database: Database, statements: list[tuple[str, Any]]) -> list[str]:
    postgres = database.is_postgres
    scans: list[str] = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            prefix = "EXPLAIN ANALYZE " if postgres else "EXPLAIN QUERY PLAN "
            rows = await connection.exec_driver_sql(prefix + statement, parameters)
            plan = [" ".join(str(c) for c in row) for row in rows]
            found = full_scans(plan, postgres, statement)
            if found and os.environ.get("BENCH_UI_SHOW_SQL"):
                print(statement, parameters, *plan, sep="\n", file=sys.stderr)
            scans += found
    return sorted(set(scans))


async def plans(client: httpx.AsyncClient, log: StatementLog, database: Database,
                path: str) -> list[str]:
    log.statements, log.capturing = [], True
    try:
        assert (await client.get(path)).status_code == 200, path
    finally:
        log.capturing = False
    return await explain(database, log.statements)


async def run_backend(url: str, orders: int, runs: int, *, drop_indexes: list[str],
                      only: str | None) -> dict[str, dict[str, Any]]:
    settings = Settings(database_url=url)
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(all_models().create_all)
        for name in drop_indexes:  # to measure a page as it was before its index
            await connection.exec_driver_sql(f"DROP INDEX {name}")
    account_id, order_id = await seed(database, orders)
    async with database.sessions() as session:
        customer_order = await session.scalar(
            sa.select(PortingOrder.id).where(PortingOrder.account_id == account_id).limit(1))
    app = create_app(settings, database=database)
    soon = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    today = datetime.now(UTC).date().isoformat()
    # Every list page (each saved view and each filter) and the order pages.
    pages = {"desk": [*(f"/ui/desk?view={view}" for view in QUEUE_VIEWS),
                      "/ui/desk?status=submitted", f"/ui/desk?account_id={account_id}",
                      "/ui/desk?phone_number=%2B12120000050",
                      "/ui/desk?customer_reference=ref-5000",
                      f"/ui/desk?foc_from={today}&foc_to={soon}",
                      f"/ui/desk/orders/{order_id}"],
             "portal": ["/ui/portal", "/ui/portal?status=submitted",
                        "/ui/portal?customer_reference=ref-40",
                        "/ui/portal?phone_number=%2B12120000400",
                        f"/ui/portal/orders/{customer_order}", "/ui/portal/endpoints",
                        "/ui/portal/deliveries", "/ui/portal/records/users"]}
    results: dict[str, dict[str, Any]] = {}
    transport = httpx.ASGITransport(app=app)
    log = StatementLog(database.engine)
    for side, paths in pages.items():
        token = await _cookie(database, None if side == "desk" else account_id)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     cookies={"porthook_session": token}) as client:
            for path in (p for p in paths if only is None or only in p):
                results[path] = {**await measure(client, path, runs),
                                 "full_scans": await plans(client, log, database, path)}
    await database.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100,
                        help="requests per page (p99 needs 100 or more)")
    parser.add_argument("--drop-index", action="append", default=[], metavar="NAME",
                        help="drop this index after creating the schema (a before/after "
                             "comparison in one run)")
    parser.add_argument("--only", help="only the pages whose path contains this")
    args = parser.parse_args()
    options = {"drop_indexes": args.drop_index, "only": args.only}
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    figures: dict[str, Any] = {"orders": args.orders}
    for backend in backends:
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="porthook-bench-ui-")
            figures[backend] = await run_backend(
                f"sqlite+aiosqlite:///{folder}/ui.db", args.orders, args.runs, **options)
            continue
        name = f"porthook_bench_ui_{os.getpid()}"
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            figures[backend] = await run_backend(
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", args.orders, args.runs,
                **options)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    for backend in backends:
        print(f"\n{backend}, {args.orders} orders, {args.runs} requests a page: "
              "p50 ms, p99 ms, CPU us a request, full scans of big tables")
        for path, times in figures[backend].items():
            scans = ", ".join(times["full_scans"]) or "none"
            print(f"  {path:58} {times['p50_ms']:7.1f} {times['p99_ms']:7.1f} "
                  f"{times['cpu_us']:8} {scans}")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
