"""Delivery operations benchmark: searches and endpoint stats on a million
deliveries. Prints figures, asserts nothing.

Seeds, on PostgreSQL, one account's month of traffic server-side (and 49
quiet accounts)
(``INSERT ... SELECT generate_series``): events of 25,000 orders, four
deliveries each over 20 endpoints (97.5 % delivered, 1 % dead, 1 % retrying,
0.5 % pending, 0.5 % held, as a live system's table looks), and one attempt
per attempted delivery; then times every list and stats query of
``delivery.search``, ``delivery.stats`` and ``events.service.list_events``
as the API runs them (a session each), with varied arguments, and prints
p50/p99 per query. Target: p99 under 50 ms. Then the portal's webhook pages
(delivery log and its filters, a delivery, an endpoint with its health, the
endpoint list) through the app in process: median and p95 server time.

Usage: ``python -m bench.ops [--deliveries N] [--repeat N] [--pg-url URL]
[--keep]``. The database ``porthook_bench_ops`` on 127.0.0.1 is dropped and
recreated unless ``--keep`` reuses a seeded one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.api import percentile
from bench.delivery import scratch_database
from bench.ui import measure
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import search, stats
from porthook.delivery.models import Delivery, Endpoint
from porthook.delivery.search import DeliveryFilter
from porthook.events import service as events
from porthook.ui import service as ui
from porthook.web import create_app

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/porthook_bench_ops"
ENDPOINTS = 20
OTHER_ACCOUNTS = 49  # with no traffic, besides the one seeded
FANOUT = 4  # deliveries per event
ORDERS = 25_000
SPAN = timedelta(days=30)  # the seeded traffic's time span, ending now
PAGE = 50  # rows per page, the API's default
DEEP_PAGES = 100  # pages followed through cursors
TARGET_P99_MS = 50.0

# Types by event position % 100: the mix of a porting system's month; split is rare.
TYPES_SQL = """CASE WHEN g % 100 < 60 THEN 'porting_order.status_changed'
    WHEN g % 100 < 75 THEN 'porting_order.created'
    WHEN g % 100 < 90 THEN 'porting_order.new_comment'
    WHEN g % 100 < 99 THEN 'record.dids.inserted'
    ELSE 'porting_order.split' END"""

EVENTS_SQL = f"""
INSERT INTO events (id, account_id, type, subject_type, subject_id, sequence, occurred_at, data)
SELECT gen_random_uuid(), CAST(:account AS uuid), {TYPES_SQL}, 'porting_order',
       'order-' || (g % CAST(:orders AS integer)), g / CAST(:orders AS integer) + 1,
       CAST(:start AS timestamptz) + g * CAST(:step AS float8) * interval '1 millisecond',
       '{{"porting_order": {{"status": "in-process"}}}}'
FROM generate_series(0, CAST(:events AS integer) - 1) AS g
"""

# Outcome bucket by (position * FANOUT + k) % 1000: 10 dead, 10 retrying,
# 5 pending, 5 held, the rest delivered. Failures: 5xx, 4xx or a network error.
DELIVERIES_SQL = """
INSERT INTO deliveries (id, account_id, event_id, event_type, event_position, endpoint_id,
    status, ordered, ordering_key,
    sequence, attempts, round_start, next_attempt_at, last_attempt_at, last_status_code,
    last_error, last_response_excerpt, created_at, updated_at, delivered_at)
SELECT gen_random_uuid(), e.account_id, e.id, e.type, e.position,
    (CAST(:endpoints AS uuid[]))[(n % CAST(:count AS integer)) + 1],
    s.status, false, 'porting_order:' || e.subject_id, e.sequence, s.attempts, 0,
    e.occurred_at + s.wait, CASE WHEN s.attempts > 0 THEN e.occurred_at + interval '1 second' END,
    s.code, s.error, s.excerpt, e.occurred_at, e.occurred_at + interval '1 second',
    CASE WHEN s.status = 'delivered' THEN e.occurred_at + interval '1 second' END
FROM events AS e CROSS JOIN generate_series(0, CAST(:fanout AS integer) - 1) AS k
CROSS JOIN LATERAL (SELECT e.position * CAST(:fanout AS integer) + k AS n) AS pos
CROSS JOIN LATERAL (SELECT b,
    CASE WHEN b < 10 THEN 'dead' WHEN b < 25 THEN 'pending' WHEN b < 30 THEN 'held'
         ELSE 'delivered' END AS status,
    CASE WHEN b < 20 THEN 3 WHEN b < 30 THEN 0 ELSE 1 END AS attempts,
    CASE WHEN b < 20 THEN interval '1 hour' ELSE interval '0' END AS wait,
    CASE WHEN b >= 30 THEN 200 WHEN b < 20 AND b % 3 = 0 THEN 503
         WHEN b < 20 AND b % 3 = 1 THEN 404 END AS code,
    CASE WHEN b < 20 AND b % 3 = 2 THEN 'connection refused'
         WHEN b < 20 AND b % 3 = 0 THEN 'HTTP 503' WHEN b < 20 THEN 'HTTP 404' END AS error,
    CASE WHEN b < 20 AND b % 3 <> 2 THEN 'upstream unavailable' END AS excerpt
    FROM (SELECT pos.n % 1000 AS b) AS bucket) AS s
