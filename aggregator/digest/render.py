"""Render one digest (HTML with inlined CSS, and plain text) from stored post rows. Pure.

The body is rendered once per digest with placeholders for the two per-recipient parts (the
address in the footer and the unsubscribe link), which :meth:`Rendered.personalize` fills in:
a thousand recipients cost one template render and one CSS inlining, not a thousand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import css_inline
import jinja2
from markupsafe import escape

from aggregator.digest.lists import DigestList
from aggregator.models import Mission, parse_iso
from aggregator.render.i18n import when, zone_label

TEMPLATES = Path(__file__).parent.parent / "templates" / "email"
RECIPIENT = "XRECIPIENTX7f3a"
UNSUBSCRIBE = "XUNSUBSCRIBEX7f3a"
TEXT_LIMIT = 600

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "{title}: {posts} ({date})",
        "subject_empty": "{title}: nothing new ({date})",
        "headline": "{posts} from {missions} since {since}",
        "post_1": "1 new post", "post_n": "{n} new posts",
        "mission_1": "1 mission", "mission_n": "{n} missions",
        "nothing_new": "Nothing new since the last digest.",
        "mission_page": "Mission page", "widget": "Widget", "read_original": "Read the original",
        "image_alt": "Image posted by {author}",
        "why": "You receive this because {email} is subscribed to the “{title}” digest.",
        "unsubscribe": "Unsubscribe (one click)",
        "zone": "Times are in {zone} ({offset}).", "zone_utc": "Times are in UTC.",
        "no_mission": "Not tagged with a mission",
        "query": "Your saved search", "see_all": "See every result",
        "why_alert": "You receive this because {email} asked for alerts on this search.",
        "headline_alert": "{posts} matching your search since {since}",
    },
    "fr": {
        "subject": "{title} : {posts} ({date})",
        "subject_empty": "{title} : rien de nouveau ({date})",
        "headline": "{posts} de {missions} depuis le {since}",
        "post_1": "1 nouvelle publication", "post_n": "{n} nouvelles publications",
        "mission_1": "1 mission", "mission_n": "{n} missions",
        "nothing_new": "Rien de nouveau depuis le dernier résumé.",
        "mission_page": "Page de la mission", "widget": "Widget",
        "read_original": "Lire l’original",
        "image_alt": "Image publiée par {author}",
        "why": "Vous recevez ce message parce que {email} est abonné(e) au résumé « {title} ».",
        "unsubscribe": "Se désabonner (en un clic)",
        "zone": "Les heures sont celles du fuseau {zone} ({offset}).",
        "zone_utc": "Les heures sont en UTC.",
        "no_mission": "Sans mission",
        "query": "Votre recherche enregistrée", "see_all": "Voir tous les résultats",
        "why_alert": "Vous recevez ce message parce que {email} a demandé des alertes pour"
        " cette recherche.",
        "headline_alert": "{posts} pour votre recherche depuis le {since}",
    },
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    posts: int

    def personalize(self, email: str, unsubscribe_url: str) -> tuple[str, str]:
        """(html, text) for one recipient."""
        html = self.html.replace(RECIPIENT, str(escape(email))).replace(
            UNSUBSCRIBE, str(escape(unsubscribe_url))
        )
        text = self.text.replace(RECIPIENT, email).replace(UNSUBSCRIBE, unsubscribe_url)
        return html, text


@lru_cache(maxsize=1)
def email_templates() -> jinja2.Environment:
    """The jinja2 environment of templates/email/ (autoescape on for HTML)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # Keep the <style> block too: the dark-mode media query cannot be inlined.
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def local_time(dt: datetime, dl: DigestList) -> str:
    """A post's time in the list's language and time zone, named (as on the pages)."""
    return when(dt, dl.language, dl.tz)


def _prefix(lang: str) -> str:
    """Where the pages in ``lang`` live under the site: English at its root, others below."""
    return "" if lang == "en" else f"{lang}/"


def zone_note(dl: DigestList, at: datetime) -> str:
    """The sentence that says which clock the digest's times follow, e.g. "Times are in
    Europe/Belgrade (UTC+1)."; the offset is the one in force at ``at``, written as each
    time in the digest writes it (:func:`aggregator.render.i18n.zone_label`)."""
    t = LABELS[dl.language]
    if dl.timezone in ("UTC", "Etc/UTC", "Etc/GMT", "GMT"):
        return t["zone_utc"]
    return t["zone"].format(zone=dl.timezone, offset=zone_label(at.astimezone(dl.tz)))


