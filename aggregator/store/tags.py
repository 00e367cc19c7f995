"""Reading and rewriting rule tags in batches, for ``aggregator retag``.

Each batch is read, retagged in memory, and written in one short transaction; editors'
decisions (``tag_decisions``) are re-applied by ``store.posts.effective_tags`` on every write,
so a retag never undoes an editor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.models import Tag
from aggregator.store.posts import effective_tags

if TYPE_CHECKING:
    from sqlite_utils import Database


@dataclass(frozen=True)
class TaggablePost:
    """What the tagger needs of a stored post, plus its source's mission."""

    id: str
    title: str
    text: str
    author: str
    url: str | None
    published_at: str | None
    sort_at: str
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    links: tuple[str, ...]
    source_mission: str | None


def _list(value: str | None) -> tuple[str, ...]:
    if not value or value == "[]":
        return ()
    try:
        data = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(str(v) for v in data) if isinstance(data, list) else ()


class TagsMixin:
    db: Database

    def taggable_batches(self, batch_size: int = 2000) -> Iterator[list[TaggablePost]]:
        """Every post, in id order, ``batch_size`` at a time (keyset paging: no OFFSET)."""
        last = ""
        while True:
            rows = self.db.execute(
                """SELECT p.id, p.title, p.text, COALESCE(p.author_handle, p.author), p.url,
                          p.published_at, p.sort_at, p.hashtags, p.mentions, p.links, s.mission
                   FROM posts p LEFT JOIN sources s ON s.id = p.source_id
                   WHERE p.id > ? ORDER BY p.id LIMIT ?""",
                [last, batch_size],
            ).fetchall()
            if not rows:
                return
            yield [
                TaggablePost(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6], _list(r[7]),
                             _list(r[8]), _list(r[9]), r[10])
                for r in rows
            ]
            last = rows[-1][0]

    def replace_rule_tags(
        self, batch: Sequence[tuple[str, str, Sequence[Tag]]],
        decisions: Mapping[str, Mapping[str, tuple[str, str]]],
    ) -> None:
        """Write new rule tags for (post id, sort_at, tags), decisions applied, in one transaction."""
        rows = [
            (post_id, t.mission, t.rule, t.matched, t.decided_by, sort_at)
            for post_id, sort_at, tags in batch
            for t in effective_tags(tags, decisions.get(post_id, {}))
        ]
        with self.db.atomic():
            for chunk in _chunks([post_id for post_id, _, _ in batch], 500):
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM post_tags WHERE post_id IN ({marks})", list(chunk))
            self.db.conn.executemany(
                "INSERT INTO post_tags (post_id, mission, rule, matched, decided_by, sort_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )


@dataclass(frozen=True)
class LanguagePost:
    """What ``aggregator relang`` needs of a stored post (#18)."""

    id: str
    source_id: str
    title: str
    text: str
    language: str | None
    origin: str | None
    confidence: float | None


class LanguagesMixin:
    db: Database

    def language_batches(self, batch_size: int = 2000) -> Iterator[list[LanguagePost]]:
        """Every post's language and its origin, in id order (keyset paging)."""
        last = ""
        while True:
            rows = self.db.execute(
                """SELECT id, source_id, title, text, language, language_origin,
                          language_confidence
                   FROM posts WHERE id > ? ORDER BY id LIMIT ?""",
                [last, batch_size],
            ).fetchall()
            if not rows:
                return
            yield [LanguagePost(*r) for r in rows]
            last = rows[-1][0]

    def set_languages(self, rows: Sequence[tuple[str, str, str, float | None]]) -> None:
        """(post id, language, origin, confidence) for a batch, in one transaction."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE posts SET language = ?, language_origin = ?, language_confidence = ?"
                " WHERE id = ?",
                [(code, origin, confidence, post_id) for post_id, code, origin, confidence in rows],
            )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
