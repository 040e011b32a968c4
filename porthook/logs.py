"""How porthook's processes log: plain text, or one JSON object per line.

``PORTHOOK_LOG_FORMAT=json`` makes every line JSON, uvicorn's access and error
lines included (they go through the same handler). Fields a caller hands in
``extra`` (the delivery failure lines, ``delivery.failure_log``) become keys
of their own. Servers (``serve``, ``api``, ``worker``) log to stdout, their
stream in a container; one-shot commands log to stderr so that their stdout
stays their output (``--json``).
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from porthook.config import Settings

# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message", "taskName"}
# uvicorn.access formats "%s - "%s %s HTTP/%s" %d" from these arguments.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status_code")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Chatty below WARNING and of no use to an operator on every command.
QUIET = ("alembic", "asyncio")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and extras."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(
                record.args) == len(_ACCESS_FIELDS):
            document.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        document.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def config(settings: Settings, *, to_stdout: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document: also handed to uvicorn as its
    ``log_config``, so that its loggers write through our one handler (plain
    data: ``porthook api --workers N`` hands it to processes it spawns)."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if settings.log_format == "json"
        else {"format": TEXT_FORMAT})
    level = settings.log_level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "porthook",
               "stream": "ext://sys.stdout" if to_stdout else "ext://sys.stderr"}
    loggers: dict[str, Any] = {
        # Through the root handler only: uvicorn's own would print a second copy.
        name: {"handlers": [], "level": level, "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    quiet = max(logging.WARNING, logging.getLevelNamesMapping().get(level, logging.INFO))
    loggers.update({name: {"level": quiet} for name in QUIET})
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"porthook": formatter}, "handlers": {"porthook": handler},
            "root": {"handlers": ["porthook"], "level": level}, "loggers": loggers}


def configure(settings: Settings, *, to_stdout: bool = False) -> dict[str, Any]:
    """Set up logging for this process; returns the document (for uvicorn)."""
    document = config(settings, to_stdout=to_stdout)
    logging.config.dictConfig(document)
    return document
