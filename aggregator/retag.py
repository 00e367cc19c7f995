"""Recompute rule tags over the whole archive: preview (``dry_run``) or apply.

``retag(app, dry_run=...)`` reads the archive in batches, tags each post with the current
rules, re-applies editors' decisions and compares with what is stored. Applying writes each
changed batch in one short transaction and re-renders the missions whose posts changed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.models import Tag, parse_iso
from aggregator.store.posts import effective_tags
from aggregator.tag import Tagger

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.store.tags import TaggablePost

EXAMPLES = 3


@dataclass(frozen=True)
class Change:
    post_id: str
    mission: str
    gained: bool
    snippet: str
    reason: str  # why it is gained (the new rule), or why it was there (the old one)


@dataclass
class RetagReport:
    dry_run: bool
    posts: int = 0
    posts_changed: int = 0
    gains: dict[str, int] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Change]] = field(default_factory=dict)
    missions_changed: set[str] = field(default_factory=set)
    rendered: list[Path] = field(default_factory=list)

    def note(self, change: Change) -> None:
        counts = self.gains if change.gained else self.losses
        counts[change.mission] = counts.get(change.mission, 0) + 1
        self.missions_changed.add(change.mission)
        shown = self.examples.setdefault(change.mission, [])
        if len(shown) < EXAMPLES:
            shown.append(change)


def post_tags(tagger: Tagger, post: TaggablePost) -> list[Tag]:
    """Rule tags for a stored post, as collection would give them."""
    text = post.text if post.title and post.text.startswith(post.title) else "\n".join(
        part for part in (post.title, post.text) if part
    )
    return tagger.tag_text(
        text, author=post.author, source_url=post.url or "",
        source_mission=post.source_mission, published=parse_iso(post.published_at),
        hashtags=post.hashtags, mentions=post.mentions, links=post.links,
    )


def _key(tags: Sequence[Tag]) -> set[tuple[str, str, str, str]]:
    return {(t.mission, t.rule, t.matched, t.decided_by) for t in tags}


def retag(
    app: App,
    *,
    dry_run: bool,
    batch_size: int = 2000,
    tagger: Tagger | None = None,
    progress: Callable[[int], None] | None = None,
) -> RetagReport:
    """Retag every post; with ``dry_run`` nothing is written or rendered."""
    tagger = tagger or Tagger.from_config(app.config)
    store = app.store
    report = RetagReport(dry_run=dry_run)
    for batch in store.taggable_batches(batch_size):
        ids = [p.id for p in batch]
        stored = store.tags_by_post(ids)
        decisions = store.tag_decisions_for(ids)
        writes: list[tuple[str, str, list[Tag]]] = []
        for post in batch:
            new_rule = post_tags(tagger, post)
            new = effective_tags(new_rule, decisions.get(post.id, {}))
            old = stored.get(post.id, [])
            if _key(new) == _key(old):
                continue
            report.posts_changed += 1
            writes.append((post.id, post.sort_at, new_rule))
            _compare(report, post, old, new)
        if writes and not dry_run:
            store.replace_rule_tags(writes, decisions)
        report.posts += len(batch)
        if progress is not None:
            progress(len(batch))
    if not dry_run and report.missions_changed:
        report.rendered = _render(app, report.missions_changed)
    return report


def _compare(report: RetagReport, post: TaggablePost, old: list[Tag], new: list[Tag]) -> None:
    before = {t.mission: t for t in old}
    after = {t.mission: t for t in new}
    snippet = (post.title or post.text)[:100]
    for mission in sorted(after.keys() - before.keys()):
        report.note(Change(post.id, mission, True, snippet, after[mission].reason))
    for mission in sorted(before.keys() - after.keys()):
        report.note(Change(post.id, mission, False, snippet, before[mission].reason))
    for mission in sorted(before.keys() & after.keys()):
        if before[mission] != after[mission]:  # same mission, new reason: its card changes
            report.missions_changed.add(mission)


def _render(app: App, missions: set[str]) -> list[Path]:
    """Re-render the changed missions' pages when the renderer is installed."""
    if importlib.util.find_spec("aggregator.render") is None:
        return []
    from aggregator.render import render_site

    return render_site(app, missions=sorted(missions))
