"""The index of missions and one page per mission, in English and in French."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from aggregator import stories
from aggregator.models import Mission, parse_iso
from aggregator.render import cards

if TYPE_CHECKING:
    from aggregator.render import Site

STATIC_FILES = ("site.css", "times.js")


def _prefix(lang: str) -> str:
    return "" if lang == "en" else f"{lang}/"


def render_static(site: Site) -> None:
    folder = resources.files("aggregator") / "static"
    for name in STATIC_FILES:
        site.write(f"static/{name}", (folder / name).read_bytes())


def render_index(site: Site) -> None:
    for lang in ("en", "fr"):
        rows = []
        for m in site.missions:
            count, newest = site.counts.get(m.acronym, (0, None))
            rows.append({"mission": m, "count": count, "newest": parse_iso(newest)})
        html = site.render(
            "index.html",
            lang=lang,
            root="../" * (lang != "en"),
            rows=rows,
            alternate=("fr/index.html" if lang == "en" else "../index.html"),
        )
        site.write(f"{_prefix(lang)}index.html", html)


def page_cards(site: Site, mission: Mission, lang: str) -> list[cards.Card]:
    s = site.settings
    rows = site.app.store.visible_posts(
        mission.acronym, limit=s.page_posts * 2, retweets=s.show_retweets, replies=s.show_replies
    )
    rows = stories.collapse(rows, source_names=site.source_names)[: s.page_posts]  # one card per story
    return site.cards(rows, f"{_prefix(lang)}missions/{mission.slug}", mission=mission.acronym, lang=lang)


def render_mission(site: Site, mission: Mission) -> None:
    slug = mission.slug
    count, newest = site.counts.get(mission.acronym, (0, None))
    for lang in ("en", "fr"):
        root = "../../" if lang == "en" else "../../../"
        html = site.render(
            "mission.html",
            lang=lang,
            root=root,
            mission=mission,
            cards=page_cards(site, mission, lang),
            count=count,
            newest=parse_iso(newest),
            feeds_base=f"{root}feeds/{slug}",
            alternate=(f"{root}fr/missions/{slug}/index.html" if lang == "en" else f"{root}missions/{slug}/index.html"),
        )
        site.write(f"{_prefix(lang)}missions/{slug}/index.html", html)
