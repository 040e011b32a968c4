"""Accounts and keys. Given a session; never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import db
from porthook.accounts import keys
from porthook.accounts.models import Account, ApiKey
from porthook.problems import NotFound


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account key or an operator key."""

    key_id: uuid.UUID
    account_id: uuid.UUID | None

    @property
    def is_operator(self) -> bool:
        return self.account_id is None


async def create_account(
    session: AsyncSession, *, name: str, contact_email: str | None, now: datetime
) -> tuple[Account, ApiKey, str]:
    account = Account(id=db.new_id(), name=name, contact_email=contact_email, created_at=now)
    session.add(account)
    await session.flush()
    key, token = await create_key(session, account_id=account.id, name="default", now=now)
    return account, key, token


async def create_key(
    session: AsyncSession, *, account_id: uuid.UUID | None, name: str | None, now: datetime
) -> tuple[ApiKey, str]:
    kind = "account" if account_id else "operator"
    token = keys.generate(kind)
    key = ApiKey(
        id=db.new_id(),
        account_id=account_id,
        kind=kind,
        prefix=keys.display_prefix(token),
        key_hash=keys.digest(token),
        name=name,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, token


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


async def list_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.scalars(sa.select(Account).order_by(Account.created_at,
                                                                   Account.id))).all())


async def revoke_key(session: AsyncSession, *, key_id: uuid.UUID, now: datetime) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


async def list_keys(session: AsyncSession, *, account_id: uuid.UUID | None) -> list[ApiKey]:
    query = sa.select(ApiKey).order_by(ApiKey.created_at)
    query = query.where(
        ApiKey.account_id == account_id if account_id else ApiKey.account_id.is_(None)
    )
    return list((await session.scalars(query)).all())


async def list_all_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, operator and account alike (the CLI's operator view)."""
    return list((await session.scalars(sa.select(ApiKey).order_by(ApiKey.created_at))).all())


async def authenticate(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.execute(
            sa.select(ApiKey.id, ApiKey.account_id).where(
                ApiKey.key_hash == keys.digest(token), ApiKey.revoked_at.is_(None)
            )
        )
    ).one_or_none()
    return Principal(key_id=row.id, account_id=row.account_id) if row else None
