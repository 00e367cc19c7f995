"""Stored post rows -> what a page, the widget, the JSON API and the feeds show. Pure.

Post content reaches a browser only as escaped plain text: the text is split into words,
URLs, hashtags and mentions, every piece is escaped, and only ``http(s)`` URLs become
links (with ``rel="noopener nofollow ugc"``). Images are shown only from local copies
under ``output/media/``; otherwise a link to the original stands in their place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from aggregator.models import Tag, parse_iso
from aggregator.render.i18n import reason, when

REL = "noopener nofollow ugc"
TEXT_LIMIT = 600  # characters of a post's text shown on a page card
TITLE_LIMIT = 300
WIDGET_TEXT_LIMIT = 280  # the widget is a small box: as much as an X post
WIDGET_TITLE_LIMIT = 140

_TOKENS = re.compile(
    r"(?P<url>\bhttps?://[^\s<>\"'\u00a0\u200b]+)"
    r"|(?<![\w&#/])#(?P<tag>[^\W_][\w]{0,99})"
    r"|(?<![\w@/])@(?P<user>\w{1,15})\b"
)
_TRAILING = ".,;:!?)]}'\"»…"
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def safe_url(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or controls, else None."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        return None
    if any(ord(c) < 33 or c in "<>\"'`\\" for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _link(href: str, label: str, target: bool = True) -> str:
    blank = ' target="_blank"' if target else ""
    return f'<a href="{escape(href)}" rel="{REL}"{blank}>{escape(label)}</a>'


def linkify(text: str, *, kind: str = "feed", target: bool = True) -> Markup:
    """Escape ``text`` and turn http(s) URLs (and, for X posts, #tags and @names) into links.

    ``target=False`` leaves out ``target="_blank"`` (the widget's script sets it on every link).
    """
    out: list[str] = []
    pos = 0
    for m in _TOKENS.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        pos = m.end()
        if m.group("url"):
            url = m.group("url")
            tail = ""
            while url and url[-1] in _TRAILING:
                tail = url[-1] + tail
                url = url[:-1]
            href = safe_url(url)
            out.append(_link(href, _shorten(url), target) if href else str(escape(url)))
            out.append(str(escape(tail)))
        elif m.group("tag"):
            tag = m.group("tag")
            if kind == "x":
                out.append(_link(f"https://x.com/hashtag/{quote(tag)}", f"#{tag}", target))
            else:
                out.append(f'<span class="tag">#{escape(tag)}</span>')
        else:
            user = m.group("user")
            if kind == "x":
                out.append(_link(f"https://x.com/{quote(user)}", f"@{user}", target))
            else:
                out.append(str(escape(f"@{user}")))
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def _shorten(url: str, limit: int = 48) -> str:
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return bare if len(bare) <= limit else bare[: limit - 1] + "…"


def truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


@dataclass(frozen=True)
class MediaView:
    src: str | None  # path relative to the site root, when a local copy exists
    href: str | None  # the original, linked when there is no local copy
    alt: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Reason:
    mission: str
    rule: str  # own_source, hashtag, ..., editor
    label: str
    matched: str


@dataclass(frozen=True)
class Card:
    id: str
    kind: str
    author: str
    handle: str | None
    url: str | None
    published: datetime
    title: str
    text: str
    body: Markup
    lang: str | None
    media: tuple[MediaView, ...]
    reasons: tuple[Reason, ...]
    tags: tuple[Tag, ...]
    pinned: bool
    retweet: bool
    reply: bool
    row: Mapping[str, Any]

    @property
    def iso(self) -> str:
        return self.published.strftime("%Y-%m-%dT%H:%M:%SZ")


def _media(items: Sequence[Mapping[str, Any]]) -> tuple[MediaView, ...]:
    out = []
    for m in items:
        if not isinstance(m, Mapping) or m.get("kind", "image") not in ("image", "photo", "enclosure", "animated_gif", "video"):
            continue
        local = m.get("local_path")
        local = local if isinstance(local, str) and re.fullmatch(r"media/[\w./-]+", local) and ".." not in local else None
        out.append(
            MediaView(
                src=local,
                href=safe_url(m.get("url")),
                alt=str(m.get("alt") or "")[:1000],
                width=m.get("width") if local and isinstance(m.get("width"), int) else None,
                height=m.get("height") if local and isinstance(m.get("height"), int) else None,
            )
        )
    return tuple(o for o in out if o.src or o.href)


def card(
    row: Mapping[str, Any],
    *,
    mission: str | None = None,
    lang: str = "en",
    text_limit: int = TEXT_LIMIT,
    title_limit: int = TITLE_LIMIT,
    widget: bool = False,
) -> Card:
    """One stored post (a row from ``Store.visible_posts``) as a card; long text is cut at
    ``text_limit`` characters (the card links to the original)."""
    kind = str(row.get("kind") or "feed")
    title = str(row.get("title") or "").strip()
    text = str(row.get("text") or "").strip()
    if kind == "feed" and title and text.startswith(title) and text[len(title) : len(title) + 1] in ("", " ", "\n"):
        text = text[len(title) :].strip()  # feeds often repeat the title as the text's start
    if title and kind == "feed":
        title = truncate(title, title_limit)
        if widget:  # a small box: title and text together stay within text_limit
            text_limit = max(0, text_limit - len(title))
    text = truncate(text, text_limit) if text_limit else ""
    published = parse_iso(row.get("published_at")) or parse_iso(row.get("sort_at"))
    assert published is not None
    tags: list[Tag] = list(row.get("tags") or [])
    if mission and row.get("tag_rule"):
        mine = [Tag(mission, row["tag_rule"], row.get("tag_matched") or "", row.get("tag_decided_by") or "rule")]
    else:
        mine = [t for t in tags if mission is None or t.mission == mission]
    reasons = tuple(
        Reason(t.mission, "editor" if t.decided_by == "editor" else t.rule, *reason(t, lang))
        for t in mine
    )
    language = row.get("language")
    return Card(
        id=str(row["id"]),
        kind=kind,
        author=str(row.get("author") or "").strip(),
        handle=row.get("author_handle") or None,
        url=safe_url(row.get("url")),
        published=published,
        title=title if kind == "feed" else "",
        text=text,
        body=linkify(text, kind=kind, target=not widget),
        lang=language if isinstance(language, str) and _LANG.match(language) else None,
        media=_media(row.get("media") or []),
        reasons=reasons,
        tags=tuple(tags),
        pinned=bool(row.get("pinned")),
        retweet=bool(row.get("is_retweet")),
        reply=bool(row.get("is_reply")),
        row=row,
    )


def absolute(moment: datetime, lang: str = "en") -> str:
    return when(moment, lang)
