"""Parse a feed body with feedparser, in a worker process.

``parse_body`` gives plain data (picklable, JSON-safe): the feed's title, link and language,
its entries with times as ISO strings, whether it is an HTML page (and the feed it points to).
feedparser's own sanitizer and relative-URI rewriting are off: ``normalize.html`` cleans and
resolves HTML, once, with an allowlist, and ``tune_feedparser`` removes feedparser's costs
that change no result, on a process's first parse. With ``after_parse`` the entries are
normalized and tagged in the same worker call, so they cross the process boundary once.
This is the only module that imports feedparser.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from xml.sax import expatreader

import feedparser

from aggregator.models import RawItem, SourceSpec, iso
from aggregator.sources.feed_result import items_of

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_ALTERNATE = re.compile(
    r"<link\b[^>]*type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE
)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.IGNORECASE)


# --- feedparser's hot spots, made faster without changing any result (issue #2) ------------
#
# feedparser is the parser this project must use, and parsing is most of a cold collection's
# CPU. Profiled on the collection benchmark, it spends about a quarter of its time on work its
# results do not need; ``tune_feedparser()`` removes four such costs in the process that
# parses (called by ``parse_body``, so importing this module changes nothing):
# - Base-URI joins: at every element start feedparser re-joins the document's base URI with
#   itself (``mixin.make_safe_absolute_uri(base, base)``). The function is pure (strings in,
#   a string out, against a constant scheme list), so a memoized copy returns the same.
# - Dictionary lookups: every read or write of a ``FeedParserDict`` key first checks it
#   against the legacy aliases (``description`` -> ``summary``, ``category``, ``enclosures``)
#   in Python, and a missing key in ``get`` raises and catches an exception. Keys that are not
#   aliases now go straight to ``dict``; aliases keep feedparser's code.
# - Copies: each text element's parameters (type, language, base) are deep-copied through
#   ``copy``'s generic path, which first fails a ``__deepcopy__`` lookup through
#   ``FeedParserDict.__getattr__``. A ``__deepcopy__`` that does what that path does for a
#   ``dict`` subclass skips both.
# - Text in pieces: expat reports an element's text in a piece per line and per entity
#   reference (about 40 per entry of a typical feed), each handled in Python. feedparser's SAX
#   parser now comes from ``create_parser`` below: the standard expat reader with
#   ``buffer_text`` on, so a run of text arrives once. SAX allows either; feedparser joins
#   the pieces anyway.
# ``tests/test_feeds_parse.py`` parses every real fixture and a generated feed with and
# without these and requires identical results, and checks that each is in place.

# The SAX "driver" name feedparser is given first: this module, through ``create_parser``.
SAX_DRIVER = __name__


class _BufferedExpatParser(expatreader.ExpatParser):
    """The standard library's expat SAX reader, reporting each run of text once."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True  # type: ignore[attr-defined]


def create_parser(*args: Any, **kwargs: Any) -> expatreader.ExpatParser:
    """The SAX driver entry point that ``xml.sax.make_parser`` calls on this module."""
    return _BufferedExpatParser(*args, **kwargs)


def _memoize_base_joins() -> None:
    from feedparser import mixin

    original = getattr(mixin, "make_safe_absolute_uri", None)
    if callable(original) and not hasattr(original, "cache_info"):
        mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=4096)(original)


def _direct_dict_access() -> None:
    from feedparser.util import FeedParserDict as Dict

    keymap = getattr(Dict, "keymap", None)
    if not isinstance(keymap, dict) or hasattr(Dict.get, "__wrapped__"):
        return
    aliased = frozenset(keymap) | {
        "category", "enclosures", "license", "updated", "updated_parsed"}
    get_item, contains, get, set_item = Dict.__getitem__, Dict.__contains__, Dict.get, Dict.__setitem__

    @functools.wraps(get_item)
    def __getitem__(self: Any, key: Any) -> Any:
        return get_item(self, key) if key in aliased else dict.__getitem__(self, key)

    @functools.wraps(contains)
    def __contains__(self: Any, key: Any) -> bool:
        return bool(contains(self, key)) if key in aliased else dict.__contains__(self, key)

    @functools.wraps(get)
    def get_(self: Any, key: Any, default: Any = None) -> Any:
        return get(self, key, default) if key in aliased else dict.get(self, key, default)

    @functools.wraps(set_item)
    def __setitem__(self: Any, key: Any, value: Any) -> None:
        if key in aliased:
            set_item(self, key, value)
        else:
            dict.__setitem__(self, key, value)

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        # What copy.deepcopy's generic path (__reduce_ex__ + _reconstruct) does for a dict
        # subclass: a new instance, then its attributes and items copied, items set one by one.
        out = type(self)()
        memo[id(self)] = out
        if self.__dict__:
            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
        for key, value in dict.items(self):
            out[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        return out

    Dict.__getitem__ = __getitem__
    Dict.__contains__ = __contains__
    Dict.get = get_
    Dict.__setitem__ = __setitem__
    Dict.__deepcopy__ = __deepcopy__


def _buffered_text() -> None:
    from feedparser import api

    drivers = getattr(api, "PREFERRED_XML_PARSERS", None)
    if isinstance(drivers, list) and drivers[:1] != [SAX_DRIVER]:
        drivers.insert(0, SAX_DRIVER)


_tuning = threading.Lock()
_tuned = False


def tune_feedparser() -> None:
    """Apply the four speed-ups to this process's feedparser (once; later calls do nothing).

    One whose target a feedparser release has moved is skipped: parsing stays correct, only
    slower, and ``tests/test_feeds_parse.py`` fails until this module follows the move.
    Under a lock, so that threads parsing at once never wrap a function twice."""
    global _tuned
    if _tuned:
        return
    with _tuning:
        if not _tuned:
            _memoize_base_joins()
            _direct_dict_access()
            _buffered_text()
            _tuned = True


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
    tune_feedparser()
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


__all__ = ["SAX_DRIVER", "AfterParse", "create_parser", "parse_body", "tune_feedparser"]
