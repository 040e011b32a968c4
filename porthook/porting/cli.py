"""``porthook trigger``: real events of a type, for a listener or any endpoint."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from porthook.delivery.listen_cli import ApiOption, KeyOption
from porthook.porting import trigger as walks


def trigger(
    event_type: Annotated[str | None, typer.Argument(help="e.g. porting_order.created")] = None,
    api: ApiOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    order: Annotated[str | None, typer.Option(
        "--order", help="Act on this order (the plan's last step) instead of a new one.")] = None,
    operator_key: Annotated[str | None, typer.Option(
        envvar="PORTHOOK_OPERATOR_KEY", help="A porting desk key, for desk moves.")] = None,
    list_types: Annotated[bool, typer.Option("--list", help="List what it can produce.")] = False,
) -> None:
    """Produce a real event of EVENT_TYPE for the account, through the API."""
    if list_types or event_type is None:
        for name in walks.PLANS:
            typer.echo(f"{name}{'  (needs --operator-key)' if walks.needs_desk(name) else ''}")
        return
    if event_type not in walks.PLANS:
        typer.echo(f"error: cannot trigger {event_type!r}; see porthook trigger --list", err=True)
        raise typer.Exit(2)
    if not key:
        typer.echo("error: --key (or PORTHOOK_KEY): the account's API key is needed", err=True)
        raise typer.Exit(2)
    base = api.rstrip("/")
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {key}"},
                      timeout=30.0) as customer, \
            httpx.Client(base_url=base, headers={"authorization": f"Bearer {operator_key}"},
                         timeout=30.0) as desk:
        walk = walks.Walk(customer=customer, desk=desk if operator_key else None,
                          order_id=order)
        try:
            walks.run(walk, event_type)
        except (walks.TriggerError, httpx.HTTPError) as error:
            for line in walk.log:
                typer.echo(line)
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from error
    for line in walk.log:
        typer.echo(line)
    typer.echo(f"triggered {event_type} on order {walk.order_id}")
