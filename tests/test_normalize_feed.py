"""Feed entries -> posts, on real fixtures read in place: ids, links, encodings, tags."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import load_config
from aggregator.models import Post, RawItem
from aggregator.normalize import normalize
from aggregator.normalize.feed import normalize_feed_entry, post_id
from aggregator.sources.feed_parse import parse_body
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
        source_id="x:unmissmedia", kind="feed",  # an X handle read through the bridge
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


def test_content_hash_raw_json_and_id_are_pinned() -> None:
    """Stored posts keep these: a change here makes every archived post look changed."""
    data = {"id": "g1", "link": "https://example.org/a?utm_source=x&b=1",
            "title": 'Caf\u00e9 "report"', "published_parsed": "2026-11-27T08:00:00Z",
            "author": "UN News", "summary": '<p>Rain &amp; wind \u2013 <a href="/more">more</a></p>',
            "media_content": [{"url": "https://example.org/i.jpg", "width": "640"}],
            "tags": [{"term": "x", "n": 1, "ok": True}]}
    post = normalize(RawItem("feed:s", "feed", data, feed_title="F",
                             feed_link="https://example.org/"), collected_at=NOW)
    assert post.content_hash == "23304d48b946e26463efe504fadae3c28d90858ff38597b6636e7a6e5f282da5"
    assert post.id == "f:f7aed9a03c53addf7d846d88"
    assert post.raw == (
        '{"author": "UN News", "id": "g1", "link": "https://example.org/a?utm_source=x&b=1", '
        '"media_content": [{"url": "https://example.org/i.jpg", "width": "640"}], '
        '"published_parsed": "2026-11-27T08:00:00Z", '
        '"summary": "<p>Rain &amp; wind \u2013 <a href=\\"/more\\">more</a></p>", '
        '"tags": [{"n": 1, "ok": true, "term": "x"}], "title": "Caf\u00e9 \\"report\\""}'
    )
    assert (post.canonical_url, post.links, post.text) == (
        "https://example.org/a?b=1", ("https://example.org/more",), "Rain & wind \u2013 more")


# --- links: plain http(s) URLs skip urljoin and urlsplit, with the same result ----------


def _join_as_first_written(base: str | None, url: str) -> str:
    url = url.strip()
    try:
        return urljoin(base, url) if base else url
    except ValueError:
        return url


def _web_url_as_first_written(url: str) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _web_or_none(url: str) -> str | None:
    try:
        return _web_url_as_first_written(url)
    except ValueError:  # a malformed host: the entry is kept without that link
        return None


def _expected_urls(feed_link: str | None, link: str, media: str) -> tuple[str | None, list[str]]:
    url = _web_or_none(_join_as_first_written(feed_link, link)) if link else None
    media_url = _web_or_none(_join_as_first_written(url or feed_link, media))
    return url, [media_url] if media and media_url else []


url_piece = st.sampled_from(
    ["http", "https", "HTTP", "ftp", "mailto", "://", ":", "//", "example.org", "127.0.0.1:8000",
     "[::1]", "[", "\uff21", "/", "/a", ";p", "?", "?q=1&utm_source=x", "#", "#f", "..", " ", "\t",
     "\n", "\x00", "\x7f", "\u2028", "\u00e9", "%20", "@", "\\"])
urls = st.lists(url_piece, max_size=8).map("".join) | st.builds(
    "{}://{}{}".format, st.sampled_from(["http", "https"]), st.sampled_from(["example.org", "a.b:81"]),
    st.lists(url_piece, max_size=5).map("".join))


@settings(max_examples=500, deadline=None)
@given(urls, urls, st.sampled_from([None, "https://example.org/news/", "http://example.org/a;p?q",
                                    "ftp://example.org/", "not a url"]))
def test_entry_and_media_links_resolve_as_first_written(link: str, media: str,
                                                        feed_link: str | None) -> None:
    item = RawItem("feed:s", "feed", {"id": "g", "link": link, "media_content": [{"url": media}]},
                   feed_link=feed_link)
    url, media_urls = _expected_urls(feed_link, link, media)
    post = normalize_feed_entry(item, collected_at=NOW)  # before normalize.limits' clean-up
    assert (post.url, [m.url for m in post.media]) == (url, media_urls)


def test_an_entry_with_malformed_links_is_kept_without_them() -> None:
    entry = {"id": "tag:x,2026:1", "link": "http://[broken", "title": "Patrol in Abyei",
             "summary": '<p>See <a href="http://[broken/x">this</a> and '
                        '<a href="https://example.org/ok">that</a>.</p>',
             "media_content": [{"url": "https://[bad/img.jpg"}]}
    post = normalize(RawItem("feed:s", "feed", entry, feed_link="https://example.org/"),
                     collected_at=NOW)
    assert post.title == "Patrol in Abyei" and post.url is None and post.media == ()
    assert post.links == ("https://example.org/ok",)


def test_another_sites_status_links_are_not_x_posts() -> None:
    """Two sites' /<name>/status/<digits> posts stay two posts; X's hosts are X posts (#14)."""
    def entry(source: str, link: str) -> RawItem:
        return RawItem(source, "feed", {"id": link, "link": link, "title": "Patrol", "summary": "Patrol"})

    one = normalize(entry("feed:https://a.example/feed", "https://a.example/unmiss/status/42"), collected_at=NOW)
    two = normalize(entry("feed:https://b.example/feed", "https://b.example/unmiss/status/42"), collected_at=NOW)
    assert one.id != two.id and not one.id.startswith("x:") and not two.id.startswith("x:")
    on_x = normalize(entry("feed:https://a.example/feed", "https://mobile.twitter.com/UNMISSmedia/status/42"),
                     collected_at=NOW)
    assert on_x.id == "x:42"
