"""``porthook listen`` and ``porthook verify``: a developer's side of webhooks.

Both talk to no database: ``listen`` is a client of the API (``relay``),
``verify`` checks a captured request offline (``verify``).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer

from porthook.delivery import formats, relay, verify

ApiOption = Annotated[str, typer.Option("--api", envvar="PORTHOOK_API",
                                        help="porthook's base URL.")]
KeyOption = Annotated[str, typer.Option("--key", envvar="PORTHOOK_KEY",
                                        help="The account's API key.")]


def _out(line: str) -> None:
    print(line, flush=True)


def listen(
    forward_to: Annotated[str, typer.Option("--forward-to", help="The local URL to POST to.")],
    api: ApiOption = "http://127.0.0.1:8080",
    key: KeyOption = "",
    name: Annotated[str, typer.Option(help="The listener's name: its endpoint and "
                                           "secret are the same across restarts.")] = "dev",
    format: Annotated[str, typer.Option("--format", help=", ".join(formats.FORMATS))] = "standard",
    events: Annotated[list[str] | None, typer.Option(
        "--events", help="Event type patterns, e.g. 'porting_order.*' (repeatable).")] = None,
    order: Annotated[str | None, typer.Option(
        "--order", help="Only the events of this porting order (its id).")] = None,
    header: Annotated[list[str] | None, typer.Option(
        "--header", help="Extra header on each local call, 'Name: value' (repeatable).")] = None,
    retry_schedule: Annotated[str | None, typer.Option(
        help="Seconds before each retry of a failed local call, e.g. 1,2,5 "
             "(default: the server's schedule).")] = None,
    print_json: Annotated[bool, typer.Option("--print-json",
                                             help="Print each event's whole body.")] = False,
    allow_external: Annotated[bool, typer.Option(
        "--allow-external", help="Allow --forward-to a host that is not this machine.")] = False,
) -> None:
    """Receive the account's events, signed as production sends them, and
    forward each to a local URL; the local answer goes to the delivery log."""
    refusal = relay.loopback_refusal(forward_to)
    if refusal is not None and not allow_external:
        raise _fail(f"--forward-to: {refusal}; pass --allow-external to forward there anyway")
    if not key:
        raise _fail("--key (or PORTHOOK_KEY): the account's API key is needed")
    try:
        headers = dict(relay.parse_header(h) for h in header or [])
        schedule = [float(s) for s in retry_schedule.split(",")] if retry_schedule else None
    except ValueError as error:
        raise _fail(f"--header / --retry-schedule: {error}") from error
    listener = relay.Listener(api=api.rstrip("/"), key=key, name=name, forward_to=forward_to,
                              format=format, events=events or [], order=order,
                              headers=headers,
                              retry_schedule=schedule, print_json=print_json, out=_out)
    _out(f"connecting to {api} ...")
    try:
        listener.run()
    except httpx.HTTPStatusError as error:
        raise _fail(f"porthook refused the listener: HTTP {error.response.status_code} "
                    f"{error.response.text}") from error
    except KeyboardInterrupt:
        _out("stopped")


def verify_request(
    secret: Annotated[str | None, typer.Option(
        "--secret", help="The endpoint's whsec_ secret (Standard Webhooks headers).")] = None,
    telnyx_public_key: Annotated[str | None, typer.Option(
        help="The base64 ed25519 key of GET /v1/webhook-signing-key (telnyx headers).")] = None,
) -> None:
    """Check a captured request (raw HTTP: headers, blank line, body) read from
    stdin; say why its signature fails (exit code 1)."""
    if (secret is None) == (telnyx_public_key is None):
        raise _fail("give --secret or --telnyx-public-key (one of them)")
    try:
        headers, body = verify.parse_request(sys.stdin.buffer.read())
    except ValueError as error:
        raise _fail(f"stdin: {error}") from error
    now = datetime.now(UTC)
    if secret is not None:
        problems = verify.check_standard(secret, headers, body, now=now)
    else:
        assert telnyx_public_key is not None
        problems = verify.check_telnyx(telnyx_public_key, headers, body, now=now)
    if problems:
        for problem in problems:
            typer.echo(f"invalid: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"valid: {len(body)} bytes signed by this "
               f"{'secret' if secret is not None else 'key'}")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)
