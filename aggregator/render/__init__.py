"""Render the public site into ``output/``: pages, widget, JSON API and syndication feeds.

``render_site(app, missions=None)`` is the one entry point. Templates are jinja2 with
autoescape on, looked up first in the ``templates_dir`` setting (override by name), then
in the package. Every file is written with ``aggregator.app.write_atomic``; the function
returns the paths whose content changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    TemplateError,
    select_autoescape,
)

from aggregator import stories
from aggregator.app import write_atomic
from aggregator.errors import AggregatorError, UsageError
from aggregator.models import Mission, parse_iso
from aggregator.render import cards, i18n

if TYPE_CHECKING:
    from aggregator.app import App


def make_env(templates_dir: Path | None = None) -> Environment:
    loaders: list[Any] = []
    if templates_dir is not None:
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(PackageLoader("aggregator", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["t"] = i18n.t
    env.globals["as_of"] = i18n.as_of
    env.globals["reason"] = i18n.reason
    env.globals["mission_name"] = i18n.mission_name
    env.globals["site_title"] = i18n.site_title
    env.filters["absolute"] = cards.absolute
    env.filters["when"] = i18n.when
    env.filters["number"] = i18n.number
    env.filters["safe_url"] = cards.safe_url
    return env


@dataclass
class Site:
    """What every renderer needs, gathered once per ``render_site`` call."""

    app: App
    env: Environment
    now: datetime
    last_updated: datetime | None
    counts: dict[str, tuple[int, str | None]]
    written: list[Path] = field(default_factory=list)
    story_prints: stories.Prints = field(default_factory=dict)

    @property
    def settings(self) -> Any:
        return self.app.config.settings

    @property
    def out(self) -> Path:
        return self.app.config.output_path

    @property
    def base_url(self) -> str:
        base = str(self.settings.base_url)
        return base if base.endswith("/") else base + "/"

    @property
    def missions(self) -> list[Mission]:
        return sorted(self.app.config.missions.values(), key=lambda m: m.acronym)

    @property
    def source_names(self) -> dict[str, str]:
        """Source id -> its configured name, for the sources listed on a story's card."""
        return {s.id: s.name for s in self.app.config.all_sources()}

    def one_per_story(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per story (#8, #19), each post's text read once per render."""
        return stories.collapse(rows, source_names=self.source_names, prints=self.story_prints)

    def write(self, relative: str, data: str | bytes) -> None:
        path = self.out / relative
        if write_atomic(path, data):
            self.written.append(path)

    def render(self, template: str, **context: Any) -> str:
        try:
            return self.env.get_template(template).render(site=self, now=self.now, **context)
        except TemplateError as exc:
            where = getattr(exc, "filename", None) or template
            line = getattr(exc, "lineno", None)
            raise AggregatorError(
                f"template {where}{f' line {line}' if line else ''} failed: {exc}",
                hint="fix or remove the template in templates_dir (config.yaml); the built-in one is used when absent",
            ) from exc


def render_site(
    app: App,
    missions: Collection[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write the site into ``output/``; only the given missions' own files when ``missions``
    is set (the index, the all-missions feeds and the embed page are always refreshed),
    plus every mission still marked pending in the archive (stored by a run that stopped
    before it rendered). The marks this render saw are cleared once its files are written."""
    from aggregator.media import withdraw_media
    from aggregator.render import pages, syndication
    from aggregator.render.widget import render_embed, render_widget

    pending = app.store.pending_renders()  # before any post is read: later marks stay
    withdraw_media(app)
    config = app.config
    chosen = _choose(app, missions)
    if missions is not None:
        known = {m.acronym for m in chosen}
        chosen += sorted((m for m in app.config.missions.values()
                          if m.acronym in pending.missions and m.acronym not in known),
                         key=lambda m: m.acronym)
    templates_dir = config.resolve(config.settings.templates_dir) if config.settings.templates_dir else None
    site = Site(
        app=app,
        env=make_env(templates_dir),
        now=app.now(),
        last_updated=parse_iso(app.store.last_collection_at()),
        counts=app.store.mission_counts(),
    )
    pages.render_static(site)
    pages.render_index(site)
    for mission in chosen:
        pages.render_mission(site, mission)
        render_widget(site, mission)
        syndication.render_feeds(site, mission)
        if progress is not None:
            progress(1)
    syndication.render_feeds(site, None)
    render_embed(site)
    # A mission no longer configured has no page to render: its mark goes too.
    done = {m.acronym for m in chosen} | (pending.missions - set(config.missions))
    app.store.clear_pending_renders(done, pending.upto)
    return site.written


def _choose(app: App, missions: Collection[str] | None) -> list[Mission]:
    if missions is None:
        return sorted(app.config.missions.values(), key=lambda m: m.acronym)
    out = []
    for name in missions:
        mission = app.config.mission(name)
        if mission is None:
            known = ", ".join(sorted(app.config.missions))
            raise UsageError(f"unknown mission {name!r}", hint=f"use one of: {known}")
        out.append(mission)
    return out


__all__ = ["Site", "make_env", "render_site"]
