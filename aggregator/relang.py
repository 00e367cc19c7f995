"""Give every stored post a language and its origin (#18): ``aggregator relang``.

Collection decides a new post's language (entry, else feed, else detected). Posts stored
before that have either the language their entry declared (kept, now marked ``entry``) or
none: those get their source's configured language (``feed``) or the detected one. Detected
languages are detected again, so a better detector reaches the archive too. The feed's own
``<language>`` is not in the archive (only entries are): it applies from each source's next
collection. Batches are written in one short transaction each, like ``retag``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.normalize.language import Language, detect, tidy

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.store.tags import LanguagePost

EXAMPLES = 5


@dataclass
class RelangReport:
    dry_run: bool
    posts: int = 0
    posts_changed: int = 0
    # (old language or "none", new language, origin) -> posts
    changes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # id, snippet, change
    rendered: list[Path] = field(default_factory=list)


def language_of(post: LanguagePost, source_languages: Mapping[str, str]) -> Language:
    """The language ``post`` should have now."""
    declared = tidy(post.language)
    if declared and post.origin in (None, "entry"):
        return Language(declared, "entry")
    if declared and post.origin == "feed":
        return Language(declared, "feed")
    configured = tidy(source_languages.get(post.source_id))
    if configured:
        return Language(configured, "feed")
    return detect(post.title, post.text)


def relang(
    app: App,
    *,
    dry_run: bool,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> RelangReport:
    """Backfill languages over the whole archive; with ``dry_run`` nothing is written."""
    configured = {s.id: s.language for s in app.config.all_sources() if s.language}
    report = RelangReport(dry_run=dry_run)
    for batch in app.store.language_batches(batch_size):
        writes: list[tuple[str, str, str, float | None]] = []
        for post in batch:
            new = language_of(post, configured)
            if (new.code, new.origin, new.confidence) == (post.language, post.origin, post.confidence):
                continue
            writes.append((post.id, new.code, new.origin, new.confidence))
            if new.code == post.language:
                continue  # only its origin (or confidence) is recorded now
            report.posts_changed += 1
            key = (post.language or "none", new.code, new.origin)
            report.changes[key] = report.changes.get(key, 0) + 1
            if len(report.examples) < EXAMPLES:
                snippet = (post.title or post.text)[:80]
                report.examples.append((post.id, snippet, f"{key[0]} -> {new.code} ({new.origin})"))
        if writes and not dry_run:
            app.store.set_languages(writes)
        report.posts += len(batch)
        if progress is not None:
            progress(len(batch))
    if not dry_run and report.posts_changed:
        report.rendered = _render(app)
    return report


def _render(app: App) -> list[Path]:
    """Pages and feeds carry each post's language: render them again."""
    if importlib.util.find_spec("aggregator.render") is None:
        return []
    from aggregator.render import render_site

    return render_site(app)
