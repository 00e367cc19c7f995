"""normalize.limits: what one post may carry and cost (#16 items 1 and 2), property-tested."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.models import XML_FORBIDDEN, RawItem
from aggregator.normalize import normalize
from aggregator.normalize.html import sanitize_with_text
from aggregator.normalize.limits import (
    CUT_MARK,
    MAX_DEPTH,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    bound_html,
    cut_text,
    url_safe,
    xml_safe,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
tags = st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<br>", "<img src=x>",
                        "<a href='https://e.org/'>", "</a>", "<table><tr><td>", "<!-- c -->",
                        "<span title='a>b'>", "</span>", "x", " ", "\x01", "\x0b", "\ufffe"])
html_docs = st.lists(tags, max_size=400).map("".join)


@given(st.text())
def test_xml_safe_text_has_no_forbidden_character_and_keeps_the_rest(text: str) -> None:
    clean = xml_safe(text)
    assert not XML_FORBIDDEN.search(clean)
    assert clean == "".join(c for c in text if not XML_FORBIDDEN.match(c))


@given(st.text())
def test_url_safe_percent_encodes_what_xml_forbids(url: str) -> None:
    clean = url_safe(url)
    assert not XML_FORBIDDEN.search(clean)
    assert url_safe("https://e.org/a\x01b") == "https://e.org/a%01b"


@given(st.text(), st.integers(min_value=10, max_value=500))
def test_cut_text_stays_within_its_limit_and_marks_the_cut(text: str, limit: int) -> None:
    cut = cut_text(text, limit)
    assert len(cut) <= limit
    assert cut == text if len(text) <= limit else cut.endswith(CUT_MARK)


@settings(max_examples=200, deadline=None)
@given(html_docs)
def test_bounded_html_sanitizes_like_the_original_when_shallow(html: str) -> None:
    if html.count("<") <= MAX_DEPTH:
        assert bound_html(html) == html
    clean, _ = sanitize_with_text(html, "https://example.org/")
    assert not XML_FORBIDDEN.search(xml_safe(clean))


def _depth(html: str) -> int:
    depth = deepest = 0
    for closing, _name in re.findall(r"<(/?)(div|p|span|b|a|td|tr|table|tbody)\b", html):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


def test_deep_nesting_is_flattened_and_cheap() -> None:
    for tag in ("div", "blockquote", "table", "li", "span"):
        html = f"<{tag}>" * 200_000 + "deep" + f"</{tag}>" * 200_000
        started = time.process_time()
        clean, text = sanitize_with_text(html, "https://example.org/")
        assert time.process_time() - started < 2.0, tag
        assert _depth(clean) <= MAX_DEPTH + 2 and "deep" not in text  # cut before the text
    shallow = "<div>" * 10 + "kept" + "</div>" * 10
    assert sanitize_with_text(shallow)[0] == shallow


def test_a_feed_post_and_an_x_post_come_out_bounded() -> None:
    entry = {"id": "g", "title": "T\x01" * 2_000, "link": "https://e.org/n\x02",
             "summary_detail": {"type": "text/html", "value": "<p>" + "word\x1b " * 40_000 + "</p>"}}
    post = normalize(RawItem("feed:s", "feed", entry), collected_at=NOW)
    assert len(post.title) <= MAX_TITLE_CHARS and post.title.endswith(CUT_MARK)
    assert len(post.text) <= MAX_TEXT_CHARS and post.text.endswith(CUT_MARK)
    assert post.url == "https://e.org/n%02"
    assert not XML_FORBIDDEN.search(post.title + post.text + post.html)
    assert "\\u0001" in post.raw  # the raw entry keeps what was sent
    tweet = {"tweet": {"id": "7", "text": "Patrol\x0b in\x1b Pristina \ud83d", "author_id": "1",
                       "created_at": "2026-11-30T10:00:00.000Z"},
             "includes": {"users": [{"id": "1", "username": "unmik", "name": "UNMIK\x07"}]}}
    x_post = normalize(RawItem("x:unmik", "x", tweet), collected_at=NOW)
    assert not XML_FORBIDDEN.search(x_post.text + x_post.html + x_post.author)
    assert "Pristina" in x_post.text
