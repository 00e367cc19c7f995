"""Parse a feed body with feedparser, in a worker process.

``parse_body`` gives plain data (picklable, JSON-safe): the feed's title, link and language,
its entries with times as ISO strings, whether it is an HTML page (and the feed it points to).
feedparser's own sanitizer and relative-URI rewriting are off: ``normalize.html`` cleans and
resolves HTML, once, with an allowlist. ``feedparser_tuning`` (the only other module that
imports feedparser) removes costs that change no result, on a process's first parse. With
``after_parse`` the entries are normalized and tagged in the same worker call, so they cross
the process boundary once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.models import RawItem, SourceSpec, iso
from aggregator.sources import feedparser_tuning
from aggregator.sources.feed_result import items_of

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_ALTERNATE = re.compile(
    r"<link\b[^>]*type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE
)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _time(value: time.struct_time) -> str | None:
    try:
        return iso(datetime(*value[:6], tzinfo=UTC))
    except (ValueError, OverflowError):
        return None


def _plain(value: Any) -> Any:
    """A feedparser value as data that pickles small and dumps as JSON: times become ISO
    strings; nested dicts and lists are walked only where a time may hide (``*_parsed``)."""
    if isinstance(value, time.struct_time):
        return _time(value)
    if isinstance(value, dict):
        return {str(k): (_plain(v) if k.endswith("_parsed") or isinstance(v, dict) else v)
                for k, v in value.items()}
    return value


AfterParse = Callable[[SourceSpec, Sequence[RawItem], datetime], Any]


def parse_body(
    body: bytes,
    url: str,
    content_type: str | None,
    spec: SourceSpec | None = None,
    after_parse: AfterParse | None = None,
    collected_at: datetime | None = None,
) -> dict[str, Any]:
    """Parse a feed body with feedparser; return plain data (picklable, JSON-safe).

    With ``after_parse`` (run in the same worker process), the entries are handed to it as
    ``RawItem``s and its result is returned as ``prepared`` instead of the entries, so a
    source's items cross the process boundary once, already in their final form.
    """
    feedparser_tuning.tune()
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        body, response_headers=headers, resolve_relative_uris=False, sanitize_html=False
    )
    feed = parsed.get("feed") or {}
    out: dict[str, Any] = {
        "version": parsed.get("version") or "",
        "encoding": parsed.get("encoding"),
        "bozo": str(parsed.get("bozo_exception") or "") if parsed.get("bozo") else "",
        "feed": {"title": feed.get("title"), "link": feed.get("link"),
                 "language": feed.get("language")},
        "entries": [_plain(e) for e in parsed.get("entries") or ()],
        "html_page": False,
        "alternate": None,
    }
    if not out["entries"] and _HTML_START.match(body[:2048]):
        out["html_page"] = True
        head = body[:65536].decode("utf-8", "replace")
        for tag in _ALTERNATE.findall(head):
            href = _HREF.search(tag)
            if href:
                out["alternate"] = urljoin(url, href.group(1))
                break
    if after_parse is not None and spec is not None and out["entries"]:
        out["prepared"] = after_parse(
            spec, items_of(spec, url, out), collected_at or datetime.now(UTC)
        )
        out["entries"] = []
    return out


__all__ = ["AfterParse", "parse_body"]
