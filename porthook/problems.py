"""Errors as RFC 9457 ``application/problem+json`` documents.

Services raise ``Problem`` subclasses; ``install`` turns them (and FastAPI's own
validation errors) into responses a person can act on: which field, what was
expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Scope

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/ProblemDocument"


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """The error body of every failing request."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class Problem(Exception):
    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}

    def document(self) -> dict[str, Any]:
        body = ProblemDocument(
            title=self.title, status=self.status, detail=self.detail, errors=self.errors
        ).model_dump(exclude_none=True)
        body.update(self.extra)
        return body


class NotFound(Problem):
    status = 404
    title = "Not found"


class Conflict(Problem):
    status = 409
    title = "Conflict"


class Unprocessable(Problem):
    status = 422
    title = "Unprocessable content"


class Unauthorized(Problem):
    status = 401
    title = "Unauthorized"


class Forbidden(Problem):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(Problem):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(Problem):
    status = 415
    title = "Unsupported media type"


def problem_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_DATE = "expected a date YYYY-MM-DD, e.g. 2030-01-15"
_DATETIME = ("expected a date-time with a UTC offset, e.g. 2030-01-15T09:00:00-05:00 or "
             "2030-01-15T14:00:00Z (a time without an offset names no instant)")
_TIME = "expected a time of day HH:MM[:SS], e.g. 09:00"
# Pydantic's own words for these say what went wrong with the value it was
# given ("Datetimes provided to dates should have zero time" for a number);
# what the client needs is the format expected.
EXPECTED_BY_ERROR_TYPE = {
    "date_type": _DATE, "date_parsing": _DATE, "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME, "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME, "datetime_object_invalid": _DATETIME,
    "timezone_aware": _DATETIME,
    "time_type": _TIME, "time_parsing": _TIME,
    "model_type": "expected a JSON object", "model_attributes_type": "expected a JSON object",
    "dict_type": "expected a JSON object",
}


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field; remove it (see the OpenAPI document for the accepted fields)"
    if kind == "missing":
        return "field required"
    if kind in EXPECTED_BY_ERROR_TYPE:
        return EXPECTED_BY_ERROR_TYPE[str(kind)]
    return str(error.get("msg", "invalid value"))


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(field=location(tuple(err.get("loc", ()))), message=_message(err))
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.document())

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        doc = Unprocessable(f"The request is invalid: {detail}", errors=errors).document()
        return problem_response(422, doc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope)) or headers.get(
                "Allow", "")
            detail = f"{request.method} is not allowed here" + (
                f"; this path allows {headers['Allow']}" if headers["Allow"] else "")
        body = ProblemDocument(
            title=str(exc.detail), status=exc.status_code, detail=detail
        ).model_dump(exclude_none=True)
        return problem_response(exc.status_code, body, headers)


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method the API serves on this request's path, read from its
    OpenAPI document (FastAPI's own ``Allow`` names only the methods of the
    first route that matched the path, and porthook declares one route per
    method)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "allowed_methods", None)
    if table is None:
        table = [(compile_path(path)[0], {method.upper() for method in operations})
                 for path, operations in app.openapi().get("paths", {}).items()]
        app.state.allowed_methods = table
    path = scope.get("path", "")
    methods: set[str] = set()
    for pattern, served in table:
        if pattern.match(path):
            methods |= served | ({"HEAD"} if "GET" in served else set())
    return sorted(methods)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries naming the problems a route answers
    beyond the usual ones (``apidocs.document_problems`` adds those and
    describes them all)."""
    return {
        status: {"content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
                 "description": "Problem"}
        for status in statuses
    }
