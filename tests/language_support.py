"""The labelled texts that language detection is measured on (#18): tests and benchmark.

``labelled(shared)`` gives (where, title, text, language) for: ../shared/tagging/dev.jsonl
(labels in tests/language_labels.json, by reading), and every entry of the real feed fixtures
whose language is known (declared by the feed, or labelled by reading), normalized by the
project's own parser and normalizer with the declaration left out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.models import RawItem
from aggregator.normalize.feed import normalize_feed_entry
from aggregator.normalize.language import tidy
from aggregator.sources.feed_parse import parse_body

LABELS = Path(__file__).resolve().parent / "language_labels.json"
TYPES = {".atom": "application/atom+xml", ".rss": "application/rss+xml", ".xml": "application/rss+xml"}
Item = tuple[str, str, str, str]


def _primary(code: str) -> str:
    return code.split("-")[0].lower()


def dev_items(shared: Path) -> list[Item]:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["dev"]
    out = []
    for line in (shared / "tagging" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out.append((f"dev {item['id']}", "", item["text"], labels.get(item["id"], "en")))
    return out


def _undeclared(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with every language declaration (``*_detail.language``) taken out."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "language"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    out: dict[str, Any] = strip(entry)
    return out


def feed_items(shared: Path) -> list[Item]:
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    known: dict[str, str | None] = dict(data["feeds"]) | dict.fromkeys(data["declared"])
    out = []
    for rel, label in known.items():
        path = shared / "fixtures" / "feeds" / rel
        parsed = parse_body(path.read_bytes(), f"https://example.org/{rel}", TYPES[path.suffix])
        language = label or tidy(parsed["feed"]["language"])
        assert language, f"{rel} declares no language: label it in {LABELS.name}"
        for entry in parsed["entries"]:
            entry = _undeclared(entry)
            post = normalize_feed_entry(
                RawItem("feed:lang", "feed", entry), collected_at=datetime(2026, 1, 1, tzinfo=UTC)
            )
            out.append((f"feed {rel}", post.title, post.text, _primary(language)))
    return out


def labelled(shared: Path) -> list[Item]:
    return dev_items(shared) + feed_items(shared)


__all__ = ["Item", "dev_items", "feed_items", "labelled"]
