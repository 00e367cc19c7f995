"""Atom and RSS 2.0 (feedgen) and JSON Feed 1.1 (written here) per mission and for all.

Entry ids are ``urn:aggregator:post:<post id>`` in every format; links go to the original
post; dates are the store's ``published_at`` (else ``sort_at``) and ``updated_at``. One entry
per story, as on the pages (#19): the story's other sources are named under its content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedgen.feed import FeedGenerator
from markupsafe import escape

from aggregator.models import Mission, Tag, parse_iso
from aggregator.render import cards
from aggregator.render.i18n import mission_name

if TYPE_CHECKING:
    from aggregator.render import Site

ID_PREFIX = "urn:aggregator:post:"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def entry_id(post_id: str) -> str:
    return ID_PREFIX + post_id


def _rows(site: Site, mission: Mission | None) -> list[dict[str, Any]]:
    s = site.settings
    rows = site.app.store.visible_posts(
        mission.acronym if mission else None,
        limit=s.feed_posts * 2,
        retweets=s.show_retweets,
        replies=s.show_replies,
    )
    return site.one_per_story(rows)[: s.feed_posts]  # one per story


def _meta(site: Site, mission: Mission | None) -> dict[str, str]:
    base = site.base_url
    if mission is None:
        return {
            "slug": "all",
            "title": f"{site.settings.site_title}: all missions",
            "page": base,
            "description": "Posts by and about UN peacekeeping missions, tagged by mission.",
        }
    return {
        "slug": mission.slug,
        "title": f"{mission.acronym}: {mission_name(mission, 'en')}",
        "page": f"{base}missions/{mission.slug}/",
        "description": f"Posts by and about {mission.acronym}, {mission.country}.",
    }


def _title(c: cards.Card) -> str:
    if c.title:
        return c.title
    text = " ".join(c.text.split())
    head = text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"
    return head or f"{c.author or c.handle} post"


def _updated(c: cards.Card) -> Any:
    return parse_iso(c.row.get("updated_at")) or c.published


def build_feedgen(
    site: Site, mission: Mission | None, items: list[cards.Card], self_url: str,
    *, rss: bool = False,
) -> FeedGenerator:
    """The feed of ``items``; ``rss`` for RSS 2.0, whose readers take ``<title>`` and
    ``<description>`` as HTML: there the title is plain text escaped as HTML and the
    description is the post's HTML (built from its escaped text), never the text itself."""
    meta = _meta(site, mission)
    base = site.base_url
    text = escape if rss else str
    fg = FeedGenerator()
    fg.id(f"{base}feeds/{meta['slug']}.xml")
    fg.title(text(meta["title"]))
    fg.subtitle(text(meta["description"]))
    fg.link(href=self_url, rel="self")  # before the alternate: RSS <link> takes the last one
    fg.link(href=meta["page"], rel="alternate")
    fg.language("en")
    fg.generator("aggregator")
    newest = max((_updated(c) for c in items), default=site.last_updated or site.now)
    fg.updated(newest)
    fg.lastBuildDate(newest)
    for c in reversed(items):  # feedgen prepends: reverse to keep newest first
        _add_entry(fg, c, base, rss=rss)
    return fg


def _add_entry(fg: FeedGenerator, c: cards.Card, base_url: str, *, rss: bool = False) -> None:
    """One entry; in RSS, whose readers take title and description as HTML, the title is
    escaped text and the description the post's HTML (built from its escaped text) only."""
    fe = fg.add_entry()
    fe.id(entry_id(c.id))
    fe.guid(entry_id(c.id), permalink=False)
    fe.title(str(escape(_title(c))) if rss else _title(c))
    if c.url:
        fe.link(href=c.url, rel="alternate")
    fe.published(c.published)
    fe.updated(_updated(c))
    fe.author({"name": c.author or c.handle or "unknown"})
    if rss:
        fe.description(_content_html(base_url, c) or str(escape(_title(c))))
    else:
        fe.content(_content_html(base_url, c), type="html")
        fe.summary(c.text or _title(c))
    for tag in c.tags:
        fe.category(term=tag.mission)


def _content_html(base_url: str, c: cards.Card) -> str:
    parts = [f"<p>{c.body}</p>"] if c.text else []
    for m in c.media:
        if m.src:
            parts.append(f'<p><img src="{base_url}{m.src}" alt="{escape(m.alt)}"></p>')
        elif m.href:
            parts.append(f'<p><a href="{escape(m.href)}">{escape(m.alt or m.href)}</a></p>')
    return "".join(parts) + _also_html(c)


