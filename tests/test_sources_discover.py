"""Feed discovery on HTML pages and the normal form of addresses (pure, property-tested)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aggregator.catalog.discover import advertised_feeds, common_paths, is_handle, normal_url

PAGE = "https://unmiss.unmissions.org/news"


def test_a_page_announces_its_feeds_in_order_resolved_against_base() -> None:
    html = """<html><head><base href="https://unmiss.unmissions.org/en/">
    <LINK REL="Alternate" TYPE="application/rss+xml" HREF="rss.xml" title="News">
    <link rel="alternate" type="application/atom+xml; charset=utf-8" href="/atom.xml">
    <link rel="alternate" type="application/feed+json" href="https://unmiss.unmissions.org/feed.json">
    <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
    <link rel="stylesheet" type="text/css" href="/s.css">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="rss.xml#again">
    </head><body></body></html>"""
    assert advertised_feeds(html, PAGE) == [
        ("https://unmiss.unmissions.org/en/rss.xml", "News"),
        ("https://unmiss.unmissions.org/atom.xml", ""),
        ("https://unmiss.unmissions.org/feed.json", ""),
    ]


def test_usual_paths_are_on_the_pages_site() -> None:
    paths = common_paths("https://unmiss.unmissions.org/en/news?page=2")
    assert paths[0] == "https://unmiss.unmissions.org/rss.xml"
    assert "https://unmiss.unmissions.org/feed" in paths


def test_two_spellings_of_one_address_are_the_same() -> None:
    assert normal_url("HTTPS://News.UN.org:443/feed/rss.xml/#top") == normal_url("http://news.un.org/feed/rss.xml")
    assert normal_url("https://a.org/rss?x=1") != normal_url("https://a.org/rss?x=2")
    assert is_handle("@UNIFIL_") and not is_handle("@not a handle") and not is_handle("UNIFIL_")


@given(st.text(max_size=300), st.sampled_from(["application/rss+xml", "application/atom+xml", "text/html"]))
def test_discovery_survives_any_markup_and_returns_only_web_addresses(text: str, kind: str) -> None:
    html = f'<html><head><link rel="alternate" type="{kind}" href="{text}">{text}</head></html>'
    for url, _title in advertised_feeds(html, PAGE):
        assert url.startswith(("http://", "https://"))
    advertised_feeds(text, PAGE)
    normal_url(text)
