"""Editors' decisions: hide/show, pin/unpin, add/remove a mission; the queue; the audit log.

Every action runs in one transaction that writes the decision, updates what the public
reads (``moderation`` and ``post_tags``) right away, and appends one ``audit_log`` row
(who, when, what, why). Decisions live apart from rule tags (``tag_decisions``,
``moderation``), so re-collection, retagging and migrations never overwrite them:
``store.posts.effective_tags`` re-applies them on every save.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aggregator.errors import UsageError
from aggregator.models import iso
from aggregator.store.posts import _decode

if TYPE_CHECKING:
    from sqlite_utils import Database

Action = Literal["hide", "show", "pin", "unpin", "add_mission", "remove_mission"]
ACTIONS: tuple[Action, ...] = ("hide", "show", "pin", "unpin", "add_mission", "remove_mission")
_FLAGS: dict[str, tuple[str, int]] = {
    "hide": ("hidden", 1), "show": ("hidden", 0), "pin": ("pinned", 1), "unpin": ("pinned", 0),
}


class ModerationMixin:
    db: Database
    clock: Callable[[], datetime]

    def moderate(
        self,
        post_id: str,
        action: Action,
        *,
        editor: str,
        note: str,
        mission: str | None = None,
    ) -> set[str]:
        """Apply one editor action; return the missions whose public pages changed."""
        if action not in ACTIONS:
            raise UsageError(f"unknown moderation action {action!r}", hint=f"use one of {ACTIONS}")
        if not editor.strip():
            raise UsageError("an editor name is required", hint="pass --editor NAME")
        if not note.strip():
            raise UsageError(
                f"a note is required to {action.replace('_', ' ')} post {post_id}",
                hint="say why in --note; it is kept in the audit log",
            )
        if action in ("add_mission", "remove_mission") and not mission:
            raise UsageError(f"{action.replace('_', ' ')} needs a mission acronym")
        at = iso(self.clock())
        assert at is not None
        with self.db.atomic():
            before = self._post_missions(post_id)
            if action in _FLAGS:
                self._set_flag(post_id, action, editor, note, at)
            else:
                assert mission is not None
                mission = mission.upper()
                self._decide(post_id, mission, action, editor, note, at)
            self.db.execute(
                "INSERT INTO audit_log (at, editor, action, post_id, mission, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [at, editor, action, post_id, mission.upper() if mission else None, note],
            )
            return before | self._post_missions(post_id)

    def post_missions(self, post_id: str) -> set[str]:
        """The missions a post is under now (UsageError when there is no such post)."""
        return self._post_missions(post_id)

    def audit_refusal(
        self, editor: str, action: str, post_id: str, mission: str | None, reason: str, note: str
    ) -> None:
        """Record an action an editor was refused (nothing else changes)."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO audit_log (at, editor, action, post_id, mission, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [iso(self.clock()), editor, f"refused_{action}", post_id, mission,
                 reason + (f" (note: {note})" if note.strip() else "")],
            )

    def _post_missions(self, post_id: str) -> set[str]:
        if self.db.execute("SELECT 1 FROM posts WHERE id = ?", [post_id]).fetchone() is None:
            raise UsageError(
                f"no post {post_id!r} in the archive",
                hint="find post ids with `aggregator moderate --queue` or `aggregator audit`",
            )
        rows = self.db.execute("SELECT mission FROM post_tags WHERE post_id = ?", [post_id])
        return {r[0] for r in rows.fetchall()}

    def _set_flag(self, post_id: str, action: str, editor: str, note: str, at: str) -> None:
        column, value = _FLAGS[action]
        self.db.execute("INSERT OR IGNORE INTO moderation (post_id) VALUES (?)", [post_id])
        self.db.execute(
            f"UPDATE moderation SET {column} = ?, {column}_by = ?, {column}_at = ?,"
            f" {column}_note = ? WHERE post_id = ?",
            [value, editor, at, note, post_id],
        )

    def _decide(
        self, post_id: str, mission: str, action: str, editor: str, note: str, at: str
    ) -> None:
        verb = "add" if action == "add_mission" else "remove"
        self.db.execute(
            "INSERT OR REPLACE INTO tag_decisions (post_id, mission, action, editor, note,"
            " decided_at) VALUES (?, ?, ?, ?, ?, ?)",
            [post_id, mission, verb, editor, note, at],
        )
        # The same result as store.posts.effective_tags, applied to this one post now.
        if verb == "remove":
            self.db.execute(
                "DELETE FROM post_tags WHERE post_id = ? AND mission = ?", [post_id, mission]
            )
            return
        self.db.execute(
            "INSERT OR REPLACE INTO post_tags (post_id, mission, rule, matched, decided_by,"
            " sort_at) SELECT id, ?, 'editor', ?, 'editor', sort_at FROM posts WHERE id = ?",
            [mission, note, post_id],
        )

    # --- reading -------------------------------------------------------------------

    def moderation_queue(
        self, mission: str | None = None, *, limit: int = 50, unreviewed_only: bool = False
    ) -> list[dict[str, Any]]:
        """Newest collected posts (of one mission, or all), hidden ones included and flagged.

        Each row has the post's columns plus ``hidden``, ``pinned``, their notes,
        ``reviewed`` (an editor acted on it) and ``tags`` (mission, rule, matched, decided_by).
        """
        where, params = [], []
        if mission:
            where.append("p.id IN (SELECT post_id FROM post_tags WHERE mission = ?)")
            params.append(mission.upper())
        if unreviewed_only:
            where.append("NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.post_id = p.id)")
        sql = f"""
            SELECT p.*, COALESCE(m.hidden, 0) AS hidden, COALESCE(m.pinned, 0) AS pinned,
                   m.hidden_note, m.hidden_by, m.pinned_note, m.pinned_by,
                   EXISTS (SELECT 1 FROM audit_log a WHERE a.post_id = p.id) AS reviewed
            FROM posts p LEFT JOIN moderation m ON m.post_id = p.id
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY p.collected_at DESC, p.sort_at DESC LIMIT ?"""
        cursor = self.db.execute(sql, [*params, limit])
        cols = [d[0] for d in cursor.description]
        rows = [_decode(dict(zip(cols, r, strict=True))) for r in cursor.fetchall()]
        tags = self.tags_by_post([row["id"] for row in rows])  # type: ignore[attr-defined]
        for row in rows:
            row["tags"] = tags[row["id"]]
            row["decisions"] = self.tag_decisions(row["id"])
        return rows

    def moderation_details(self, post_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per post: who hid or pinned it and why, whether an editor acted on it, and the
        missions editors removed (for the desk's rows)."""
        out: dict[str, dict[str, Any]] = {
            pid: {"reviewed": False, "decisions": [], "hidden_by": None, "hidden_note": None,
                  "pinned_by": None, "pinned_note": None} for pid in post_ids}
        for i in range(0, len(post_ids), 500):
            chunk = post_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"SELECT post_id, hidden_by, hidden_note, pinned_by, pinned_note FROM moderation"
                f" WHERE post_id IN ({marks})", chunk,
            ):
                out[row.pop("post_id")].update(row)
            for (pid,) in self.db.execute(
                f"SELECT DISTINCT post_id FROM audit_log WHERE post_id IN ({marks})", chunk
            ).fetchall():
                out[pid]["reviewed"] = True
            for row in self.db.query(
                f"SELECT post_id, mission, action, editor, note FROM tag_decisions"
                f" WHERE post_id IN ({marks}) ORDER BY mission", chunk,
            ):
                out[row.pop("post_id")]["decisions"].append(row)
        return out

    def tag_decisions(self, post_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT mission, action, editor, note, decided_at FROM tag_decisions"
                " WHERE post_id = ? ORDER BY mission",
                [post_id],
            )
        )

    def moderation_state(self, post_id: str) -> dict[str, Any]:
        """The post's hidden/pinned flags with who and why ({} when never moderated)."""
        rows = list(self.db.query("SELECT * FROM moderation WHERE post_id = ?", [post_id]))
        return rows[0] if rows else {}

    def desk_version(self) -> tuple[int, int]:
        """(newest post rowid, newest audit entry id): changes when either table grows."""
        row = self.db.execute(
            "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM posts),"
            " (SELECT COALESCE(MAX(id), 0) FROM audit_log)"
        ).fetchone()
        return int(row[0]), int(row[1])

    def unreviewed_counts(self) -> dict[str, int]:
        """Per mission: posts no editor has acted on yet.

        All posts per mission (read off the ``post_tags_mission_sort`` index) minus the few
        that appear in the audit log: a scan of the small table, not an anti-join per post
        (665 ms -> ~25 ms with 100,000 posts, benchmarks/desk.py)."""
        total = dict(self.db.execute(
            "SELECT mission, COUNT(*) FROM post_tags INDEXED BY post_tags_mission_sort GROUP BY mission"
        ).fetchall())
        reviewed = dict(self.db.execute(
            """SELECT t.mission, COUNT(*) FROM post_tags t
               WHERE t.post_id IN (SELECT post_id FROM audit_log WHERE post_id IS NOT NULL)
               GROUP BY t.mission"""
        ).fetchall())
        counts = {m: n - reviewed.get(m, 0) for m, n in total.items()}
        return {m: n for m, n in counts.items() if n > 0}

    def audit_log(self, post_id: str | None = None, *, limit: int = 200) -> list[dict[str, Any]]:
        """Editor actions, newest first (one post's, or all)."""
        where = "WHERE post_id = ?" if post_id else ""
        params: list[Any] = [post_id] if post_id else []
        return list(
            self.db.query(
                f"SELECT id, at, editor, action, post_id, mission, note FROM audit_log {where}"
                " ORDER BY id DESC LIMIT ?",
                [*params, limit],
            )
        )

    def audit_entries(
        self, *, editor: str = "", action: str = "", post_id: str = "", mission: str = "",
        since: str = "", until: str = "", before_id: int | None = None, limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The audit log filtered (every filter optional), newest first; ``before_id`` pages."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("editor", editor), ("post_id", post_id), ("mission", mission.upper())):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if action:
            where.append("(action = ? OR action = 'refused_' || ?)")
            params += [action, action]
        if since:
            where.append("at >= ?")
            params.append(since)
        if until:
            where.append("at < ?")
            params.append(until)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = (
            "SELECT id, at, editor, action, post_id, mission, note FROM audit_log"
            f" {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id DESC LIMIT ?"
        )
        return list(self.db.query(sql, [*params, limit]))

    def audit_actions(self) -> list[str]:
        """Every action name the log holds (for the audit page's menu)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT action FROM audit_log ORDER BY action")]
