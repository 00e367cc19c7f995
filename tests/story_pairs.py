"""The labelled pairs of `tests/story_pairs.jsonl`: same story or not, as a careful editor reads them.

Each side is either written out (the project's own words: X posts and UN News ledes written for
this set) or a reference to real text read in place: ``dev:mt-NNN`` (../shared/tagging/dev.jsonl),
``un_news:N`` (entry N of ../shared/fixtures/feeds/un_news_europe_2022-04.rss.xml) or
``demo:<slug>:N`` (item N of the sample feed ``feeds/demo``). Used by tests/test_stories_pairs.py
and benchmarks/stories.py (precision and recall in docs/benchmarks.md).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aggregator.models import Tag, iso, parse_iso
from aggregator.sources.feed_parse import parse_body
from aggregator.stories import group_stories

ROOT = Path(__file__).resolve().parent.parent
PAIRS = Path(__file__).resolve().parent / "story_pairs.jsonl"
SHARED = ROOT.parent / "shared"
DEV = SHARED / "tagging" / "dev.jsonl"
UN_NEWS = SHARED / "fixtures" / "feeds" / "un_news_europe_2022-04.rss.xml"


@dataclass(frozen=True)
class Pair:
    id: str
    same: bool
    note: str
    a: dict[str, Any]
    b: dict[str, Any]


@cache
def _dev() -> dict[str, str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    return {d["id"]: d["text"] for d in map(json.loads, lines)}


@cache
def _un_news() -> list[dict[str, Any]]:
    return list(parse_body(UN_NEWS.read_bytes(), "https://news.un.org/feed", None)["entries"])


@cache
def _demo() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("demo_regenerate", ROOT / "feeds/demo/regenerate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return {f.slug: f for f in module.FEEDS_DATA}


def _side(pair_id: str, side: str, spec: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": f"{pair_id}{side}", "kind": spec.get("kind", "feed"),
                           "title": spec.get("title", ""), "text": spec.get("text", ""),
                           "source_id": f"source-{pair_id}{side}", "published_at": spec.get("at")}
    kind, _, ref = str(spec.get("ref", "")).partition(":")
    if kind == "dev":
        row["text"] = _dev()[ref]
    elif kind == "un_news":
        entry = _un_news()[int(ref)]
        row.update(title=entry["title"], text=entry["summary"])
        row["published_at"] = row["published_at"] or entry["published_parsed"]
    elif kind == "demo":
        slug, _, index = ref.partition(":")
        item = _demo()[slug].items[int(index)]
        row.update(title=item.title, text=item.text)
        row["published_at"] = row["published_at"] or item.date
    when = parse_iso(row["published_at"])
    assert when is not None, f"{pair_id}{side}: no date"
    row["published_at"] = iso(when)
    row["tags"] = [Tag(m, "name", m) for m in spec.get("missions", ())]
    return row


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Pair(d["id"], d["same"], d["note"], d["a"], d["b"]) for d in map(json.loads, lines)]


def rows(pair: Pair) -> tuple[dict[str, Any], dict[str, Any]]:
    return _side(pair.id, "a", pair.a), _side(pair.id, "b", pair.b)


def grouped(pair: Pair) -> bool:
    """Does the site show the pair as one story?"""
    return len(group_stories(rows(pair))) == 1


def scores(pairs: list[Pair]) -> dict[str, Any]:
    """Precision, recall and the pairs the grouping got wrong."""
    said = {p.id: grouped(p) for p in pairs}
    tp = sum(1 for p in pairs if p.same and said[p.id])
    fp = [p for p in pairs if not p.same and said[p.id]]
    fn = [p for p in pairs if p.same and not said[p.id]]
    return {
        "pairs": len(pairs), "same": sum(p.same for p in pairs), "tp": tp,
        "precision": tp / (tp + len(fp)) if tp + len(fp) else 1.0,
        "recall": tp / (tp + len(fn)) if tp + len(fn) else 1.0,
        "false_merges": fp, "missed": fn,
    }
