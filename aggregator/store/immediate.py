"""Write transactions that take SQLite's write lock up front (``BEGIN IMMEDIATE``).

Several processes write one archive: the service, a cron ``collect``, a retag, the
moderation page. sqlite-utils' ``atomic()`` opens a *deferred* transaction; in WAL mode such
a transaction that has to wait for the write lock while another process commits fails at
once with "database is locked" (a stale snapshot cannot be upgraded, and SQLite does not
retry it). ``BEGIN IMMEDIATE`` waits for the lock first (``busy_timeout``), then reads, so
concurrent writers queue instead of failing. Nested blocks still use savepoints.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

from sqlite_utils import Database


class ImmediateDatabase(Database):
    @contextmanager
    def atomic(self) -> Generator[Database, None, None]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
