"""Parsing feed bodies: the speed-up applied to feedparser changes no result."""

from __future__ import annotations

import functools
import xml.sax
from pathlib import Path
from typing import Any

import pytest
from feedparser import api, mixin, urls
from feedparser.util import FeedParserDict

from aggregator.sources import feed_parse
from aggregator.sources.feed_parse import parse_body
from tests.conftest import SHARED, need

FIXTURES = SHARED / "fixtures" / "feeds"
TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def _untuned(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser as released, for the rest of the test."""
    for name in ("__getitem__", "__contains__", "get", "__setitem__"):
        monkeypatch.setattr(FeedParserDict, name, getattr(FeedParserDict, name).__wrapped__)
    monkeypatch.delattr(FeedParserDict, "__deepcopy__")
    monkeypatch.setattr(mixin, "make_safe_absolute_uri", urls.make_safe_absolute_uri)
    monkeypatch.setattr(api, "PREFERRED_XML_PARSERS", ["drv_libxml2"])
    monkeypatch.setattr(feed_parse, "tune_feedparser", lambda: None)


def test_feedparser_is_tuned_once_a_feed_is_parsed() -> None:
    # If a feedparser release moves one of these, parsing stays correct but slower: this
    # test is the reminder to follow it.
    parse_body(b"<rss version='2.0'><channel><title>t</title></channel></rss>", "http://h/f", None)
    assert mixin.make_safe_absolute_uri.__wrapped__ is urls.make_safe_absolute_uri
    for name in ("__getitem__", "__contains__", "get", "__setitem__"):
        assert hasattr(getattr(FeedParserDict, name), "__wrapped__"), name
    assert "__deepcopy__" in vars(FeedParserDict)
    assert api.PREFERRED_XML_PARSERS[0] == feed_parse.SAX_DRIVER
    assert type(xml.sax.make_parser(api.PREFERRED_XML_PARSERS)).__name__ == "_BufferedExpatParser"


def test_tuning_twice_changes_nothing_more() -> None:
    feed_parse.tune_feedparser()
    before = (mixin.make_safe_absolute_uri, FeedParserDict.get, list(api.PREFERRED_XML_PARSERS))
    feed_parse.tune_feedparser()
    assert (mixin.make_safe_absolute_uri, FeedParserDict.get, api.PREFERRED_XML_PARSERS) == before
    assert isinstance(mixin.make_safe_absolute_uri, functools._lru_cache_wrapper)
    assert not hasattr(FeedParserDict.get.__wrapped__, "__wrapped__")


def _parse_all(paths: list[Path]) -> dict[str, Any]:
    return {
        str(p): parse_body(p.read_bytes(), f"http://feeds.test/{p.name}", TYPES[p.suffix])
        for p in paths
    }


@pytest.mark.shared
def test_every_fixture_parses_the_same_with_and_without_the_tuning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    need(FIXTURES.is_dir(), f"{FIXTURES} is needed (real feeds, read in place)")
    paths = sorted(p for p in FIXTURES.rglob("*") if p.suffix in TYPES)
    assert len(paths) > 20
    tuned = _parse_all(paths)
    _untuned(monkeypatch)
    plain = _parse_all(paths)
    assert not hasattr(mixin.make_safe_absolute_uri, "cache_info")
    assert tuned == plain
    assert sum(len(v["entries"]) for v in plain.values()) > 100


def test_generated_feeds_parse_the_same_with_and_without_the_tuning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Aliased keys (description, guid, category, enclosures, license), text split by entity
    # references and CDATA, content parameters copied per element, relative and based links.
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xml:base="http://base.test/news/">
<channel><title>A &amp; B</title><link>/home</link><description>Desc &lt;b&gt;x&lt;/b&gt;
line two</description><copyright>CC</copyright>
<item><title>One &#233;t&#233; &amp; &lt;two&gt;</title><guid isPermaLink="false">g-1</guid>
<link>item/1</link><category>Peace</category><category>Mali</category>
<description>&lt;p&gt;Para &amp;amp; &lt;a href="rel/x"&gt;link&lt;/a&gt;&lt;/p&gt;
more</description><content:encoded><![CDATA[<p>CDATA <i>text</i></p>]]> tail</content:encoded>
<enclosure url="media/a.jpg" type="image/jpeg" length="12"/><dc:creator>Ann</dc:creator>
<pubDate>Tue, 03 Jun 2025 10:00:00 +0200</pubDate></item>
<item><title xml:lang="fr">Deux</title><link rel="license" href="/lic"/></item>
</channel></rss>"""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<title type="html">T &lt;b&gt;</title><entry><id>urn:1</id><title type="xhtml">
<div xmlns="http://www.w3.org/1999/xhtml">X <b>y</b> &amp; z</div></title>
<summary>S1
S2 &amp; S3</summary><content type="html" xml:base="http://other.test/">&lt;img src="i.png"&gt;
</content><link rel="license" href="http://l.test/"/><link rel="enclosure" href="e.mp3"/>
<updated>2025-06-03T10:00:00Z</updated><category term="UN"/></entry></feed>"""
    url = "http://feeds.test/f.xml"
    tuned = [parse_body(b, url, t) for b, t in ((body, "application/rss+xml"), (atom, None))]
    _untuned(monkeypatch)
    plain = [parse_body(b, url, t) for b, t in ((body, "application/rss+xml"), (atom, None))]
    assert tuned == plain
    assert tuned[0]["entries"][0]["summary"].startswith("<p>Para &amp; <a")
    assert tuned[0]["entries"][0]["tags"][1]["term"] == "Mali"


def test_a_billion_laughs_feed_is_not_expanded() -> None:
    import time

    levels = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]>'
            "<rss version='2.0'><channel><title>x</title><item><guid>1</guid>"
            "<title>&l9;</title></item></channel></rss>").encode()
    started = time.monotonic()
    parsed = parse_body(body, "http://feeds.test/lol.xml", "application/xml")
    assert time.monotonic() - started < 10  # expanded, it would not finish at all
    assert all(len(str(e.get("title", ""))) < 1000 for e in parsed["entries"])