"""

ATTEMPTS_SQL = """
INSERT INTO delivery_attempts (delivery_id, endpoint_id, number, attempted_at, duration_ms,
    delivered_to, status_code, response_excerpt, error)
SELECT id, endpoint_id, attempts, last_attempt_at, 5 + (hashtext(id::text) & 511),
    'https://receiver.example/hook', last_status_code, last_response_excerpt,
    CASE WHEN last_status_code IS NULL THEN last_error END
FROM deliveries WHERE last_attempt_at IS NOT NULL
"""


async def seed(database: Database, deliveries: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = datetime.now(UTC)
    count = deliveries // FANOUT
    account, endpoints = uuid.uuid4(), [uuid.uuid4() for _ in range(ENDPOINTS)]
    async with database.engine.begin() as connection:
        await connection.execute(sa.text(
            "INSERT INTO accounts (id, name, created_at) "
            "VALUES (:id, 'Bench ops', :now)"), {"id": account, "now": now})
        # Other accounts, quiet ones: the operator's search visits each.
        await connection.execute(sa.text(
            "INSERT INTO accounts (id, name, created_at) "
            "SELECT gen_random_uuid(), 'Quiet ' || g, :now "
            "FROM generate_series(1, CAST(:others AS integer)) AS g"),
            {"now": now, "others": OTHER_ACCOUNTS})
        await connection.execute(sa.insert(Endpoint), [{
            "id": e, "account_id": account, "origin": "user", "channel": "webhook",
            "url": f"https://receiver.example/{i}", "format": "standard",
            "event_types": ["*"], "secret": "whsec_bench", "enabled": True,
            "failing_notified": False, "strict_ordering": False,
            "created_at": now - SPAN + timedelta(seconds=i), "updated_at": now,
        } for i, e in enumerate(endpoints)])
        started = time.perf_counter()
        await connection.execute(sa.text(EVENTS_SQL), {
            "account": account, "orders": ORDERS, "events": count, "start": now - SPAN,
            "step": SPAN.total_seconds() * 1000 / count})
        await connection.execute(sa.text(DELIVERIES_SQL), {
            "endpoints": endpoints, "count": ENDPOINTS, "fanout": FANOUT})
        await connection.execute(sa.text(ATTEMPTS_SQL))
        print(f"seeded {count:,} events, {count * FANOUT:,} deliveries and their attempts in "
              f"{time.perf_counter() - started:.0f} s")
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("events", "deliveries", "delivery_attempts"):
            await autocommit.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    return account, endpoints


async def seeded(database: Database) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with database.sessions() as session:
        rows = (await session.execute(sa.select(Endpoint.account_id, Endpoint.id)
                                      .order_by(Endpoint.created_at))).all()
    return rows[0][0], [row[1] for row in rows]


Query = Callable[[Any], Awaitable[Any]]


class Captured:
    """The statements a query ran (as the driver got them), for EXPLAIN ANALYZE."""

    def __init__(self, database: Database) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False
        sa.event.listen(database.engine.sync_engine, "before_cursor_execute", self._capture)

    def _capture(self, _connection: Any, _cursor: Any, statement: str, parameters: Any,
                 _context: Any, _many: bool) -> None:
        if self.on:
            self.statements.append((statement, parameters))


async def server_ms(database: Database,
                    statements: list[tuple[str, Any]]) -> tuple[float, int]:
    """The server's planning + execution time of these statements (EXPLAIN
    ANALYZE), which the client's scheduling on a busy machine does not
    inflate, and the shared buffers (8 kB pages) they touched, which no load
    changes at all."""
    total, pages = 0.0, 0
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for statement, parameters in statements:
            plan = await driver.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}",
                                         *(parameters or ()))
            plan = json.loads(plan) if isinstance(plan, str) else plan  # the json codec set?
            total += plan[0]["Planning Time"] + plan[0]["Execution Time"]
            pages += sum(int(part.get(f"Shared {kind} Blocks", 0))
                         for part in (plan[0]["Plan"], plan[0].get("Planning", {}))
                         for kind in ("Hit", "Read"))
    return total, pages


@dataclass
class Figures:
    """Per run: round trip ms, this process's CPU µs, server ms, pages, statements."""

    round_trip: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)
    statements: int = 0


