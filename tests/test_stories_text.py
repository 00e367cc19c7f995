"""One card per story across sources (#19): the mission's post, its X post and UN News' article
about one event are one card, though none links to another; different reports stay apart."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.models import Tag, iso
from aggregator.render import render_site
from aggregator.stories import group_stories
from aggregator.stories.text import fingerprint, same_story
from tests.story_pairs import load_pairs, scores
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    UN_NEWS,
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    save,
    source_id,
)

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SITE = ("Joint patrol in Abyei town market",
        "UNISFA police and troops conducted a joint foot patrol in the Abyei town market to build "
        "confidence among traders from both communities.")
TWEET = ("Our police and troops walked through the #Abyei town market on a joint foot patrol today, "
         "talking with traders from both communities. #UNISFA")
UN_NEWS_TEXT = ("Abyei: UN force patrols town market to build trust. Police and troops of UNISFA "
                "carried out a joint foot patrol in the Abyei town market on Sunday, meeting traders "
                "from both communities, the mission said.")
OTHER_PATROL = ("Joint patrol in Agok checks water points",
                "UNISFA troops conducted a joint patrol in Agok, south of Abyei town, checking water "
                "points used by herders before the dry season migration.")


def own(mission: str) -> Tag:
    return Tag(mission, "own_source", "")


def row(post_id: str, text: str, *, hours: float = 0, kind: str = "feed", title: str = "",
        missions: tuple[str, ...] = ("UNISFA",), source: str = "") -> dict[str, Any]:
    return {"id": post_id, "kind": kind, "title": title, "text": text, "url": None, "links": [],
            "source_id": source or f"src-{post_id}", "published_at": iso(T0 + timedelta(hours=hours)),
            "tags": [Tag(m, "name", m) for m in missions]}


def ids(rows: list[dict[str, Any]], **kw: Any) -> list[list[str]]:
    return [[r["id"] for r in s.rows] for s in group_stories(rows, **kw)]


def test_site_x_post_and_un_news_without_shared_links_are_one_story() -> None:
    site = row("site", SITE[1], title=SITE[0], hours=0) | {"tags": [own("UNISFA")]}
    rows = [
        row("unnews", UN_NEWS_TEXT, hours=20),
        row("tweet", TWEET, kind="x", hours=2) | {"tags": [own("UNISFA")]},
        site,
    ]
    stories = group_stories(rows)
    assert [[r["id"] for r in s.rows] for s in stories] == [["site", "unnews", "tweet"]]
    assert stories[0].lead["id"] == "site"  # the mission's own article leads, not UN News


def test_two_patrol_reports_of_one_mission_in_one_week_stay_apart() -> None:
    rows = [row("market", SITE[1], title=SITE[0]), row("agok", OTHER_PATROL[1], title=OTHER_PATROL[0], hours=30)]
    assert ids(rows) == [["market"], ["agok"]]


def test_the_same_text_far_apart_in_time_or_in_different_missions_stays_apart() -> None:
    text = "UNISFA engineers rebuilt the bridge on the Abyei to Diffra road after the floods."
    assert ids([row("a", text), row("b", text, hours=24 * 10)]) == [["a"], ["b"]]
    assert ids([row("a", text), row("b", text, hours=1, missions=("UNMISS",))]) == [["a"], ["b"]]
    assert ids([row("a", text), row("b", text, hours=1)]) == [["a", "b"]]
    assert ids([row("a", text), row("b", text, hours=24 * 10)], window=timedelta(days=30)) == [["a", "b"]]


def test_numbered_updates_never_join() -> None:
    a = row("237", "UNMISS Protection of Civilians sites update No. 237: population figures by site")
    b = row("238", "UNMISS Protection of Civilians sites update No. 238: population figures by site")
    assert ids([a, b]) == [["237"], ["238"]]


def test_short_posts_never_join_by_text() -> None:
    assert ids([row("a", "Photo of the day #UNISFA"), row("b", "Photo of the day #UNISFA")]) == [["a"], ["b"]]


@pytest.mark.shared
def test_labelled_pairs_precision_and_recall() -> None:
    result = scores(load_pairs())
    assert result["pairs"] >= 60 and result["same"] >= 25
    wrong = [f"{p.id}: {p.note}" for p in result["false_merges"]]
    assert result["precision"] >= 0.95, wrong  # a wrong merge hides a post
    assert result["recall"] >= 0.8, [f"{p.id}: {p.note}" for p in result["missed"]]


@given(st.text(max_size=400), st.text(max_size=400))
def test_same_story_is_symmetric_and_never_raises(a: str, b: str) -> None:
    fa, fb = fingerprint({"title": "", "text": a}), fingerprint({"title": "", "text": b})
    assert same_story(fa, fb) == same_story(fb, fa)
    assert same_story(fa, fa) == (len(fa.words) >= 5)


def _story(app: App) -> None:
    x_source = "x:unisfamedia"
    save(
        app,
        (make_post("site", acronym="UNISFA", text=SITE[1], title=SITE[0], minutes_ago=60 * 24),
         [own("UNISFA")]),
        (make_post("tweet", acronym="UNISFA", kind="x", text=TWEET, source=x_source, author="UNISFA",
                   url="https://x.com/UNISFAmedia/status/1", minutes_ago=60 * 23), [own("UNISFA")]),
        (make_post("unnews", acronym="UNISFA", text=UN_NEWS_TEXT, title=UN_NEWS_TEXT[:55],
                   source=f"feed:{UN_NEWS}", url="https://news.un.org/en/story/2026/11/1", minutes_ago=60 * 5),
         [Tag("UNISFA", "name", "UNISFA")]),
        (make_post("agok", acronym="UNISFA", text=OTHER_PATROL[1], title=OTHER_PATROL[0], minutes_ago=60),
         [own("UNISFA")]),
    )


def test_mission_page_widget_and_feeds_show_the_story_once_naming_the_others(app: App) -> None:
    _story(app)
    render_site(app, ["UNISFA"])
    out = app.config.output_path
    paths = ["missions/unisfa/index.html", "widget/unisfa.html", "feeds/unisfa.xml",
             "feeds/unisfa.rss", "feeds/unisfa.json"]
    for path in paths:
        text = (out / path).read_text(encoding="utf-8")
        cards = re.split(r"<entry>|<item>|\"id\": \"urn:|<li[ >]", text)  # one piece per card or entry
        assert sum("to build confidence among traders" in c for c in cards) == 1, path
        assert "talking with traders" not in text and "meeting traders" not in text, path
        assert "checking water points" in text, path  # the other patrol keeps its own card
        plain = re.sub(r"<[^>]+>|&lt;[^&]*&gt;", "", text.replace("\\u0026", "&"))
        also = re.search(r"(?i)also (?:from|publi\w*(?: par)?) ([^.]*)\.", plain)
        assert also and "@UNISFAmedia" in also.group(1) and "UN News" in also.group(1), path
    items = json.loads((out / "feeds/unisfa.json").read_text(encoding="utf-8"))["items"]
    assert [i["id"].rsplit(":", 1)[1] for i in items] == ["agok", "site"]
