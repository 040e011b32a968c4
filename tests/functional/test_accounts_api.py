from __future__ import annotations

import uuid
from typing import Any

import httpx

from porthook.accounts import service as accounts
from porthook.accounts.keycache import KeyCache
from porthook.clock import ShiftableClock
from porthook.db import Database
from tests.conftest import AccountFactory


async def test_operator_creates_account_whose_key_works(
    client: httpx.AsyncClient, operator_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/accounts", json={"name": "Acme"}, headers=operator_headers)
    assert response.status_code == 201
    body = response.json()
    assert body["api_key"].startswith("ph_live_")
    headers = {"Authorization": f"Bearer {body['api_key']}"}
    events = await client.get("/v1/events", headers=headers)
    assert events.status_code == 200
    assert events.json() == {"data": [], "next_cursor": None}


async def test_revoked_key_is_refused(
    client: httpx.AsyncClient, operator_headers: dict[str, str]
) -> None:
    created = (await client.post("/v1/accounts", json={"name": "Acme"},
                                 headers=operator_headers)).json()
    revoke = await client.delete(f"/v1/api-keys/{created['api_key_id']}",
                                 headers=operator_headers)
    assert revoke.status_code == 204
    response = await client.get(
        "/v1/events", headers={"Authorization": f"Bearer {created['api_key']}"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "revoked" in response.json()["detail"]


async def test_missing_key_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/events")
    assert response.status_code == 401
    assert response.json()["status"] == 401


async def test_customer_key_cannot_use_operator_routes(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    response = await client.post("/v1/accounts", json={"name": "Evil"}, headers=headers)
    assert response.status_code == 403


async def test_unknown_field_is_refused_with_its_name(
    client: httpx.AsyncClient, operator_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/accounts", json={"name": "Acme", "colour": "red"}, headers=operator_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.colour"


async def test_idempotency_key_replays_first_answer(
    client: httpx.AsyncClient, operator_headers: dict[str, str]
) -> None:
    headers = {**operator_headers, "Idempotency-Key": "k-1"}
    first = await client.post("/v1/accounts", json={"name": "Acme"}, headers=headers)
    second = await client.post("/v1/accounts", json={"name": "Acme"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/accounts", json={"name": "Other"}, headers=headers)
    assert other.status_code == 422


async def test_a_used_key_revoked_through_the_api_is_refused_at_once(
    client: httpx.AsyncClient, operator_headers: dict[str, str]
) -> None:
    created = (await client.post("/v1/accounts", json={"name": "Acme"},
                                 headers=operator_headers)).json()
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    # Used first: the process now remembers the key as valid (accounts.keycache).
    assert (await client.get("/v1/events", headers=headers)).status_code == 200
    revoke = await client.delete(f"/v1/api-keys/{created['api_key_id']}",
                                 headers=operator_headers)
    assert revoke.status_code == 204
    assert (await client.get("/v1/events", headers=headers)).status_code == 401


async def test_a_key_revoked_by_another_process_is_refused_within_the_cache_ttl(
    app: Any, client: httpx.AsyncClient, database: Database, clock: ShiftableClock,
    operator_headers: dict[str, str],
) -> None:
    monotonic = [0.0]
    app.state.key_cache = KeyCache(1.0, monotonic=lambda: monotonic[0])
    created = (await client.post("/v1/accounts", json={"name": "Acme"},
                                 headers=operator_headers)).json()
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert (await client.get("/v1/events", headers=headers)).status_code == 200
    # As the CLI or another API process revokes it: straight in the database.
    async with database.sessions() as session:
        await accounts.revoke_key(session, key_id=uuid.UUID(created["api_key_id"]),
                                  now=clock.now())
        await session.commit()
    monotonic[0] += 0.5
    assert (await client.get("/v1/events", headers=headers)).status_code == 200
    monotonic[0] += 0.6
    refused = await client.get("/v1/events", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
