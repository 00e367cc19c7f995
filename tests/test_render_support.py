"""Helpers for the render, widget, syndication and XSS tests (no tests here).

A small project on a temporary folder: config.yaml, two mission files, an app with a fixed
clock, and posts saved through ``Store.save_posts`` as collection would save them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.models import Media, Post, Tag

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

MISSION_FILES: dict[str, dict[str, Any]] = {
    "UNMIK": {
        "acronym": "UNMIK",
        "names": {"en": "United Nations Interim Administration Mission in Kosovo",
                  "fr": "Mission d'administration intérimaire des Nations Unies au Kosovo"},
        "country": "Kosovo", "status": "active", "established": 1999,
        "website": "https://unmik.unmissions.org",
        "profile": {
            "summary": "A small civilian mission working on trust between communities.",
            "mandate": "Resolution 1244 (1999) remains its legal basis.",
            "background": "Created after the 1999 conflict.",
            "why_it_matters": "It speaks with communities on both sides.",
            "headquarters": "Pristina",
            "head": {"name": "Peter N. Due", "as_of": "2026-01"},
            "figures": [{"label": "total personnel", "value": "374", "as_of": "2025",
                         "source_url": "https://unmik.unmissions.org/mandate"}],
            "events": [{"date": "1999-06-10", "event": "Resolution 1244 adopted",
                        "source_url": "https://press.un.org/"}],
            "sources": ["https://unmik.unmissions.org/mandate"],
        },
        "sources": [{"kind": "feed", "url": "https://unmik.example.org/rss.xml", "name": "UNMIK news"}],
        "rules": {"hashtags": ["UNMIK"], "names": ["UNMIK"]},
    },
    "UNAMID": {
        "acronym": "UNAMID",
        "names": {"en": "African Union-United Nations Hybrid Operation in Darfur",
                  "fr": "Opération hybride Union africaine-Nations Unies au Darfour"},
        "country": "Sudan", "status": "closed", "established": 2007, "closed": 2020,
        "profile": {"summary": "A closed mission in Darfur.", "mandate": "Protect civilians.",
                    "why_it_matters": "Its archive documents Darfur."},
        "sources": [{"kind": "x", "handle": "unamidnews", "name": "UNAMID"}],
        "rules": {"hashtags": ["UNAMID"]},
    },
}

FEED_SOURCE = "feed:https://unmik.example.org/rss.xml"
X_SOURCE = "x:unamidnews"


def make_project(root: Path, **settings: Any) -> Path:
    feeds = root / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    for acronym, data in MISSION_FILES.items():
        (feeds / f"{acronym.lower()}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    config = {"database": "data/test.db", "output_dir": "output", "missions_dir": "feeds",
              "base_url": "https://feeds.example.org/site/", **settings}
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def make_test_app(root: Path, **settings: Any) -> App:
    return make_app(load_config(make_project(root, **settings)), clock=lambda: NOW, env={})


def make_post(
    n: int,
    *,
    text: str = "",
    title: str = "",
    kind: str = "feed",
    source_id: str = FEED_SOURCE,
    minutes_ago: int | None = None,
    media: Sequence[Media] = (),
    url: str | None = None,
    author: str = "UNMIK news",
    handle: str | None = None,
    language: str | None = "en",
    retweet: bool = False,
    reply: bool = False,
    html: str = "",
) -> Post:
    published = NOW - timedelta(minutes=minutes_ago if minutes_ago is not None else 60 * n + 5)
    text = text or f"Post number {n} about #UNMIK in Pristina."
    return Post(
        id=f"p{n:04d}",
        source_id=source_id,
        kind=kind,  # type: ignore[arg-type]
        external_id=f"ext-{n}",
        url=url if url is not None else f"https://unmik.example.org/news/{n}",
        author=author,
        author_handle=handle,
        title=title,
        text=text,
        html=html or f"<p>{text}</p>",
        published_at=published,
        collected_at=NOW,
        language=language,
        media=tuple(media),
        is_retweet=retweet,
        is_reply=reply,
        content_hash=hashlib.sha256(f"{n}{text}{title}{media}".encode()).hexdigest(),
    )


def save(app: App, posts: Sequence[Post], mission: str = "UNMIK", rule: str = "hashtag") -> None:
    tagged = [(p, [Tag(mission=mission, rule=rule, matched="#" + mission)]) for p in posts]
    app.store.save_posts(tagged)


def hide(app: App, post_id: str) -> None:
    app.store.db.execute("INSERT OR REPLACE INTO moderation (post_id, hidden) VALUES (?, 1)", [post_id])
    app.store.db.conn.commit()


def pin(app: App, post_id: str) -> None:
    app.store.db.execute("INSERT OR REPLACE INTO moderation (post_id, pinned) VALUES (?, 1)", [post_id])
    app.store.db.conn.commit()
