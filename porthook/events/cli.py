"""``porthook events``: what happened, for every account (``--account`` narrows it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import cli_support as support
from porthook.events import service

events_app = typer.Typer(help="The events porthook recorded (the outbox).",
                         no_args_is_help=True)
EVENT_COLUMNS = ("id", "type", "account_id", "subject", "sequence", "occurred_at")


@events_app.command("list")
def list_events(
    account: Annotated[uuid.UUID | None, typer.Option(
        help="Only this account's (default: every account's).")] = None,
    type: Annotated[list[str] | None, typer.Option(
        "--type", help="An event type or family such as porting_order.*; repeatable "
                       "(default: every type).")] = None,
    subject: Annotated[str | None, typer.Option(
        help="Only events of this subject id, e.g. an order's id.")] = None,
    since: Annotated[datetime | None, typer.Option(
        help="Only events after this UTC time (default: the oldest kept).")] = None,
    cursor: Annotated[str | None, typer.Option(
        help="Continue after a page: the next_cursor of the previous --json output.")] = None,
    limit: support.LimitOption = 50,
    as_json: support.JsonOption = False,
) -> None:
    """List events in the order they were recorded."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> dict[str, Any]:
        rows, next_cursor = await service.list_events(
            session, account_id=account, types=type or (), subject_id=subject,
            occurred_after=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
            cursor=cursor, limit=limit)
        return {"data": [service.to_public(e).model_dump(mode="json") for e in rows],
                "next_cursor": next_cursor}

    page = support.run(settings, work)
    if as_json:
        support.emit(page, as_json=True, text="")
        return
    rows = [{**e, "subject": f"{e['subject']['type']}:{e['subject']['id']}"}
            for e in page["data"]]
    typer.echo(support.table(rows, EVENT_COLUMNS))
    if page["next_cursor"]:
        typer.echo(f"more: --cursor {page['next_cursor']}")
