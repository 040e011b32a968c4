"""Errors as RFC 9457 ``application/problem+json`` documents.

Services raise ``Problem`` subclasses; ``install`` turns them (and FastAPI's own
validation errors) into responses a person can act on: which field, what was
expected.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


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


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = ProblemDocument(
            title=str(exc.detail), status=exc.status_code, detail=str(exc.detail)
        ).model_dump(exclude_none=True)
        return problem_response(exc.status_code, body)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem bodies of a route."""
    return {
        status: {"model": ProblemDocument, "content": {PROBLEM_JSON: {}}, "description": "Problem"}
        for status in statuses
    }
