"""The models of what events carry, per type: the API's own models.

``data`` of porting-order events holds ``PortingOrderPublic`` (and the
document or numbers concerned; a new comment's event the comment and
``PortingOrderSummary``, the order without its collections), record events hold the records
domain's ``...Public`` model of their schema, endpoint events delivery's
``EndpointPublic``. ``PAYLOADS`` hands their JSON Schemas to
``formats.schema`` (the formats cannot import porting or records).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from porthook.delivery.formats import records as records_format
from porthook.delivery.formats.standard import DataEnvelope
from porthook.delivery.schemas import EndpointPublic
from porthook.events.types import EventType
from porthook.porting import schemas as porting
from porthook.records import lnp_schemas
from porthook.records.schemas import MODELS

__all__ = ["PAYLOADS", "data_model", "record_model"]


class _OrderRef(BaseModel):
    id: uuid.UUID


def data_model(event_type: str) -> type[BaseModel]:
    """The model of a ``standard`` body's ``data`` for ``event_type``: the
    envelope keys, then the event's own data."""
    order: dict[str, Any] = {"porting_order": (porting.PortingOrderPublic, ...)}
    numbers = {"phone_numbers": (list[porting.PhoneNumberPublic], ...)}
    extra: dict[str, dict[str, Any]] = {
        EventType.PORTING_ORDER_CREATED: order,
        EventType.PORTING_ORDER_UPDATED: {**order, "changed_fields": (list[str], ...)},
        EventType.PORTING_ORDER_STATUS_CHANGED: {**order, "previous_status": (str, ...)},
        # The order's summary only: the event does not grow with the order's history.
        EventType.PORTING_ORDER_NEW_COMMENT: {
            "porting_order": (porting.PortingOrderSummary, ...),
            "comment": (porting.CommentPublic, ...)},
        EventType.PORTING_ORDER_SPLIT: {
            **order, "from_": (_OrderRef, Field(alias="from")), "to": (_OrderRef, ...),
            "phone_number": (str, ...)},
        EventType.PORTING_ORDER_MESSAGING_CHANGED: {
            **order, "previous_messaging_port_status": (str, ...)},
        EventType.PORTING_ORDER_DELETED: {**order, "deleted_at": (datetime, ...)},
        EventType.PORTING_ORDER_NUMBERS_CONFIRMED: {**order, **numbers},
        EventType.PORTING_ORDER_NUMBERS_REJECTED: {**order, **numbers},
        EventType.PORTING_ORDER_NUMBERS_ACTIVATED: {**order, **numbers},
        EventType.PORTING_ORDER_DOCUMENT_ADDED: {
            **order, "document": (porting.DocumentPublic, ...)},
        EventType.SMS_ENABLEMENT_COMPLETED: {
            "did_id": (int, ...), "number": (str, ...),
            "status": (Literal["success", "error"], ...), "verbose": (str, ...)},
    }
    endpoint = {"endpoint": (EndpointPublic, ...), "reason": (str, ...)}
    fields = extra.get(event_type) or (
        endpoint if event_type.startswith("endpoint.") else _record_fields(event_type))
    return create_model(_model_name(event_type), __base__=DataEnvelope, **fields)


def _record_fields(event_type: str) -> dict[str, Any]:
    name = records_format.schema_of(event_type)
    return {"schema_": (str, Field(alias="schema", json_schema_extra={"const": name})),
            "record": (record_model(name), ...)}


def _model_name(event_type: str) -> str:
    return "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Data"


def record_model(schema: str) -> type[BaseModel]:
    """The model of a record as events carry it (the API's Public model)."""
    lnp: dict[str, type[BaseModel]] = {"lnp_requests": lnp_schemas.LnpRequestPublic,
                                       "lnp_numbers": lnp_schemas.LnpNumberPublic}
    return lnp[schema] if schema in lnp else MODELS[schema].public


class _ApiPayloads:
    """``formats.Payloads`` from the models above."""

    def data_schema(self, event_type: str) -> dict[str, Any]:
        return _json_schema(data_model(event_type))

    def record_schema(self, schema: str) -> dict[str, Any]:
        return _json_schema(record_model(schema))


def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    # A fresh dict each time: the formats edit what they are given.
    return model.model_json_schema(mode="serialization")


PAYLOADS = _ApiPayloads()
