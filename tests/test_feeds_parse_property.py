"""Property tests for parsing + normalizing: whatever text a feed carries comes out intact."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.models import RawItem
from aggregator.normalize import normalize
from aggregator.sources.feed_parse import parse_body

NOW = datetime(2026, 11, 28, tzinfo=UTC)
# XML 1.0 allows no control characters other than tab/newline; feeds cannot carry them.
chars = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"), blacklist_characters="\ufffe\uffff")
# feedparser repairs UTF-8 that was decoded as Latin-1 and encoded again ("Â\xa0" -> "\xa0",
# the double-encoded-html fixture): such byte pairs are mojibake by design, not text to keep.
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")
words = st.text(chars, min_size=1, max_size=30).filter(
    lambda s: bool(s.strip()) and not MOJIBAKE.search(s)
)


def _document(atom: bool, entries: list[tuple[str, str]]) -> bytes:
    if atom:
        body = "".join(
            f"<entry><id>urn:e:{i}</id><title>{escape(t)}</title>"
            f"<summary type='html'>{escape('<p>' + html.escape(d) + '</p>')}</summary></entry>"
            for i, (t, d) in enumerate(entries)
        )
        doc = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>{body}</feed>"
    else:
        body = "".join(
            f"<item><guid>e{i}</guid><title>{escape(t)}</title>"
            f"<description>{escape('<p>' + html.escape(d) + '</p>')}</description></item>"
            for i, (t, d) in enumerate(entries)
        )
        doc = f"<rss version='2.0'><channel><title>F</title>{body}</channel></rss>"
    return ("<?xml version='1.0' encoding='utf-8'?>" + doc).encode()


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.lists(st.tuples(words, words), min_size=1, max_size=4))
def test_titles_and_text_survive_parse_and_normalize(
    atom: bool, entries: list[tuple[str, str]]
) -> None:
    parsed = parse_body(_document(atom, entries), "https://example.org/f.xml", "application/xml")
    assert not parsed["bozo"], parsed["bozo"]
    posts = [normalize(RawItem("feed:f", "feed", e, feed_link="https://example.org/"),
                       collected_at=NOW) for e in parsed["entries"]]
    assert [p.title for p in posts] == [" ".join(t.split()) for t, _ in entries]
    assert [" ".join(p.text.split()) for p in posts] == [" ".join(d.split()) for _, d in entries]
    assert len({p.id for p in posts}) == len(entries)
