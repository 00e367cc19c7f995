"""Atom, RSS and JSON Feed: they parse back and agree with the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest

from aggregator.models import Media
from aggregator.render import render_site
from aggregator.render.syndication import ID_PREFIX
from tests.test_render_support import X_SOURCE, hide, make_post, make_test_app, save

# JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), written from the spec's prose.
_AUTHOR = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "url": {"type": "string"}, "avatar": {"type": "string"}},
    "anyOf": [{"required": ["name"]}, {"required": ["url"]}, {"required": ["avatar"]}],
}
JSON_FEED_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "feed_url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "description": {"type": "string"},
        "user_comment": {"type": "string"},
        "next_url": {"type": "string"},
        "icon": {"type": "string"},
        "favicon": {"type": "string"},
        "authors": {"type": "array", "items": _AUTHOR},
        "language": {"type": "string"},
        "expired": {"type": "boolean"},
        "hubs": {"type": "array", "items": {"type": "object", "required": ["type", "url"]}},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string"},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "external_url": {"type": "string"},
                    "title": {"type": "string"},
                    "content_html": {"type": "string"},
                    "content_text": {"type": "string"},
                    "summary": {"type": "string"},
                    "image": {"type": "string", "pattern": "^https?://"},
                    "banner_image": {"type": "string"},
                    "date_published": {"type": "string", "format": "date-time",
                                       "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
                    "date_modified": {"type": "string", "format": "date-time",
                                      "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
                    "authors": {"type": "array", "items": _AUTHOR},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "language": {"type": "string"},
                    "attachments": {
                        "type": "array",
                        "items": {"type": "object", "required": ["url", "mime_type"]},
                    },
                },
            },
        },
    },
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    app = make_test_app(tmp_path)
    posts = [make_post(i, title=f"Headline {i}") for i in range(1, 5)]
    posts.append(make_post(5, media=[Media(url="https://cdn.example.org/a.jpg", alt="A patrol",
                                           local_path="media/aa/bb.webp", width=10, height=10)]))
    save(app, posts)
    save(app, [make_post(9, kind="x", source_id=X_SOURCE, text="#UNAMID archive", handle="unamidnews")],
         mission="UNAMID")
    hide(app, "p0004")
    render_site(app)
    return tmp_path / "output"


def _store_rows(tmp_path: Path) -> dict[str, dict[str, Any]]:
    app = make_test_app(tmp_path)
    return {r["id"]: r for r in app.store.db.query("SELECT * FROM posts")}


@pytest.mark.parametrize("ext", ["xml", "rss"])
def test_feeds_parse_back_with_the_store_ids_links_and_dates(site: Path, tmp_path: Path, ext: str) -> None:
    parsed = feedparser.parse((site / f"feeds/unmik.{ext}").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    rows = _store_rows(tmp_path)
    ids = [e.id for e in parsed.entries]
    assert ids == [ID_PREFIX + f"p000{i}" for i in (1, 2, 3, 5)] or ids == [
        ID_PREFIX + f"p000{i}" for i in (5, 1, 2, 3)
    ]
    assert ID_PREFIX + "p0004" not in ids  # hidden
    for entry in parsed.entries:
        row = rows[entry.id.removeprefix(ID_PREFIX)]
        assert entry.link == row["url"]
        assert entry.published_parsed[:6] == tuple(int(x) for x in
            row["published_at"].replace("-", " ").replace("T", " ").replace(":", " ").rstrip("Z").split())
    feed_links = {link.href for link in parsed.feed.links}
    assert "https://feeds.example.org/site/missions/unmik/" in feed_links
    assert f"https://feeds.example.org/site/feeds/unmik.{ext}" in feed_links


def test_atom_entries_are_newest_first_and_absolute(site: Path) -> None:
    parsed = feedparser.parse((site / "feeds/unmik.xml").read_bytes())
    assert [e.id[-1] for e in parsed.entries] == ["1", "2", "3", "5"]
    image_entry = parsed.entries[-1]
    assert 'src="https://feeds.example.org/site/media/aa/bb.webp"' in image_entry.content[0].value


def test_all_feed_holds_every_mission(site: Path) -> None:
    parsed = feedparser.parse((site / "feeds/all.xml").read_bytes())
    assert not parsed.bozo
    ids = {e.id for e in parsed.entries}
    assert ID_PREFIX + "p0009" in ids and ID_PREFIX + "p0001" in ids
    terms = {t.term for e in parsed.entries for t in e.get("tags", [])}
    assert terms == {"UNMIK", "UNAMID"}


def test_json_feed_validates_and_matches_the_store(site: Path, tmp_path: Path) -> None:
    doc = json.loads((site / "feeds/unmik.json").read_text())
    jsonschema.validate(doc, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
    rows = _store_rows(tmp_path)
    for item in doc["items"]:
        row = rows[item["id"].removeprefix(ID_PREFIX)]
        assert item["url"] == row["url"]
        assert item["date_published"] == row["published_at"]
    assert doc["items"][-1]["image"] == "https://feeds.example.org/site/media/aa/bb.webp"
    for slug in ("all", "unamid"):
        jsonschema.validate(json.loads((site / f"feeds/{slug}.json").read_text()), JSON_FEED_SCHEMA)


@pytest.mark.parametrize(
    "broken",
    [
        {"version": "https://jsonfeed.org/version/1", "title": "x", "items": []},
        {"version": "https://jsonfeed.org/version/1.1", "items": []},
        {"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{"id": "1"}]},
        {"version": "https://jsonfeed.org/version/1.1", "title": "x",
         "items": [{"id": "1", "content_text": "a", "date_published": "28/11/2026"}]},
        {"version": "https://jsonfeed.org/version/1.1", "title": "x",
         "items": [{"id": 1, "content_text": "a"}]},
    ],
)
def test_json_feed_schema_rejects_invalid_documents(broken: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
