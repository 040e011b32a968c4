"""The API's own description: an OpenAPI document that tells the truth about
errors, and ``/docs`` and ``/redoc`` that work without the internet.

FastAPI documents its validation errors as ``application/json``
``HTTPValidationError``; porthook answers every error with a problem document
(``problems.py``). ``document_problems`` rewrites the generated document once,
for every operation, including those that other domains add later, so no
route can forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from porthook.problems import PROBLEM_JSON, ProblemDocument

# Swagger UI 5 (reads OpenAPI 3.1, which FastAPI writes) and ReDoc 2, as files
# of the fastapi-offline package: nothing is fetched from a CDN.
ASSETS_PACKAGE = "fastapi_offline"
ASSETS_PATH = "/docs/assets"

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDocument"}
# FastAPI's own error models, replaced by ProblemDocument everywhere.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
# Operations that never touch the database, so never answer 503.
WITHOUT_DATABASE = frozenset({"/livez", "/metrics"})

ERROR_DESCRIPTIONS = {
    "400": "The request could not be read: the body is not JSON, or not of a "
           "Content-Type this operation accepts.",
    "401": "No API key, or an unknown or revoked one: send `Authorization: Bearer <key>`.",
    "403": "This key may not use this operation: account keys use the customer routes, "
           "operator keys the `/v1/operator/...` routes.",
    "404": "Nothing with this id in your account.",
    "409": "The request conflicts with the current state (`detail` says which and what "
           "to do); nothing was changed.",
    "413": "The body is larger than this server accepts; nothing was changed.",
    "415": "The body is not of a Content-Type this operation accepts (JSON, or "
           "multipart/form-data for uploads), or an uploaded file is not of an accepted type.",
    "422": "A value is invalid: `errors` lists each field and what was expected; "
           "nothing was changed.",
    "503": "The database cannot be reached right now; nothing was changed. Retry after "
           "the `Retry-After` seconds.",
}
HEADERS = {
    "401": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    "503": {"Retry-After": {"description": "Seconds to wait before retrying",
                            "schema": {"type": "integer"}}},
}


def install(app: FastAPI) -> None:
    """Serve ``/openapi.json`` rewritten by ``document_problems``, and the
    offline ``/docs`` and ``/redoc`` (create the app with ``docs_url=None,
    redoc_url=None``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            app.openapi_schema = document_problems(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    _add_docs_pages(app)


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx/5xx of every operation as ``application/problem+json`` with
    ``ProblemDocument``; 400/413/415 on operations with a body, 422 on those with
    any input, 503 on those that use the database."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(_problem_schemas())
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _document_operation(path, operation)
    return document


def _problem_schemas() -> dict[str, Any]:
    schema = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "ProblemDocument": schema}


def _document_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted = set()
    if operation.get("requestBody"):
        wanted |= {"400", "413", "415", "422"}
    if operation.get("parameters"):
        wanted.add("422")
    if path not in WITHOUT_DATABASE:
        wanted.add("503")
    for status in wanted:
        responses.setdefault(status, {})
    for status, response in responses.items():
        if status[0] in "45":
            _problem_response(status, response)


def _problem_response(status: str, response: dict[str, Any]) -> None:
    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    if response.get("description") in (None, "Problem", "Validation Error"):
        response["description"] = ERROR_DESCRIPTIONS.get(status, "Problem")
    if status in HEADERS:
        response["headers"] = HEADERS[status]


def _add_docs_pages(app: FastAPI) -> None:
    assets = resources.files(ASSETS_PACKAGE) / "static"
    app.mount(ASSETS_PATH, StaticFiles(directory=str(assets)), name="docs-assets")

    def asset(request: Request) -> Callable[[str], str]:
        root = request.scope.get("root_path", "")
        return lambda name: f"{root}{ASSETS_PATH}/{name}"

    @app.get("/docs", include_in_schema=False)
    async def read_swagger_ui(request: Request) -> HTMLResponse:
        url = asset(request)
        return get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - Swagger UI", swagger_js_url=url("swagger-ui-bundle.js"),
            swagger_css_url=url("swagger-ui.css"), swagger_favicon_url=url("favicon.png"),
        )

    @app.get("/redoc", include_in_schema=False)
    async def read_redoc(request: Request) -> HTMLResponse:
        url = asset(request)
        return get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - ReDoc", redoc_js_url=url("redoc.standalone.js"),
            redoc_favicon_url=url("favicon.png"), with_google_fonts=False,
        )
