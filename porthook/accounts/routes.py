"""Operator routes that open accounts and hand out their keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from porthook.accounts import service
from porthook.accounts.schemas import (
    AccountCreate,
    AccountCreated,
    AccountPublic,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
)
from porthook.deps import ClockDep, KeyCacheDep, OperatorDep, SessionDep
from porthook.problems import responses

router = APIRouter(prefix="/v1", tags=["accounts (operator)"], responses=responses(401, 403))


@router.post("/accounts", status_code=201, response_model=AccountCreated,
             responses=responses(422))
async def create_account(
    body: AccountCreate, session: SessionDep, clock: ClockDep, _: OperatorDep
) -> AccountCreated:
    """Open a customer account (operator key). The answer carries the account's first API
    key, shown this once: hand it to the customer. Create more keys with `POST
    /v1/accounts/{account_id}/api-keys`."""
    account, key, token = await service.create_account(
        session, name=body.name, contact_email=body.contact_email, now=clock.now()
    )
    await session.commit()
    return AccountCreated(
        **AccountPublic.model_validate(account).model_dump(), api_key=token, api_key_id=key.id
    )


@router.get("/accounts/{account_id}", response_model=AccountPublic, responses=responses(404))
async def read_account(account_id: uuid.UUID, session: SessionDep, _: OperatorDep) -> AccountPublic:
    """Read one account (operator key): its name, contact e-mail (where endpoint notices go)
    and creation time."""
    return AccountPublic.model_validate(await service.get_account(session, account_id))


@router.post("/accounts/{account_id}/api-keys", status_code=201, response_model=ApiKeyCreated,
             responses=responses(404, 422))
async def create_api_key(
    account_id: uuid.UUID, session: SessionDep, clock: ClockDep, _: OperatorDep,
    body: ApiKeyCreate | None = None,
) -> ApiKeyCreated:
    """Issue another API key for an account (operator key), e.g. before revoking an old one.
    The key is in the answer only: store it now."""
    await service.get_account(session, account_id)
    key, token = await service.create_key(
        session, account_id=account_id, name=body.name if body else None, now=clock.now()
    )
    await session.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), api_key=token)


@router.get("/accounts/{account_id}/api-keys", response_model=list[ApiKeyPublic],
            responses=responses(404))
async def read_api_keys(
    account_id: uuid.UUID, session: SessionDep, _: OperatorDep
) -> list[ApiKeyPublic]:
    """List an account's API keys (operator key): ids, names, prefixes and revocation times,
    never the keys themselves."""
    await service.get_account(session, account_id)
    keys = await service.list_keys(session, account_id=account_id)
    return [ApiKeyPublic.model_validate(key) for key in keys]


@router.delete("/api-keys/{key_id}", status_code=204, responses=responses(404))
async def revoke_api_key(
    key_id: uuid.UUID, session: SessionDep, clock: ClockDep, cache: KeyCacheDep,
    _: OperatorDep,
) -> Response:
    """Revoke an API key (operator key). Requests with it answer 401 from now on (other
    API processes: within `PORTHOOK_API_KEY_CACHE_S`, 1 s by default); revoking twice is
    harmless."""
    await service.revoke_key(session, key_id=key_id, now=clock.now())
    await session.commit()
    cache.forget(key_id)
    return Response(status_code=204)
