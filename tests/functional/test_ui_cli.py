"""``porthook portal-link ACCOUNT_ID``: prints a one-time portal URL that
signs in once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import httpx

from porthook.config import Settings
from tests.conftest import AccountFactory


async def _portal_link(settings: Settings, account_id: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTHOOK_DATABASE_URL": settings.database_url,
           "PORTHOOK_PUBLIC_URL": "http://porthook.test", "PORTHOOK_LOG_LEVEL": "WARNING"}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "porthook", "portal-link", account_id],
        env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_portal_link_prints_a_url_usable_once(
    client: httpx.AsyncClient, make_account: AccountFactory, settings: Settings,
) -> None:
    account_id, _ = await make_account()
    printed = await _portal_link(settings, str(account_id))
    assert printed.returncode == 0, printed.stderr
    url = httpx.URL(printed.stdout.strip())
    assert str(url).startswith("http://porthook.test/ui/link/")
    assert (await client.post(url.path)).status_code == 303
    assert (await client.get("/ui/portal")).status_code == 200
    client.cookies.clear()
    assert (await client.post(url.path)).status_code == 410

    unknown = await _portal_link(settings, str(uuid.uuid4()))
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr
