"""Posts, their versions and their mission tags."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import Post, Tag, iso

if TYPE_CHECKING:
    from sqlite_utils import Database

_INSERT_TAG = (
    "INSERT INTO post_tags (post_id, mission, rule, matched, decided_by, sort_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def _tag_row(post_id: str, sort_at: str, tag: Tag) -> tuple[str, str, str, str, str, str]:
    return (post_id, tag.mission, tag.rule, tag.matched, tag.decided_by, sort_at)


# post_versions.raw is NULL for the version a post shows now (its raw entry is posts.raw):
# before a newer version replaces the post, the current raw entry moves into its row.
_SUPERSEDE = (
    "UPDATE post_versions SET raw = (SELECT raw FROM posts WHERE id = ?)"
    " WHERE post_id = ? AND raw IS NULL"
)

VISIBLE = "p.availability = 'available' AND COALESCE(m.hidden, 0) = 0"


def _json(value: list[Any]) -> str:
    if not value:  # most posts have no media, links, hashtags or mentions
        return "[]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def post_row(post: Post) -> dict[str, Any]:
    """The one ``Post -> row`` function: every write of a post goes through it."""
    return {
        "id": post.id,
        "source_id": post.source_id,
        "kind": post.kind,
        "external_id": post.external_id,
        "url": post.url,
        "canonical_url": post.canonical_url,
        "author": post.author,
        "author_handle": post.author_handle,
        "title": post.title,
        "text": post.text,
        "html": post.html,
        "language": post.language,
        "language_origin": post.language_origin,
        "language_confidence": post.language_confidence,
        "published_at": iso(post.published_at),
        "updated_at": iso(post.updated_at),
        "collected_at": iso(post.collected_at),
        "sort_at": iso(post.sort_time),
        "media": _json([asdict(m) for m in post.media]),
        "links": _json(list(post.links)),
        "hashtags": _json(list(post.hashtags)),
        "mentions": _json(list(post.mentions)),
        "is_retweet": int(post.is_retweet),
        "is_reply": int(post.is_reply),
        "is_quote": int(post.is_quote),
        "content_hash": post.content_hash,
        "raw": post.raw,
    }


def effective_tags(rule_tags: Iterable[Tag], decisions: Mapping[str, tuple[str, str]]) -> list[Tag]:
    """Apply editors' decisions (mission -> (action, note)) on top of rule tags. Pure."""
    tags = {t.mission: t for t in rule_tags if decisions.get(t.mission, ("",))[0] != "remove"}
    for mission, (action, note) in decisions.items():
        if action == "add":
            tags[mission] = Tag(mission=mission, rule="editor", matched=note, decided_by="editor")
    return sorted(tags.values(), key=lambda t: t.mission)


