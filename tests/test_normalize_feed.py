"""Feed entries -> posts, on real fixtures read in place: ids, links, encodings, tags."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.models import Post, RawItem
from aggregator.normalize import normalize
from aggregator.normalize.feed import post_id
from aggregator.sources.feeds import parse_body
from aggregator.tag import Tagger
from tests.conftest import ROOT, need

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def posts_of(
    path: Path, url: str = "https://example.org/feeds/feed.xml"
) -> tuple[dict[str, Any], list[Post]]:
    parsed = parse_body(path.read_bytes(), url, TYPES[path.suffix])
    feed = parsed["feed"]
    items = [
        RawItem(source_id=f"feed:{url}", kind="feed", data=e, feed_title=feed["title"],
                feed_link=feed["link"] or url)
        for e in parsed["entries"]
    ]
    return parsed, [normalize(i, collected_at=NOW) for i in items]


@pytest.fixture
def feeds(shared: Path) -> Path:
    folder = shared / "fixtures" / "feeds"
    need(folder.is_dir(), f"{folder} is missing")
    return folder


def test_reliefweb_gives_20_posts_and_the_osce_items_get_no_mission(feeds: Path) -> None:
    _parsed, posts = posts_of(feeds / "reliefweb_updates_ukraine_2020-09-17.rss.xml",
                              "https://reliefweb.int/updates/rss.xml?legacy-river=country/ukr")
    assert len(posts) == 20 and len({p.id for p in posts}) == 20
    tagger = Tagger.from_config(load_config(ROOT / "config.yaml"))
    osce = [p for p in posts if "OSCE" in p.title]
    assert len(osce) == 8
    assert {p.title: tagger.tag(p) for p in osce} == {p.title: [] for p in osce}
    first = posts[0]
    assert first.author == "Danish Refugee Council, Danish Demining Group"
    assert first.published_at == datetime(2020, 9, 17, 7, 24, 25, tzinfo=UTC)
    assert first.text.startswith("Country: Ukraine\nSources: Danish Refugee Council")
    assert "&ndash;" not in first.text and "\u2013" in first.text  # entities decoded
    assert first.media[0].url.endswith(".pdf") and first.media[0].kind == "enclosure"


@pytest.mark.parametrize("name", ["relative.rss", "relative.atom"])
def test_relative_links_resolve_against_the_feed_address(feeds: Path, name: str) -> None:
    _parsed, (post,) = posts_of(feeds / "reader" / name, "https://example.org/feeds/x.xml")
    assert post.url in ("https://example.org/feeds/blog/post/1",
                        "https://example.org/feeds/entries/entry.html")
    assert post.media[0].url == "https://example.org/feeds/enclosure?q=a#fragment"
    assert "<script" not in post.html and "evil" not in post.text


def test_relative_links_inside_html_resolve_and_get_rel(feeds: Path) -> None:
    _parsed, (post,) = posts_of(
        feeds / "feedparser" / "wellformed" / "base" / "rel_uri_with_unicode_character.xml"
    )
    assert post.html == '<a href="http://any.test/%C3%80" rel="noopener nofollow ugc">uri</a>'
    assert post.links == ("http://any.test/%C3%80",)


@pytest.mark.parametrize(
    ("rel", "where", "expected"),
    [
        ("feedparser/encoding/euc-kr.xml", "feed_title", "\ub144"),
        ("feedparser/encoding/http_i18n.xml", "feed_title", "Iñtërnâtiônàlizætiøn"),
        ("feedparser/encoding/demoronize-1.xml", "text", "don\u2019t"),
        ("feedparser/encoding/double-encoded-html.xml", "text", "\u2026"),
        ("feedparser/illformed/chardet/windows1255.xml", "text", "האם תדפיס נייר של אתר אינטרנט"),
        ("real_world/encoding.rss", "title", "Mãe de utente é a nova presidente da Raríssimas"),
        ("real_world/uolNoticias.rss", "text", "Líder na pesquisa Ibope"),
        ("real_world/heise.atom", "title", "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"),
    ],
)
def test_each_encoding_sample_decodes_to_the_right_text(
    feeds: Path, rel: str, where: str, expected: str
) -> None:
    parsed, posts = posts_of(feeds / rel)
    if where == "feed_title":
        assert parsed["feed"]["title"] == expected
    else:
        assert getattr(posts[0], where).startswith(expected)


@pytest.mark.parametrize(
    ("rel", "encoding"),
    [("feedparser/encoding/big5.xml", "big5"), ("feedparser/encoding/utf-16le-bom.xml", "utf-16le"),
     ("feedparser/encoding/utf-8-bom.xml", "utf-8")],
)
def test_declared_and_bom_encodings_are_detected(feeds: Path, rel: str, encoding: str) -> None:
    parsed, _posts = posts_of(feeds / rel)
    assert parsed["encoding"].lower() == encoding and not parsed["bozo"]


def test_titles_keep_literal_brackets_but_drop_markup(feeds: Path) -> None:
    atom = feeds / "feedparser" / "wellformed" / "atom10"
    assert posts_of(atom / "entry_title_text_plain_brackets.xml")[1][0].title == (
        "History of the <blink> tag"
    )
    assert posts_of(atom / "entry_title_escaped_markup.xml")[1][0].title == "Example Atom"


def test_identity_is_guid_then_link_then_content(feeds: Path) -> None:
    _p, full = posts_of(feeds / "reader" / "full.rss")
    again = posts_of(feeds / "reader" / "full.rss")[1]
    assert [p.id for p in full] == [p.id for p in again]  # stable across collections
    assert full[0].external_id == "7bd204c6-1655-4c27-aeee-53f933c5395f"
    assert full[2].external_id == "source:only-url"  # guid without a link
    no_id = normalize(RawItem("feed:s", "feed", {"link": "https://example.org/a"}), collected_at=NOW)
    assert no_id.external_id == "https://example.org/a"
    bare = normalize(RawItem("feed:s", "feed", {"title": "T", "summary": "S"}), collected_at=NOW)
    assert bare.external_id.startswith("sha256:")
    assert post_id("feed:a", "x") != post_id("feed:b", "x")  # per source


def test_an_x_status_seen_through_a_bridge_gets_the_api_id() -> None:
    item = RawItem(
        source_id="feed:http://rsshub.local/twitter/user/UNMISSmedia", kind="feed",
        data={"id": "https://nitter.net/UNMISSmedia/status/1576994746135764992#m",
              "link": "https://nitter.net/UNMISSmedia/status/1576994746135764992#m",
              "title": "RT @UN: Peace", "summary": "RT @UN: Peace #SouthSudan"},
    )
    post = normalize(item, collected_at=NOW)
    assert post.id == "x:1576994746135764992"
    assert post.is_retweet and post.hashtags == ("SouthSudan",) and post.mentions == ("UN",)


def test_a_changed_entry_gets_a_new_content_hash_and_keeps_its_id() -> None:
    base = {"id": "g1", "title": "Report", "summary": "<p>Rain</p>"}
    one = normalize(RawItem("feed:s", "feed", base), collected_at=NOW)
    two = normalize(RawItem("feed:s", "feed", {**base, "summary": "<p>Rain and wind</p>"}),
                    collected_at=NOW)
    same = normalize(RawItem("feed:s", "feed", dict(base)), collected_at=NOW)
    assert one.id == two.id and one.content_hash != two.content_hash
    assert one.content_hash == same.content_hash
