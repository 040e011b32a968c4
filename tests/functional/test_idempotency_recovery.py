"""Idempotency-Key after a crash, in process (the real ``kill -9`` is in
test_idempotency_crash.py): a claim whose lease lapsed lets the retry run,
and a request's writes commit only together with the answer stored for its key."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import Response

from porthook import deps
from porthook.accounts import service as accounts
from porthook.clock import ShiftableClock
from porthook.config import Settings
from porthook.db import Database
from porthook.idempotency import middleware, rules, service
from porthook.idempotency.models import IdempotentRequest
from tests.conftest import count_rows

BODY = b'{"name": "Acme"}'


def _scope(headers: dict[str, str]) -> str:
    return middleware._hash(headers["Authorization"].encode())


async def _leave_claim(database: Database, headers: dict[str, str], key: str, *,
                       now: Any, path: str = "/v1/accounts") -> None:
    """A claim as a process killed mid-request leaves it: in progress, never finished."""
    async with database.sessions() as session:
        await service.claim(session, scope=_scope(headers), key=key,
                            request_hash=middleware._hash(b"POST", path.encode(), BODY),
                            attempt=uuid.uuid4(), now=now, lease_s=10.0)
        await session.commit()


async def _post(client: httpx.AsyncClient, headers: dict[str, str], key: str,
                path: str = "/v1/accounts") -> httpx.Response:
    return await client.post(path, content=BODY, headers={
        **headers, "Idempotency-Key": key, "Content-Type": "application/json"})


async def test_a_dead_requests_claim_lapses_and_the_retry_runs(
    client: httpx.AsyncClient, operator_headers: dict[str, str], database: Database,
    clock: ShiftableClock, settings: Settings,
) -> None:
    await _leave_claim(database, operator_headers, "k-crash", now=clock.now())
    busy = await _post(client, operator_headers, "k-crash")
    assert busy.status_code == 409, busy.text
    assert "in progress" in busy.json()["detail"]
    clock.advance(timedelta(seconds=settings.idempotency_lease_s + 1))
    retried = await _post(client, operator_headers, "k-crash")
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    replayed = await _post(client, operator_headers, "k-crash")
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == retried.json()["id"]
    async with database.sessions() as session:
        assert await count_rows(session, "accounts") == 1


@pytest.fixture
def writes_then(app: Any, database: Database, clock: ShiftableClock) -> dict[str, Any]:
    """A route that creates an account and commits, then does what the test
    says: answer 503, raise, or have its claim taken over by a retry."""
    plan: dict[str, Any] = {}

    async def write(session: deps.SessionDep) -> Response:
        if plan["then"] == "taken_over":
            # A retry takes the claim (before this route writes: on SQLite a
            # second writer of this process would wait for the first).
            async with database.sessions() as other:
                await other.execute(sa.update(IdempotentRequest).values(attempt=uuid.uuid4()))
                await other.commit()
        await accounts.create_account(session, name="Written", contact_email=None,
                                      now=clock.now())
        await session.commit()
        if plan["then"] == "503":
            return Response(status_code=503)
        if plan["then"] == "raise":
            raise RuntimeError("crash after the route's commit")
        return Response(status_code=201)

    app.add_api_route("/v1/test-writes", write, methods=["POST"])
    return plan


@pytest.mark.parametrize("then", ["503", "raise", "taken_over"])
async def test_the_routes_writes_commit_only_with_the_stored_answer(
    client: httpx.AsyncClient, operator_headers: dict[str, str], database: Database,
    writes_then: dict[str, Any], then: str,
) -> None:
    writes_then["then"] = then
    if then == "raise":
        with pytest.raises(RuntimeError):
            await _post(client, operator_headers, "k-w", path="/v1/test-writes")
    else:
        answer = await _post(client, operator_headers, "k-w", path="/v1/test-writes")
        assert answer.status_code == (503 if then == "503" else 409)
    async with database.sessions() as session:
        assert await count_rows(session, "accounts") == 0
        states = (await session.scalars(sa.select(IdempotentRequest.state))).all()
    # A server error releases the key; a taken-over claim stays the retry's.
    assert list(states) == ([rules.IN_PROGRESS] if then == "taken_over" else [])


async def test_a_live_request_renews_its_claim(
    database: Database, operator_headers: dict[str, str], clock: ShiftableClock,
) -> None:
    await _leave_claim(database, operator_headers, "k-live", now=clock.now())
    async with database.sessions() as session:
        row = await service.find(session, scope=_scope(operator_headers), key="k-live")
        assert row is not None and row.attempt is not None
        later = clock.now() + timedelta(seconds=8)
        assert await service.renew(session, scope=row.scope, key=row.key, attempt=row.attempt,
                                   now=later, lease_s=10.0)
        assert not await service.renew(session, scope=row.scope, key=row.key,
                                       attempt=uuid.uuid4(), now=later, lease_s=10.0)
        await session.commit()
        row = await service.find(session, scope=row.scope, key=row.key)
        assert row is not None
        await session.refresh(row)
        assert rules.judge(service.as_claim(row), request_hash=row.request_hash,
                           now=later + timedelta(seconds=9), ttl_s=3600, lease_s=10.0) \
            is rules.Verdict.BUSY
