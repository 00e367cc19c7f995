"""Parsing feed bodies: the speed-up applied to feedparser changes no result."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from feedparser import mixin, urls

from aggregator.sources import feed_parse as feeds
from aggregator.sources.feed_parse import parse_body
from tests.conftest import SHARED, need

FIXTURES = SHARED / "fixtures" / "feeds"
TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def test_feedparser_base_joins_are_memoized_once_a_feed_is_parsed() -> None:
    # If a feedparser release moves this function, parsing stays correct but loses ~20% of
    # its speed: this test is the reminder to follow it.
    parse_body(b"<rss version='2.0'><channel><title>t</title></channel></rss>", "http://h/f", None)
    assert hasattr(mixin.make_safe_absolute_uri, "cache_info")
    assert mixin.make_safe_absolute_uri.__wrapped__ is urls.make_safe_absolute_uri


def _parse_all(paths: list[Path]) -> dict[str, Any]:
    return {
        str(p): parse_body(p.read_bytes(), f"http://feeds.test/{p.name}", TYPES[p.suffix])
        for p in paths
    }


@pytest.mark.shared
def test_every_fixture_parses_the_same_with_and_without_memoized_base_joins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    need(FIXTURES.is_dir(), f"{FIXTURES} is needed (real feeds, read in place)")
    paths = sorted(p for p in FIXTURES.rglob("*") if p.suffix in TYPES)
    assert len(paths) > 20
    memoized = _parse_all(paths)
    assert hasattr(mixin.make_safe_absolute_uri, "cache_info")
    monkeypatch.setattr(mixin, "make_safe_absolute_uri", urls.make_safe_absolute_uri)
    monkeypatch.setattr(feeds, "_memoize_feedparser_base_joins", lambda: None)
    plain = _parse_all(paths)
    assert not hasattr(mixin.make_safe_absolute_uri, "cache_info")
    assert memoized == plain
    assert sum(len(v["entries"]) for v in plain.values()) > 100


def test_memoizing_twice_wraps_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mixin, "make_safe_absolute_uri", urls.make_safe_absolute_uri)
    feeds._memoize_feedparser_base_joins()
    feeds._memoize_feedparser_base_joins()
    wrapped = mixin.make_safe_absolute_uri
    assert isinstance(wrapped, functools._lru_cache_wrapper)
    assert wrapped.__wrapped__ is urls.make_safe_absolute_uri


def test_a_billion_laughs_feed_is_not_expanded() -> None:
    import time

    levels = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]>'
            "<rss version='2.0'><channel><title>x</title><item><guid>1</guid>"
            "<title>&l9;</title></item></channel></rss>").encode()
    started = time.monotonic()
    parsed = parse_body(body, "http://feeds.test/lol.xml", "application/xml")
    assert time.monotonic() - started < 2
    assert all(len(str(e.get("title", ""))) < 1000 for e in parsed["entries"])
