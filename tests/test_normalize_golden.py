"""Golden files: each real feed in ../shared/fixtures/feeds, collected over loopback HTTP,
gives exactly the outcome kept in tests/golden/feeds/<fixture path>.json: the posts (title,
URL, author, time, text, media, missions) or the recorded error, plus how it was decoded.

Run with UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change, then
review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import make_app
from aggregator.collect import collect
from aggregator.config import load_config
from aggregator.sources.feed_parse import parse_body
from tests.conftest import SHARED
from tests.feeds_server import FeedServer, write_config

FIXTURES = SHARED / "fixtures" / "feeds"
GOLDEN = Path(__file__).parent / "golden" / "feeds"
TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HOST = "http://feeds.test"


def fixture_paths() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(
        str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.suffix in TYPES
    )


def _stable(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace(base, HOST)
    if isinstance(value, list):
        return [_stable(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _stable(v, base) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def collected(
    tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[dict[str, dict[str, Any]]]:
    """Collect every fixture once, as one source each, through the real pipeline (needs
    ../shared: the `shared` fixture skips, or fails under CI=true, where it is absent)."""
    paths = fixture_paths()
    if not paths:
        yield {}
        return
    with FeedServer() as server:
        for rel in paths:
            path = FIXTURES / rel
            server.add(f"/{rel}", body=path.read_bytes(),
                       headers={"Content-Type": TYPES[path.suffix]})
        sources = [{"kind": "feed", "url": server.url(f"/{rel}"), "name": rel} for rel in paths]
        config = load_config(write_config(tmp_path_factory.mktemp("golden"), sources))
        with make_app(config) as app:
            result = collect(app)
            reports = {r.source_id: r for r in result.reports}
            out: dict[str, dict[str, Any]] = {}
            for rel in paths:
                url = server.url(f"/{rel}")
                out[rel] = _stable(_summary(app, f"feed:{url}", reports[f"feed:{url}"], url), server.base)
        yield out


def _summary(app: Any, source_id: str, report: Any, url: str) -> dict[str, Any]:
    rel = url.split("/", 3)[3]
    path = FIXTURES / rel
    parsed = parse_body(path.read_bytes(), url, TYPES[path.suffix])
    posts = []
    for row in app.store.db.query(
        "SELECT * FROM posts WHERE source_id = ? ORDER BY sort_at DESC, external_id", [source_id]
    ):
        posts.append({
            "title": row["title"],
            "url": row["url"],
            "author": row["author"],
            "published_at": row["published_at"],
            "language": row["language"],
            "language_origin": row["language_origin"],
            "text": row["text"][:300],
            "html_start": row["html"][:200],
            "media": [m["url"] for m in json.loads(row["media"])],
            "links": json.loads(row["links"])[:5],
            "missions": sorted(t.mission for t in app.store.tags_of(row["id"])),
        })
    state = app.store.source_state(source_id)
    return {
        "decoded": {"encoding": (parsed["encoding"] or "").lower(), "version": parsed["version"],
                    "well_formed": not parsed["bozo"], "feed_title": parsed["feed"]["title"]},
        "outcome": report.outcome,
        "error_kind": state["last_error_kind"],
        "error": state["last_error"],
        "post_count": len(posts),
        "posts": posts,
    }


@pytest.mark.shared
@pytest.mark.parametrize("rel", fixture_paths() or ["(fixtures missing)"])
def test_fixture_matches_its_golden_file(rel: str, collected: dict[str, dict[str, Any]]) -> None:
    assert FIXTURES.is_dir(), "../shared/fixtures/feeds is needed"
    actual = collected[rel]
    golden = GOLDEN / f"{rel}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1 and review it"
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert actual == expected


@pytest.mark.shared
def test_every_ill_formed_sample_gives_posts_or_a_named_recorded_error(
    collected: dict[str, dict[str, Any]],
) -> None:
    ill = [rel for rel in collected if rel.startswith("feedparser/illformed/")]
    assert len(ill) >= 7
    for rel in ill:
        summary = collected[rel]
        if summary["outcome"] == "error":
            assert summary["error_kind"] == "parse" and HOST in summary["error"], rel
        else:
            assert summary["outcome"] == "ok", rel
