"""The API against its own OpenAPI document, property-based (schemathesis).

Every operation gets generated requests, valid and invalid, with the key it
is meant for (an operator key on ``/v1/operator/...``, an account key
elsewhere), on SQLite and on PostgreSQL, through a real server on loopback.
Every answer must be no server error, a documented status, of the documented
content type and matching the documented schema.

The number of examples per operation is bounded (``VALID_EXAMPLES``,
``INVALID_EXAMPLES``) so the whole module stays around a minute of CPU on both
backends together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from porthook.accounts import service as accounts
from porthook.clock import SystemClock
from porthook.config import Settings
from porthook.db import Base, Database
from porthook.web import create_app
from tests.conftest import BACKENDS, drop_pg_database, pg_url, recreate_pg_database, unique_pg_name

# Generated requests per operation: valid ones, then invalid ones. Raise them
# for a deeper local run: PORTHOOK_TEST_EXAMPLES=50 pytest tests/functional/test_api_properties.py
VALID_EXAMPLES = int(os.environ.get("PORTHOOK_TEST_EXAMPLES", "5"))
INVALID_EXAMPLES = max(1, VALID_EXAMPLES * 3 // 5)
STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 60.0  # generous: the machine running the suite may be busy

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


# Streams answer until the client goes (``porthook listen``): each generated
# request would hold the run for the stream's whole life. Tested in
# tests/functional/test_listen.py.
ENDLESS = {"/v1/listeners/{name}/stream"}
# Headers of HTTP/1.1 message framing: the server's, not the API's.
FRAMING_HEADERS = {"transfer-encoding", "content-length", "host", "connection", "upgrade"}


@dataclass(frozen=True)
class Served:
    base_url: str
    document: dict[str, Any]
    account: dict[str, str]
    operator: dict[str, str]


async def _prepare(settings: Settings) -> tuple[str, str]:
    database = Database(settings, pool_size=1)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with database.sessions() as session:
            now = SystemClock().now()
            _, _, account_key = await accounts.create_account(
                session, name="Acme", contact_email="ops@acme.test", now=now)
            _, operator_key = await accounts.create_key(session, account_id=None, name="desk",
                                                        now=now)
            await session.commit()
    finally:
        await database.dispose()
    return account_key, operator_key


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    backend = str(request.param)
    tmp: Path = tmp_path_factory.mktemp(f"properties-{backend}")
    pg_name = unique_pg_name("porthook_properties")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'porthook.db'}"
    else:
        asyncio.run(recreate_pg_database(pg_name))
        url = pg_url(pg_name)
    app_settings = Settings(database_url=url, mail_dir=tmp / "mail")
    account_key, operator_key = asyncio.run(_prepare(app_settings))
    app = create_app(app_settings)
    # Built before serving: on a busy machine the first /openapi.json of 150
    # operations may take longer than a client waits.
    document = app.openapi()
    with _server(app) as base_url:
        yield Served(base_url, document, {"Authorization": f"Bearer {account_key}"},
                     {"Authorization": f"Bearer {operator_key}"})
    if backend != "sqlite":
        asyncio.run(drop_pg_database(pg_name))


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test's thread, not the main one
        pass


@contextlib.contextmanager
def _server(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, loop="asyncio", http="h11", ws="none",
                                    lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                pytest.fail("the API server did not start")
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        sock.close()


def _check_operation(operation: Any, mode: GenerationMode, served: Served) -> str | None:
    """Run one operation's examples; the first failure's report, or None."""
    headers = served.operator if operation.path.startswith("/v1/operator/") else served.account

    examples = VALID_EXAMPLES if mode == GenerationMode.POSITIVE else INVALID_EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def run(case: Any) -> None:
        # A generated header that frames the message (an invalid
        # Transfer-Encoding) is refused by the HTTP server itself, before the
        # API sees a request: uvicorn's own 400, not an answer of the API.
        assume(not FRAMING_HEADERS & {name.lower() for name in (case.headers or {})})
        case.call_and_validate(base_url=served.base_url, headers=headers, checks=CHECKS,
                               timeout=REQUEST_TIMEOUT_S)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # checks fail as a group: report them all
        return f"{operation.method.upper()} {operation.path} ({mode}): {exc}"
    return None


def test_every_answer_is_documented(served: Served) -> None:
    api = schemathesis.openapi.from_dict(served.document)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 100  # the document loaded whole
    failures = []
    for operation in operations:
        if operation.path in ENDLESS:
            continue
        has_input = operation.body or any(True for _ in operation.iter_parameters())
        # Invalid requests need something to be invalid in.
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (
            GenerationMode.POSITIVE,)
        for mode in modes:
            failure = _check_operation(operation, mode, served)
            if failure is not None:
                failures.append(failure)
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
