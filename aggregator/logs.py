"""Logging for commands and the service: one structured line per source per run.

Each line carries the source, its outcome, posts added, duration and next due time, as
``key=value`` text on a terminal or one JSON object per line for a log shipper
(``log_format``: ``auto`` picks text on a terminal and JSON otherwise). The standard
``logging`` module does the plumbing; the formatters here only decide the shape of a line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from aggregator.models import SourceReport, iso

ROOT_LOGGER = "aggregator"
FIELDS = "fields"  # the ``extra`` key that carries a line's structured fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "at": iso(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        parts = [at, f"{record.levelname.lower():7}", record.getMessage()]
        for key, value in (getattr(record, FIELDS, None) or {}).items():
            if value is None or value == "":
                continue
            text = str(value)
            parts.append(f"{key}={json.dumps(text) if ' ' in text else text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def wants_json(log_format: str, stream: IO[str]) -> bool:
    if log_format == "json":
        return True
    if log_format == "text":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure(log_format: str = "auto", level: str = "INFO", stream: IO[str] | None = None) -> logging.Logger:
    """Point the ``aggregator`` logger at ``stream`` (stderr) in the configured format.

    Called by long-running commands, never on import. Calling it again replaces the handler.
    """
    out = stream if stream is not None else sys.stderr
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, "_aggregator", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if wants_json(log_format, out) else TextFormatter())
    handler._aggregator = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    logger.propagate = False
    # A tick that outlasts its interval makes APScheduler warn on every skipped run; the
    # skip is the intended behaviour (max_instances=1), so only its errors are shown.
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return logger


def report_fields(report: SourceReport) -> dict[str, Any]:
    """The structured fields of one source's outcome in one run."""
    return {
        "source": report.source_id,
        "outcome": report.outcome,
        "posts_added": report.posts_added,
        "posts_updated": report.posts_updated,
        "duration_s": round(report.duration_s, 3),
        "next_due": iso(report.next_due),
        "error_kind": report.error_kind,
        "error": report.error,
    }


def log_report(report: SourceReport, logger: logging.Logger | None = None) -> None:
    """Write the one line for ``report``: warning level when the source failed."""
    log = logger or logging.getLogger(f"{ROOT_LOGGER}.collect")
    level = logging.WARNING if report.outcome == "error" else logging.INFO
    log.log(level, "source", extra={FIELDS: report_fields(report)})


def log_event(
    logger: logging.Logger, message: str, *, level: int = logging.INFO, **fields: Any
) -> None:
    """Log ``message`` with structured ``fields`` (same shape as the per-source lines)."""
    logger.log(level, message, extra={FIELDS: fields})
