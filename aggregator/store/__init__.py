"""The only place that speaks SQL. One SQLite file, opened in WAL mode.

``Store`` is assembled from one mixin per concern (posts, sources, moderation, ...),
each in its own module, all sharing ``self.db`` (a ``sqlite_utils.Database``).
Transactions are short: one per source's batch of posts, never across network I/O.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from aggregator.errors import ArchiveAccessError, StoreError
from aggregator.store import faults
from aggregator.store.alerts import AlertsMixin
from aggregator.store.archive import ArchiveMixin
from aggregator.store.availability import AvailabilityMixin
from aggregator.store.digest import DigestMixin
from aggregator.store.editors import EditorsMixin
from aggregator.store.immediate import ImmediateDatabase
from aggregator.store.moderation import ModerationMixin
from aggregator.store.posts import PostsMixin
from aggregator.store.render import RenderMixin
from aggregator.store.schema import MIGRATIONS
from aggregator.store.search import SearchMixin
from aggregator.store.service import ServiceMixin
from aggregator.store.signin import SigninMixin
from aggregator.store.sources import SourcesMixin
from aggregator.store.tags import LanguagesMixin, TagsMixin
from aggregator.store.trends import TrendsMixin
from aggregator.store.xusage import XUsageMixin

Clock = Callable[[], datetime]
CACHE_KIB = 8192  # SQLite's page cache per connection (default 2 MB; 32 MB was no faster)
DEFAULT_TIMEOUT_S = 30.0  # seconds to wait for another process's write lock (database_timeout)
CHECKPOINT_PAGES = 8000  # WAL pages (~32 MB) between automatic checkpoints (default 1,000)


def system_clock() -> datetime:
    return datetime.now(UTC)


class Store(PostsMixin, SourcesMixin, RenderMixin, ModerationMixin, EditorsMixin, SigninMixin, ServiceMixin, SearchMixin, ArchiveMixin, XUsageMixin, AvailabilityMixin, TagsMixin, DigestMixin, TrendsMixin, LanguagesMixin, AlertsMixin):
    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock = system_clock,
        readonly: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        check: bool = False,
    ) -> None:
        """Open (or create) the archive. ``check``: run :meth:`check_intact` before anything
        is written (the writers ``collect`` and ``run`` do)."""
        self.path = Path(path)
        self.clock = clock
        try:
            faults.check_not_empty(self.path)
            if readonly:
                conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                    timeout=timeout, factory=faults.GuardedConnection,
                )
            else:
                if not self.path.exists():
                    faults.create_archive(self.path)
                conn = sqlite3.connect(
                    str(self.path), check_same_thread=False, timeout=timeout,
                    factory=faults.GuardedConnection,
                )
            assert isinstance(conn, faults.GuardedConnection)
            conn.archive, conn.wait_s = self.path, timeout
            self.db = Database(conn) if readonly else ImmediateDatabase(conn)
            if check:
                self.check_intact()
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self.db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                # A cold collection inserts into several indexes keyed by hashes (post ids):
                # a larger page cache saves re-reading pages, and fewer, larger checkpoints
                # write each hot page back once instead of every 1,000 pages of WAL.
                self.db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
                self.db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
                # Savepoints (one per source inside a batch) keep their undo pages in memory,
                # not in a temp file: ~1.3 GB fewer bytes written on the cold benchmark.
                self.db.execute("PRAGMA temp_store=MEMORY")
                if MIGRATIONS.pending(self.db):
                    with self.db.atomic():  # one process migrates; the others wait, then see it done
                        MIGRATIONS.apply(self.db)
        except sqlite3.Error as exc:  # before the guard was in place (opening the file)
            raise faults.fault(exc, self.path, timeout=timeout) or StoreError(
                f"cannot open the archive {self.path}: {exc}",
                hint="check the `database` setting in config.yaml and the file's permissions",
            ) from exc
        except OSError as exc:  # its folder cannot be made, or the new file linked
            raise ArchiveAccessError(
                f"cannot create the archive {self.path}: {exc.strerror or exc}",
                path=self.path, cause=str(exc),
                hint="check the `database` setting in config.yaml and that this user may write"
                " to its folder",
            ) from exc

    def check_intact(self) -> None:
        """``PRAGMA quick_check`` (reads every page): raise ``ArchiveDamaged`` when the file
        is damaged. Writers (``collect``, ``run``) call it before they write anything."""
        faults.quick_check(self.db.conn, self.path)

    def transaction(self) -> AbstractContextManager[Database]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints, so
        several units of work that each stay atomic can share one commit."""
        return self.db.atomic()

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Store", "system_clock"]
