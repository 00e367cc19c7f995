"""Fetch sources once, through the collector's own HTTP layer, and say what each serves.

Nothing is stored: a probe reports the HTTP status, the final address and whether every
redirect on the way was permanent (then the new address is suggested), the format, the
number of entries, the newest entry's date (and whether that is stale), the language, and
for a failure the error with its hint. All feeds are fetched at once (``FeedFetcher.get_many``
with enough concurrency for every source; the per-host limit and ``offline`` still hold), so
probing many sources takes about as long as the slowest one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from aggregator.catalog.discover import advertised_feeds
from aggregator.errors import SourceError
from aggregator.models import SourceSpec, iso, parse_iso
from aggregator.settings import Settings
from aggregator.sources.feed_parse import parse_body
from aggregator.sources.feed_result import Response
from aggregator.sources.feeds import FeedFetcher
from aggregator.sources.http import status_error

MAX_AT_ONCE = 256  # connections a probe opens at most (the per-host limit still applies)


@dataclass
class Probe:
    source_id: str
    kind: str
    address: str
    ok: bool = False
    http_status: int | None = None
    final_url: str | None = None
    redirect: str | None = None  # "permanent" or "temporary" when the address moved
    suggested_url: str | None = None  # a permanent redirect's target: use it in feeds/
    format: str | None = None  # feedparser's name: rss20, atom10, json11...
    title: str | None = None
    entries: int | None = None
    newest_entry: str | None = None
    stale: bool | None = None
    language: str | None = None
    html_page: bool = False
    feeds_found: list[str] = field(default_factory=list)  # an HTML page's advertised feeds
    x_user_id: str | None = None
    x_protected: bool | None = None  # its posts cannot be read
    x_suspended: bool | None = None
    error: str | None = None
    hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def probe_feeds(settings: Settings, specs: Sequence[SourceSpec], now: datetime) -> list[Probe]:
    """Fetch every feed spec once, concurrently; reports in the order of ``specs``."""
    if not specs:
        return []
    wide = replace(settings, http_concurrency=min(MAX_AT_ONCE, max(settings.http_concurrency, len(specs))))
    out: dict[str, Probe] = {}
    with FeedFetcher(wide) as fetcher:
        for spec, got in fetcher.get_many([(s, {}) for s in specs]):
            out[spec.id] = (failed(spec, got) if isinstance(got, SourceError)
                            else read_response(spec, got, now, settings))
    return [out[s.id] for s in specs]


def failed(spec: SourceSpec, exc: SourceError) -> Probe:
    return Probe(spec.id, spec.kind, str(spec.url), error=str(exc), hint=exc.hint,
                 http_status=getattr(exc, "http_status", None))


def read_response(spec: SourceSpec, resp: Response, now: datetime, settings: Settings) -> Probe:
    """What one response is: an error status, an HTML page (with its feeds), or a feed."""
    p = Probe(spec.id, spec.kind, str(spec.url), http_status=resp.status, final_url=resp.url)
    if resp.url != spec.url:
        p.redirect = "permanent" if resp.permanent_url else "temporary"
        p.suggested_url = resp.permanent_url
    if resp.status >= 400 or resp.status < 200:
        err = status_error(spec.id, resp.url, resp.status, _phrase(resp.status), None)
        p.error, p.hint = str(err), err.hint
        return p
    parsed = parse_body(resp.body, resp.url, resp.headers.get("content-type"))
    if parsed["html_page"]:
        p.html_page = True
        page = resp.body[:1_000_000].decode("utf-8", "replace")
        p.feeds_found = [url for url, _ in advertised_feeds(page, resp.url)]
        p.error = f"{spec.id}: {resp.url} is an HTML web page, not a feed"
        p.hint = (f"use the page's feed address instead: {p.feeds_found[0]}" if p.feeds_found
                  else "open the page, find its RSS/Atom link and use that address")
        return p
    entries = parsed["entries"]
    if not entries and (parsed["bozo"] or not parsed["version"]):
        p.error = (f"{spec.id}: {resp.url} is not a readable feed"
                   f" ({parsed['bozo'] or 'neither RSS, Atom nor JSON Feed'})")
        p.hint = "check that the address points at the feed itself"
        return p
    feed = parsed["feed"]
    p.ok = True
    p.format = parsed["version"] or "unknown"
    p.title = feed.get("title")
    p.language = feed.get("language") or _entry_language(entries)
    p.entries = len(entries)
    p.newest_entry = newest(entries)
    p.stale = is_stale(p.newest_entry, spec, settings, now)
    return p


def newest(entries: Sequence[Mapping[str, Any]]) -> str | None:
    times = [parse_iso(str(t)) for e in entries
             for t in (e.get("published_parsed"), e.get("updated_parsed")) if t]
    known = [t for t in times if t is not None]
    return iso(max(known)) if known else None


def is_stale(newest_at: str | None, spec: SourceSpec, settings: Settings, now: datetime) -> bool:
    """Older than ``stale_factor`` usual intervals (as the scheduler judges), or no date."""
    when = parse_iso(newest_at) if newest_at else None
    if when is None:
        return True
    interval = timedelta(minutes=spec.interval_minutes or settings.default_interval_minutes)
    return now - when > max(interval * settings.stale_factor, timedelta(days=30))


def _entry_language(entries: Sequence[Mapping[str, Any]]) -> str | None:
    for e in entries:
        lang = (e.get("title_detail") or {}).get("language")
        if lang:
            return str(lang)
    return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
