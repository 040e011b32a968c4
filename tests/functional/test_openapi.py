"""The OpenAPI document is complete: every route is in it, with its error shapes."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute

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
