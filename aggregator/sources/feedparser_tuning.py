"""feedparser's hot spots, made faster without changing any result (issue #2).

feedparser is the parser this project must use, and parsing is most of a cold collection's
CPU. Profiled on the collection benchmark, feedparser spends a third of its time on work
the results do not need. ``tune()`` removes four such costs in the process that parses:

- **Base-URI joins.** At every element start, feedparser re-joins the document's base URI
  with itself (``mixin.make_safe_absolute_uri(base, base)``). The function is pure (strings
  in, a string out, against a constant scheme list), so a memoized copy returns the same.
- **Dictionary lookups.** Every read or write of a ``FeedParserDict`` key first checks the
  key against its legacy aliases (``description`` -> ``summary``, ``category``,
  ``enclosures``...) in Python; a missing key in ``get`` raises and catches an exception.
  Keys that are not aliases now go straight to ``dict``; aliases keep feedparser's code.
- **Copies.** Each text element's parameters (type, language, base) are deep-copied through
  ``copy``'s generic path, which also looks up ``__deepcopy__`` through
  ``FeedParserDict.__getattr__`` and fails with an exception. A ``__deepcopy__`` that does
  what that generic path does for a ``dict`` subclass skips both.
- **Character data in pieces.** expat reports the text of an element in a piece per line
  and per entity reference (about 40 per entry of a typical feed), each handled in Python.
  feedparser's SAX parser is made from ``create_parser`` below: the standard expat reader
  with ``buffer_text`` on, so a run of text comes as one piece. SAX allows either; feedparser
  joins the pieces anyway.

On the benchmark's feeds these take feedparser from ~210 to ~170 us per entry (see
docs/benchmarks.md). ``tests/test_feeds_parse.py`` parses every real fixture with and
without them and requires identical results, and checks that each is in place, so a
feedparser release that moves one of these is noticed.
"""

from __future__ import annotations

import copy
import functools
from typing import Any
from xml.sax import expatreader

# The SAX "driver" name feedparser is given first: this module, through ``create_parser``.
DRIVER = __name__


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
    if isinstance(drivers, list) and drivers[:1] != [DRIVER]:
        drivers.insert(0, DRIVER)


def tune() -> None:
    """Apply the four speed-ups to this process's feedparser (once; later calls do nothing).

    One whose target a feedparser release has moved is skipped: parsing stays correct, only
    slower, and ``tests/test_feeds_parse.py`` fails until this module follows the move."""
    _memoize_base_joins()
    _direct_dict_access()
    _buffered_text()


__all__ = ["DRIVER", "create_parser", "tune"]
