"""Queries for rendering (pages, widget, feeds) and for local media copies.

Visibility is always ``store.posts.VISIBLE``: hidden and compliance-removed posts never
leave this module unless a caller asks for them explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import iso
from aggregator.store.posts import VISIBLE, _decode

if TYPE_CHECKING:
    from sqlite_utils import Database

    from aggregator.models import Tag


@dataclass(frozen=True)
class PendingRenders:
    """The missions still to render, and the newest mark seen (``upto``): a render clears
    only marks up to it, so a mission marked again while it rendered stays pending."""

    missions: frozenset[str]
    upto: int


class RenderMixin:
    db: Database

    # --- missions to re-render (durable, issue 15) --------------------------------------

    def mark_pending_render(self, missions: Iterable[str], at: datetime) -> None:
        """Record that these missions' pages must be rendered again.

        Call it inside the write transaction that changes their posts (``commit_source``
        does, as should anything that changes what a mission page shows): the mark then
        commits or rolls back with the change, and a crash before the render leaves the
        mark for the next ``collect``, ``render`` or service tick. Each mark gets a new id,
        so a render that started earlier does not clear it.
        """
        names = sorted(set(missions))
        if not names:
            return
        with self.db.atomic():  # a savepoint when called inside a transaction
            for name in names:
                self.db.execute(
                    "INSERT OR REPLACE INTO pending_renders (mission, marked_at) VALUES (?, ?)",
                    [name, iso(at)],
                )

    def pending_renders(self) -> PendingRenders:
        """The missions marked and not yet rendered (read before a render reads posts)."""
        rows = self.db.execute("SELECT id, mission FROM pending_renders").fetchall()
        return PendingRenders(frozenset(str(r[1]) for r in rows),
                              max((int(r[0]) for r in rows), default=0))

    def clear_pending_renders(self, missions: Collection[str], upto: int) -> None:
        """A render published ``missions`` from posts read after ``pending_renders()``
        returned ``upto``: drop their marks up to it (later marks stay)."""
        names = sorted(set(missions))
        if not names or upto <= 0:
            return
        with self.db.atomic():
            self.db.conn.executemany(
                "DELETE FROM pending_renders WHERE mission = ? AND id <= ?",
                [(name, upto) for name in names],
            )

    if TYPE_CHECKING:  # provided by PostsMixin in Store

        def tags_by_post(self, post_ids: Sequence[str]) -> dict[str, list[Tag]]: ...

    def visible_posts(
        self,
        mission: str | None,
        *,
        limit: int = 20,
        retweets: bool = True,
        replies: bool = True,
    ) -> list[dict[str, Any]]:
        """Newest visible posts of one mission (pinned first), or of all missions (``None``).

        Each row carries ``tags`` (every mission the post is tagged with) and, for one
        mission, ``tag_rule``/``tag_matched``/``tag_decided_by`` for that mission.
        """
        filters = [VISIBLE]
        if not retweets:
            filters.append("p.is_retweet = 0")
        if not replies:
            filters.append("p.is_reply = 0")
        where = " AND ".join(filters)
        if mission is not None:
            sql = f"""
                SELECT p.*, t.rule AS tag_rule, t.matched AS tag_matched,
                       t.decided_by AS tag_decided_by, COALESCE(m.pinned, 0) AS pinned
                FROM post_tags t JOIN posts p ON p.id = t.post_id
                LEFT JOIN moderation m ON m.post_id = p.id
                WHERE t.mission = ? AND {where}
                ORDER BY COALESCE(m.pinned, 0) DESC, t.sort_at DESC, p.id
                LIMIT ?"""
            params: list[Any] = [mission, limit]
        else:
            sql = f"""
                SELECT p.*, COALESCE(m.pinned, 0) AS pinned
                FROM posts p LEFT JOIN moderation m ON m.post_id = p.id
                WHERE {where} AND EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id)
                ORDER BY p.sort_at DESC, p.id
                LIMIT ?"""
            params = [limit]
        cursor = self.db.execute(sql, params)
        cols = [d[0] for d in cursor.description]
        rows = [_decode(dict(zip(cols, r, strict=True))) for r in cursor.fetchall()]
        tags = self.tags_by_post([r["id"] for r in rows])
        for row in rows:
            row["tags"] = tags.get(row["id"], [])
        return rows

    # --- local media ------------------------------------------------------------------

    def posts_pending_media(self, limit: int = 500) -> list[dict[str, Any]]:
        """Visible posts, newest first, with an image that has no local copy and whose URL
        has not failed before (a post re-collected with new content loses its ``local_path``
        and comes back here; its earlier copy is then reused)."""
        cursor = self.db.execute(
            f"""SELECT p.id, p.media FROM posts p LEFT JOIN moderation m ON m.post_id = p.id
                WHERE p.media != '[]' AND {VISIBLE}
                  AND EXISTS (
                    SELECT 1 FROM json_each(p.media) j
                    WHERE json_extract(j.value, '$.local_path') IS NULL
                      AND NOT EXISTS (
                        SELECT 1 FROM media_fetches f
                        WHERE f.post_id = p.id AND f.outcome != 'stored'
                          AND f.url IN (COALESCE(json_extract(j.value, '$.url'), ''),
                                        COALESCE(json_extract(j.value, '$.preview_url'), ''))))
                ORDER BY p.sort_at DESC LIMIT ?""",
            [limit],
        )
        return [{"id": r[0], "media": json.loads(r[1])} for r in cursor.fetchall()]

    def stored_media(self, url: str) -> str | None:
        """The local path of an earlier successful copy of ``url``, if any."""
        row = self.db.execute(
            "SELECT local_path FROM media_fetches WHERE url = ? AND outcome = 'stored'"
            " AND local_path IS NOT NULL LIMIT 1",
            [url],
        ).fetchone()
        return str(row[0]) if row else None

    def record_media(
        self,
        post_id: str,
        media: Sequence[Mapping[str, Any]],
        attempts: Iterable[Mapping[str, Any]],
        at: str,
    ) -> None:
        """Store a post's media list (with ``local_path`` set where a copy exists) and attempts."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE posts SET media = ? WHERE id = ?",
                [json.dumps(list(media), ensure_ascii=False, sort_keys=True), post_id],
            )
            for a in attempts:
                self.db.execute(
                    "INSERT OR REPLACE INTO media_fetches (post_id, url, outcome, local_path,"
                    " bytes, error, attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [post_id, a["url"], a["outcome"], a.get("local_path"), a.get("bytes", 0),
                     a.get("error"), at],
                )

    def withdrawn_media(self) -> dict[str, list[str]]:
        """Local copies that no public post shows any more (its posts were hidden, or deleted
        or withheld at the source): local path -> the posts that reference it."""
        rows = self.db.execute(
            f"""SELECT f.local_path, f.post_id FROM media_fetches f
                WHERE f.outcome = 'stored' AND f.local_path IS NOT NULL
                  AND NOT EXISTS (
                    SELECT 1 FROM media_fetches g JOIN posts p ON p.id = g.post_id
                    LEFT JOIN moderation m ON m.post_id = p.id
                    WHERE g.local_path = f.local_path AND {VISIBLE})"""
        ).fetchall()
        out: dict[str, list[str]] = {}
        for path, post_id in rows:
            out.setdefault(str(path), []).append(str(post_id))
        return out

    def forget_media(self, withdrawn: Mapping[str, Sequence[str]]) -> None:
        """Drop the record of withdrawn copies: their posts lose ``local_path`` and, should
        they become public again, come back to ``posts_pending_media`` to be copied anew."""
        paths = set(withdrawn)
        with self.db.atomic():
            for post_id in {p for ids in withdrawn.values() for p in ids}:
                row = self.db.execute("SELECT media FROM posts WHERE id = ?", [post_id]).fetchone()
                if row is None:
                    continue
                media = json.loads(row[0])
                for item in media:
                    if item.get("local_path") in paths:
                        item["local_path"] = None
                self.db.execute(
                    "UPDATE posts SET media = ? WHERE id = ?",
                    [json.dumps(media, ensure_ascii=False, sort_keys=True), post_id],
                )
            for path in paths:
                self.db.execute("DELETE FROM media_fetches WHERE local_path = ?", [path])

    def last_collection_at(self) -> str | None:
        """When the newest finished collection run ended (the site's "last updated")."""
        row = self.db.execute("SELECT MAX(finished_at) FROM runs").fetchone()
        return str(row[0]) if row and row[0] else None
