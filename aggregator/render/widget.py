"""The embeddable widget: one self-contained document per mission, the loader, the embed
page, and the JSON API (``api/<acronym>.json``) the widget's data is published as.

The widget document carries its CSS and script inline, each allowed by its SHA-256 in a
strict Content-Security-Policy (no other script, style, frame, font or connection; images
from the site itself only).
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from aggregator.models import Mission
from aggregator.render import cards
from aggregator.render.i18n import RULES, STRINGS, mission_name, t

if TYPE_CHECKING:
    from aggregator.render import Site

API_VERSION = "1.0"
MAX_POSTS = 50


def _asset(name: str) -> str:
    return (resources.files("aggregator") / "templates" / "widget" / name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def csp(css: str, script: str) -> str:
    return (
        "default-src 'none'; img-src 'self'; "
        f"style-src {_sha256(css)}; script-src {_sha256(script)}; "
        "base-uri 'none'; form-action 'none'"
    )


def _french(mission: Mission) -> dict[str, str]:
    """The widget's chrome in French, applied by its script when ``lang=fr`` (English is
    what the document says without it)."""
    s = STRINGS["fr"]
    return {
        "heading": t("fr", "latest_from", m=mission.acronym),
        "pinned": s["pinned"],
        "retweet": s["retweet"],
        "reply": s["reply"],
        "original": s["original"],
        "tagged": s["tagged"],
        "also": s["also"],
        "empty": s["empty_title"],
        "more": f"{mission.acronym} : {s['profile']}",
        **{f"r-{k}": v for k, v in RULES["fr"].items()},
    }


def widget_cards(site: Site, mission: Mission) -> list[cards.Card]:
    rows = site.app.store.visible_posts(mission.acronym, limit=MAX_POSTS * 2)
    rows = site.one_per_story(rows)[:MAX_POSTS]  # one card per story
    return site.cards(rows, f"widget/{mission.slug}", mission=mission.acronym,
                      text_limit=cards.WIDGET_TEXT_LIMIT, title_limit=cards.WIDGET_TITLE_LIMIT,
                      widget=True)


def render_widget(site: Site, mission: Mission) -> None:
    items = widget_cards(site, mission)
    css, script = _asset("widget.css"), _asset("widget.js")
    s = site.settings
    html = site.render(
        "widget/widget.html",
        mission=mission,
        cards=items,
        css=Markup(css),
        script=Markup(script),
        csp=Markup(csp(css, script)),  # our own text: quotes must stay literal
        default_posts=max(1, min(MAX_POSTS, s.widget_posts)),
        retweets=s.show_retweets,
        replies=s.show_replies,
        french_json=json.dumps(_french(mission), ensure_ascii=False, separators=(",", ":")),
    )
    site.write(f"widget/{mission.slug}.html", html)
    site.write(f"api/{mission.slug}.json", json.dumps(api_document(site, mission, items), ensure_ascii=False, indent=1) + "\n")


def api_document(site: Site, mission: Mission, items: list[cards.Card]) -> dict[str, Any]:
    """The JSON API of one mission: see ``API_SCHEMA`` and docs/widget.md."""
    base = site.base_url
    return {
        "version": API_VERSION,
        "schema": f"{base}api/schema.json",
        "generated_at": site.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mission": {
            "acronym": mission.acronym,
            "name": mission.name,
            "names": dict(mission.names),
            "status": mission.status,
            "country": mission.country,
            "page": f"{base}missions/{mission.slug}/",
            "feeds": {ext: f"{base}feeds/{mission.slug}.{ext}" for ext in ("xml", "rss", "json")},
        },
        "posts": [_api_post(base, c) for c in items],
    }


def _api_post(base: str, c: cards.Card) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "url": c.url,
        "author": c.author,
        "author_handle": c.handle,
        "published_at": c.iso,
        "title": c.title,
        "text": c.text,
        "language": c.lang,
        "is_retweet": c.retweet,
        "is_reply": c.reply,
        "pinned": c.pinned,
        "media": [
            {"src": f"{base}{m.src}" if m.src else None, "original": m.href, "alt": m.alt,
             "width": m.width, "height": m.height}
            for m in c.media
        ],
        "tagged_because": [
            {"mission": r.mission, "rule": r.rule, "matched": r.matched, "text": r.label}
            for r in c.reasons
        ],
    }


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


API_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "api/schema.json",
    "title": f"aggregator mission API, version {API_VERSION}",
    "type": "object",
    "required": ["version", "generated_at", "mission", "posts"],
    "properties": {
        "version": {"const": API_VERSION},
        "schema": {"type": "string"},
        "generated_at": {"type": "string", "format": "date-time"},
        "mission": {
            "type": "object",
            "required": ["acronym", "name", "names", "status", "page", "feeds"],
            "properties": {
                "acronym": {"type": "string", "pattern": "^[A-Z]{2,12}$"},
                "name": {"type": "string"},
                "names": {"type": "object", "additionalProperties": {"type": "string"}},
                "status": {"enum": ["active", "closed"]},
                "country": {"type": "string"},
                "page": {"type": "string", "format": "uri"},
                "feeds": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "posts": {
            "type": "array",
            "maxItems": MAX_POSTS,
            "items": {
                "type": "object",
                "required": ["id", "kind", "url", "author", "published_at", "text", "media",
                             "tagged_because", "pinned", "is_retweet", "is_reply"],
                "properties": {
                    "id": {"type": "string"},
                    "kind": {"enum": ["feed", "x"]},
                    "url": _nullable("string"),
                    "author": {"type": "string"},
                    "author_handle": _nullable("string"),
                    "published_at": {"type": "string", "format": "date-time"},
                    "title": {"type": "string"},
                    "text": {"type": "string", "description": "plain text, never HTML"},
                    "language": _nullable("string"),
                    "is_retweet": {"type": "boolean"},
                    "is_reply": {"type": "boolean"},
                    "pinned": {"type": "boolean"},
                    "media": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["src", "original", "alt"],
                            "properties": {
                                "src": _nullable("string"),
                                "original": _nullable("string"),
                                "alt": {"type": "string"},
                                "width": _nullable("integer"),
                                "height": _nullable("integer"),
                            },
                        },
                    },
                    "tagged_because": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["mission", "rule", "matched", "text"],
                            "properties": {k: {"type": "string"} for k in ("mission", "rule", "matched", "text")},
                        },
                    },
                },
            },
        },
    },
}


def snippet(site: Site, mission: Mission, **options: str) -> str:
    attrs = "".join(f' data-{k}="{v}"' for k, v in options.items())
    return (
        f'<div data-aggregator-mission="{mission.slug}"{attrs}></div>\n'
        f'<script async src="{site.base_url}widget/embed.js"></script>'
    )


def render_embed(site: Site) -> None:
    site.write("widget/embed.js", _asset("embed.js"))
    site.write("widget/builder.js", _asset("builder.js"))
    site.write("api/schema.json", json.dumps(API_SCHEMA, indent=1) + "\n")
    rows = [
        {"mission": m, "name": mission_name(m, "en"), "snippet": snippet(site, m)}
        for m in site.missions
    ]
    html = site.render(
        "widget/index.html", lang="en", root="../", rows=rows, alternate="../fr/index.html",
        max_posts=MAX_POSTS, default_posts=site.settings.widget_posts,
    )
    site.write("widget/index.html", html)
