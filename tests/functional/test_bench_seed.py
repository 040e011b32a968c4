"""The delivery benchmark's seed (``bench/delivery.py``): its rows stand for
fanned-out ones, so they carry every column fan-out fills."""

from __future__ import annotations

import sqlalchemy as sa

from bench import delivery as bench
from porthook.db import Database
from porthook.delivery.models import Delivery
from porthook.events.models import Event


async def test_seeded_deliveries_carry_their_events_type_and_position(
    database: Database,
) -> None:
    account_id, endpoint_ids = await bench.make_endpoints(
        database, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
    await bench.seed(database, account_id, endpoint_ids, 5)
    async with database.sessions() as session:
        rows = (await session.execute(
            sa.select(Delivery.event_type, Delivery.event_position, Event.type, Event.position)
            .join(Event, Event.id == Delivery.event_id))).all()
    assert len(rows) == 5
    assert len({position for _, position, _, _ in rows}) == 5
    for event_type, event_position, type_, position in rows:
        assert (event_type, event_position) == (type_, position)
