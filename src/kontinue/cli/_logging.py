"""Log output of the long-running commands: readable text, or one JSON object per line.

Workflow loggers (``ktx.logger``) add the execution's namespace, name and attempt to every
record; the JSON form keeps them as fields so a log pipeline can filter by execution. In JSON
form every line a command writes is a record: Python warnings go through logging
(:func:`logging.captureWarnings`) and so do the commands' banners (:func:`announce`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

__all__ = [
    "JsonFormatter",
    "LogFormatOpt",
    "LogLevelOpt",
    "announce",
    "configure_logging",
    "format_timestamp",
    "start_logging",
]

LogLevelOpt = Annotated[
    str, typer.Option(help="Logging level: DEBUG, INFO, WARNING or ERROR.", metavar="LEVEL")
]
LogFormatOpt = Annotated[
    str, typer.Option(help="text, or json for one JSON object per line.", metavar="FORMAT")
]


def start_logging(level: str, log_format: str) -> None:
    """Configure logging from the options of a long-running command (exit 2 on a bad format)."""
    if log_format not in ("text", "json"):
        typer.echo(f"error: --log-format is text or json, not {log_format!r}", err=True)
        raise typer.Exit(2)
    configure_logging(level, log_format)


_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_BANNERS = logging.getLogger("kontinue.cli")
_json_output = False


def format_timestamp(created: float) -> str:
    """A record's time in UTC, ISO 8601 with milliseconds and the zone:
    ``2025-01-31T12:00:00.123Z``."""
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": format_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, log_format: str) -> None:
    """Log to stderr at ``level`` as ``text`` or ``json``; Python warnings become records."""
    global _json_output
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    _json_output = log_format == "json"


def announce(message: str) -> None:
    """A command's banner: a plain line on stdout in text form, a log record in JSON form (so
    the output stays one JSON object per line)."""
    if _json_output:
        _BANNERS.info(message)
    else:
        typer.echo(message)
