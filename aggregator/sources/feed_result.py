"""From an HTTP response (and, if needed, its parsed body) to a ``FetchResult`` or an error.

Pure: the decisions of ``sources/feeds.py`` that need no network and no parser, so they read
(and test) on their own: 304 -> ``not_modified``; 410 -> ``GoneError``; other 4xx/5xx ->
``FetchError``; a body hashing to the stored ``body_hash`` -> ``unchanged``; an HTML page, or
broken XML with no entry -> ``ParseError``; otherwise ``ok`` with the entries as ``RawItem``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from aggregator.errors import GoneError, ParseError, RateLimited
from aggregator.models import FetchResult, RawItem, SourceSpec, iso
from aggregator.sources.http import max_age_seconds, retry_after, status_error


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # the final URL, after redirects
    headers: Mapping[str, str]
    body: bytes
    permanent_url: str | None  # set when every redirect on the way was 301/308


@dataclass(frozen=True)
class ToParse:
    """The body must be parsed; these are the result fields already known."""

    digest: str
    common: Mapping[str, Any]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def before_parsing(
    spec: SourceSpec, state: Mapping[str, Any], resp: Response, now: datetime
) -> FetchResult | ToParse:
    """Everything decided from the status, headers and body hash; raises ``SourceError``s."""
    headers = {k.lower(): v for k, v in resp.headers.items()}
    common: dict[str, Any] = {
        "source_id": spec.id,
        "http_status": resp.status,
        "etag": headers.get("etag") or state.get("etag"),
        "last_modified": headers.get("last-modified") or state.get("last_modified"),
        "permanent_url": resp.permanent_url,
        "retry_after": retry_after(headers, now),
        "max_age_seconds": max_age_seconds(headers, now),
    }
    if resp.status == 304:
        return FetchResult(status="not_modified", body_hash=state.get("body_hash"), **common)
    if resp.status == 410:
        raise GoneError(
            f"{spec.id}: HTTP 410 Gone from {resp.url}", source=spec.id, http_status=410,
            hint="the publisher removed this feed; it is no longer polled. Remove it from"
            " feeds/ or replace the URL",
        )
    if resp.status == 429:  # the server asks us to wait: not a failure (#14)
        wait = common["retry_after"] or now + timedelta(minutes=spec.interval_minutes or 30)
        raise RateLimited(
            f"{spec.id}: HTTP 429 Too Many Requests from {resp.url}; asked again after {iso(wait)}",
            reset_at=wait, source=spec.id,
            hint="nothing to do: the server asks us to slow down and we wait as it says"
            " (Retry-After); raise the source's interval_minutes if it keeps asking",
        )
    if resp.status >= 400 or resp.status < 200:
        raise status_error(spec.id, resp.url, resp.status, _reason(resp.status),
                           common["retry_after"])
    digest = hashlib.sha256(resp.body).hexdigest()
    if digest == state.get("body_hash"):
        return FetchResult(status="unchanged", body_hash=digest, **common)
    return ToParse(digest=digest, common=common)


def from_parsed(
    spec: SourceSpec, resp: Response, parsed: Mapping[str, Any], known: ToParse
) -> FetchResult:
    """The parsed body (``feed_parse.parse_body``) as items, or the ``ParseError`` it deserves."""
    entries = parsed["entries"] or parsed.get("prepared")
    if parsed["html_page"]:
        alt = parsed["alternate"]
        raise ParseError(
            f"{spec.id}: {resp.url} is an HTML web page, not a feed", source=spec.id,
            hint=f"use the page's feed address instead: {alt}" if alt else
            "open the page, find its RSS/Atom link and put that URL in feeds/",
        )
    if not entries and parsed["bozo"]:
        raise ParseError(
            f"{spec.id}: {resp.url} is not a readable feed ({parsed['bozo']})", source=spec.id,
            hint="the XML is broken; check the URL in a browser and tell the publisher;"
            " it is retried later",
        )
    if not entries and not parsed["version"]:
        raise ParseError(
            f"{spec.id}: {resp.url} is neither RSS nor Atom"
            f" (Content-Type: {resp.headers.get('content-type', 'none')})",
            source=spec.id, hint="check that the URL points at the feed itself",
        )
    warnings = (f"read despite a problem: {parsed['bozo']}",) if parsed["bozo"] else ()
    prepared = parsed.get("prepared")
    return FetchResult(
        status="ok", items=() if prepared is not None else items_of(spec, resp.url, parsed),
        body_hash=known.digest, warnings=warnings, prepared=prepared, **known.common,
    )


def items_of(spec: SourceSpec, url: str, parsed: Mapping[str, Any]) -> tuple[RawItem, ...]:
    """The parsed entries as ``RawItem``s, with the feed's title and link beside each."""
    feed = parsed["feed"]
    link = feed.get("link") or url
    title = feed.get("title") or spec.name
    language = feed.get("language") or spec.language
    return tuple(
        RawItem(source_id=spec.id, kind="feed", data=e, feed_title=title, feed_link=link,
                feed_language=language)
        for e in parsed["entries"]
    )


__all__ = ["Response", "ToParse", "before_parsing", "from_parsed", "items_of"]
