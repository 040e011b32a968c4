"""porthook.logs: text or one JSON object per line, extras as keys, uvicorn's
access fields broken out; porthook.cli_support: how a database is named."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from porthook import cli_support, logs
from porthook.config import Settings


def _record(name: str, message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args or None, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_carries_the_extras_as_keys() -> None:
    line = json.loads(logs.JsonFormatter().format(
        _record("porthook.delivery.failures", "delivery dead: %s", "x", status_code=500,
                outcome="dead")))
    assert {k: line[k] for k in ("level", "logger", "message", "status_code", "outcome")} == {
        "level": "WARNING", "logger": "porthook.delivery.failures",
        "message": "delivery dead: x", "status_code": 500, "outcome": "dead"}


def test_an_access_line_is_broken_into_fields() -> None:
    record = _record("uvicorn.access", '%s - "%s %s HTTP/%s" %d',
                     "127.0.0.1:5", "GET", "/healthz", "1.1", 200)
    line = json.loads(logs.JsonFormatter().format(record))
    assert (line["method"], line["path"], line["status_code"], line["client"]) == (
        "GET", "/healthz", 200, "127.0.0.1:5")


def test_an_exception_goes_into_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("porthook", "failed")
        record.exc_info = sys.exc_info()
    line = json.loads(logs.JsonFormatter().format(record))
    assert "ValueError: boom" in line["exception"]


@pytest.mark.parametrize(("log_format", "formatter"), [
    ("json", {"()": "porthook.logs.JsonFormatter"}),  # every line JSON
    ("text", {"format": logs.TEXT_FORMAT}),  # the default: for a person
])
def test_the_setting_picks_the_formatter_for_every_logger(
    log_format: str, formatter: dict[str, str],
) -> None:
    document = logs.config(Settings(log_format=log_format), to_stdout=True)
    assert document["formatters"]["porthook"] == formatter
    assert document["handlers"]["porthook"]["stream"] == "ext://sys.stdout"
    # uvicorn's loggers print through the root handler only (no second copy).
    assert {document["loggers"][n]["handlers"] == [] for n in ("uvicorn", "uvicorn.access")} == {
        True}
    assert document["loggers"]["alembic"]["level"] == logging.WARNING


@pytest.mark.parametrize(("url", "named"), [
    # a relative SQLite path depends on where the command runs: made absolute
    ("sqlite+aiosqlite:///porthook.db", f"sqlite file {Path('porthook.db').resolve()}"),
    ("sqlite+aiosqlite:////srv/p.db", "sqlite file /srv/p.db"),
    # passwords never printed
    ("postgresql+asyncpg://u:secret@db/porthook", "postgresql+asyncpg://u:***@db/porthook"),
    ("sqlite+aiosqlite:///:memory:", "sqlite in memory"),
])
def test_a_database_is_named_without_its_password(url: str, named: str) -> None:
    assert cli_support.describe(url) == named


def test_a_table_lines_up_its_columns() -> None:
    text = cli_support.table([{"id": "a", "n": None}, {"id": "bbb", "n": [1, 2]}], ("id", "n"))
    assert text.splitlines() == ["ID   N", "a    -", "bbb  1,2"]
