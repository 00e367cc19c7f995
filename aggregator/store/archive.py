"""Archive integrity: tombstones for posts gone at the source, consistent backups.

A post is never deleted from the archive. When the collector learns that a post was
deleted, withheld or made private at the source, :meth:`ArchiveMixin.mark_unavailable`
keeps the archived copy and records a tombstone (``availability``, ``availability_note``,
``availability_at``); public pages then leave it out, the CLI and editors still see it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.errors import StoreError, UsageError
from aggregator.models import iso

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

    def backup_to(self, target: Path) -> dict[str, int]:
        """Write a consistent, compacted copy of the live archive to ``target``.

        ``VACUUM INTO`` reads one snapshot of the database (writers in WAL mode carry on
        meanwhile) and writes a self-contained file; the copy is then checked with
        ``PRAGMA integrity_check``. Returns counts from the copy.
        """
        target = target.resolve()
        if target.exists():
            raise UsageError(
                f"{target} already exists", hint="choose a new file name, or delete the old copy first"
            )
        if target == self.path.resolve():
            raise UsageError("the backup cannot overwrite the archive itself", hint="choose another path")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db.execute("VACUUM INTO ?", [str(target)])
        except sqlite3.DatabaseError as exc:
            target.unlink(missing_ok=True)
            raise StoreError(f"backup to {target} failed: {exc}", hint="check free disk space and permissions") from exc
        return verify_copy(target)


def verify_copy(path: Path) -> dict[str, int]:
    """Open a copy read-only, run ``integrity_check``, and count its posts and tables."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise StoreError(f"the copy at {path} is damaged: {result}", hint="make the backup again")
        posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        conn.close()
    return {"posts": int(posts), "tables": int(tables), "bytes": path.stat().st_size}
