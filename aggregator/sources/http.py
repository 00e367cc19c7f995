"""HTTP helpers for fetchers: cache headers, Retry-After, host policy, errors worded for people.

Pure functions over header values and URLs; the HTTP client itself (httpx) lives in
``sources/feeds.py``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from aggregator.errors import FetchError
from aggregator.settings import Settings

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-cache|no-store)\b", re.IGNORECASE)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Wed, 21 Oct 2026 07:28:00 GMT``) as aware UTC, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """``Retry-After`` (seconds or an HTTP date) as the time we may ask again."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    return http_date(value)


def max_age_seconds(headers: Mapping[str, str], now: datetime) -> int | None:
    """How long the response says it stays fresh: ``Cache-Control: max-age``, else ``Expires``."""
    cache_control = headers.get("cache-control") or ""
    if _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    if match:
        return int(match.group(1)) or None
    expires = http_date(headers.get("expires"))
    if expires is None:
        return None
    origin = http_date(headers.get("date")) or now
    seconds = int((expires - origin).total_seconds())
    return seconds if seconds > 0 else None


def basic_auth(user: str, password: str) -> str:
    """RFC 7617 Basic credentials (UTF-8), as aiohttp 3.10-3.13 all accept in a header."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def check_allowed(url: str, settings: Settings, source: str) -> None:
    """Refuse non-HTTP URLs, and any host outside ``allowed_hosts`` when ``offline`` is on."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(
            f"{source}: {url!r} is not an http(s) URL",
            source=source,
            hint="fix the feed URL in its mission file under feeds/",
        )
    if settings.offline and host_of(url) not in {h.lower() for h in settings.allowed_hosts}:
        raise FetchError(
            f"{source}: host {host_of(url)} is not reachable while `offline` is true",
            source=source,
            hint="add the host to `allowed_hosts` in config.yaml, or set `offline: false`",
        )


def status_error(source: str, url: str, status: int, reason: str, retry: datetime | None) -> FetchError:
    """An HTTP error status as a ``FetchError`` that says what it means and what to do."""
    text = f"{source}: HTTP {status} {reason}".rstrip() + f" from {url}"
    if status == 404:
        hint = "the feed is not at this address any more; find its new URL and update feeds/"
    elif status in (401, 403):
        hint = "the server refuses us; check the URL, or whether the feed needs a login or blocks our User-Agent"
    elif status == 429:
        hint = "the server asks us to slow down; it is retried after its Retry-After time"
    elif status >= 500:
        hint = "the server failed; it is retried with backoff, nothing to do unless it persists"
    else:
        hint = "check the feed URL in a browser"
    return FetchError(text, source=source, hint=hint, http_status=status, retry_after=retry)


__all__ = ["check_allowed", "host_of", "http_date", "max_age_seconds", "retry_after", "status_error"]
