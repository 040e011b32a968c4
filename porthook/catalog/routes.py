"""``/v1/event-types``: the event catalog (``service.py``), for account and operator keys."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query

from porthook.catalog import examples, service
from porthook.delivery import catalog
from porthook.delivery.schemas import EventTypeList, EventTypePublic, Format
from porthook.deps import PrincipalDep
from porthook.problems import FieldError, NotFound, Unprocessable, responses

router = APIRouter(prefix="/v1", tags=["event types"], responses=responses(401, 422))

TypeFilter = Annotated[list[str], Query(
    description="Only these types: a type, a family such as porting_order.*, or *; "
                "repeatable")]
FormatFilter = Annotated[list[Format], Query(
    description="Only the types these formats carry, and only these formats' entries; "
                "repeatable")]


@functools.cache
def _entries() -> tuple[EventTypePublic, ...]:
    # Built once per process: the catalog changes only with the code (about a
    # second: every schema and example is generated and rendered).
    return tuple(EventTypePublic.model_validate(service.entry(examples.event(t)))
                 for t in catalog.type_names())


def _only_formats(entry: EventTypePublic, wanted: list[Format]) -> EventTypePublic:
    if not wanted:
        return entry
    return entry.model_copy(update={"formats": [f for f in entry.formats
                                                if f.format in wanted]})


@router.get("/event-types", response_model=EventTypeList, summary="List the event types")
async def read_event_types(
    _: PrincipalDep,
    type: TypeFilter = [],  # noqa: B006  (FastAPI copies query defaults)
    format: FormatFilter = [],  # noqa: B006
) -> EventTypeList:
    """Every event type porthook emits: what it means, which endpoint formats carry
    it and under what name, the JSON Schema of each format's body and an example
    body rendered by the same code as real deliveries. Use it to write a receiver,
    or to check an endpoint's event_types before subscribing: a filter that selects
    no type here is refused with 422."""
    check_type_filter(type)
    selected = [_only_formats(e, format) for e in _entries()
                if catalog.matches(type, e.type)]
    return EventTypeList(data=[e for e in selected if e.formats or not format])


@router.get("/event-types/{event_type}", response_model=EventTypePublic,
            summary="Read one event type", responses=responses(404))
async def read_event_type(event_type: str, _: PrincipalDep) -> EventTypePublic:
    """One event type of the catalog (see GET /v1/event-types), e.g.
    porting_order.status_changed or record.dids.inserted. 404 when porthook emits
    no such type."""
    for entry in _entries():
        if entry.type == event_type:
            return entry
    raise NotFound(f"porthook emits no event type {event_type!r}; "
                   "GET /v1/event-types lists them")


def check_type_filter(patterns: list[str]) -> None:
    """422 naming the first pattern of the ``type`` filter that selects no type."""
    try:
        catalog.check_patterns(patterns)
    except ValueError as error:
        raise Unprocessable(f"query.type: {error}",
                            errors=[FieldError(field="query.type", message=str(error))]) from None
