"""One gate for every request body and query string, before any route reads them.

Routes validate the shape of what they accept; this layer refuses, once for
the whole API, what no route should ever see:

* a body over ``settings.max_body_bytes`` (multipart uploads: the document
  limit plus their framing): 413, decided from ``Content-Length`` before a
  byte is read, and by counting while a chunked body streams in;
* a non-empty body without ``Content-Type: application/json`` (415), or one
  that is not JSON (422 saying where and why);
* JSON that the databases would store differently or not at all: ``NaN`` and
  the infinities (SQLite stores them, PostgreSQL's ``jsonb`` refuses them) and
  NUL characters (PostgreSQL refuses them in text); and nesting deeper than
  ``settings.max_json_depth`` (free-form JSON such as ``flow_data``): 422
  naming the field;
* a NUL character in a query parameter: 422 naming it.

The body is parsed here a second time (the route parses it again): bodies
are bounded, and a second parse costs microseconds where a 500 costs a client.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porthook.problems import (
    FieldError,
    PayloadTooLarge,
    Problem,
    Unprocessable,
    UnsupportedMediaType,
    location,
    problem_response,
)

MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around an upload
JSON_HINT = "send the body as JSON with 'Content-Type: application/json'"


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_upload_bytes: int
    max_json_depth: int


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes; send at most "
                           f"{limit} bytes (PORTHOOK_MAX_BODY_BYTES sets the limit)")


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonNumber(f"{name} is not a JSON number; send a finite number or null")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJsonNumber(f"{text} is out of the range of a double; send a smaller number")
    return value


def parse_json(body: bytes) -> Any:
    """The body as JSON, or ``Unprocessable`` saying where and why it is not."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise _invalid("body", f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                               f"{exc.colno} (character {exc.pos})") from None
    except UnicodeDecodeError:
        raise _invalid("body", "not valid JSON: the body is not UTF-8 text") from None
    except _NotJsonNumber as exc:
        raise _invalid("body", str(exc)) from None
    except RecursionError:
        raise _invalid("body", "JSON nested too deeply") from None


def _nodes(value: Any) -> Iterator[tuple[tuple[int | str, ...], Any]]:
    # Iterative, depth-first: (path, value) of every node, keys included as values.
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            for key, child in node.items():
                yield (*path, key), key
                stack.append(((*path, key), child))
        elif isinstance(node, list):
            stack.extend(((*path, index), child) for index, child in enumerate(node))


def check_json(value: Any, *, max_depth: int) -> None:
    """Refuse NUL characters and nesting deeper than ``max_depth`` containers."""
    for path, node in _nodes(value):
        if len(path) > max_depth:
            raise _invalid(location(("body", *path[:max_depth])),
                           f"JSON nested deeper than {max_depth} levels (PORTHOOK_MAX_JSON_DEPTH)")
        if isinstance(node, str) and "\x00" in node:
            raise _invalid(location(("body", *path)),
                           "contains a NUL character (\\u0000), which no text field may hold")


# The dashboard's pages post HTML forms; the API itself takes JSON only.
FORM = "application/x-www-form-urlencoded"
FORMS_UNDER = "/ui/"


def check_form(body: bytes) -> None:
    """A form's fields reach the same services as JSON bodies: a NUL is
    refused as in a query (PostgreSQL cannot store one)."""
    _check_pairs(body, "form")


def check_query(query_string: bytes) -> None:
    _check_pairs(query_string, "query")


def _check_pairs(encoded: bytes, where: str) -> None:
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            raise _invalid(f"{where}.{name.replace(chr(0), '')}",
                           "contains a NUL character (%00), which no parameter may hold")


def _media_type(headers: Headers) -> str | None:
    value = headers.get("content-type")
    return value.split(";")[0].strip().lower() if value else None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise Problem("Content-Length is not a number of bytes")
    return int(value)


class BodyGate:
    """ASGI middleware applying the checks above (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media_type = _media_type(headers)
        upload = media_type == "multipart/form-data"
        body = b""
        try:
            check_query(scope.get("query_string", b""))
            declared = _declared_length(headers)
            limit = self.limits.max_upload_bytes if upload else self.limits.max_body_bytes
            if declared is not None and declared > limit:
                raise _too_large(limit)
            if not upload:
                body = await self._read(receive)
                self._check_body(body, media_type, path=scope.get("path", ""))
        except Problem as problem:
            await _answer(problem, scope, receive, send)
            return
        if upload:
            await self._stream(scope, receive, send)
        else:
            await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        limit = self.limits.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client left; the route sees an empty body and nobody reads
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_body(self, body: bytes, media_type: str | None, *, path: str) -> None:
        if not body:
            return
        if media_type == FORM and path.startswith(FORMS_UNDER):
            check_form(body)
            return
        if media_type is None:
            raise UnsupportedMediaType(f"the request has a body but no Content-Type: {JSON_HINT}")
        if not _is_json(media_type):
            raise UnsupportedMediaType(f"Content-Type {media_type} is not accepted here: "
                                       f"{JSON_HINT} (uploads use multipart/form-data)")
        check_json(parse_json(body), max_depth=self.limits.max_json_depth)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Uploads stream through (the route spools them); only their size is counted.
        limit = self.limits.max_upload_bytes
        size = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal size, exceeded
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                exceeded = True
                raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once over the limit, whatever the route makes of the cut body
            # (FastAPI answers 400) gives way to the 413.
            if not exceeded:
                await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded:
            await _answer(_too_large(limit), scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"Connection": "close"} if problem.status == 413 else None
    response = problem_response(problem.status, problem.document())
    if headers:
        response.headers.update(headers)
    await response(scope, receive, send)