def _count(t: Mapping[str, str], kind: str, n: int) -> str:
    return t[f"{kind}_1"] if n == 1 else t[f"{kind}_n"].format(n=n)


def _post(row: Mapping[str, Any], dl: DigestList, base_url: str) -> dict[str, Any]:
    t = LABELS[dl.language]
    text = " ".join(str(row.get("text") or "").split())
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1].rstrip() + "…"
    title = " ".join(str(row.get("title") or "").split())
    if title and text.startswith(title[:40]):
        title = ""
    author = str(row.get("author") or row.get("author_handle") or "")
    image = None
    for media in row.get("media") or []:
        if media.get("local_path") and media.get("kind", "image") in ("image", "animated_gif"):
            image = {
                "src": urljoin(base_url, str(media["local_path"]).lstrip("/")),
                "alt": media.get("alt") or t["image_alt"].format(author=author),
            }
            break
    moment = parse_iso(row.get("published_at") or row.get("collected_at"))
    return {
        "author": author,
        "time": local_time(moment, dl) if moment else "",
        "title": title,
        "text": text,
        "url": row.get("url") or "",
        "image": image,
    }


def group_posts(
    rows: Sequence[Mapping[str, Any]], dl: DigestList, missions: Mapping[str, Mission], base_url: str
) -> list[dict[str, Any]]:
    """One group per mission (in list order, else alphabetical; active missions before
    closed ones), posts newest first."""
    by_mission: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_mission.setdefault(str(row["mission"]), []).append(row)
    order = list(dl.missions) if dl.missions is not None else sorted(by_mission)
    # active missions, then closed ones, then posts tagged with none (alerts only)
    order.sort(key=lambda a: (a == "", a in missions and missions[a].status == "closed"))
    t = LABELS[dl.language]
    groups = []
    for acronym in order:
        posts = sorted(by_mission.get(acronym, []), key=lambda r: str(r["sort_at"]), reverse=True)
        if not posts:
            continue
        mission = missions.get(acronym)
        name = (mission.names.get(dl.language) or mission.name) if mission else acronym
        slug = acronym.lower()
        groups.append({
            "acronym": acronym,
            "name": name or t["no_mission"],
            "count_label": _count(t, "post", len(posts)),
            "page_url": urljoin(base_url, f"{_prefix(dl.language)}missions/{slug}/")
            if acronym else "",
            "widget_url": urljoin(base_url, f"widget/{slug}.html") if acronym else "",
            "posts": [_post(r, dl, base_url) for r in posts],
        })
    return groups


def render_digest(
    dl: DigestList,
    rows: Sequence[Mapping[str, Any]],
    *,
    missions: Mapping[str, Mission],
    base_url: str,
    site_title: str,
    window_start: datetime,
    window_end: datetime,
    query: str | None = None,
    search_url: str = "",
) -> Rendered:
    """The digest of ``rows``; with ``query``, an alert for that saved search (#18)."""
    t = LABELS[dl.language]
    groups = group_posts(rows, dl, missions, base_url)
    n_posts = len({r["id"] for r in rows})
    date = local_time(window_end, dl).split(",")[0]
    posts_label = _count(t, "post", n_posts)
    subject = (t["subject"] if n_posts else t["subject_empty"]).format(
        title=dl.title, posts=posts_label, date=date
    )
    headline = t["headline_alert" if query is not None else "headline"].format(
        posts=posts_label, missions=_count(t, "mission", len(groups)),
        since=local_time(window_start, dl),
    )
    why = t["why_alert" if query is not None else "why"]
    context = {
        "lang": dl.language,
        "subject": subject,
        "title": dl.title,
        "headline": headline,
        "zone": zone_note(dl, window_end),
        "groups": groups,
        "t": {**t, "why": why.format(email=RECIPIENT, title=dl.title)},
        "query": query,
        "search_url": search_url,
        "unsubscribe_url": UNSUBSCRIBE,
        "site_url": urljoin(base_url, _prefix(dl.language)),
        "site_title": site_title,
    }
    html = _inliner().inline(email_templates().get_template("digest.html.j2").render(context))
    text = email_templates().get_template("digest.txt.j2").render(context)
    return Rendered(subject=subject, html=html, text=text, posts=n_posts)
