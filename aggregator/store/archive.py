"""Archive integrity: tombstones for posts gone at the source, consistent backups.

A post is never deleted from the archive. When the collector learns that a post was
deleted, withheld or made private at the source, :meth:`ArchiveMixin.mark_unavailable`
keeps the archived copy and records a tombstone (``availability``, ``availability_note``,
``availability_at``); public pages then leave it out, the CLI and editors still see it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.errors import StoreError, UsageError
from aggregator.models import iso
from aggregator.store import faults

if TYPE_CHECKING:
    from sqlite_utils import Database

AVAILABILITY = ("available", "deleted", "protected", "withheld", "suspended", "unavailable")


class ArchiveMixin:
    db: Database
    path: Path

    def mark_unavailable(
        self, post_id: str, availability: str, note: str, at: datetime
    ) -> bool:
        """Record that ``post_id`` is no longer available at its source; keep the copy.

        Returns False when the archive has no such post (nothing to mark).
        ``availability='available'`` lifts the tombstone (the post came back).
        """
        if availability not in AVAILABILITY:
            raise UsageError(
                f"unknown availability {availability!r}",
                hint=f"use one of {', '.join(AVAILABILITY)}",
            )
        with self.db.atomic():
            cur = self.db.execute(
                "UPDATE posts SET availability = ?, availability_note = ?, availability_at = ?"
                " WHERE id = ?",
                [availability, note or None, iso(at), post_id],
            )
            return cur.rowcount > 0

    def page_count(self) -> int:
        """Pages in the archive file (what a backup copies)."""
        return int(self.db.execute("PRAGMA page_count").fetchone()[0])

    def backup_to(
        self, target: Path, progress: Callable[[int], None] | None = None
    ) -> dict[str, int]:
        """Write a consistent copy of the live archive to ``target``, then check it.

        SQLite's online backup API copies the database page by page in one step, from one
        read snapshot (writers in WAL mode carry on meanwhile), so rowids, the full-text
        index and every table stay exactly as they were. The copy is written beside the
        target and renamed into place only after ``PRAGMA integrity_check`` says ok.
        ``VACUUM INTO`` would compact the file but may renumber the implicit rowids that
        the full-text index points at, so it is not used.
        """
        target = target.resolve()
        if target.exists():
            raise UsageError(
                f"{target} already exists", hint="choose a new file name, or delete the old copy first"
            )
        if target == self.path.resolve():
            raise UsageError("the backup cannot overwrite the archive itself", hint="choose another path")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        try:
            dest = sqlite3.connect(str(partial))
            try:
                self._copy(dest, progress)
                dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dest.close()
            counts = verify_copy(partial)
            partial.rename(target)
        except (sqlite3.DatabaseError, StoreError) as exc:
            # The archive itself may be what failed (the copy takes its pages as they are).
            faults.quick_check(self.db.conn, self.path)
            if isinstance(exc, StoreError):
                raise
            raise faults.fault(exc, target) or StoreError(
                f"backup to {target} failed: {exc}", hint="check free disk space and permissions"
            ) from exc
        finally:
            partial.unlink(missing_ok=True)
        return counts

    def _copy(self, dest: sqlite3.Connection, progress: Callable[[int], None] | None) -> None:
        """The online backup in one step, or in steps of 1,024 pages when showing progress.

        In steps, a write by another process between two steps restarts the copy (SQLite
        does that itself), so the copy is still one consistent snapshot.
        """
        if progress is None:
            self.db.conn.backup(dest)
            return
        done = [0]

        def report(_status: int, remaining: int, total: int) -> None:
            progress(total - remaining - done[0])
            done[0] = total - remaining

        self.db.conn.backup(dest, pages=1024, progress=report)


def verify_copy(path: Path) -> dict[str, int]:
    """Open a copy read-only, run ``integrity_check`` and the FTS5 integrity check, count."""
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise StoreError(f"the copy at {path} is damaged: {result}", hint="make the backup again")
        try:  # the full-text index agrees with the posts it indexes (reads only)
            conn.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the full-text index of {path} does not match its posts: {exc}",
                hint="rebuild it in the copy: INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
            ) from exc
        posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        conn.close()
    return {"posts": int(posts), "tables": int(tables), "bytes": path.stat().st_size}
