"""Dashboard page benchmark: server time of the desk's and the portal's pages
with many orders, on SQLite and PostgreSQL.

    .venv/bin/python bench/ui.py                              # both backends, 10,000 orders
    .venv/bin/python bench/ui.py --backend sqlite --orders 2000

For each backend: a fresh database with the schema, ``--orders`` orders (two
numbers each, spread over 20 accounts and every status) and their creation
events, inserted in bulk; then each page is requested ``--runs`` times through
the app in-process (``httpx.ASGITransport``: no network, no other process), so
the time measured is the server's: routing, session check, queries, template.
Prints the median and p95 per page in milliseconds, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porthook.accounts.models import Account
from porthook.config import Settings
from porthook.db import Database, all_models
from porthook.events.models import Event
from porthook.porting.models import PortingNumber, PortingOrder
from porthook.ui import service as ui
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
        "id": uuid.uuid4(), "account_id": accounts[index % ACCOUNTS],
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
                {"id": uuid.uuid4(), "order_id": r["id"], "position": p,
                 "phone_number": f"+1212{i + start:06d}"[:12] + str(p), "country_code": "US",
                 "status": "pending", "held_number": None}
                for i, r in enumerate(rows) for p in range(2)])
            await session.execute(sa.insert(Event), [
                {"id": uuid.uuid4(), "account_id": r["account_id"],
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


async def measure(client: httpx.AsyncClient, path: str, runs: int) -> dict[str, float]:
    times: list[float] = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        times.append(elapsed)
    times = sorted(times[1:])  # the first run warms caches
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1)}


async def run_backend(url: str, orders: int, runs: int) -> dict[str, dict[str, float]]:
    settings = Settings(database_url=url)
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(all_models().create_all)
    account_id, order_id = await seed(database, orders)
    async with database.sessions() as session:
        customer_order = await session.scalar(
            sa.select(PortingOrder.id).where(PortingOrder.account_id == account_id).limit(1))
    app = create_app(settings, database=database)
    pages = {"desk": ["/ui/desk", "/ui/desk?view=exception", "/ui/desk?view=foc-48h",
                      "/ui/desk?view=activating-today", "/ui/desk?phone_number=%2B12120000050",
                      f"/ui/desk/orders/{order_id}"],
             "portal": ["/ui/portal", "/ui/portal?status=submitted",
                        f"/ui/portal/orders/{customer_order}"]}
    results: dict[str, dict[str, float]] = {}
    transport = httpx.ASGITransport(app=app)
    for side, paths in pages.items():
        token = await _cookie(database, None if side == "desk" else account_id)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     cookies={"porthook_session": token}) as client:
            for path in paths:
                results[path] = await measure(client, path, runs)
    await database.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    figures: dict[str, Any] = {"orders": args.orders}
    for backend in backends:
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="porthook-bench-ui-")
            figures[backend] = await run_backend(
                f"sqlite+aiosqlite:///{folder}/ui.db", args.orders, args.runs)
            continue
        name = f"porthook_bench_ui_{os.getpid()}"
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            figures[backend] = await run_backend(
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", args.orders, args.runs)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    for backend in backends:
        print(f"\n{backend}, {args.orders} orders: page server time, median / p95 (ms)")
        for path, times in figures[backend].items():
            print(f"  {path:48} {times['median_ms']:7.1f} {times['p95_ms']:7.1f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
