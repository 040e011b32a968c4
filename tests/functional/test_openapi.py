"""The OpenAPI document tells the truth: every route is in it, with the problem
documents it sends, what it does and what its fields mean; /docs works offline."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

import porthook
from porthook import fielddocs
from porthook.delivery import schemas as delivery_schemas
from porthook.porting import schemas as porting_schemas

OPERATIONS_WITHOUT_AUTH = {"/healthz", "/livez", "/metrics"}


async def test_every_route_is_documented_with_problem_errors(
    client: httpx.AsyncClient, app: Any
) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        assert route.path in paths, f"{route.path} missing from the OpenAPI document"
        for method in route.methods:
            operation = paths[route.path][method.lower()]
            if route.path in OPERATIONS_WITHOUT_AUTH:
                continue
            assert "401" in operation["responses"], f"{method} {route.path}: 401 undocumented"
            problem = operation["responses"]["401"]["content"]
            assert "application/problem+json" in problem, f"{method} {route.path}"
    assert "ProblemDocument" in document["components"]["schemas"]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation)
            for path, operations in document["paths"].items()
            for method, operation in operations.items()]


async def test_every_error_is_documented_as_the_problem_document_sent(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    problem = {"$ref": "#/components/schemas/ProblemDocument"}
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == {"application/problem+json": {"schema": problem}}, (
                    f"{method} {path} {status}")
        if path not in {"/livez", "/metrics"}:
            assert "Retry-After" in responses["503"]["headers"], f"{method} {path}"
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, f"{method} {path}"
        if operation.get("requestBody"):
            assert {"400", "413", "415"} <= set(responses), f"{method} {path}"
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ProblemDocument"]["properties"]["errors"]  # the 422's field list
    assert set(schemas["FieldError"]["properties"]) == {"field", "message"}


async def test_every_operation_says_what_it_does(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for method, path, operation in _operations(document):
        assert operation.get("summary"), f"{method} {path}: no summary"
        assert len(operation.get("description", "")) >= 30, f"{method} {path}: no description"


@pytest.mark.parametrize("module", [porting_schemas, delivery_schemas])
async def test_every_field_of_porting_and_endpoints_is_described(
    client: httpx.AsyncClient, module: ModuleType
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    names = {model.__name__ for model in fielddocs.models_of(vars(module), module.__name__)}
    # FastAPI names a model's input and output schemas Model-Input / Model-Output.
    documented = {name: schema for name, schema in schemas.items()
                  if name.split("-")[0] in names}
    assert documented
    for name, schema in documented.items():
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


async def test_a_method_the_path_does_not_serve_answers_405_with_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put("/v1/porting-orders")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "GET, HEAD, POST"
    item = await client.post(f"/v1/porting-orders/{uuid.uuid4()}")
    assert item.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    assert "DELETE, GET, HEAD, PATCH" in item.json()["detail"]


async def test_docs_are_served_with_every_asset_from_porthook(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = await client.get(page)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            served = await client.get(asset)
            assert served.status_code == 200 and served.content, asset


def test_the_package_names_no_cdn() -> None:
    package = Path(porthook.__file__).parent
    for source in package.rglob("*"):
        if source.is_file() and source.suffix in {".py", ".html", ".j2", ".js", ".css"}:
            assert not re.search(r"cdn\.|jsdelivr|unpkg", source.read_text()), source
