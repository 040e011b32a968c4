"""``Idempotency-Key`` on writes: the same key and body within the TTL return the
first answer and change nothing again.

A row is claimed (``in_progress``) before the request runs, so a concurrent
duplicate gets 409 instead of running twice. The claim carries a lease that
the running request renews; the request's own writes and the answer stored
for the key commit in ONE transaction (the route's ``session.commit()`` only
flushes, see ``db.hold_commits``). So after a crash the key is never in
doubt: either it holds the answer (the write committed: the retry replays
it) or a claim whose lease lapses within seconds (nothing committed: the
retry runs anew). Server errors release the key so that the client's retry
runs for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from porthook import db
from porthook.clock import Clock
from porthook.db import Database
from porthook.idempotency import rules, service
from porthook.problems import Conflict, Unprocessable, problem_response

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "idempotency-key"
_HEADER_BYTES = HEADER.encode()  # ASGI header names are lower-case bytes
MAX_KEY_LENGTH = 255
_STATE = "idempotent_session"  # request.state: the session the route's writes go through

Handler = Callable[[Request], Awaitable[Response]]
_IN_PROGRESS = "a request with this Idempotency-Key is in progress; retry after it finishes"


@dataclass(frozen=True)
class _Key:
    database: Database
    clock: Clock
    scope: str
    key: str
    attempt: uuid.UUID
    lease_s: float


def held_session(request: Request) -> AsyncSession | None:
    """The session a request with an ``Idempotency-Key`` writes through
    (``deps.get_session`` hands it to the route), else None."""
    session: AsyncSession | None = getattr(request.state, _STATE, None)
    return session


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _claim(
    database: Database, *, scope: str, key: str, request_hash: str, clock: Clock,
    ttl_s: float, lease_s: float,
) -> uuid.UUID | Response:
    """This request's attempt token, or the answer to send instead of running it."""
    now, attempt = clock.now(), uuid.uuid4()
    async with database.sessions() as session:
        row = await service.find(session, scope=scope, key=key)
        verdict = rules.judge(None if row is None else service.as_claim(row),
                              request_hash=request_hash, now=now, ttl_s=ttl_s, lease_s=lease_s)
        if verdict is rules.Verdict.RUN:
            await service.claim(session, scope=scope, key=key, request_hash=request_hash,
                                attempt=attempt, now=now, lease_s=lease_s, replacing=row)
        elif verdict is rules.Verdict.TAKE_OVER:
            assert row is not None
            if not await service.take_over(session, row=row, attempt=attempt, now=now,
                                           lease_s=lease_s):
                return _problem(Conflict(_IN_PROGRESS))
        else:
            assert row is not None
            return _answer(verdict, row.response_body, row.response_status,
                           row.response_content_type)
        try:
            await session.commit()
        except IntegrityError:  # a concurrent first use of the key won
            return _problem(Conflict(_IN_PROGRESS))
    return attempt


def _answer(verdict: rules.Verdict, body: bytes | None, status: int | None,
            content_type: str | None) -> Response:
    if verdict is rules.Verdict.MISMATCH:
        return _problem(Unprocessable(
            "this Idempotency-Key was used with a different request; use a new key"))
    if verdict is rules.Verdict.BUSY:
        return _problem(Conflict(_IN_PROGRESS))
    return Response(content=body or b"", status_code=status or 200, media_type=content_type,
                    headers={"Idempotent-Replayed": "true"})


def _problem(problem: Conflict | Unprocessable) -> Response:
    return problem_response(problem.status, problem.document())


async def _renew(claim: _Key) -> None:
    """Keep the claim alive while the request runs (cancelled when it ends)."""
    while True:
        await asyncio.sleep(rules.renew_every_s(claim.lease_s))
        try:
            async with claim.database.sessions() as session:
                await service.renew(session, scope=claim.scope, key=claim.key,
                                    attempt=claim.attempt, now=claim.clock.now(),
                                    lease_s=claim.lease_s)
                await session.commit()
        except Exception:  # the next renewal may succeed; the lease covers the gap
            log.warning("renewing an Idempotency-Key claim failed", exc_info=True)


async def _release(claim: _Key) -> None:
    async with claim.database.sessions() as session:
        await service.release(session, scope=claim.scope, key=claim.key, attempt=claim.attempt)
        await session.commit()


async def _run(request: Request, call_next: Handler, claim: _Key) -> Response:
    session = claim.database.sessions()
    db.hold_commits(session)
    setattr(request.state, _STATE, session)
    renewer = asyncio.create_task(_renew(claim))
    try:
        try:
            response = await call_next(request)
            body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        answer = Response(content=body, status_code=response.status_code,
                          headers=dict(response.headers))
        if response.status_code >= 500:
            await session.rollback()
            await _release(claim)
            return answer
        return await _commit(session, claim, answer, body)
    except BaseException:
        await session.rollback()
        with contextlib.suppress(Exception):
            await _release(claim)
        raise
    finally:
        await session.close()


async def _commit(session: AsyncSession, claim: _Key, answer: Response, body: bytes) -> Response:
    """The route's writes (if it committed them) and the answer, in one transaction."""
    if not db.release_commits(session):
        await session.rollback()  # the route kept nothing: store the answer alone
    stored = await service.finish(session, scope=claim.scope, key=claim.key,
                                  attempt=claim.attempt, status=answer.status_code, body=body,
                                  content_type=answer.headers.get("content-type"))
    if not stored:
        # The lease lapsed and a retry took the key over: it runs the request,
        # so this one must change nothing.
        await session.rollback()
        return _problem(Conflict(
            "this request's hold on its Idempotency-Key lapsed and a retry took it over; "
            "this request changed nothing: the retry's answer is the one that counts"))
    await session.commit()
    return answer


class _OnlyWithKey:
    """Sends the writes that carry an ``Idempotency-Key`` through ``keyed`` and
    every other request straight on: a ``BaseHTTPMiddleware`` (``keyed``) costs
    a task, a memory stream and a copied response per request, which requests
    without a key have no use for (issue 17)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.keyed = BaseHTTPMiddleware(app, dispatch=_idempotency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITE_METHODS and any(
            name == _HEADER_BYTES and value for name, value in scope["headers"]
        ):
            await self.keyed(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(_OnlyWithKey)


async def _idempotency(request: Request, call_next: Handler) -> Response:
    key = request.headers.get(HEADER)
    if request.method not in WRITE_METHODS or not key:
        return await call_next(request)
    if len(key) > MAX_KEY_LENGTH:
        return _problem(Unprocessable(f"Idempotency-Key is longer than {MAX_KEY_LENGTH}"))
    state = request.app.state
    scope = _hash(request.headers.get("authorization", "").encode())
    request_hash = _hash(request.method.encode(), request.url.path.encode(),
                         await request.body())
    claimed = await _claim(state.database, scope=scope, key=key, request_hash=request_hash,
                           clock=state.clock, ttl_s=state.settings.idempotency_ttl_s,
                           lease_s=state.settings.idempotency_lease_s)
    if isinstance(claimed, Response):
        return claimed
    return await _run(request, call_next, _Key(
        database=state.database, clock=state.clock, scope=scope, key=key,
        attempt=claimed, lease_s=state.settings.idempotency_lease_s))
