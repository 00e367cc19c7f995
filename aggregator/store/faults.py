"""Storage faults: SQLite's errors about the archive *file*, wrapped where they enter (#15).

Every connection the store opens is a :class:`GuardedConnection`. An error SQLite raises
because of the file or the disk under it (locked beyond the timeout, disk full, I/O error,
no access, damage) becomes a :class:`~aggregator.errors.StorageFault` that names the file,
the cause and what to do; errors about a statement (a constraint, SQL or FTS syntax) stay
``sqlite3`` errors for the store's own handling. A connection that has met damage refuses
every later statement but a rollback, so nothing more is written into a malformed file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aggregator.errors import (
    ArchiveAccessError,
    ArchiveDamaged,
    ArchiveLocked,
    DiskFull,
    StorageFault,
    StorageIOError,
)

# SQLite's primary result codes (https://www.sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26,
)

RESTORE_HINT = (
    "stop the service and any cron job, move the file (with its -wal and -shm) aside and"
    " restore the latest copy made by `aggregator backup` (docs/archive.md, \"Restore\")"
)


def fault(exc: sqlite3.Error, path: Path, *, timeout: float | None = None) -> StorageFault | None:
    """The storage fault ``exc`` is, or None when it is about a statement, not the file."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    cause = str(exc)
    if primary in (_BUSY, _LOCKED):
        waited = f" for {timeout:g} s" if timeout else ""
        return ArchiveLocked(
            f"the archive {path} is locked: another process held its write lock{waited} ({cause})",
            path=path, cause=cause,
            hint="another aggregator command, a sqlite3 shell or a backup tool is writing to it;"
            " let it finish (or close it) and run this again; `database_timeout` sets the wait",
        )
    if primary == _FULL:
        return DiskFull(
            f"the disk holding the archive {path} is full ({cause})", path=path, cause=cause,
            hint=f"free space on it (df -h {path.parent}) or move the archive and point"
            " `database` at it, then run this again; what was stored before is intact",
        )
    if primary == _IOERR:
        return StorageIOError(
            f"the archive {path} could not be read or written: {cause}", path=path, cause=cause,
            hint="check the disk under it (kernel log, free space, a network file system"
            " that lost its locks) and run this again; if it keeps failing, restore a backup"
            " (docs/archive.md)",
        )
    if primary in (_CORRUPT, _NOTADB):
        return damaged(path, cause)
    if primary in (_PERM, _READONLY, _CANTOPEN):
        verb = "write to" if primary == _READONLY else "open"
        return ArchiveAccessError(
            f"cannot {verb} the archive {path} ({cause})", path=path, cause=cause,
            hint="check the `database` setting in config.yaml, and that this user may read and"
            " write the file and its folder (SQLite keeps -wal and -shm files beside it)",
        )
    return None


def damaged(path: Path, cause: str) -> ArchiveDamaged:
    cause = " ".join(cause.split())  # one line
    return ArchiveDamaged(
        f"the archive {path} is damaged ({cause})", path=path, cause=cause, hint=RESTORE_HINT
    )


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check``: raise :class:`ArchiveDamaged` naming the first problem found."""
    try:
        rows = [str(r[0]) for r in _plain(conn).execute("PRAGMA quick_check(3)").fetchall()]
    except sqlite3.Error as exc:
        raise (fault(exc, path) or damaged(path, str(exc))) from exc
    if rows != ["ok"]:
        raise damaged(path, f"quick_check: {first_problem(rows)}")


def first_problem(rows: list[str]) -> str:
    """The first problem ``quick_check`` lists (its rows may hold several lines each)."""
    lines = [ln for row in rows for ln in row.splitlines() if ln and not ln.startswith("***")]
    more = " (and more)" if len(lines) > 1 else ""
    return (lines[0] if lines else "damaged") + more


def _plain(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor that reports SQLite's own errors (no guard, no refusal)."""
    return sqlite3.Connection.cursor(conn, sqlite3.Cursor)


def check_not_empty(path: Path) -> None:
    """A zero-byte archive is a damaged one: a new archive never appears empty under its name
    (:func:`create_archive`), and SQLite would take it for a new, empty database."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        raise ArchiveDamaged(
            f"the archive {path} is empty (0 bytes): it was truncated, or is not an archive",
            path=path, cause="empty file",
            hint=f"{RESTORE_HINT}; if this is a new installation, delete the empty file and the"
            " next command creates a new archive",
        )


def create_archive(path: Path) -> None:
    """Make a new archive appear under its name at once with a valid header (WAL mode), so
    no process ever sees it zero bytes long; another process that made it first wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(str(tmp))
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose storage faults are :class:`StorageFault` s (also when fetching)."""

    connection: GuardedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        self.connection.refuse_if_damaged(sql)
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> GuardedCursor:
        self.connection.refuse_if_damaged(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def executescript(self, sql_script: str, /) -> GuardedCursor:
        self.connection.refuse_if_damaged(sql_script)
        try:
            return super().executescript(sql_script)  # type: ignore[return-value]
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            self.connection.raise_fault(exc)
            raise


class GuardedConnection(sqlite3.Connection):
    """``sqlite3.connect(..., factory=GuardedConnection)``; set :attr:`archive` after."""

    archive: Path = Path("archive")
    wait_s: float | None = None
    damage: ArchiveDamaged | None = None

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or GuardedCursor)

    # sqlite3's own shortcuts make a plain cursor in C: these go through the guarded one.
    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        return GuardedCursor(self).execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> GuardedCursor:
        return GuardedCursor(self).executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> GuardedCursor:
        return GuardedCursor(self).executescript(sql_script)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            self.raise_fault(exc)
            raise

    def refuse_if_damaged(self, sql: str) -> None:
        if self.damage is not None and not sql.lstrip()[:8].upper().startswith("ROLLBACK"):
            raise self.damage

    def raise_fault(self, exc: sqlite3.Error) -> None:
        """Raise the storage fault ``exc`` is (from it); return when it is not one."""
        found = fault(exc, self.archive, timeout=self.wait_s)
        if found is None:
            return
        if isinstance(found, ArchiveDamaged) and self.damage is None:
            self.damage = found  # from now on nothing is written into this file
            found = self._confirm(found)
        raise found from exc

    def _confirm(self, found: ArchiveDamaged) -> ArchiveDamaged:
        """Name what ``quick_check`` finds, for the operator (it reads; never writes)."""
        try:
            rows = [str(r[0]) for r in _plain(self).execute("PRAGMA quick_check(1)").fetchall()]
        except sqlite3.Error:
            return found
        if rows and rows != ["ok"]:
            found = damaged(self.archive, f"{found.cause}; quick_check: {first_problem(rows)}")
            self.damage = found
        return found
