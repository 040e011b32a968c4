"""FastAPI dependencies, named for what they give.

Everything comes from ``app.state`` (built by ``web.create_app``), never from
module globals, so each test builds its own app, database and clock.

Every dependency is ``async def``, even those that never await: FastAPI runs a
plain ``def`` dependency in a worker thread, and the hand-off to the thread
pool and back cost more than the rest of a comment's request (issue 17). The
same holds for the dependencies of the other domains (pagination, the
dashboard's viewers).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.accounts import keys
from porthook.accounts import service as accounts
from porthook.accounts.keycache import KeyCache
from porthook.clock import Clock
from porthook.config import Settings
from porthook.db import Database
from porthook.idempotency import middleware as idempotency
from porthook.problems import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An account key or an operator key")


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The route commits once, after the service call; anything not committed
    # is rolled back when the session closes. A request with an
    # Idempotency-Key writes through the session its middleware holds, which
    # commits the writes together with the stored answer (and closes it).
    # The database read here, not through get_database: each dependency
    # FastAPI solves costs CPU on every request, as the ones below.
    held = idempotency.held_session(request)
    if held is not None:
        yield held
        return
    database: Database = request.app.state.database
    async with database.sessions() as session:
        yield session


async def get_event_type_names(request: Request) -> tuple[str, ...]:
    """Every event type porthook emits (the delivery catalog's list, set by
    ``web.create_app``): what event-type filters are checked against."""
    names: tuple[str, ...] = request.app.state.event_type_names
    return names


SessionDep = Annotated[AsyncSession, Depends(get_session)]
EventTypeNamesDep = Annotated[tuple[str, ...], Depends(get_event_type_names)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


KeyCacheDep = Annotated[KeyCache, Depends(get_key_cache)]


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> accounts.Principal:
    if credentials is None:
        raise Unauthorized(_missing_bearer(request.headers.get("authorization")))
    digest = keys.digest(credentials.credentials)
    cache: KeyCache = request.app.state.key_cache
    principal = cache.get(digest)
    if principal is None:
        database: Database = request.app.state.database
        # Own short session: authentication must not join the request's transaction.
        async with database.read_sessions() as session:
            principal = await accounts.authenticate(session, credentials.credentials)
        if principal is None:
            raise Unauthorized("the API key is unknown or revoked")
        cache.put(digest, principal)
    request.state.principal = principal
    return principal


def _missing_bearer(header: str | None) -> str:
    expected = "send 'Authorization: Bearer <key>' with an account or operator key"
    if header is None:
        return f"missing Authorization header: {expected}"
    scheme = header.split(" ", 1)[0] or "an empty value"
    return f"the Authorization header carries {scheme[:20]}, not a Bearer key: {expected}"


PrincipalDep = Annotated[accounts.Principal, Depends(get_principal)]


async def get_account_id(principal: PrincipalDep) -> uuid.UUID:
    if principal.account_id is None:
        raise Forbidden(
            "this route acts for one account: use that account's key "
            "(operators use the /v1/operator/... routes)"
        )
    return principal.account_id


async def get_operator(principal: PrincipalDep) -> accounts.Principal:
    if not principal.is_operator:
        raise Forbidden("this route is for the porting desk: use an operator key")
    return principal


AccountIdDep = Annotated[uuid.UUID, Depends(get_account_id)]
OperatorDep = Annotated[accounts.Principal, Depends(get_operator)]
