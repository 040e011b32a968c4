"""A listener as a delivery target, on both backends: one endpoint per key and
name with a stable secret; the fan-out gives it rows; the dispatcher parks
them for its stream; the stream's claim takes due, parked and (on reconnect)
leased rows; results go through the dispatcher's outcome rules; listeners gone
past the TTL are dropped with their rows, and nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.accounts.models import ApiKey
from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import listeners, models, queue, store
from porthook.delivery.models import Delivery, DeliveryAttempt, Endpoint
from porthook.problems import Conflict
from tests.conftest import AccountFactory, count_rows
from tests.integration.test_delivery_queue import _endpoint, _event

LEASE_S = 30.0


async def _listener(
    session: AsyncSession, account_id: uuid.UUID, clock: ShiftableClock, name: str = "dev",
    format: str = "standard", order: str | None = None,
) -> Endpoint:
    key_id = await session.scalar(sa.select(ApiKey.id).where(ApiKey.account_id == account_id))
    assert key_id is not None
    return await listeners.connect(
        session, account_id=account_id, key_id=key_id, name=name,
        forward_to="http://127.0.0.1:3000/hook", format=format, event_types=["porting_order.*"],
        subject_id=order, now=clock.now())


async def test_one_endpoint_per_key_and_name_with_a_stable_secret(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    first = await _listener(session, account_id, clock)
    again = await _listener(session, account_id, clock, format="telnyx")
    other = await _listener(session, account_id, clock, name="other")
    await session.commit()
    assert again.id == first.id and again.format == "telnyx"
    assert again.secret == first.secret != other.secret
    assert first.secret.startswith("whsec_")
    assert (first.origin, first.channel) == (models.ORIGIN_LISTENER, listeners.CHANNEL)


async def test_parked_by_the_dispatcher_then_claimed_retried_and_delivered(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    account_id, _ = await make_account()
    endpoint = await _listener(session, account_id, clock)
    event = await _event(session, account_id, clock.now())
    await session.commit()

    # The dispatcher's claim takes the row, and its outcome parks it.
    worker = store.for_database(database)
    try:
        [(claimed, view)], _ = await worker.claim(now=clock.now(), limit=10, lease_s=LEASE_S)
        await worker.record([queue.Outcome(claimed=claimed, attempted_at=clock.now(),
                                           skipped="parked", event_type=view.type)],
                            now=clock.now(), settings=settings, random=lambda: 0.5)
    finally:
        await worker.close()
    row = await session.scalar(sa.select(Delivery).where(Delivery.event_id == event.id))
    assert row is not None
    assert (row.status, row.attempts, row.lease_token) == (models.PENDING, 0, None)
    assert row.next_attempt_at == listeners.PARKED_AT

    [message] = await listeners.take(session, endpoint=endpoint, now=clock.now(),
                                     lease_s=LEASE_S, take_over=False, telnyx_key=None,
                                     settings=settings)
    await session.commit()
    assert message["event_id"] == str(event.id) and message["attempt"] == 1
    assert message["headers"]["webhook-id"] == str(event.id)

    failed = listeners.LocalAnswer(lease=uuid.UUID(message["lease"]), duration_ms=3,
                                   status_code=500, response_excerpt="boom", error=None,
                                   retry_schedule=(0.0, 1.0))
    status = await listeners.record_result(session, endpoint=endpoint, delivery_id=row.id,
                                           answer=failed, now=clock.now(), settings=settings)
    await session.commit()
    assert status == models.PENDING
    # Not due before the listener's own schedule says.
    assert await listeners.claim(session, endpoint_id=endpoint.id, now=clock.now(),
                                 lease_s=LEASE_S) == []
    clock.advance(timedelta(seconds=1.5))
    [(again, _)] = await listeners.claim(session, endpoint_id=endpoint.id, now=clock.now(),
                                         lease_s=LEASE_S)
    await session.commit()
    assert again.attempt == 2
    ok = listeners.LocalAnswer(lease=again.lease_token, duration_ms=2, status_code=204,
                               response_excerpt=None, error=None)
    assert await listeners.record_result(session, endpoint=endpoint, delivery_id=row.id,
                                         answer=ok, now=clock.now(),
                                         settings=settings) == models.DELIVERED
    await session.commit()
    attempts = (await session.scalars(sa.select(DeliveryAttempt.status_code)
                                      .where(DeliveryAttempt.delivery_id == row.id)
                                      .order_by(DeliveryAttempt.number))).all()
    assert list(attempts) == [500, 204]


async def test_a_reconnect_takes_over_what_the_last_stream_left(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    endpoint = await _listener(session, account_id, clock)
    await _event(session, account_id, clock.now())
    await session.commit()
    [(first, _)] = await listeners.claim(session, endpoint_id=endpoint.id, now=clock.now(),
                                         lease_s=LEASE_S)
    await session.commit()
    assert await listeners.claim(session, endpoint_id=endpoint.id, now=clock.now(),
                                 lease_s=LEASE_S) == []
    [(taken, _)] = await listeners.claim(session, endpoint_id=endpoint.id, now=clock.now(),
                                         lease_s=LEASE_S, take_over=True)
    await session.commit()
    assert taken.id == first.id and taken.lease_token != first.lease_token
    # The old stream's late result is refused: its lease moved on.
    late = listeners.LocalAnswer(lease=first.lease_token, duration_ms=1, status_code=200,
                                 response_excerpt=None, error=None)
    with pytest.raises(Conflict, match="no longer leased"):
        await listeners.record_result(session, endpoint=endpoint, delivery_id=first.id,
                                      answer=late, now=clock.now(), settings=settings)


async def test_listeners_gone_past_the_ttl_are_dropped_and_nothing_else(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
    settings: Settings,
) -> None:
    account_id, _ = await make_account()
    gone = await _listener(session, account_id, clock, name="gone")
    user = await _endpoint(session, settings, account_id, clock.now())
    clock.advance(timedelta(hours=2))
    here = await _listener(session, account_id, clock, name="here")
    await _event(session, account_id, clock.now())
    await session.commit()
    assert await count_rows(session, "deliveries") == 3
    dropped = await listeners.drop_gone(session, before=clock.now() - timedelta(hours=1))
    await session.commit()
    assert dropped == 1
    left = set((await session.scalars(sa.select(Endpoint.id))).all())
    assert left == {user.id, here.id} and gone.id not in left
    kept = set((await session.scalars(sa.select(Delivery.endpoint_id))).all())
    assert kept == {user.id, here.id}


async def test_a_listener_with_bad_options_is_refused_naming_each_field(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    answer = await client.get("/v1/listeners/dev/stream", headers=headers, params={
        "forward_to": "nope", "format": "xml", "events": "porting_order.nothing"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"forward_to", "format", "events"}


async def test_a_listener_with_an_order_gets_only_that_orders_events(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    account_id, _ = await make_account()
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    only = await _listener(session, account_id, clock, name="only", order=mine)
    every = await _listener(session, account_id, clock, name="every")
    first = await _event(session, account_id, clock.now(), subject=mine)
    await _event(session, account_id, clock.now(), subject=other)
    await session.commit()

    async def events_of(endpoint: Endpoint) -> set[uuid.UUID]:
        return set((await session.scalars(sa.select(Delivery.event_id).where(
            Delivery.endpoint_id == endpoint.id))).all())

    # No row at all for the other order: filtered at fan-out, not on the stream.
    assert await events_of(only) == {first.id}
    assert len(await events_of(every)) == 2
    # Reconnecting without --order lifts the filter for the events that follow.
    again = await _listener(session, account_id, clock, name="only")
    assert again.id == only.id and again.subject_id is None
    later = await _event(session, account_id, clock.now(), subject=other)
    await session.commit()
    assert await events_of(only) == {first.id, later.id}


async def test_a_listener_for_an_order_the_account_does_not_have_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    answer = await client.get("/v1/listeners/dev/stream", headers=headers, params={
        "forward_to": "http://127.0.0.1:3000/hook", "order": str(uuid.uuid4())})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    [error] = answer.json()["errors"]
    assert error["field"] == "order" and "porting orders" in error["message"]


async def test_a_stream_leaves_a_due_row_a_worker_holds_to_the_worker(
    session: AsyncSession, database: Database, make_account: AccountFactory,
    clock: ShiftableClock, settings: Settings,
) -> None:
    # A claim keeps the row's next_attempt_at (its lease is in lease_expires_at):
    # the stream must not take the row while the worker holds it, or both
    # count an attempt and the worker's "parked" hand-over is lost.
    account_id, _ = await make_account()
    endpoint = await _listener(session, account_id, clock)
    event = await _event(session, account_id, clock.now())
    await session.commit()
    worker = store.for_database(database)
    try:
        [(claimed, view)], _ = await worker.claim(now=clock.now(), limit=10, lease_s=LEASE_S)
        await session.rollback()  # SQLite: hand the writer's turn over
        assert await listeners.take(session, endpoint=endpoint, now=clock.now(),
                                    lease_s=LEASE_S, take_over=False, telnyx_key=None,
                                    settings=settings) == []
        await session.commit()
        await worker.record([queue.Outcome(claimed=claimed, attempted_at=clock.now(),
                                           skipped="parked", event_type=view.type)],
                            now=clock.now(), settings=settings, random=lambda: 0.5)
    finally:
        await worker.close()
    [message] = await listeners.take(session, endpoint=endpoint, now=clock.now(),
                                     lease_s=LEASE_S, take_over=False, telnyx_key=None,
                                     settings=settings)
    await session.commit()
    assert message["delivery_id"] == str(claimed.id)
    row = await session.scalar(sa.select(Delivery).where(Delivery.event_id == event.id)
                               .execution_options(populate_existing=True))
    assert row is not None and row.attempts == 1  # the stream's attempt only


@pytest.mark.parametrize("backend", ["postgresql"])  # its plan cache: PostgreSQL's own
async def test_a_stream_takes_no_more_than_its_batch_with_a_plan_made_on_a_small_table(
    session: AsyncSession, make_account: AccountFactory, clock: ShiftableClock,
) -> None:
    """A plan made while the table held one row, kept while it grew (a
    generic plan, as a pooled connection keeps after five runs): the claim
    still takes CLAIM_BATCH rows, not every row its subquery meets."""
    account_id, _ = await make_account()
    endpoint = await _listener(session, account_id, clock)
    await _event(session, account_id, clock.now())
    await session.commit()
    await session.execute(sa.text("ANALYZE deliveries"))
    await session.execute(sa.text("SET LOCAL plan_cache_mode = force_generic_plan"))
    now = clock.now()
    assert len(await listeners.claim(session, endpoint_id=endpoint.id, now=now,
                                     lease_s=LEASE_S)) == 1
    for _ in range(3 * listeners.CLAIM_BATCH):
        await _event(session, account_id, now)
    claimed = await listeners.claim(session, endpoint_id=endpoint.id, now=now, lease_s=LEASE_S)
    assert len(claimed) == listeners.CLAIM_BATCH
