"""One structured log line per source per run: readable on a terminal, JSON for machines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from aggregator.logs import configure, log_report
from aggregator.models import SourceReport

REPORT = SourceReport(
    "feed:https://unmik.unmissions.org/rss.xml", "ok", posts_added=3, duration_s=0.41234,
    next_due=datetime(2026, 11, 28, 6, 30, tzinfo=UTC),
)
FAILED = SourceReport("x:unmiss", "error", error="HTTP 503 from the bridge", error_kind="fetch")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logger() -> Iterator[None]:
    logger = logging.getLogger("aggregator")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def test_json_lines_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    configure("auto", "INFO", out)
    log_report(REPORT)
    log_report(FAILED)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["source"] == REPORT.source_id and first["outcome"] == "ok"
    assert first["posts_added"] == 3 and first["duration_s"] == 0.412
    assert first["next_due"] == "2026-11-28T06:30:00Z" and first["level"] == "info"
    assert second["level"] == "warning" and second["error_kind"] == "fetch"
    assert second["error"] == "HTTP 503 from the bridge"


def test_readable_text_on_a_terminal_and_when_configured() -> None:
    for log_format, stream in (("auto", Tty()), ("text", io.StringIO())):
        configure(log_format, "INFO", stream)
        log_report(REPORT)
        log_report(FAILED)
        ok, failed = stream.getvalue().splitlines()
        assert f"source={REPORT.source_id}" in ok and "outcome=ok" in ok
        assert "posts_added=3" in ok and "next_due=2026-11-28T06:30:00Z" in ok
        assert "warning" in failed and 'error="HTTP 503 from the bridge"' in failed
        assert not ok.startswith("{")


def test_json_when_configured_even_on_a_terminal() -> None:
    stream = Tty()
    configure("json", "INFO", stream)
    log_report(REPORT)
    assert json.loads(stream.getvalue())["outcome"] == "ok"
