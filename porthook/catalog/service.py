"""The catalog's entries: every event type, and what each format makes of it.

``GET /v1/event-types`` publishes, per type, a description, the formats that
carry it (under their own name: ``NUMBERS_CONFIRMED``, ``insert``...), the JSON
Schema of each format's body (written once, in the format's module, around the
payload models of ``payloads.py``) and an example body rendered by
``formats.build`` from an example event (``examples.py``): the code that
renders real deliveries, so an example can never drift from what receivers
get. The tests validate real deliveries of a whole order lifecycle against
these schemas.
"""

from __future__ import annotations

from typing import Any

from porthook.catalog.payloads import PAYLOADS
from porthook.delivery import catalog as event_types
from porthook.delivery import formats

__all__ = ["EXAMPLE_URL", "entry", "format_entry"]

EXAMPLE_URL = "https://hooks.example.com/porting"  # the example attempt's target


def format_entry(format: str, event: formats.EventView) -> dict[str, Any]:
    """What ``format`` makes of ``event``'s type: its name, its body's JSON
    Schema, and ``event`` rendered as a real delivery would be (first attempt)."""
    return {
        "format": format,
        "name": formats.event_name(format, event.type),
        "json_schema": formats.schema(format, event.type, PAYLOADS),
        "example": formats.build(format, event, formats.Attempt(1, EXAMPLE_URL)),
    }


def entry(event: formats.EventView) -> dict[str, Any]:
    """The catalog entry of ``event``'s type, with ``event`` as its example."""
    return {
        "type": event.type,
        "description": event_types.describe(event.type),
        "subject_type": event_types.subject_type(event.type),
        "formats": [format_entry(f, event) for f in event_types.carried_by(event.type)],
    }
