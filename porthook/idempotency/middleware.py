"""``Idempotency-Key`` on writes: the same key and body within the TTL return the
first answer and change nothing again.

A row is claimed (``in_progress``) before the request runs, so a concurrent
duplicate gets 409 instead of running twice. Server errors release the key so
that the client's retry runs for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import IntegrityError

from porthook.clock import Clock
from porthook.db import Database
from porthook.idempotency.models import IdempotentRequest
from porthook.problems import Conflict, Unprocessable, problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255

Handler = Callable[[Request], Awaitable[Response]]


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _claim(
    database: Database, *, scope: str, key: str, request_hash: str, clock: Clock, ttl_s: float
) -> Response | None:
    now = clock.now()
    async with database.sessions() as session:
        row = await session.scalar(
            sa.select(IdempotentRequest).where(
                IdempotentRequest.scope == scope, IdempotentRequest.key == key
            )
        )
        if row is not None and row.created_at < now - timedelta(seconds=ttl_s):
            await session.delete(row)
            row = None
        if row is None:
            session.add(IdempotentRequest(scope=scope, key=key, request_hash=request_hash,
                                          state="in_progress", created_at=now))
            try:
                await session.commit()
            except IntegrityError:
                return _problem(Conflict("a request with this Idempotency-Key is in progress"))
            return None
    return _replay(row, request_hash)


def _replay(row: IdempotentRequest, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        return _problem(Unprocessable(
            "this Idempotency-Key was used with a different request; use a new key"
        ))
    if row.state != "done":
        return _problem(Conflict("a request with this Idempotency-Key is in progress"))
    return Response(
        content=row.response_body or b"", status_code=row.response_status or 200,
        media_type=row.response_content_type, headers={"Idempotent-Replayed": "true"},
    )


def _problem(problem: Conflict | Unprocessable) -> Response:
    return problem_response(problem.status, problem.document())


async def _finish(
    database: Database, *, scope: str, key: str, response: Response, body: bytes
) -> None:
    where = (IdempotentRequest.scope == scope, IdempotentRequest.key == key)
    async with database.sessions() as session:
        if response.status_code >= 500:
            await session.execute(sa.delete(IdempotentRequest).where(*where))
        else:
            await session.execute(
                sa.update(IdempotentRequest).where(*where).values(
                    state="done", response_status=response.status_code, response_body=body,
                    response_content_type=response.headers.get("content-type"),
                )
            )
        await session.commit()


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def idempotency(request: Request, call_next: Handler) -> Response:
        key = request.headers.get(HEADER)
        if request.method not in WRITE_METHODS or not key:
            return await call_next(request)
        if len(key) > MAX_KEY_LENGTH:
            return _problem(Unprocessable(f"Idempotency-Key is longer than {MAX_KEY_LENGTH}"))
        database: Database = request.app.state.database
        scope = _hash(request.headers.get("authorization", "").encode())
        request_hash = _hash(request.method.encode(), request.url.path.encode(),
                             await request.body())
        claimed = await _claim(database, scope=scope, key=key, request_hash=request_hash,
                               clock=request.app.state.clock,
                               ttl_s=request.app.state.settings.idempotency_ttl_s)
        if claimed is not None:
            return claimed
        try:
            response = await call_next(request)
        except Exception:
            await _finish(database, scope=scope, key=key, response=Response(status_code=500),
                          body=b"")
            raise
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        await _finish(database, scope=scope, key=key, response=response, body=body)
        return Response(content=body, status_code=response.status_code,
                        headers=dict(response.headers))
