"""Rendering of the dashboard and its wiring into the app: templates, static
files, security headers, and errors as pages instead of problem documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from porthook.config import Settings
from porthook.problems import NotFound, Problem, validation_errors
from porthook.ui import rules
from porthook.ui.deps import PageForbidden, SignInRequired

T = TypeVar("T")
HERE = Path(__file__).parent
PREFIX = "/ui"
DESK_PREFIX = "/ui/desk"
JSON_PREFIX = "/ui/portal/portability"  # the one route scripts call: JSON errors


def _when(value: datetime | date | time | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def make_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True), enable_async=False)
    env.filters["when"] = _when
    env.filters["age"] = rules.format_age
    env.filters["customer_status"] = rules.customer_status
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.ui_templates
    viewer = getattr(request.state, "viewer", None)
    html = env.get_template(template).render(request=request, viewer=viewer, **context)
    return HTMLResponse(html, status_code=status_code)


async def page_with_problem(
    session: AsyncSession, problem: Problem, page: Callable[..., Awaitable[Response]]
) -> Response:
    """The page a form was posted from, again, saying what went wrong: the
    session is rolled back (nothing was changed). A missing object stays a
    404 (another account's id looks like no id at all)."""
    await session.rollback()
    if isinstance(problem, NotFound):
        raise problem
    return await page(status_code=problem.status, error=problem.detail,
                      field_errors=problem.errors)


async def form_action(
    session: AsyncSession, work: Callable[[], Awaitable[T]], *,
    done: str | Callable[[T], str], again: Callable[..., Awaitable[Response]],
) -> Response:
    """The one shape of a dashboard form handler: run the use case (the API's
    own service); if it raises a problem, ``again`` renders the page the form
    came from with it (see ``page_with_problem``); else commit and redirect
    (303) to ``done``, or to ``done(result)``."""
    async def to_done(result: T) -> Response:
        return redirect(done(result) if callable(done) else done)
    return await form_action_shown(session, work, shown=to_done, again=again)


async def form_action_shown(
    session: AsyncSession, work: Callable[[], Awaitable[T]], *,
    shown: Callable[[T], Awaitable[Response]], again: Callable[..., Awaitable[Response]],
) -> Response:
    """``form_action`` for an outcome shown on the answer itself rather than
    after a redirect (a signing secret must not travel in a URL; a retry says
    what it requeued): commit, then ``shown(result)``."""
    try:
        result = await work()
    except Problem as problem:
        return await page_with_problem(session, problem, again)
    await session.commit()
    return await shown(result)


def redirect(url: str) -> RedirectResponse:
    # 303: the browser follows a form's POST with a GET (no resubmission on reload).
    return RedirectResponse(url, status_code=303)


class SecurityHeaders:
    """Adds the dashboard's headers to every response under /ui (pure ASGI,
    so streamed and static responses get them too)."""

    def __init__(self, app: ASGIApp, *, frame_ancestors: str) -> None:
        self.app = app
        self.portal = _encoded(rules.security_headers(frame_ancestors=frame_ancestors))
        # The desk is never framed, whatever the portal allows.
        self.desk = _encoded(rules.security_headers(frame_ancestors="'none'"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        extra = self.desk if path.startswith(DESK_PREFIX) else self.portal

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


def install(app: FastAPI, settings: Settings) -> None:
    """Templates, static files, headers and error pages of the dashboard."""
    app.state.ui_templates = make_environment()
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.ui_frame_ancestors)
    api_problem = app.exception_handlers[Problem]

    async def on_problem(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX) or not isinstance(exc, Problem):
            answer = api_problem(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        return render(request, "error.html", status_code=exc.status,
                      title=exc.title, message=exc.detail)

    async def on_sign_in_required(request: Request, _: Exception) -> Response:
        return redirect(f"{PREFIX}/login")

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, PageForbidden) else "Forbidden"
        return render(request, "error.html", status_code=403, title="Forbidden",
                      message=message)

    api_invalid = app.exception_handlers[RequestValidationError]

    async def on_invalid(request: Request, exc: Exception) -> Response:
        # A hand-edited query string on a page: say what is wrong, as a page.
        if not request.url.path.startswith(PREFIX) or not isinstance(
                exc, RequestValidationError) or request.url.path.startswith(JSON_PREFIX):
            answer = api_invalid(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        errors = validation_errors(exc)
        return render(request, "error.html", status_code=422, title="Invalid request",
                      message="; ".join(f"{e.field}: {e.message}" for e in errors))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(PageForbidden, on_forbidden)