async def timed(database: Database, query: Query, repeat: int,
                captured: Captured) -> Figures:
    """Each run in a fresh session, as a request has: milliseconds as the
    client saw them, the client's CPU for them (the session, ORM and driver
    work, which a busy machine delays but does not grow), and as the server
    spent them."""
    figures = Figures()
    for _ in range(repeat):
        captured.statements, captured.on = [], True
        started, cpu = time.perf_counter(), time.process_time()
        async with database.sessions() as session:
            await query(session)
        figures.cpu_us.append((time.process_time() - cpu) * 1e6)
        figures.round_trip.append((time.perf_counter() - started) * 1000)
        captured.on = False
        figures.statements = len(captured.statements)
        spent, pages = await server_ms(database, captured.statements)
        figures.server.append(spent)
        figures.pages.append(pages)
    return figures


def report(name: str, figures: Figures) -> None:
    samples, server = figures.round_trip, figures.server
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    s50, s99 = percentile(server, 0.5), percentile(server, 0.99)
    mark = "" if s99 < TARGET_P99_MS else f"  (server over {TARGET_P99_MS:.0f} ms)"
    print(f"  {name:<50} round trip p50 {p50:6.1f} p99 {p99:6.1f} | "
          f"server p50 {s50:6.2f} p99 {s99:6.2f} ms | pages {percentile(figures.pages, 0.5):6.0f}"
          f" | {figures.statements} stmt | client CPU {percentile(figures.cpu_us, 0.5):6.0f} µs"
          f"{mark}")


def searches(account: uuid.UUID, endpoints: list[uuid.UUID],
             now: datetime) -> dict[str, Callable[[], DeliveryFilter]]:
    """Each search's filter, drawn afresh per run (another endpoint, order, day)."""
    def day() -> datetime:
        return now - timedelta(days=random.uniform(1, 29))

    def endpoint() -> uuid.UUID:
        return random.choice(endpoints)

    def order() -> str:
        return f"order-{random.randrange(ORDERS)}"

    def one_day(**more: Any) -> DeliveryFilter:
        start = day()
        return DeliveryFilter(created_after=start, created_before=start + timedelta(days=1),
                              **more)

    return {
        "deliveries: all": DeliveryFilter,
        "deliveries: status=dead": lambda: DeliveryFilter(states=["dead"]),
        "deliveries: status=retrying": lambda: DeliveryFilter(states=["retrying"]),
        "deliveries: status=held": lambda: DeliveryFilter(states=["held"]),
        "deliveries: status=pending,retrying": lambda: DeliveryFilter(
            states=["pending", "retrying"]),
        "deliveries: status=delivered": lambda: DeliveryFilter(states=["delivered"]),
        "deliveries: status_class=5xx": lambda: DeliveryFilter(status_classes=["5xx"]),
        "deliveries: status_class=network": lambda: DeliveryFilter(status_classes=["network"]),
        "deliveries: endpoint": lambda: DeliveryFilter(endpoint_id=endpoint()),
        "deliveries: endpoint + status=dead": lambda: DeliveryFilter(
            endpoint_id=endpoint(), states=["dead"]),
        "deliveries: endpoint + retrying + 5xx": lambda: DeliveryFilter(
            endpoint_id=endpoint(), states=["retrying"], status_classes=["5xx"]),
        "deliveries: event_type (15 %)": lambda: DeliveryFilter(
            event_types=["porting_order.created"]),
        "deliveries: event_type porting_order.* (90 %)": lambda: DeliveryFilter(
            event_types=["porting_order.*"]),
        "deliveries: event_type (1 %) ": lambda: DeliveryFilter(
            event_types=["porting_order.split"]),
        "deliveries: subject_id (an order)": lambda: DeliveryFilter(subject_id=order()),
        "deliveries: subject_id + status=delivered": lambda: DeliveryFilter(
            subject_id=order(), states=["delivered"]),
        "deliveries: one day (created_after/before)": one_day,
        "deliveries: day + endpoint + dead": lambda: one_day(endpoint_id=endpoint(),
                                                             states=["dead"]),
    }


async def run(database: Database, account: uuid.UUID, endpoints: list[uuid.UUID],
              repeat: int) -> None:
    now = datetime.now(UTC)
    captured = Captured(database)
    print(f"first page ({PAGE} rows), {repeat} runs each:")
    for name, make in searches(account, endpoints, now).items():
        report(name, await timed(database, _search(account, make), repeat, captured))
    await deep_pages(database, account, captured)
    print(f"operator (every account, GET /v1/operator/deliveries), {repeat} runs each:")
    for name, make in (("all", DeliveryFilter), ("status=dead", lambda: DeliveryFilter(
            states=["dead"])), ("event_type (1 %)", lambda: DeliveryFilter(
            event_types=["porting_order.split"]))):
        report(f"operator: {name}", await timed(database, _search(None, make), repeat,
                                                captured))
    print(f"endpoint stats and health, {repeat} runs each:")
    rows = await _endpoints(database)
    report("stats: one endpoint (3 windows, latency, last, backlog)", await timed(
        database, lambda s: stats.endpoint_stats(s, endpoint=random.choice(rows), now=now),
        repeat, captured))
    report(f"health: a page of {len(rows)} endpoints", await timed(
        database, lambda s: stats.health_by_endpoint(s, rows, now=now), repeat, captured))
    print(f"events ({PAGE} rows), {repeat} runs each:")
    for name, options in _event_searches().items():
        report(name, await timed(database, _list_events(account, options), repeat, captured))
    await dashboard_pages(database, account, endpoints, repeat)


