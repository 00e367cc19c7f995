"""One card per story and the editor's reason, as a reader sees them on the rendered site."""

from __future__ import annotations

import re
from pathlib import Path

from aggregator.app import App
from aggregator.render import render_site
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    UN_NEWS,
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    rule_tag,
    save,
)

ARTICLE = "https://unmik.unmissions.org/srsg-meets-community-leaders-mitrovica"


def _page(app: App, path: str) -> str:
    return (app.config.output_path / path).read_text(encoding="utf-8")


def _story_posts(app: App) -> None:
    save(
        app,
        (make_post("site", text="SRSG meets community leaders in Mitrovica", url=ARTICLE,
                   minutes_ago=30), [rule_tag("UNMIK")]),
        (make_post("tweet", kind="x", text="Today the SRSG met community leaders https://t.co/x",
                   url="https://x.com/UNMIKmedia/status/1", source="x:unmikmedia", author="UNMIK",
                   links=[ARTICLE + "/?utm_source=twitter"], minutes_ago=20), [rule_tag("UNMIK")]),
        (make_post("unnews", text="Kosovo: SRSG meets community leaders", source=f"feed:{UN_NEWS}",
                   url=ARTICLE.replace("https://", "http://www."), minutes_ago=10), [rule_tag("UNMIK")]),
        (make_post("other", text="Human rights workshop in Pristina", minutes_ago=5), [rule_tag("UNMIK")]),
    )


def test_the_same_story_shows_once_with_its_sources(app: App) -> None:
    _story_posts(app)
    render_site(app, ["UNMIK"])
    for path in ("missions/unmik/index.html", "widget/unmik.html"):
        html = _page(app, path)
        assert html.count("Human rights workshop in Pristina") == 1, path
        # The article leads the card; the X post and UN News are listed as its other sources.
        assert html.count("SRSG meets community leaders in Mitrovica") == 1, path
        assert "Today the SRSG met" not in html and "Kosovo: SRSG meets" not in html, path
    page = _page(app, "missions/unmik/index.html")
    also = re.search(r'<p class="also">(.*?)</p>', page, re.S)
    assert also, "no 'Also from' line on the story's card"
    assert "@UNMIKmedia" in also.group(1) and "UN News" in also.group(1)


def test_an_editors_decision_is_shown_as_the_reason(app: App) -> None:
    save(app, (make_post("p1", text="Patrol near the Blue Line"), []))
    app.store.moderate("p1", "add_mission", editor="ana", note="Blue Line patrol", mission="UNIFIL")
    render_site(app, ["UNIFIL"])
    for path in ("missions/unifil/index.html", "widget/unifil.html"):
        text = re.sub(r"<[^>]+>", "", _page(app, path))
        text = re.sub(r"\s+", " ", text).replace("“", "").replace("”", "")
        assert "an editor's decision: Blue Line patrol" in text.replace("&#39;", "'"), path


def test_hidden_story_is_absent_from_every_public_file(app: App, project: Path) -> None:
    _story_posts(app)
    render_site(app)
    for post_id in ("site", "tweet", "unnews"):
        app.store.moderate(post_id, "hide", editor="ana", note="retracted story")
    render_site(app)
    out = app.config.output_path
    leaks = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
             and "community leaders" in p.read_text("utf-8", "replace")]
    assert not leaks