class PostsMixin:
    db: Database

    # --- writing -------------------------------------------------------------------

    def tag_decisions_for(
        self, post_ids: Sequence[str]
    ) -> dict[str, dict[str, tuple[str, str]]]:
        """Editors' decisions per post: mission -> (action, note)."""
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for chunk in _chunks(post_ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT post_id, mission, action, note FROM tag_decisions WHERE post_id IN ({marks})",
                list(chunk),
            ).fetchall():
                out.setdefault(row[0], {})[row[1]] = (row[2], row[3])
        return out

    def _existing(self, post_ids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """id -> (content hash, version, kind) of the posts already stored."""
        out: dict[str, tuple[str, int, str]] = {}
        for chunk in _chunks(post_ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT id, content_hash, version, kind FROM posts WHERE id IN ({marks})",
                list(chunk),
            ).fetchall():
                out[row[0]] = (row[1], row[2], row[3])
        return out

    def _one_x_post_per_edit(
        self, batch: dict[str, tuple[Post, Sequence[Tag]]]
    ) -> dict[str, tuple[Post, Sequence[Tag]]]:
        """An X post is one post whichever of its versions' ids it comes with (#14).

        The API gives an edited post its first version's id and the ids of every version
        (``Post.aliases``); a bridge links to the latest version only. A post whose id, or
        one of whose versions' ids, is already stored (or known from ``x_aliases``) is
        stored under that post's id, and every id it is known by is remembered.
        """
        x_posts = [pid for pid in batch if pid.startswith("x:")]
        if not x_posts:
            return batch
        names = sorted({*x_posts, *(a for pid in x_posts for a in batch[pid][0].aliases)})
        target: dict[str, str] = {}
        for chunk in _chunks(names, 400):
            marks = ",".join("?" * len(chunk))
            target.update((str(r[0]), str(r[0])) for r in self.db.execute(
                f"SELECT id FROM posts WHERE id IN ({marks})", list(chunk)).fetchall())
            for alias, post_id in self.db.execute(
                f"SELECT alias, post_id FROM x_aliases WHERE alias IN ({marks})", list(chunk)
            ).fetchall():
                target.setdefault(str(alias), str(post_id))
        out: dict[str, tuple[Post, Sequence[Tag]]] = {}
        remember: list[tuple[str, str]] = []
        for pid, (post, tags) in batch.items():
            if pid.startswith("x:"):
                found = next((target[n] for n in (pid, *post.aliases) if n in target), pid)
                if found != pid:
                    post = replace(post, id=found)
                remember += [(n, found) for n in (pid, *post.aliases) if n != found]
            out[post.id] = (post, tags)
        if remember:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO x_aliases (alias, post_id) VALUES (?, ?)", remember)
        return out

    def _write_tags(self, post_id: str, sort_at: str, tags: Iterable[Tag]) -> set[str]:
        """Replace a post's tags; return the missions whose set of posts changed."""
        before = {
            r[0] for r in self.db.execute(
                "SELECT mission FROM post_tags WHERE post_id = ?", [post_id]
            ).fetchall()
        }
        self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
        after: set[str] = set()
        for tag in tags:
            after.add(tag.mission)
            self.db.execute(_INSERT_TAG, _tag_row(post_id, sort_at, tag))
        return before | after

    def save_posts(
        self,
        tagged: Sequence[tuple[Post, Sequence[Tag]]],
        *,
        source_state: Mapping[str, Any] | None = None,
        source_id: str | None = None,
    ) -> tuple[int, int, set[str]]:
        """Upsert posts with their rule tags, and the source's new state, in one transaction.

        The source's cursor/etag (``source_state``) is written in the same transaction as the
        posts it covers, so a crash can never leave a cursor ahead of the stored posts.
        New posts are written with one prepared statement per table for the whole batch;
        a post seen twice in a batch counts once (the last copy wins). A copy read through
        an RSS bridge never replaces the same X post read through the API (richer data).
        Returns (added, updated, missions whose pages changed).
        """
        batch = {post.id: (post, tags) for post, tags in tagged}
        changed: set[str] = set()
        new_rows: list[dict[str, Any]] = []
        new_tags: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        updated = 0
        # Inside a caller's transaction (``commit_source``'s savepoint) no savepoint of its own:
        # the caller's rolls these writes back with the rest (a savepoint copies every page it
        # touches first: ~10% of storing on the cold benchmark).
        outer = nullcontext() if self.db.conn.in_transaction else self.db.atomic()
        with outer:
            batch = self._one_x_post_per_edit(batch)
            existing = self._existing(list(batch))
            decisions = self.tag_decisions_for(list(batch))
            for post, tags in batch.values():
                prior = existing.get(post.id)
                if prior is not None and (
                    prior[0] == post.content_hash or (prior[2] == "x" and post.kind != "x")
                ):
                    continue
                row = post_row(post)
                row["version"] = 1 if prior is None else prior[1] + 1
                versions.append((post.id, row["version"], row["collected_at"], post.content_hash))
                final = effective_tags(tags, decisions.get(post.id, {}))
                if prior is None:
                    new_rows.append(row)
                    new_tags.extend(_tag_row(post.id, row["sort_at"], t) for t in final)
                    changed.update(t.mission for t in final)
                else:
                    # The version being replaced keeps its raw entry; the new one's is posts.raw.
                    self.db.execute(_SUPERSEDE, [post.id, post.id])
                    self.db.table("posts").update(post.id, row)
                    updated += 1
                    changed |= self._write_tags(post.id, row["sort_at"], final)
            if new_rows:
                cols = list(new_rows[0])
                self.db.conn.executemany(
                    f"INSERT INTO posts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in new_rows],
                )
            if new_tags:
                self.db.conn.executemany(_INSERT_TAG, new_tags)
            if versions:
                self.db.conn.executemany(
                    "INSERT OR REPLACE INTO post_versions (post_id, version, collected_at,"
                    " content_hash, raw) VALUES (?, ?, ?, ?, NULL)",
                    versions,
                )
            if source_state is not None and source_id is not None:
                self.db.table("sources").update(source_id, dict(source_state))
        return len(new_rows), updated, changed

    # --- reading -------------------------------------------------------------------

    def mission_posts(
        self, acronym: str, *, limit: int = 20, include_hidden: bool = False
    ) -> list[dict[str, Any]]:
        """Newest posts of a mission, pinned first; public callers get visible posts only."""
        where = "" if include_hidden else f"AND {VISIBLE}"
        rows = self.db.execute(
            f"""
            SELECT p.*, t.rule AS tag_rule, t.matched AS tag_matched,
                   t.decided_by AS tag_decided_by,
                   COALESCE(m.pinned, 0) AS pinned, COALESCE(m.hidden, 0) AS hidden
            FROM post_tags t
            JOIN posts p ON p.id = t.post_id
            LEFT JOIN moderation m ON m.post_id = p.id
            WHERE t.mission = ? {where}
            ORDER BY COALESCE(m.pinned, 0) DESC, t.sort_at DESC
            LIMIT ?""",
            [acronym, limit],
        )
        cols = [d[0] for d in rows.description]
        return [_decode(dict(zip(cols, r, strict=True))) for r in rows.fetchall()]

    def tags_by_post(self, post_ids: Sequence[str]) -> dict[str, list[Tag]]:
        """The tags each post has now (rule tags with editors' decisions applied)."""
        out: dict[str, list[Tag]] = {pid: [] for pid in post_ids}
        for chunk in _chunks(post_ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                "SELECT post_id, mission, rule, matched, decided_by FROM post_tags"
                f" WHERE post_id IN ({marks}) ORDER BY post_id, mission",
                list(chunk),
            ).fetchall():
                out[r[0]].append(Tag(mission=r[1], rule=r[2], matched=r[3], decided_by=r[4]))
        return out

    def tags_of(self, post_id: str) -> list[Tag]:
        return self.tags_by_post([post_id])[post_id]

    def post(self, post_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM posts WHERE id = ?", [post_id]))
        return _decode(rows[0]) if rows else None

    def mission_counts(self) -> dict[str, tuple[int, str | None]]:
        """Per mission: number of visible posts and the newest post time."""
        out: dict[str, tuple[int, str | None]] = {}
        for row in self.db.execute(
            f"""SELECT t.mission, COUNT(*), MAX(t.sort_at) FROM post_tags t
                JOIN posts p ON p.id = t.post_id LEFT JOIN moderation m ON m.post_id = p.id
                WHERE {VISIBLE} GROUP BY t.mission"""
        ).fetchall():
            out[row[0]] = (row[1], row[2])
        return out

    def count_posts(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("media", "links", "hashtags", "mentions", "raw"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def now_iso(now: datetime) -> str:
    value = iso(now)
    assert value is not None
    return value
