"""Shared set-up for the service tests (no tests of its own): a small project, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.models import SourceReport
from tests.projects import feed, write_mission

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
SECRET_ENV = {"AGGREGATOR_SECRET": "test-secret-for-unsubscribe-links"}

class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def write_project(
    root: Path,
    *,
    feed_urls: dict[str, list[str]] | None = None,
    extra_settings: str = "",
    digest_lists: str | None = None,
) -> Path:
    """config.yaml plus one mission file per acronym with its feed URLs; returns config path."""
    feeds = root / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    urls = feed_urls or {
        "UNMIK": ["http://127.0.0.1:9/unmik.xml"],
        "UNIFIL": ["http://127.0.0.1:9/unifil.xml"],
    }
    for acronym, links in urls.items():
        write_mission(feeds, acronym,
                      sources=[feed(u, f"{acronym} feed {i}") for i, u in enumerate(links)])
    text = "database: data/test.db\noutput_dir: output\nmissions_dir: feeds\n" + extra_settings
    if digest_lists is not None:
        (root / "digests.yaml").write_text(digest_lists, encoding="utf-8")
        text += "digest_lists: digests.yaml\n"
    config = root / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


@dataclass
class FakeRun:
    """What ``collect`` returns, as far as the service reads it."""

    reports: list[SourceReport] = field(default_factory=list)
    missions_changed: set[str] = field(default_factory=set)
    run_id: int | None = None
