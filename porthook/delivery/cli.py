"""``porthook endpoints`` and ``porthook deliveries``: the operator's view of
every account (``--account`` narrows it). Thin: each command is one service
call in one session, committed once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from porthook import cli_support as support
from porthook.delivery import actions, models, rules, search, service

endpoints_app = typer.Typer(help="Where events go: webhook URLs and e-mail addresses.",
                            no_args_is_help=True)
deliveries_app = typer.Typer(help="One event for one endpoint: find them, retry them.",
                             no_args_is_help=True)

AccountOption = Annotated[uuid.UUID | None, typer.Option(
    help="Only this account's (default: every account's).")]
ENDPOINT_COLUMNS = ("id", "account_id", "origin", "channel", "target", "format", "enabled",
                    "failing_since", "disabled_reason")
DELIVERY_COLUMNS = ("id", "status", "endpoint_id", "event_id", "attempts", "last_status_code",
                    "last_error", "next_attempt_at", "created_at")


# Built from the one list of states a search knows (rules.STATES); mypy cannot
# follow a functional enum built from a variable.
Status = StrEnum("Status", {state: state for state in rules.STATES})  # type: ignore[misc]


@endpoints_app.command("list")
def list_endpoints(
    account: AccountOption = None,
    limit: support.LimitOption = 500,
    as_json: support.JsonOption = False,
) -> None:
    """List endpoints, oldest first (never their secrets or credentials)."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        rows, _ = await service.list_endpoints(session, account_id=account, cursor=None,
                                               limit=limit)
        return [_endpoint_row(e) for e in rows]

    support.emit_rows(support.run(settings, work), ENDPOINT_COLUMNS, as_json=as_json)


def _endpoint_row(endpoint: models.Endpoint) -> dict[str, Any]:
    public = service.to_public(endpoint).model_dump(mode="json")
    return {**public, "account_id": str(endpoint.account_id),
            "target": endpoint.url or endpoint.email_address}


@deliveries_app.command("list")
def list_deliveries(
    status: Annotated[Status | None, typer.Option(
        help="Only deliveries in this status (default: any).")] = None,
    endpoint: Annotated[uuid.UUID | None, typer.Option(
        help="Only this endpoint's (default: every endpoint's).")] = None,
    account: AccountOption = None,
    limit: support.LimitOption = 50,
    as_json: support.JsonOption = False,
) -> None:
    """List deliveries, newest first: what happened last and when the next try is due."""
    settings = support.settings()

    async def work(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
        where = search.DeliveryFilter(states=[status.value] if status else [],
                                      endpoint_id=endpoint)
        rows, _ = await search.search(session, account_id=account, where=where, cursor=None,
                                      limit=limit)
        return [search.to_public(d).model_dump(mode="json") for d in rows]

    support.emit_rows(support.run(settings, work), DELIVERY_COLUMNS, as_json=as_json)


@deliveries_app.command("retry")
def retry_deliveries(
    delivery_id: Annotated[uuid.UUID | None, typer.Argument(
        help="The delivery to send now, whatever its status and schedule.")] = None,
    endpoint: Annotated[uuid.UUID | None, typer.Option(
        help="Instead: send now everything of this endpoint that is retrying, dead or "
             "held.")] = None,
    since: Annotated[datetime | None, typer.Option(
        help="With --endpoint: only what was created from this UTC time on "
             "(default: all).")] = None,
    as_json: support.JsonOption = False,
) -> None:
    """Send a delivery again now, or an endpoint's retrying, dead and held ones."""
    settings = support.settings()
    if (delivery_id is None) == (endpoint is None):
        raise support.fail("name one delivery (DELIVERY_ID) or one --endpoint",
                           settings=settings)

    async def work(session: AsyncSession, now: datetime) -> dict[str, Any]:
        if delivery_id is not None:
            done = await actions.retry_delivery(session, account_id=None,
                                                delivery_id=delivery_id, now=now)
        else:
            assert endpoint is not None
            found = await service.get_endpoint(session, account_id=None, endpoint_id=endpoint)
            done = await actions.retry_endpoint(
                session, endpoint=found, now=now,
                since=since.replace(tzinfo=since.tzinfo or UTC) if since else None)
        return {"requeued": len(done.requeued),
                "delivery_ids": [str(i) for i in done.requeued],
                "in_flight": [str(i) for i in done.in_flight]}

    out = support.run(settings, work)
    support.emit(out, as_json=as_json, text=f"requeued {out['requeued']}")
