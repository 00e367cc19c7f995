"""The index of missions and one page per mission, in English and in French."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

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
    rows = site.one_per_story(rows)[: s.page_posts]  # one card per story
    return site.cards(rows, f"{_prefix(lang)}missions/{mission.slug}", mission=mission.acronym, lang=lang)


def page_sources(site: Site, mission: Mission, shown: list[cards.Card]) -> list[dict[str, Any]]:
    """"Where these posts come from": the mission's own sources, then every other source
    (general ones, another mission's) that contributed a post shown, in the order shown."""
    specs = {s.id: s for s in site.app.config.all_sources()}
    names = site.source_names
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(source_id: str) -> None:
        if not source_id or source_id in seen:
            return
        seen.add(source_id)
        spec = specs.get(source_id)
        kind, _, address = source_id.partition(":")
        out.append({
            "kind": spec.kind if spec else kind,
            "handle": spec.handle if spec else (address if kind == "x" else None),
            "url": spec.url if spec else (address if kind == "feed" else None),
            "name": spec.name if spec else names.get(source_id, address),
            # its evidence is weaker than a page seen: said of the mission's own sources only
            "unverified": spec is not None and spec.mission == mission.acronym and not spec.verified,
        })

    for spec in mission.sources:
        if not spec.disabled:  # a disabled one appears only if a post shown came from it
            add(spec.id)
    for c in shown:
        add(str(c.row.get("source_id") or ""))
        for story_source in c.row.get("story_sources") or ():
            add(story_source.source_id)
    return out


def render_mission(site: Site, mission: Mission) -> None:
    slug = mission.slug
    count, newest = site.counts.get(mission.acronym, (0, None))
    for lang in ("en", "fr"):
        root = "../../" if lang == "en" else "../../../"
        shown = page_cards(site, mission, lang)
        html = site.render(
            "mission.html",
            lang=lang,
            root=root,
            mission=mission,
            cards=shown,
            page_sources=page_sources(site, mission, shown),
            count=count,
            newest=parse_iso(newest),
            feeds_base=f"{root}feeds/{slug}",
            alternate=(f"{root}fr/missions/{slug}/index.html" if lang == "en" else f"{root}missions/{slug}/index.html"),
        )
        site.write(f"{_prefix(lang)}missions/{slug}/index.html", html)
