"""Golden files: every real X API v2 page in ../shared/fixtures/x_api_v2 (twarc-csv pages and
python-twitter bodies), normalized post by post, gives exactly what is kept in
tests/golden/x/<fixture path>.json: id, URL, author, times, text, HTML, media, links, flags
and the missions the tagger gives (these fixtures are about unrelated topics: none).

Run with UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change, then
review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.models import RawItem, iso
from aggregator.normalize import normalize
from aggregator.sources.x_payload import pick_includes
from tests.conftest import ROOT, SHARED, need

FIXTURES = SHARED / "fixtures" / "x_api_v2"
GOLDEN = Path(__file__).parent / "golden" / "x"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
COLLECTED = datetime(2026, 11, 28, tzinfo=UTC)


def fixture_paths() -> list[str]:
    if not FIXTURES.is_dir():
        return ["(fixtures missing)"]
    paths = sorted(p for p in (FIXTURES / "twarc_csv").glob("*.jsonl") if p.name != "users.jsonl")
    paths += [FIXTURES / "python_twitter" / n for n in ("timeline_tweets.json", "search_tweets_query.json")]
    return [str(p.relative_to(FIXTURES)) for p in paths]


def _pages(path: Path) -> list[tuple[int, dict[str, Any] | None]]:
    if path.suffix == ".json":
        return [(1, json.loads(path.read_text(encoding="utf-8")))]
    out: list[tuple[int, dict[str, Any] | None]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError:
            out.append((number, None))  # e.g. the truncated line 8 of streaming_output_with_error
    return out


def _summary(page: dict[str, Any], tagger: Any) -> list[dict[str, Any]]:
    inc = page.get("includes") or {}
    includes = {
        key: {str(o.get("media_key" if key == "media" else "id")): o for o in inc.get(key) or []}
        for key in ("users", "tweets", "media")
    }
    data = page.get("data") or []
    posts = []
    for tweet in data if isinstance(data, list) else [data]:
        item = RawItem("x:golden", "x", {"tweet": tweet, "includes": pick_includes(tweet, includes)})
        post = normalize(item, collected_at=COLLECTED)
        posts.append({
            "id": post.id, "external_id": post.external_id, "url": post.url, "author": post.author,
            "handle": post.author_handle, "published": iso(post.published_at), "updated": iso(post.updated_at),
            "language": post.language, "language_origin": post.language_origin,
            "text": post.text, "html": post.html,
            "media": [[m.kind, m.url, m.alt] for m in post.media], "links": list(post.links),
            "hashtags": list(post.hashtags), "mentions": list(post.mentions),
            "flags": [f for f in ("retweet", "reply", "quote") if getattr(post, f"is_{f}")],
            "missions": [t.mission for t in tagger.tag(post, None)],
        })
    return posts


@pytest.fixture(scope="module")
def tagger() -> Any:
    from aggregator.config import load_config
    from aggregator.tag import Tagger

    return Tagger.from_config(load_config(ROOT / "config.yaml"))


@pytest.mark.parametrize("rel", fixture_paths())
def test_x_fixture_matches_its_golden_file(rel: str, tagger: Any) -> None:
    need(FIXTURES.is_dir(), f"X fixtures not found at {FIXTURES}")
    got = {
        f"line {number}": _summary(page, tagger) if page is not None else {"error": "not JSON: skipped"}
        for number, page in _pages(FIXTURES / rel)
    }
    golden = GOLDEN / f"{rel}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file for {rel}: run with UPDATE_GOLDEN=1 and review it"
    assert got == json.loads(golden.read_text(encoding="utf-8"))
