"""Render the public site into ``output/``: pages, widget, JSON API and syndication feeds.

``render_site(app, missions=None)`` is the one entry point. Templates are jinja2 with
autoescape on, looked up first in the ``templates_dir`` setting (override by name), then
in the package. Every file is written with ``aggregator.app.write_atomic``; the function
returns the paths whose content changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
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
from aggregator.models import XML_FORBIDDEN, Mission, counted, parse_iso
from aggregator.render import cards, i18n

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger("aggregator.render")


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


@dataclass(frozen=True)
class Skipped:
    """A post left out of one output because it could not be written there."""

    post_id: str
    output: str  # "missions/unmik", "feeds/unmik.rss", ...
    reason: str


class Written(list[Path]):
    """``render_site``'s result: the files whose content changed, and the posts left out."""

    def __init__(self, paths: list[Path], skipped: list[Skipped]) -> None:
        super().__init__(paths)
        self.skipped = skipped

    def skipped_summary(self) -> str:
        """One line for a command's output, naming the posts and what to do about them."""
        ids = sorted({s.post_id for s in self.skipped})
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        return (f"{counted(len(ids), 'post')} could not be written and were left out "
                f"({shown}); see the log, or hide them: `aggregator moderate ID --hide`")


def _unwritable(c: cards.Card) -> str | None:
    """Why a card cannot go into an XML or UTF-8 output, or None."""
    for value in (c.title, c.text, c.author, c.handle or "", c.url or "", c.lang or "",
                  *(m.alt for m in c.media), *(m.href or "" for m in c.media)):
        if XML_FORBIDDEN.search(value):
            char = XML_FORBIDDEN.search(value).group()  # type: ignore[union-attr]
            return f"it contains the character U+{ord(char):04X}, which XML and UTF-8 forbid"
    return None


@dataclass
class Site:
    """What every renderer needs, gathered once per ``render_site`` call."""

    app: App
    env: Environment
    now: datetime
    last_updated: datetime | None
    counts: dict[str, tuple[int, str | None]]
    written: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
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

    def skip(self, post_id: str, output: str, reason: str) -> None:
        """Leave a post out of ``output``, recorded and logged; every other post is written."""
        self.skipped.append(Skipped(post_id, output, reason))
        log.warning("post %s left out of %s: %s (hide it, or collect its source again)",
                    post_id, output, reason)

    def cards(self, rows: Iterable[Mapping[str, Any]], output: str, **options: Any) -> list[cards.Card]:
        """``cards.card`` of each row; a row that cannot become a card, or whose card cannot
        be written, is skipped and recorded rather than failing the whole output."""
        out = []
        for row in rows:
            try:
                c = cards.card(row, **options)
            except Exception as exc:  # one post never stops the site
                self.skip(str(row.get("id")), output, f"{type(exc).__name__}: {exc}")
                continue
            problem = _unwritable(c)
            if problem:
                self.skip(c.id, output, problem)
            else:
                out.append(c)
        return out

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
) -> Written:
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
    return Written(site.written, site.skipped)


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


__all__ = ["Site", "Skipped", "Written", "make_env", "render_site"]
