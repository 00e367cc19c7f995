"""Feed discovery on an HTML page, and the normal form of a feed address or X handle.

Pure: no network. ``sources add`` fetches a page through ``catalog.probe`` and hands its
body here; the candidates found are then fetched in turn.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

# <link rel="alternate" type=...> values that announce a feed (RSS, Atom, RDF, JSON Feed).
FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml",
    "application/feed+json", "application/json", "application/x.atom+xml",
    "text/xml", "application/xml",
})
# Tried in this order when a page links no feed (Drupal, WordPress, Hugo, Jekyll, Ghost...).
COMMON_PATHS = ("/rss.xml", "/feed", "/feed/", "/rss", "/atom.xml", "/feed.xml", "/index.xml")


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[tuple[str, str]] = []  # (url, title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "base" and a.get("href") and not self.found:
            self.base = urljoin(self.base, a["href"])
        if tag != "link" or not a.get("href"):
            return
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES:
            url = urljoin(self.base, a["href"])
            if urlsplit(url).scheme in ("http", "https"):
                self.found.append((url, a.get("title", "")))


def advertised_feeds(html: str, page_url: str) -> list[tuple[str, str]]:
    """The feeds a page announces in ``<link rel="alternate">``, in page order, no repeats."""
    parser = _Links(page_url)
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # a page too broken to read: what was found stays
        pass
    seen: set[str] = set()
    out = []
    for url, title in parser.found:
        if normal_url(url) not in seen:
            seen.add(normal_url(url))
            out.append((url, title))
    return out


def common_paths(page_url: str) -> list[str]:
    """The usual feed addresses on the page's site, for a page that links none."""
    parts = urlsplit(page_url)
    root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return [root + path for path in COMMON_PATHS]


def normal_url(url: str) -> str:
    """The form two addresses of one feed share: scheme and www-less case-folded host, no
    default port, no fragment, no trailing slash (``http://X.org:80/feed/`` == ``https://x.org/feed``)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port if parts.port not in (None, 80, 443) else None
    except ValueError:  # a port that is not a number: compare the address as written
        return url.strip()
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", netloc, path, parts.query, ""))


def normal_handle(handle: str) -> str:
    """``@UNIFIL_`` -> ``unifil_`` (X handles are case-insensitive)."""
    return handle.strip().lstrip("@").casefold()


def is_handle(text: str) -> bool:
    """An ``@handle`` argument rather than an address."""
    value = text.strip()
    name = value[1:]
    return value.startswith("@") and 0 < len(name) <= 15 and name.replace("_", "").isalnum()