def _also_html(c: cards.Card) -> str:
    """The story's other sources, linked where they have a web address."""
    others = list(c.row.get("story_sources") or ())[1:]
    if not others:
        return ""
    names = []
    for o in others:
        href = cards.safe_url(o.url)
        names.append(f'<a href="{escape(href)}">{escape(o.name)}</a>' if href else str(escape(o.name)))
    return f"<p>Also from {', '.join(names)}.</p>"


def json_feed(site: Site, mission: Mission | None, items: list[cards.Card]) -> dict[str, Any]:
    meta = _meta(site, mission)
    base = site.base_url
    out: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": meta["title"],
        "home_page_url": meta["page"],
        "feed_url": f"{base}feeds/{meta['slug']}.json",
        "description": meta["description"],
        "language": "en",
        "items": _json_items(base, items),
    }
    return out


def _json_items(base: str, items: list[cards.Card]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in items:
        item: dict[str, Any] = {
            "id": entry_id(c.id),
            "title": _title(c),
            "content_html": _content_html(base, c),
            "content_text": c.text or _title(c),
            "date_published": c.iso,
            "date_modified": _updated(c).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "authors": [{"name": c.author or c.handle or "unknown"}],
            "tags": [t.mission for t in c.tags],
        }
        if c.url:
            item["url"] = c.url
        if c.lang:
            item["language"] = c.lang
        image = next((m for m in c.media if m.src), None)
        if image:
            item["image"] = f"{base}{image.src}"
        out.append(item)
    return out


def _serialize(
    site: Site, mission: Mission | None, items: list[cards.Card], relative: str
) -> bytes:
    rss = relative.endswith(".rss")
    fg = build_feedgen(site, mission, items, f"{site.base_url}{relative}", rss=rss)
    return bytes(fg.rss_str(pretty=True) if rss else fg.atom_str(pretty=True))


def _writable_feed(
    site: Site, mission: Mission | None, items: list[cards.Card], relative: str
) -> bytes:
    """The feed's bytes; a post the XML writer refuses is left out and reported
    (``Site.skip``), so one post never keeps a feed, or any other output, from being written."""
    try:
        return _serialize(site, mission, items, relative)
    except ValueError:  # lxml: "All strings must be XML compatible", and the like
        pass
    kept = []
    for c in items:
        try:
            _serialize(site, mission, [c], relative)
        except ValueError as exc:
            site.skip(c.id, relative, str(exc))
        else:
            kept.append(c)
    return _serialize(site, mission, kept, relative)


# --- a search as a feed (#18) -------------------------------------------------------------


def _search_card(row: Mapping[str, Any]) -> cards.Card:
    """A search result row (``Store.search``) as a card: media parsed, missions as tags."""
    media = row.get("media")
    data = dict(row, media=json.loads(media) if isinstance(media, str) else media or [],
                tags=[Tag(m, "", "") for m in str(row.get("missions") or "").split()])
    return cards.card(data)


def search_feed(
    rows: Sequence[Mapping[str, Any]], *, fmt: str, query: str, base_url: str, site_title: str,
    self_url: str, page_url: str, now: datetime,
) -> bytes:
    """The newest matches of a search as Atom (``fmt="atom"``) or JSON Feed 1.1 (``json``):
    a feed reader follows the search. Entry ids are the same as in the missions' feeds."""
    items = [_search_card(r) for r in rows]
    title = f"{site_title}: search “{query}”" if query.strip() else f"{site_title}: newest posts"
    description = f"Newest posts matching “{query}” in the archive" if query.strip() else \
        "Newest posts in the archive"
    if fmt == "json":
        doc = {"version": JSON_FEED_VERSION, "title": title, "home_page_url": page_url,
               "feed_url": self_url, "description": description, "items": _json_items(base_url, items)}
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.subtitle(description)
    fg.link(href=self_url, rel="self")
    fg.link(href=page_url, rel="alternate")
    fg.generator("aggregator")
    fg.updated(max((_updated(c) for c in items), default=now))
    for c in reversed(items):
        _add_entry(fg, c, base_url)
    return bytes(fg.atom_str(pretty=True))


def render_feeds(site: Site, mission: Mission | None) -> None:
    rows = _rows(site, mission)
    items = site.cards(rows, f"feeds/{mission.slug if mission else 'all'}",
                       mission=mission.acronym if mission else None)
    slug = mission.slug if mission else "all"
    for ext in ("xml", "rss"):
        relative = f"feeds/{slug}.{ext}"
        site.write(relative, _writable_feed(site, mission, items, relative))
    site.write(
        f"feeds/{slug}.json",
        json.dumps(json_feed(site, mission, items), ensure_ascii=False, indent=1) + "\n",
    )
