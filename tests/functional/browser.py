"""Harness of the dashboard's browser tests: a real ``porthook serve`` on
loopback per backend, Debian's chromium driven by Playwright, axe-core.

One server per backend and one browser per test module keep the browser
tests' time reasonable. Under ``CI=true`` they never skip: a missing chromium
fails them (``.ci/run`` installs it). Playwright's sync API is used from
plain (non-async) tests: pytest-asyncio runs no loop around them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from porthook.config import Settings
from tests.conftest import drop_pg_database, pg_url, recreate_pg_database, unique_pg_name

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 180.0  # serve imports the geocoder data: slow on a loaded machine
# axe-core impacts that fail a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
PDF = b"%PDF-1.4\n% a tiny LOA\n"


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); CI never skips")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running ``porthook serve`` and the keys made for it."""

    base: str
    env: dict[str, str]
    database_url: str
    operator_key: str = ""
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, key)

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base}{path}", timeout=30.0,
                             headers={"Authorization": f"Bearer {key}"}, **kwargs)

    def account(self, name: str) -> tuple[str, str]:
        """An account (created once per server): its id and API key."""
        if name not in self.accounts:
            created = self.api("POST", "/v1/accounts", self.operator_key,
                               json={"name": name, "contact_email": "ops@acme-telecom.com"})
            assert created.status_code == 201, created.text
            body = created.json()
            self.accounts[name] = (body["id"], body["api_key"])
        return self.accounts[name]

    def sql(self, statement: str) -> None:
        """One statement straight on the server's database (to age a session)."""
        run(_execute(self.database_url, statement))


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` in a thread of its own: Playwright's sync API keeps an
    event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _execute(url: str, statement: str) -> None:
    from sqlalchemy import text

    from porthook.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def operator_key(url: str) -> str:
    """An operator key, written straight to the served database (a CLI process
    would import and migrate all over again)."""
    from porthook.accounts import service as accounts
    from porthook.db import Database

    made: list[str] = []

    async def create() -> None:
        database = Database(Settings(database_url=url), pool_size=1)
        try:
            async with database.sessions() as session:
                _, token = await accounts.create_key(session, account_id=None, name="desk",
                                                     now=datetime.now(UTC))
                await session.commit()
            made.append(token)
        finally:
            await database.dispose()

    run(create())
    return made[0]


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"porthook serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("porthook serve did not become healthy")


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    require_chromium()
    workdir = Path(tempfile.mkdtemp(prefix="porthook-ui-"))
    pg_name = unique_pg_name("porthook_ui") if request.param == "postgresql" else None
    if pg_name:
        run(recreate_pg_database(pg_name))
    url = pg_url(pg_name) if pg_name else f"sqlite+aiosqlite:///{workdir / 'ui.db'}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORTHOOK_DATABASE_URL": url, "PORTHOOK_MAIL_DIR": str(workdir / "mail"),
           "PORTHOOK_LOG_LEVEL": "WARNING", "PORTHOOK_ALLOW_PRIVATE_TARGETS": "true",
           "PORTHOOK_WORKER_POLL_INTERVAL_S": "0.1", "PORTHOOK_PUBLIC_URL": base}
    process = subprocess.Popen([sys.executable, "-m", "porthook", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(base, process)
        yield Served(base=base, env=env, database_url=url, operator_key=operator_key(url))
    finally:
        process.terminate()
        process.wait(timeout=30)
        if pg_name:
            run(drop_pg_database(pg_name))
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test."""
    opened = browser.new_context()
    opened.set_default_timeout(15_000)
    yield opened
    opened.close()


def check_accessibility(page: Any) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [f"{v['id']} ({v['impact']}): {v['help']} at "
                f"{[n['target'] for n in v['nodes']][:3]}"
                for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"{page.url}: {blocking}"


def sign_in(page: Any, served: Served, key: str) -> None:
    page.goto(f"{served.base}/ui/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def new_id() -> str:
    return uuid.uuid4().hex[:8]