async def dashboard_pages(database: Database, account: uuid.UUID, endpoints: list[uuid.UUID],
                          repeat: int) -> None:
    """The portal's webhook pages on these deliveries, through the app in
    process (no network): the server's time, routing to template."""
    async with database.sessions() as session:
        _, token = await ui.open_session(session, key_id=None, account_id=account,
                                         now=datetime.now(UTC))
        delivery = await session.scalar(sa.select(Delivery.id).where(
            Delivery.account_id == account, Delivery.status == "dead").limit(1))
        await session.commit()
    endpoint = endpoints[0]
    paths = ["/ui/portal/deliveries", "/ui/portal/deliveries?state=dead",
             "/ui/portal/deliveries?state=retrying&status_class=5xx",
             f"/ui/portal/deliveries?endpoint_id={endpoint}",
             "/ui/portal/deliveries?event_type=porting_order.split",
             f"/ui/portal/deliveries/{delivery}", f"/ui/portal/endpoints/{endpoint}",
             "/ui/portal/endpoints"]
    app = create_app(Settings(database_url=str(database.engine.url.render_as_string(
        hide_password=False))), database=database)
    print(f"dashboard pages, {repeat} runs each (server time, p50 / p99 ms, CPU µs per request):")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 cookies={"porthook_session": token}) as client:
        for path in paths:
            times = await measure(client, path, repeat)
            print(f"  {path:60} {times['p50_ms']:7.1f} {times['p99_ms']:7.1f} {times['cpu_us']:8}")


def _search(account: uuid.UUID | None, make: Callable[[], DeliveryFilter]) -> Query:
    def query(session: Any) -> Awaitable[Any]:
        return search.search(session, account_id=account, where=make(), cursor=None,
                             limit=PAGE)
    return query


def _list_events(account: uuid.UUID, options: Callable[[], dict[str, Any]]) -> Query:
    def query(session: Any) -> Awaitable[Any]:
        return events.list_events(session, account_id=account, cursor=None, limit=PAGE,
                                  **options())
    return query


def _event_searches() -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "events: newest first": lambda: {"newest_first": True},
        "events: delivery_status=dead, newest first": lambda: {
            "delivery_states": ["dead"], "newest_first": True},
        "events: delivery_status=retrying": lambda: {"delivery_states": ["retrying"]},
        "events: delivery_status=dead,held, newest first": lambda: {
            "delivery_states": ["dead", "held"], "newest_first": True},
        "events: delivery_status=delivered": lambda: {"delivery_states": ["delivered"]},
        "events: type (1 %), newest first": lambda: {
            "types": ["porting_order.split"], "newest_first": True},
        "events: subject_id": lambda: {"subject_id": f"order-{random.randrange(ORDERS)}"},
    }


async def _endpoints(database: Database) -> list[Endpoint]:
    async with database.sessions() as session:
        return list((await session.scalars(sa.select(Endpoint))).all())


async def deep_pages(database: Database, account: uuid.UUID, captured: Captured) -> None:
    """Each page of a walk through the cursors, newest first: the last as fast as the first."""
    for name, where in (("all", DeliveryFilter()), ("status=dead", DeliveryFilter(
            states=["dead"]))):
        cursors: list[str | None] = [None]

        async def page(session: Any, where: DeliveryFilter = where,
                       cursors: list[str | None] = cursors) -> None:
            _, following = await search.search(session, account_id=account, where=where,
                                               cursor=cursors[-1], limit=PAGE)
            cursors.append(following)

        report(f"deliveries: {name}, {DEEP_PAGES} pages deep by cursor",
               await timed(database, page, DEEP_PAGES, captured))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--keep", action="store_true",
                        help="reuse the database seeded by an earlier run")
    args = parser.parse_args()
    if args.keep:
        database = Database(Settings(database_url=args.pg_url))
        try:
            await run(database, *await seeded(database), args.repeat)
        finally:
            await database.dispose()
        return
    with tempfile.TemporaryDirectory() as workdir:
        async with scratch_database("postgresql", args.pg_url, Path(workdir)) as database:
            account, endpoints = await seed(database, args.deliveries)
            await run(database, account, endpoints, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
