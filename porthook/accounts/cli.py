"""``porthook accounts``, ``porthook api-keys``, ``porthook operator-keys``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import cli_support as support
from porthook.accounts import service
from porthook.accounts.models import ApiKey
from porthook.accounts.schemas import AccountPublic, ApiKeyPublic

accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys of any kind.", no_args_is_help=True)
operator_keys_app = typer.Typer(help="Operator (porting desk) keys.", no_args_is_help=True)

KEY_COLUMNS = ("id", "kind", "account_id", "prefix", "name", "created_at", "revoked_at")
NameOption = Annotated[str | None, typer.Option(help="A label for the key.")]


@accounts_app.command("create")
def create_account(
    name: Annotated[str, typer.Argument(help="The account's name.")],
    contact_email: Annotated[str | None, typer.Option(
        help="Where account notices go (a disabled endpoint, ...).")] = None,
    as_json: support.JsonOption = False,
) -> None:
    """Create an account and print its id and first API key (shown once)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> dict[str, str]:
        account, _, token = await service.create_account(
            session, name=name, contact_email=contact_email, now=now)
        return {"account_id": str(account.id), "api_key": token}

    out = support.run(settings, work)
    support.emit(out, as_json=as_json,
                 text=f"account_id: {out['account_id']}\napi_key:    {out['api_key']}")


@accounts_app.command("list")
def list_accounts(as_json: support.JsonOption = False) -> None:
    """List every account, oldest first."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        return [AccountPublic.model_validate(a, from_attributes=True).model_dump(mode="json")
                for a in await service.list_accounts(session)]

    rows = support.run(settings, work)
    support.emit_rows(rows, ("id", "name", "contact_email", "created_at"), as_json=as_json)


def _key_row(key: ApiKey) -> dict[str, Any]:
    return ApiKeyPublic.model_validate(key, from_attributes=True).model_dump(mode="json")


@api_keys_app.command("create")
def create_api_key(
    account_id: Annotated[uuid.UUID, typer.Argument(help="The account the key acts for.")],
    name: NameOption = None, as_json: support.JsonOption = False,
) -> None:
    """Create an API key of an account and print it (shown once)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> dict[str, str]:
        await service.get_account(session, account_id)
        key, token = await service.create_key(session, account_id=account_id, name=name,
                                              now=now)
        return {"key_id": str(key.id), "account_id": str(account_id), "api_key": token}

    out = support.run(settings, work)
    support.emit(out, as_json=as_json,
                 text=f"key_id:  {out['key_id']}\napi_key: {out['api_key']}")


@api_keys_app.command("list")
def list_api_keys(
    account: Annotated[uuid.UUID | None, typer.Option(
        help="Only this account's keys (default: every key, operator keys included).")] = None,
    as_json: support.JsonOption = False,
) -> None:
    """List API keys (never the keys themselves: only their prefixes)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        if account is None:
            return [_key_row(k) for k in await service.list_all_keys(session)]
        await service.get_account(session, account)
        return [_key_row(k) for k in await service.list_keys(session, account_id=account)]

    support.emit_rows(support.run(settings, work), KEY_COLUMNS, as_json=as_json)


@api_keys_app.command("revoke")
def revoke_api_key(
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id (account or operator).")],
    as_json: support.JsonOption = False,
) -> None:
    """Revoke a key (account or operator) by its id; revoking twice is harmless."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> dict[str, Any]:
        return _key_row(await service.revoke_key(session, key_id=key_id, now=now))

    out = support.run(settings, work)
    support.emit(out, as_json=as_json, text=f"revoked {key_id}")


@operator_keys_app.command("create")
def create_operator_key(name: NameOption = None, as_json: support.JsonOption = False) -> None:
    """Create an operator key and print it (shown once)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> dict[str, str]:
        key, token = await service.create_key(session, account_id=None, name=name, now=now)
        return {"key_id": str(key.id), "api_key": token}

    out = support.run(settings, work)
    support.emit(out, as_json=as_json,
                 text=f"key_id:  {out['key_id']}\napi_key: {out['api_key']}")
