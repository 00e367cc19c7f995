"""A feed entry (as ``sources.feeds`` hands it over: feedparser's entry as plain JSON data)
becomes a ``Post``. Pure: no I/O, no clock (``collected_at`` is passed in).

Identity: the entry's guid/id, else its link, else a hash of its content; the post id is
derived from the source and that identity by :func:`post_id` (the one place the rule lives),
except for X posts seen through an RSS bridge, which get the id the X API path gives them.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from aggregator.models import Media, Post, RawItem, parse_iso, raw_json
from aggregator.normalize.html import html_to_text, sanitize_with_text
from aggregator.normalize.language import resolve
from aggregator.normalize.x import x_post_id, x_status_id

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_HASHTAG = re.compile(r"(?<![\w&/#])#(\w+)")
_MENTION = re.compile(r"(?<![\w.@/])@(\w{1,30})")
_HREF = re.compile(r'<a [^>]*?href="([^"]+)"')
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")

# A plain absolute http(s) URL: lower-case scheme, ASCII host, no whitespace or control
# characters, no ";" in the path (urlparse would split off "params"), no empty "?" or "#"
# (urlunsplit would drop them). urljoin gives such a URL back unchanged whatever the base, and
# urlsplit finds its http(s) scheme, so most links skip both (they were a tenth of normalize's
# time). tests/test_normalize_feed.py checks this against urljoin and urlsplit.
_PLAIN_WEB_URL = re.compile(
    r"https?://[A-Za-z0-9.:_~%!$&'()*+,;=@-]+"
    r"(?:/[^\x00-\x20\x7f?#;]*)?(?:\?[^\x00-\x20\x7f#]+)?(?:#[^\x00-\x20\x7f]+)?"
)


# --- identity ------------------------------------------------------------------------


def post_id(source_id: str, external_id: str, *, link: str | None = None) -> str:
    """The stable post id: the same entry gets the same id on every collection.

    An X status (recognised in ``external_id`` or ``link`` by ``normalize.x.x_status_id``) gets
    ``normalize.x.x_post_id``, the id the X API path gives it, so one post read through the API and through a bridge is stored once.
    A link counts as an X status on X's own hosts, or on any host for an X handle's source
    (``x:<handle>``, read through the configured bridge): another site's
    ``/<name>/status/<digits>`` is that site's post (#14).
    Any other entry: ``f:`` + a hash of the source id and the entry's identity.
    """
    bridged = source_id.startswith("x:")
    status = x_status_id(external_id, any_host=bridged) or x_status_id(link, any_host=bridged)
    if status:
        return x_post_id(status)
    digest = hashlib.sha256(f"{source_id}\n{external_id}".encode()).hexdigest()[:24]
    return f"f:{digest}"


def external_id(entry: Mapping[str, Any]) -> str:
    """guid/id, else link, else a hash of the entry's title and content."""
    for key in ("id", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    body = json.dumps(
        [entry.get("title"), _body_detail(entry).get("value"), entry.get("published")],
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


# --- fields --------------------------------------------------------------------------


def _body_detail(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The richest body: HTML content, else any content, else the summary."""
    contents = [c for c in entry.get("content") or () if isinstance(c, Mapping) and c.get("value")]
    for c in contents:
        if str(c.get("type", "")).lower() in _HTML_TYPES:
            return c
    if contents:
        return contents[0]
    detail = entry.get("summary_detail")
    if isinstance(detail, Mapping) and detail.get("value"):
        return detail
    summary = entry.get("summary")
    if isinstance(summary, str) and summary:
        return {"type": "text/html", "value": summary}
    return {}


def _is_html(detail: Mapping[str, Any]) -> bool:
    return str(detail.get("type") or "text/html").lower() in _HTML_TYPES


def _time(entry: Mapping[str, Any], *keys: str) -> datetime | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value:
            try:
                return parse_iso(value)
            except ValueError:
                continue
    return None


def _author(entry: Mapping[str, Any], fallback: str) -> str:
    names: list[str] = []
    for a in entry.get("authors") or ():
        if isinstance(a, Mapping):
            name = str(a.get("name") or a.get("email") or "").strip()
            if name and name not in names:
                names.append(name)
    if not names and isinstance(entry.get("author"), str) and entry["author"].strip():
        names.append(entry["author"].strip())
    return ", ".join(names) or fallback


def _title(entry: Mapping[str, Any]) -> str:
    title = entry.get("title")
    if not isinstance(title, str):
        return ""
    detail = entry.get("title_detail")
    if isinstance(detail, Mapping) and _is_html(detail) and detail.get("type"):
        return html_to_text(title)
    return " ".join(title.split())


def _join(base: str | None, url: str) -> str:
    url = url.strip()
    if _PLAIN_WEB_URL.fullmatch(url):
        return url
    try:
        return urljoin(base, url) if base else url
    except ValueError:
        return url


def _web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) link, else None (a malformed one included: the entry is
    kept without that link rather than lost)."""
    if not url:
        return None
    if _PLAIN_WEB_URL.fullmatch(url):
        return url
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # urlsplit refuses a malformed host ("http://[")
        return None
    return url if scheme in ("http", "https") else None


def _media(entry: Mapping[str, Any], base: str | None, title: str) -> tuple[Media, ...]:
    out: dict[str, Media] = {}
    alt_default = str(entry.get("media_description") or "").strip()
    for m in entry.get("media_content") or ():
        if not isinstance(m, Mapping) or not m.get("url"):
            continue
        url = _web_url(_join(base, str(m["url"])))
        medium = str(m.get("medium") or m.get("type") or "image").split("/")[0]
        if url and url not in out:
            out[url] = Media(url=url, kind="video" if medium == "video" else "image",
                             alt=str(m.get("description") or alt_default),
                             width=_int(m.get("width")), height=_int(m.get("height")))
    for t in entry.get("media_thumbnail") or ():
        if isinstance(t, Mapping) and t.get("url"):
            url = _web_url(_join(base, str(t["url"])))
            if url and url not in out:
                out[url] = Media(url=url, kind="image", alt=alt_default,
                                 width=_int(t.get("width")), height=_int(t.get("height")))
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "enclosure" and link.get("href"):
            url = _web_url(_join(base, str(link["href"])))
            ctype = str(link.get("type") or "")
            if url and url not in out:
                kind = "image" if ctype.startswith("image/") else "enclosure"
                out[url] = Media(url=url, kind=kind, alt=alt_default if kind == "image" else title)
    return tuple(out.values())


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def canonical_url(url: str | None) -> str | None:
    """``url`` without tracking parameters and fragment, host lower-cased: one story, one key."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    query = ""
    if parts.query:  # most links have none
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if not k.lower().startswith(_TRACKING)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)


# ``json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)``, the hash's input
# since it was first written (never change it: every stored post would look changed), with
# the encoder made once rather than for every entry.
_HASH_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def content_hash(*parts: Any) -> str:
    """A hash of the normalized content; a changed entry gets a new hash (and a new version)."""
    data = _HASH_ENCODER.encode(parts)
    return hashlib.sha256(data.encode()).hexdigest()


# --- the entry point -----------------------------------------------------------------


def normalize_feed_entry(item: RawItem, *, collected_at: datetime) -> Post:
    """One feed entry -> one ``Post``."""
    entry = item.data
    link = entry.get("link") if isinstance(entry.get("link"), str) else None
    url = _web_url(_join(item.feed_link, link)) if link else None
    detail = _body_detail(entry)
    base = str(detail.get("base") or "") or url or item.feed_link
    value = str(detail.get("value") or "")
    if _is_html(detail):
        html, text = sanitize_with_text(value, base)
    else:
        html = "".join(
            f"<p>{html_lib.escape(p.strip())}</p>" for p in value.split("\n\n") if p.strip()
        )
        text = html_to_text(html)
    title = _title(entry)
    ext = external_id(entry)
    published = _time(entry, "published_parsed", "updated_parsed", "created_parsed")
    updated = _time(entry, "updated_parsed")
    author = _author(entry, item.feed_title or "")
    media = _media(entry, base, title)
    links = _unique(h for h in (html_lib.unescape(m) for m in _HREF.findall(html))
                    if _web_url(h))
    both = f"{title}\n{text}"
    language = resolve(detail.get("language") or _detail_language(entry), item.feed_language,
                       title, text)
    return Post(
        id=post_id(item.source_id, ext, link=url),
        source_id=item.source_id,
        kind="feed",
        external_id=ext,
        url=url,
        author=author,
        author_handle=None,
        title=title,
        text=text,
        html=html,
        published_at=published,
        collected_at=collected_at,
        updated_at=updated,
        language=language.code,
        language_origin=language.origin,
        language_confidence=language.confidence,
        media=media,
        links=links,
        hashtags=_unique(_HASHTAG.findall(both)) if "#" in both else (),
        mentions=_unique(_MENTION.findall(both)) if "@" in both else (),
        is_retweet=text.startswith("RT @") or title.startswith("RT @"),
        content_hash=content_hash(title, html, url, author, published, [m.url for m in media]),
        raw=raw_json(entry),
        canonical_url=canonical_url(url),
    )


def _detail_language(entry: Mapping[str, Any]) -> str | None:
    detail = entry.get("title_detail")
    if isinstance(detail, Mapping) and detail.get("language"):
        return str(detail["language"])
    return None


__all__ = ["canonical_url", "external_id", "normalize_feed_entry", "post_id", "x_status_id"]
