"""Routes of the records domain, one typed route set per schema of the registry.

``POST|GET /v1/records/<schema>`` and ``GET|PATCH|DELETE /v1/records/<schema>/{id}``
are generated for every schema this domain stores, each with that schema's own
Create/Update/Public/Filters models so the OpenAPI document describes them all.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from porthook.deps import AccountIdDep, ClockDep, SessionDep
from porthook.inputs import RecordIdPath
from porthook.pagination import Page
from porthook.problems import responses
from porthook.records import lnp_routes, service
from porthook.records.schemas import MODELS, RecordModels, SmsEnablementPublic

router = APIRouter(prefix="/v1/records", responses=responses(401, 403, 422))


def _snake(title: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", title).lower()


def _typed(endpoint: Callable[..., Any], **annotations: Any) -> Callable[..., Any]:
    # The body and query models are built per schema at runtime; FastAPI reads
    # them from the annotations, which a static signature cannot name.
    endpoint.__annotations__.update(annotations)
    return endpoint


def _add_collection_routes(models: RecordModels) -> None:
    schema, public = models.schema.name, models.public
    snake = _snake(models.schema.title)
    tags: list[str | Any] = [f"records: {schema}"]

    async def create(
        body: BaseModel, session: SessionDep, clock: ClockDep, account_id: AccountIdDep
    ) -> Any:
        row = await service.create_record(session, account_id=account_id, schema=schema,
                                          values=body.model_dump(), now=clock.now())
        await session.commit()
        return public.model_validate(row)

    async def read_many(filters: Any, session: SessionDep, account_id: AccountIdDep) -> Any:
        wanted = filters.model_dump(exclude_none=True, exclude={"cursor", "limit"})
        rows, next_cursor = await service.list_records(
            session, account_id=account_id, schema=schema, filters=wanted,
            cursor=filters.cursor, limit=filters.limit,
        )
        return {"data": [public.model_validate(r) for r in rows], "next_cursor": next_cursor}

    router.add_api_route(
        f"/{schema}", _typed(create, body=models.create), methods=["POST"], status_code=201,
        response_model=public, name=f"create_{snake}", tags=tags, responses=responses(404, 409),
        summary=f"Create a {schema} record",
        description=f"Store a `{schema}` record (seed 002's fields) in this account. A "
                    f"`record.{schema}.inserted` event goes to the endpoints that subscribe to "
                    "it; an `*_id` naming a record that does not exist answers 404.",
    )
    router.add_api_route(
        f"/{schema}", _typed(read_many, filters=Annotated[models.filters, Query()]),
        methods=["GET"], response_model=Page[public],  # type: ignore[valid-type]  # built at runtime
        name=f"read_{schema}", tags=tags, summary=f"List {schema} records",
        description=f"List this account's `{schema}` records, oldest first, filtered by the "
                    "query fields given (exact match). Follow `next_cursor` for the next page.",
    )


def _add_item_routes(models: RecordModels) -> None:
    schema, public = models.schema.name, models.public
    snake = _snake(models.schema.title)
    tags: list[str | Any] = [f"records: {schema}"]
    path = f"/{schema}/{{record_id}}"

    async def read_one(
        record_id: RecordIdPath, session: SessionDep, account_id: AccountIdDep
    ) -> Any:
        row = await service.get_record(session, account_id=account_id, schema=schema,
                                       record_id=record_id)
        return public.model_validate(row)

    async def update(
        record_id: RecordIdPath, body: BaseModel, session: SessionDep, clock: ClockDep,
        account_id: AccountIdDep,
    ) -> Any:
        row = await service.update_record(
            session, account_id=account_id, schema=schema, record_id=record_id,
            changes=body.model_dump(exclude_unset=True), now=clock.now(),
        )
        await session.commit()
        return public.model_validate(row)

    async def delete(
        record_id: RecordIdPath, session: SessionDep, clock: ClockDep, account_id: AccountIdDep
    ) -> Response:
        await service.delete_record(session, account_id=account_id, schema=schema,
                                    record_id=record_id, now=clock.now())
        await session.commit()
        return Response(status_code=204)

    router.add_api_route(path, read_one, methods=["GET"], response_model=public,
                         name=f"read_{snake}", tags=tags, responses=responses(404),
                         summary=f"Read a {schema} record",
                         description=f"Read one `{schema}` record of this account by its id.")
    router.add_api_route(path, _typed(update, body=models.update), methods=["PATCH"],
                         response_model=public, name=f"update_{snake}", tags=tags,
                         responses=responses(404, 409), summary=f"Update a {schema} record",
                         description=f"Change a `{schema}` record: only the fields sent "
                                     f"change. A `record.{schema}.updated` event is sent.")
    router.add_api_route(path, delete, methods=["DELETE"], status_code=204,
                         response_class=Response, name=f"delete_{snake}", tags=tags,
                         responses=responses(404, 409), summary=f"Delete a {schema} record",
                         description=f"Delete a `{schema}` record. Records that others "
                                     "still refer to answer 409: delete those first. A "
                                     f"`record.{schema}.deleted` event is sent.")


# lnp_requests / lnp_numbers are porting orders: their routes call the porting service.
router.include_router(lnp_routes.router)
for _models in MODELS.values():
    _add_collection_routes(_models)
    _add_item_routes(_models)


@router.post("/dids/{did_id}/actions/enable-sms", status_code=202,
             response_model=SmsEnablementPublic, tags=["records: dids"],
             responses=responses(404))
async def enable_did_sms(
    did_id: RecordIdPath, session: SessionDep, clock: ClockDep, account_id: AccountIdDep
) -> SmsEnablementPublic:
    """Enable SMS on a DID, asynchronously: the result arrives as an
    ``sms_enablement.completed`` event (seed 002's ``sms_enablement`` message)."""
    request = await service.request_sms_enablement(session, account_id=account_id,
                                                   did_id=did_id, now=clock.now())
    await session.commit()
    return SmsEnablementPublic.model_validate(request)


@router.get("/dids/{did_id}/sms-enablements/{request_id}", response_model=SmsEnablementPublic,
            tags=["records: dids"], responses=responses(404))
async def read_did_sms_enablement(
    did_id: RecordIdPath, request_id: uuid.UUID, session: SessionDep, account_id: AccountIdDep
) -> SmsEnablementPublic:
    """Read the state of one SMS enablement request of a DID (pending, enabled or failed)."""
    request = await service.get_sms_enablement(session, account_id=account_id, did_id=did_id,
                                               request_id=request_id)
    return SmsEnablementPublic.model_validate(request)
